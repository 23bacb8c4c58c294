"""What `compile()` configures: the compiled loss and the compiled metrics, as Keras has them.

`CompileLoss` scores each output with its loss, weights (`loss_weights`) and sums them, and adds
the layers' penalties (weight regularizers, `add_loss`). `CompileMetrics` keeps, per output, the
`metrics` (unweighted) and the `weighted_metrics` (weighted by `sample_weight` and `class_weight`),
named as Keras 3 logs them: `<output>_<metric>` when there are several outputs, and
`weighted_<metric>` for a weighted metric whose name an unweighted one already took.

Both are resolved against the outputs at the first batch (`build`): `"accuracy"` picks its kind
from the loss and the shapes, and a dict of losses or metrics is matched to the outputs by name.
"""

from __future__ import annotations

import dataclasses

import torch

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import mixed_precision, tree
from lamina.engine import data_adapter, errors, loss_checks, naming, saved_logits
from lamina.losses import crossentropy
from lamina.losses.loss import loss_mask, match_rank
from lamina.metrics.metric import MetricGroup

# --------------------------------------------------------------------------------------------------
# Outputs and labels as flat lists


def output_names(model) -> list[str]:
    """The outputs' names as Keras logs them: a dict output's keys (sorted, the order the outputs
    flatten in), else the output layers'."""
    graph = getattr(model, "_graph", None)
    if graph is not None and _flat_dict(graph.outputs):
        return sorted(graph.outputs)  # Model(..., outputs={"price": ...}): Keras names by key
    outputs = model.outputs if hasattr(model, "outputs") else None
    if outputs:
        return _unique(
            [
                t.node.layer.name if t.node is not None else f"output_{i}"
                for i, t in enumerate(outputs)
            ]
        )
    return ["output"]


def _unique(names: list[str]) -> list[str]:
    """Names made distinct as tf.keras made them (`dense`, `dense_1`, `dense_2`, ...): one layer
    called in a loop gives several outputs, and each needs its own loss and metric trackers, or
    their logs overwrite one another."""
    taken: set[str] = set()
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        proposal = name
        while proposal in taken:
            counts[name] = counts.get(name, 0) + 1
            proposal = f"{name}_{counts[name]}"
        taken.add(proposal)
        unique.append(proposal)
    return unique


def declared_output_names(model) -> list[str]:
    """`output_names`, but a dict output's keys in the order the model was given them: the
    order Keras's per-output loss trackers (`metrics_names`, evaluate's list) follow."""
    graph = getattr(model, "_graph", None)
    if graph is not None and _flat_dict(graph.outputs):
        return list(graph.outputs)
    return output_names(model)


def _flat_dict(outputs) -> bool:
    """A dict of single outputs (a nested dict's outputs are named by their layers)."""
    return isinstance(outputs, dict) and not any(tree.is_nested(v) for v in outputs.values())


def flatten_outputs(y) -> list:
    """A model's outputs (a tensor, a list or a dict) as a flat list."""
    return data_adapter.flatten(y) if isinstance(y, (list, tuple, dict)) else [y]


def flatten_labels(model, y) -> list:
    """Labels in the outputs' order: a dict of labels is matched to the outputs by name, as Keras
    does, not by the order of its keys. An output the dict has no key for gets None (Keras takes
    labels only for the outputs that have a loss or metrics; the loss and the metrics refuse a
    missing one they need), never the labels of another output. A key that names no output is
    refused, as Keras refuses labels whose structure differs from the outputs'."""
    if type(y) is torch.Tensor:  # one labels tensor, the usual batch: nothing to match
        return [y]
    if isinstance(y, dict):
        names = output_names(model)
        if set(names) & set(y):
            unknown = set(y) - set(names)
            if unknown:
                raise errors.value_error(
                    f"Model '{model.name}'",
                    f"label keys among its output names {names}",
                    f"labels with the extra keys {sorted(unknown)}",
                    "drop those keys from y, or give the model outputs of those names.",
                )
            return [y.get(name) for name in names]
    return flatten_outputs(y)


def per_output_weights(model, sample_weight, count: int) -> list:
    """`sample_weight` as one entry per output: one array weighs every output; a dict (by output
    name) or a list (in the outputs' order) weighs each output by its own, as Keras takes them."""
    if sample_weight is None or type(sample_weight) is torch.Tensor:
        return [sample_weight] * count
    if isinstance(sample_weight, (list, tuple, dict)):
        weights = flatten_labels(model, sample_weight)
        if len(weights) != count:
            raise errors.value_error(
                "sample_weight",
                f"one array, or one per output ({count}, as a list or a dict by output name)",
                f"{len(weights)} arrays",
            )
        return weights
    return [sample_weight] * count


def _missing_labels(model, y, names, index, needed_by: str) -> ValueError:
    """The error for output `index`, which `needed_by` scores, finding no labels in `y`."""
    name = names[index] if index < len(names) else f"output {index}"
    received = f"labels keyed {sorted(y)}" if isinstance(y, dict) else "fewer label arrays"
    return errors.value_error(
        f"Output '{name}' of model '{model.name}'",
        f"labels for it, which its {needed_by} needs",
        received,
        f"pass y as a dict keyed by the output names {names}, or a list with one array per "
        "output; leave out only the outputs that have neither a loss nor metrics.",
    )


def _as_list(spec) -> list:
    if isinstance(spec, (list, tuple)):
        return list(spec)
    if isinstance(spec, dict):
        return list(spec.values())
    return [spec]


def _flat_specs(spec) -> list:
    out = []
    for item in _as_list(spec) if spec is not None else []:
        out.extend(_flat_specs(item) if isinstance(item, (list, tuple, dict)) else [item])
    return out


def per_output(spec, names, argument, default=None) -> list:
    """One entry per output from a single value, a list (one per output) or a dict by name."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise errors.value_error(
                argument, f"keys among the output names {names}", f"{sorted(unknown)}"
            )
        return [spec.get(name, default) for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise errors.value_error(
                argument, f"one entry per output ({len(names)})", f"{len(spec)} entries"
            )
        return list(spec)
    return [spec if spec is not None else default] * len(names)


def _default_name(metric) -> str:
    """The name `metric`'s class gives an instance made without arguments, else its own."""
    try:
        return type(metric)().name
    except (TypeError, ValueError):  # a class that needs arguments
        return metric.name


def per_output_metrics(spec, names) -> list[list]:
    """Each output's list of metric specs: a dict by name; with several outputs, a list with one
    entry per output (a metric, a list of them, or None), as Keras 3 reads it; otherwise one
    list that every output gets (tf.keras's reading, where Keras 3 refuses the list)."""
    if spec is None:
        return [[] for _ in names]
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:  # a typo would leave an output without its metrics, silently
            raise errors.value_error(
                "metrics", f"keys among the output names {names}", f"{sorted(unknown)}"
            )
        return [_as_list(spec.get(name, [])) for name in names]
    spec = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if len(names) > 1 and len(spec) == len(names):
        return [[] if s is None else _as_list(s) for s in spec]
    return [list(spec) for _ in names]


# --------------------------------------------------------------------------------------------------
# The compiled loss


def _is_crossentropy(spec) -> bool:
    return isinstance(spec, str) and spec.lower() in ("crossentropy", "ce")


def _crossentropy_for(y_true, y_pred) -> str:
    """Keras's `loss="crossentropy"` for one output: binary for one unit, sparse for labels of
    a lower rank (or a last axis of 1 against several units), categorical otherwise."""
    pred_last = y_pred.shape[-1] if y_pred.dim() else 1
    true_last = y_true.shape[-1] if y_true.dim() else 1
    if pred_last == 1:
        return "binary_crossentropy"
    if y_true.dim() < y_pred.dim() or (true_last == 1 and pred_last > 1):
        return "sparse_categorical_crossentropy"
    return "categorical_crossentropy"


def _one_loss(spec, name: str):
    """An output's loss given in a list of one (`{"out": ["mse"]}`, `["mse", ["bce"]]`), as
    Keras reads it: that loss."""
    while isinstance(spec, (list, tuple)) and len(spec) == 1:
        spec = spec[0]
    if isinstance(spec, (list, tuple, dict)):
        raise errors.value_error(
            f"loss for output '{name}'",
            "one loss (a name, a Loss or a function)",
            f"{spec!r}",
            "combine several losses in one function: loss=lambda y, p: mse(y, p) + mae(y, p).",
        )
    return spec


@dataclasses.dataclass
class OutputLoss:
    """One output's loss: the callable, its weight in the total and its family (the Loss class
    its shape and label checks are keyed by, or None)."""

    fn: object
    weight: float
    family: type | None


def _as_labels(y_true, y_pred):
    """Labels as a tensor on the outputs' device (a direct compute_loss(x, numpy_y, y_pred))."""
    if isinstance(y_true, torch.Tensor):
        return y_true
    return torch.as_tensor(y_true, device=y_pred.device)


@dataclasses.dataclass
class LossTerm:
    """One term of the total loss: a loss over one output (`index`), or over a part of the
    outputs' structure (`template`: that part with each leaf its output's flat index, handed to
    the loss as a structure), with its weight and its tracker's name."""

    fn: object
    weight: float
    family: type | None
    name: str
    index: int | None
    template: object = None
    given: object = None  # the loss as compile() was given it (a name keeps its spelling)

    @property
    def first(self) -> int:
        """The flat index of the term's first output (its batch size)."""
        return self.index if self.index is not None else tree.flatten(self.template)[0]


class _Weighted:
    """A loss spec paired with its weight: a leaf of the loss structure while it is walked."""

    def __init__(self, spec, weight):
        self.spec, self.weight = spec, weight


def _is_spec_leaf(spec) -> bool:
    return not tree.is_nested(spec)


def _pair_weights(loss, loss_weights):
    """Pair each loss with its weight, as Keras does: a `loss_weights` of the loss's structure,
    or a flat list with one weight per loss."""
    if loss_weights is None:
        return tree.map_structure(
            lambda spec: None if spec is None else _Weighted(spec, None), loss
        )
    if isinstance(loss_weights, (int, float)) and _is_spec_leaf(loss):
        return _Weighted(loss, loss_weights)
    try:
        tree.assert_same_structure(loss, loss_weights)
    except (ValueError, TypeError):
        flat_loss, flat_weights = tree.flatten(loss), tree.flatten(loss_weights)
        if len(flat_loss) != len(flat_weights):
            raise errors.value_error(
                "loss_weights",
                f"one weight per loss ({len(flat_loss)} losses), in the loss's structure or flat",
                f"{len(flat_weights)} weights: {loss_weights!r}",
            ) from None
        loss_weights = tree.pack_sequence_as(loss, flat_weights)
    return tree.map_structure(
        lambda spec, weight: None if spec is None else _Weighted(spec, weight), loss, loss_weights
    )


class _StructuredTerms:
    """Keras's rules for a loss given as a structure (compile(loss=...)): a leaf scores the part
    of the outputs it stands at; a list or tuple of leaves as long as that part's outputs gives
    one loss each; any other list or tuple whose type differs from that part's applies each of
    its entries to the whole part (the losses are summed: a loss over the whole output structure,
    several losses on one output); a dict or a list of the part's type walks into it."""

    def __init__(self, names_flat: list[str], structure):
        count = len(tree.flatten(structure))
        self.indices = tree.pack_sequence_as(structure, list(range(count)))
        self.names = tree.pack_sequence_as(structure, names_flat)
        self.terms: list[tuple] = []  # (path, spec, weight, name, index part)

    def walk(self, loss, indices, names, path=()):
        if _is_spec_leaf(loss):
            if loss is not None:
                self.terms.append((path, loss.spec, loss.weight, self._name(names, path), indices))
            return
        if isinstance(loss, (list, tuple)) and all(_is_spec_leaf(item) for item in loss):
            if len(loss) == len(tree.flatten(indices)):
                loss = tree.pack_sequence_as(indices, list(loss))
                if _is_spec_leaf(loss):
                    self.walk(loss, indices, names, path)
                    return
            elif isinstance(indices, type(loss)):  # Keras would score the first outputs only
                raise errors.value_error(
                    f"loss{_where(path)}",
                    f"one entry per output ({len(tree.flatten(indices))})",
                    f"{len(loss)} entries",
                )
        if isinstance(loss, (list, tuple)) and not isinstance(indices, type(loss)):
            for item in loss:  # each applies to the whole part
                self.walk(item, indices, names, path)
            return
        if not isinstance(loss, type(indices)) and not (
            isinstance(loss, dict) and isinstance(indices, dict)
        ):
            raise errors.value_error(
                f"loss{_where(path)}",
                f"a structure like the outputs there ({_kind(indices)})",
                f"a {_kind(loss)}",
                "give the loss the outputs' structure; losses meant for a whole part go in a "
                "list or tuple of another type than that part (loss=(whole_fn, [mse, mae])).",
            )
        items = loss.items() if isinstance(loss, dict) else enumerate(loss)
        for key, item in items:
            if item is None:
                continue
            if isinstance(indices, dict) and key not in indices:
                raise errors.value_error(
                    f"loss{_where(path)}",
                    f"keys among the outputs' {sorted(indices)}",
                    f"the key {key!r}",
                    "check the key's spelling against the model's output names.",
                )
            if not isinstance(indices, dict) and key >= len(indices):
                raise errors.value_error(
                    f"loss{_where(path)}",
                    f"at most {len(indices)} entries, one per output",
                    f"an entry at position {key}",
                )
            self.walk(item, indices[key], names[key], (*path, key))

    def _name(self, names, path) -> str:
        """The tracker's name, as Keras gives it: the output's name for a loss on one output
        (in place of its position), the path's keys joined by "/" for a part, the outputs'
        names joined by "_" for the whole structure."""
        name_path = path
        if not tree.is_nested(names):
            if not path:
                name_path = (names,)
            elif isinstance(path[-1], int):
                name_path = (*path[:-1], names)
        name = "/".join(str(key) for key in name_path)
        if not name:
            flat = list(self.names) if isinstance(self.names, dict) else tree.flatten(self.names)
            name = "_".join(str(key) for key in flat)
        return name


def _keras_term_names(terms, names, named, structure, count) -> list:
    """The loss terms named as Keras names their trackers (`<name>_loss`): a loss on one output
    by that output's path in the outputs' structure, its position (the last one) replaced by the
    output's name (`others/2` for a nested dict's output, `a/dense` for a dict of lists); where
    the outputs are not the model's (a compute_loss of its own handing over `[y_pred, y_pred]`),
    the loss's own name stands for the output's, as Keras has no name for them."""
    paths = None
    if tree.is_nested(structure):
        flat = tree.flatten_with_path(structure)
        if len(flat) == count:
            paths = [path for path, _ in flat]
    renamed = []
    for term in terms:
        index = term.index
        if index is None or (named and paths is None) or term.name != names[index]:
            renamed.append(term)  # a part's loss, or one the structure walk named by its path
            continue
        own = names[index] if named else _loss_name(term)
        path = tuple(paths[index]) if paths is not None else ()
        if not path or isinstance(path[-1], int):
            path = (*path[:-1], own)
        renamed.append(dataclasses.replace(term, name="/".join(str(key) for key in path)))
    return renamed


def _loss_name(term) -> str:
    """Keras's name for a loss: the name it was given by (`"mse"`), a Loss's `name`, a
    function's `__name__`."""
    if isinstance(term.given, str):
        return term.given
    name = getattr(term.fn, "name", None) or getattr(term.fn, "__name__", None)
    return name if isinstance(name, str) else naming.to_snake_case(type(term.fn).__name__)


def _flat_spec(spec, structure) -> bool:
    """Whether `spec` gives one loss per output (lamina's per-output reading): a dict of single
    losses, or a list of them of the outputs' own container type."""

    def single(item):
        while isinstance(item, (list, tuple)) and len(item) == 1:
            item = item[0]
        return _is_spec_leaf(item)

    if isinstance(spec, dict):
        return all(single(item) for item in spec.values())
    if isinstance(spec, (list, tuple)):
        if not all(single(item) for item in spec):
            return False
        if structure is None or len(spec) == len(tree.flatten(structure)):
            return True
        if not tree.is_nested(structure):
            return False  # several losses on the one output
        # A tuple of losses for list outputs applies each to them all; a list of the outputs'
        # kind but not their number is a mistake.
        return isinstance(structure, (dict, type(spec)))
    return True


def _where(path) -> str:
    return f" at {'/'.join(str(key) for key in path)}" if path else ""


def _kind(structure) -> str:
    return type(structure).__name__


class CompileLoss:
    """The loss of `compile(loss=..., loss_weights=...)`: per-output losses, weighted and summed,
    plus the layers' regularization and `add_loss` penalties.

    Args:
        model: the model it scores (its penalties are `model.losses`).
        loss: one loss for every output, a list (one per output) or a dict keyed by output name;
            names, Loss objects and functions, as `lamina.losses.get` takes them. A structure
            follows Keras's rules: `(whole_fn, ["mse", "mae"])` adds a loss over the whole
            output structure to the per-output ones, `{"a": ["mse", "mae"]}` sums two on "a".
        loss_weights: None, a float, a list or a dict of per-output weights, or weights in the
            loss's own structure (or flat, one per loss).

    Example:
    >>> compiled = CompileLoss(model, "mse", None)  # doctest: +SKIP
    >>> total, per_output = compiled.terms(y, model(x))  # doctest: +SKIP
    """

    def __init__(self, model, loss, loss_weights):
        self.model = model
        self.spec = loss
        self.weights_spec = loss_weights
        for spec in _flat_specs(loss):  # a typo fails at compile(), not at the first batch
            if spec is not None and not _is_crossentropy(spec):
                losses_module.get(spec)
        self.outputs: list[OutputLoss] | None = None  # each output's own loss (metrics, checks)
        self.loss_terms: list[LossTerm] = []  # what the total sums
        self.output_trackers: list = []  # one per loss term, when there are several
        self.penalized = False  # whether model.losses may hold penalties to add
        self._checked_shapes: set = set()

    @property
    def built(self) -> bool:
        return self.outputs is not None

    def build(self, names: list[str], y_true_flat, y_pred_flat, structure=None) -> None:
        """Resolve the loss terms and each output's loss against one batch's labels and outputs
        (`names`: the outputs' names; `structure`: the outputs as the model returns them, which
        a loss given as a structure is matched to)."""
        count = len(y_pred_flat)
        named = len(names) == count
        if not named:
            names = [f"output_{i}" for i in range(count)]
        if self.spec is None:
            self.outputs = [OutputLoss(None, 1.0, None) for _ in range(count)]
            self.loss_terms = []
        else:
            try:
                self._build_per_output(names, y_true_flat, y_pred_flat)
            except ValueError:
                if _flat_spec(self.spec, structure):
                    raise  # one loss per output meant, and it does not fit: say so
                # A loss structure (a loss over several outputs, several on one): walked by
                # Keras's rules, which raise their own error for one that does not fit.
                self._build_structured(names, y_true_flat, y_pred_flat, structure)
            self.loss_terms = _keras_term_names(self.loss_terms, names, named, structure, count)
        # As in Keras: a tracker per loss term, when there is more than one.
        terms = self.loss_terms
        self.output_trackers = (
            [metrics_module.Mean(name=f"{term.name}_loss") for term in terms]
            if len(terms) > 1
            else []
        )

    def _resolve(self, spec, y_true_flat, y_pred_flat, index):
        labels = y_true_flat[index] if index < len(y_true_flat) else None
        if _is_crossentropy(spec) and labels is not None:  # none: terms() says so
            spec = _crossentropy_for(labels, y_pred_flat[index])
        return losses_module.get(spec) if spec is not None else None

    def _build_per_output(self, names, y_true_flat, y_pred_flat) -> None:
        """One loss (or none) and one weight per output: lamina's reading of a flat spec."""
        specs = per_output(self.spec, names, "loss")
        weights = per_output(self.weights_spec, names, "loss_weights", default=1.0)
        outputs, given = [], []
        for index, (spec, weight) in enumerate(zip(specs, weights, strict=True)):
            given.append(_one_loss(spec, names[index]))
            fn = self._resolve(given[-1], y_true_flat, y_pred_flat, index)
            weight = 1.0 if weight is None else float(weight)
            outputs.append(OutputLoss(fn, weight, loss_checks.family_of(fn)))
        self.outputs = outputs
        self.loss_terms = [
            LossTerm(entry.fn, entry.weight, entry.family, names[index], index, given=given[index])
            for index, entry in enumerate(outputs)
            if entry.fn is not None
        ]

    def _build_structured(self, names, y_true_flat, y_pred_flat, structure) -> None:
        """Loss terms from a loss structure, by Keras 3's rules (`_StructuredTerms`)."""
        count = len(y_pred_flat)
        if structure is None or len(tree.flatten(structure)) != count:
            structure = list(range(count)) if count > 1 else 0
        loss, weights = self.spec, self.weights_spec
        if isinstance(loss, dict) and not isinstance(structure, dict):
            if set(loss) != set(names):
                per_output(loss, names, "loss")  # the error for unknown keys
                raise errors.value_error(
                    "loss", f"a key for every output, {names}", f"the keys {sorted(loss)}"
                )
            loss = [loss[name] for name in names]
            if isinstance(weights, dict):
                weights = [weights.get(name) for name in names]
        if _is_spec_leaf(loss) and tree.is_nested(weights):  # one loss, a weight per output
            loss = tree.map_structure(lambda _: loss, structure)
        paired = _pair_weights(loss, weights)
        if _is_spec_leaf(paired):
            paired = tree.map_structure(lambda _: paired, structure)
        walker = _StructuredTerms(names, structure)
        walker.walk(paired, walker.indices, walker.names)
        terms = []
        for _path, spec, weight, name, part in walker.terms:
            weight = 1.0 if weight is None else float(weight)
            if isinstance(part, int):
                fn = self._resolve(spec, y_true_flat, y_pred_flat, part)
                family = loss_checks.family_of(fn)
                terms.append(LossTerm(fn, weight, family, name, part, given=spec))
            else:
                terms.append(LossTerm(losses_module.get(spec), weight, None, name, None, part))
        self.loss_terms = terms
        self.outputs = []
        for index in range(count):
            own = next((t for t in terms if t.index == index), None)
            self.outputs.append(
                OutputLoss(None, 1.0, None)
                if own is None
                else OutputLoss(own.fn, own.weight, own.family)
            )

    def note_penalties(self, model) -> None:
        """Look for layers that add penalties (weight or activity regularizers, `add_loss`)."""
        from lamina.engine.layer import Layer

        self.penalized = self.penalized or any(
            getattr(m, "_regularizers", None)
            or getattr(m, "activity_regularizer", None) is not None
            or (isinstance(m, Layer) and (m._activity_losses or m.__dict__.get("_adds_losses")))
            for m in model.modules()
        )

    # ----------------------------------------------------------------------------------------------
    def terms(self, y, y_pred, sample_weight=None):
        """(total loss, per loss term `(unweighted loss, batch size)`). No side effect on the
        trackers, so the captured train step can compute it inside its graph."""
        model = self.model
        # A mixed-precision model's outputs meet the loss in float32, as Keras's losses cast them.
        preds = flatten_outputs(mixed_precision.outputs_to_float32(y_pred))
        trues = flatten_labels(model, y) if y is not None else []
        if self.outputs is None:
            self.build(output_names(model), trues, preds, y_pred)
        total = None
        per_term = []
        weights = [sample_weight] * len(preds)  # one array (or none), the usual batch
        if sample_weight is not None and type(sample_weight) is not torch.Tensor:
            weights = per_output_weights(model, sample_weight, len(preds))
        for term in self.loss_terms:
            index = term.index
            if index is None:
                if len({id(w) for w in weights}) > 1:
                    raise errors.value_error(
                        "sample_weight",
                        "one array for a loss over several outputs",
                        "one array per output",
                        "weigh such a model's samples with a single array.",
                    )
                value = self._part_loss(term, y, trues, preds, weights[0] if weights else None)
                batch = preds[term.first].shape[0]
            else:
                if index >= len(trues) or trues[index] is None:
                    raise _missing_labels(model, y, output_names(model), index, "loss")
                value = self._output_loss(index, term, trues[index], preds[index], weights[index])
                batch = preds[index].shape[0]
            per_term.append((value, batch))
            value = value * term.weight if term.weight != 1.0 else value
            total = value if total is None else total + value
        return self._add_penalties(total, preds), per_term

    def _part_loss(self, term, y, trues, preds, sample_weight):
        """A loss over a part of the outputs: labels and outputs handed over in that part's
        structure, each pair of the same rank, as Keras's loss wrapper gives them."""
        flat = tree.flatten(term.template)
        for index in flat:
            if index >= len(trues) or trues[index] is None:
                raise _missing_labels(self.model, y, output_names(self.model), index, "loss")
        pairs = [match_rank(_as_labels(trues[i], preds[i]), preds[i]) for i in flat]
        y_true = tree.pack_sequence_as(term.template, [pair[0] for pair in pairs])
        y_pred = tree.pack_sequence_as(term.template, [pair[1] for pair in pairs])
        if isinstance(term.fn, losses_module.Loss):
            return term.fn(y_true, y_pred, sample_weight)
        return losses_module.reduce_values(term.fn(y_true, y_pred), sample_weight)

    def _output_loss(self, index, entry, y_true, y_pred, sample_weight):
        if entry.family is not None and not torch.compiler.is_compiling():
            key = (index, y_true.shape, y_pred.shape)
            if key not in self._checked_shapes:  # once per pair of shapes, not every step
                loss_checks.check_shapes(self.model, entry.family, y_true, y_pred)
                self._checked_shapes.add(key)
        if isinstance(entry.fn, losses_module.Loss):
            return entry.fn(y_true, y_pred, sample_weight)
        if sample_weight is None and getattr(y_pred, "_keras_mask", None) is None:
            mean = crossentropy.fused_batch_mean(entry.fn, y_true, y_pred)
            if mean is not None:  # the mean inside torch's kernel (a GPU step's launches)
                return mean
        # Keras wraps a loss function in a LossFunctionWrapper, which gives the labels and the
        # outputs the same rank first: a custom loss sees y_true (N, 1) against y_pred (N, 1),
        # never (N,), whose broadcast would silently make an (N, N) loss. y_pred is left as it
        # is: passing it through torch.as_tensor changed the captured step's training (checked).
        y_true, y_pred = match_rank(_as_labels(y_true, y_pred), y_pred)
        values = entry.fn(y_true, y_pred)
        mask = loss_mask(values, y_pred)
        return losses_module.reduce_values(values, sample_weight, mask=mask)

    def _add_penalties(self, total, preds):
        model = self.model
        penalties = model.losses if self.penalized or total is None else []
        if total is None and not penalties:
            raise errors.value_error(
                f"Model '{model.name}'",
                "a loss to compute",
                "compile() without loss= and no loss added by the layers (add_loss, regularizers)",
                "pass loss= to compile(), e.g. model.compile(optimizer='adam', loss='mse').",
            )
        if total is None:
            total = preds[0].new_zeros(())
        if penalties:
            placement = model.__dict__.get("_model_parallel_placement")
            if placement is not None:  # ModelParallel: sharded weights' penalties are DTensors
                penalties = placement.local_penalties(penalties)
            total = total + torch.stack([p.to(total.dtype) for p in penalties]).sum()
        if (self.penalized or penalties) and torch.compiler.is_compiling():
            # A captured step leaves no traced tensor on the layers. An eager step leaves its
            # activity losses where they are: `model.losses` after fit / evaluate shows the
            # last batch's, as in Keras, and the next outermost call clears them.
            model._clear_activity_losses()
        return total

    def update_trackers(self, per_term) -> None:
        """Each loss term's (unweighted) value into its tracker, when there are several terms.

        Args:
            per_term: one `(loss, batch size)` per loss term, as `terms` gives them.
        """
        for tracker, term in zip(self.output_trackers, per_term, strict=False):
            tracker.update_weighted(term[0].detach(), term[1])

    def __call__(self, y, y_pred, sample_weight=None):
        """The total loss; the per-output trackers are updated."""
        total, per_term = self.terms(y, y_pred, sample_weight)
        self.update_trackers(per_term)
        return total


# --------------------------------------------------------------------------------------------------
# The compiled metrics


def _number_repeats(plain, weighted) -> None:
    """Keras's names for the unprefixed metrics of outputs without names: a repeated name
    becomes `<name>_1`, `<name>_2`, ...; a weighted metric whose name is taken becomes
    `weighted_<name>` (then `weighted_<name>_1`, ...)."""
    seen: dict[str, int] = {}
    for metric in plain:
        count = seen.get(metric.name, 0)
        seen[metric.name] = count + 1
        if count:
            metric.name = f"{metric.name}_{count}"
    for metric in weighted:
        if metric.name not in seen:
            seen[metric.name] = 1
            continue
        name = f"weighted_{metric.name}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        metric.name = f"{name}_{count}" if count else name


def _is_accuracy(spec) -> bool:
    return isinstance(spec, str) and spec.lower() in ("accuracy", "acc")


class CompileMetrics(MetricGroup):
    """The metrics of `compile(metrics=..., weighted_metrics=...)`, per output: the one entry
    named `compile_metrics` in `model.metrics`, as in Keras.

    `metrics` are updated without weights and `weighted_metrics` with the batch's
    `sample_weight` (which holds `class_weight` too), as in Keras, also when a custom
    `train_step` calls `update_state(y, y_pred, sample_weight)` on it.

    Args:
        metrics: a list of metrics for every output, a list of lists (one per output) or a dict
            keyed by output name; names or Metric objects.
        weighted_metrics: the same, for the weighted ones.
        model: the compiled model (its outputs' names match a dict of labels to the outputs).

    Example:
    >>> compiled = CompileMetrics(["accuracy"], ["accuracy"], model)  # doctest: +SKIP
    >>> [m.name for m in compiled.metrics]  # after the first batch  # doctest: +SKIP
    ['accuracy', 'weighted_accuracy']
    """

    def __init__(self, metrics, weighted_metrics, model):
        super().__init__(name="compile_metrics")
        self.model = model
        self.spec = metrics
        self.weighted_spec = weighted_metrics
        for spec in _flat_specs(metrics) + _flat_specs(weighted_metrics):
            if not _is_accuracy(spec):  # a typo fails at compile(), not at the first batch
                metrics_module.get(spec)
        self.groups: list[tuple[list, list]] | None = None  # per output: (unweighted, weighted)
        self.metrics: list = []
        # The names the metric objects carry in Keras (no output prefix, no `weighted_`), every
        # output's unweighted ones first: they order the list evaluate() returns.
        self.object_names: list[str] = []
        self.empty = metrics is None and weighted_metrics is None

    @property
    def built(self) -> bool:
        return self.groups is not None

    def build(self, names, y_true_flat, y_pred_flat, output_losses) -> None:
        """Create each output's metric objects (`output_losses`: the compiled loss's outputs)."""
        count = len(y_pred_flat)
        named = len(names) == count
        if not named:
            names = [f"output_{i}" for i in range(count)]
        plain = per_output_metrics(self.spec, names)
        weighted = per_output_metrics(self.weighted_spec, names)
        self.groups = []
        self.names = names
        plain_names, weighted_names = [], []
        for index in range(count):
            y_true = y_true_flat[index] if index < len(y_true_flat) else None
            y_true = y_pred_flat[index] if y_true is None else y_true  # shapes only
            shapes = (tuple(y_true.shape), tuple(y_pred_flat[index].shape))
            loss = output_losses[index].fn if index < len(output_losses) else None
            # As in Keras: outputs without names (a subclassed model's tuple) log their
            # metrics unprefixed, a repeated name taking `_1`, `_2`, ... (below).
            prefix = f"{names[index]}_" if count > 1 and named else ""
            made = [self._make(spec, prefix, set(), loss, shapes) for spec in plain[index]]
            unweighted = [metric for metric, _ in made]
            plain_names += [base for _, base in made]
            taken = {m.name for m in unweighted} if named else set()
            made = [self._make(spec, prefix, taken, loss, shapes) for spec in weighted[index]]
            weighted_names += [base for _, base in made]
            self.groups.append((unweighted, [metric for metric, _ in made]))
        if not named:
            _number_repeats(
                [m for group in self.groups for m in group[0]],
                [m for group in self.groups for m in group[1]],
            )
        self.metrics = [m for group in self.groups for part in group for m in part]
        self.object_names = plain_names + weighted_names

    @staticmethod
    def _make(spec, prefix, taken, loss, shapes):
        """(One metric, its name without prefix): the metric is named `<prefix><name>`, or
        `<prefix>weighted_<name>` (Keras's rule for a weighted metric whose name an unweighted
        one of the same output took)."""
        base = spec if isinstance(spec, str) else None
        metric = None if base is not None else metrics_module.get(spec)
        if metric is not None:
            # lamina logs a metric under its object's name, so the object is renamed below;
            # the name it was given stays for a second compile and for files (Keras keeps the
            # object's name and prefixes only the log key), or they would say `o1_o1_...`.
            base = metric.__dict__.setdefault("_name_as_given", metric.name)
        name = f"{prefix}{base}"
        if name in taken:
            name = f"{prefix}weighted_{base}"
        if metric is not None:
            metric.name = name
            return metric, base
        if _is_accuracy(spec):
            return metrics_module.resolve_accuracy(name, loss, *shapes), base
        metric = metrics_module.get(spec, name=name)
        # Keras makes a metric named by a string under its class's own name, then renames it:
        # its variables' paths keep the first (`mean_absolute_error/total` for "mae"), which
        # get_state_tree() spells.
        metric._variables_scope = _default_name(metric)
        return metric, base

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Update every metric with one batch's labels and outputs (as the model takes and gives
        them: a tensor, a list or a dict), `sample_weight` reaching the weighted ones only.

        Args:
            y_true: the labels.
            y_pred: the model's outputs.
            sample_weight: per-sample weights, or None.
        """
        trues = flatten_labels(self.model, y_true)
        preds = flatten_outputs(y_pred)
        if not self.built:
            self.model._compile_state.build(trues, preds)
        self.update_flat(trues, preds, sample_weight)

    def update_flat(self, y_true_flat, y_pred_flat, sample_weight=None) -> None:
        """Update every metric with one batch, labels and outputs as flat lists in the outputs'
        order (outputs detached, no gradient)."""
        # torch.no_grad() as two switches: its context manager costs a dozen Python calls, paid
        # every step (what a hand-written loop does not pay).
        grad_was_enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        weights = [sample_weight] * len(self.groups)  # one array (or none), the usual batch
        if sample_weight is not None and type(sample_weight) is not torch.Tensor:
            weights = per_output_weights(self.model, sample_weight, len(self.groups))
        try:
            for (plain, weighted), y_true, y_hat, weight in zip(
                self.groups, y_true_flat, y_pred_flat, weights, strict=False
            ):
                if y_true is None and (plain or weighted):
                    name = self.names[self.groups.index((plain, weighted))]
                    raise errors.value_error(
                        f"Output '{name}'",
                        f"labels for it, which its metrics {[m.name for m in plain + weighted]} "
                        "need",
                        "no labels for it in y",
                        "pass y with a key (or an entry) for every output that has metrics.",
                    )
                detached = saved_logits.carry(y_hat, y_hat.detach(), detach=True)
                y_hat = mixed_precision.outputs_to_float32(detached)
                for metric in plain:
                    metric.update_state(y_true, y_hat)
                for metric in weighted:
                    metric.update_state(y_true, y_hat, weight)
        finally:
            torch._C._set_grad_enabled(grad_was_enabled)
