"""The layer graph of a functional model: which nodes run, in which order, and the replay on data.

Ordering follows Keras's rule so that `model.layers`, `summary()` and `get_weights()` list layers in
the same order as Keras: a depth-first walk from the outputs gives every layer a traversal index and
every node a depth (its distance from the outputs, a shared layer taking its deepest node's);
layers, InputLayers included, are listed by decreasing depth, ties broken by traversal index.
So with two inputs the second InputLayer comes where the walk meets it, not first. An input the
outputs do not use has depth 0 and comes before the other depth-0 layers.

Dicts of inputs or outputs flatten by sorted key (`keras.tree`'s order), and a dict of data is
matched as Keras matches it: by the keys of the dict the model was built on, else by the Input
layers' names.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from lamina import tree
from lamina.engine import channels_first, errors
from lamina.engine.symbolic import InputLayer, KerasTensor, flatten_symbolic, record_mask_node

# The graph replays running now. Keras hands each layer of a graph the mask the graph recorded for
# it, so a layer that takes the masks off its inputs in an eager call (MultiHeadAttention, as
# Keras's) leaves them in place during a replay, where the other layers read them from the tensors.
REPLAYS = [0]


def _holds_arrays(value) -> bool:
    """Whether a list / tuple holds arrays or tensors (a structure of inputs), not numbers."""
    return any(
        isinstance(item, (np.ndarray, torch.Tensor))
        or (isinstance(item, (list, tuple)) and _holds_arrays(item))
        for item in value
    )


def several_inputs(value) -> bool:
    """Whether `value` is a list or tuple of more than one array or tensor: a structure of
    inputs, not one input's nested numbers nor Keras's `[x]` for a one-input model.

    Args:
        value: what a model was given.

    Example:
    >>> several_inputs([np.ones(2), np.ones(2)]), several_inputs([[1.0, 2.0], [3.0, 4.0]])
    (True, False)
    """
    return isinstance(value, (list, tuple)) and len(value) > 1 and _holds_arrays(value)


def flat_feed(inputs) -> list:
    """The arrays of a list / tuple feed, nested lists of arrays flattened in order, as Keras
    flattens the structure it is given (`model(([a], b))` feeds `a` and `b`); a list of numbers
    stays one input's data."""
    flat = []
    for item in inputs:
        if isinstance(item, (list, tuple)) and _holds_arrays(item):
            flat.extend(flat_feed(item))
        else:
            flat.append(item)
    return flat


def _symbolic_leaves(argument: str, structure) -> list[KerasTensor]:
    """`Model(inputs, outputs)`'s `argument` flattened (as `flatten_symbolic` orders it), once
    checked to be a KerasTensor or a non-empty structure of them only, as Keras requires (a
    number or a None among them would otherwise be dropped, and `Model(3, 4)` give an empty
    model)."""
    leaves = [structure] if isinstance(structure, KerasTensor) else tree.flatten(structure)
    if not leaves:
        raise errors.value_error(
            f"Model(inputs, outputs)'s `{argument}`",
            "at least one symbolic tensor",
            f"an empty {type(structure).__name__}",
            "pass the Input() tensors as inputs and the tensors the layers gave as outputs.",
        )
    for leaf in leaves:
        if not isinstance(leaf, KerasTensor):
            raise errors.value_error(
                f"Model(inputs, outputs)'s `{argument}`",
                "symbolic tensors from Input() and layer calls only",
                f"{leaf!r} ({type(leaf).__name__})",
                "build the model on keras.Input(...) and pass the tensors its layers return; "
                "a subclassed model takes its arguments in call() instead.",
            )
    return leaves


class FunctionalGraph:
    """The graph between a functional model's symbolic inputs and outputs, replayed on data."""

    def __init__(self, inputs, outputs):
        self.inputs = inputs
        self.outputs = outputs
        self.flat_inputs: list[KerasTensor] = _symbolic_leaves("inputs", inputs)
        self.flat_outputs: list[KerasTensor] = _symbolic_leaves("outputs", outputs)
        if isinstance(inputs, dict):
            for key, tensor in inputs.items():
                if isinstance(tensor, KerasTensor) and key != tensor.name:
                    # Keras warns too: the key feeds the input, yet configs and plots show the name.
                    warnings.warn(
                        f"Model(inputs=dict) maps the key {key!r} to the input named "
                        f"{tensor.name!r}; data is matched by the key. Hint: name the input as its "
                        f"key, Input(..., name={key!r}).",
                        UserWarning,
                        stacklevel=4,
                    )
        self.nodes, self.layers = self._order()
        self._index_tensors()

    def _index_tensors(self) -> None:
        """The replay's lookups, keyed by the tensors' ids (worked out once: see `_Step`)."""
        self.steps = [_Step(node) for node in self.nodes]
        self.input_ids = [id(t) for t in self.flat_inputs]
        self.planned = False  # the channels-first hand-off, planned at the first run
        # (dtype, sizes after the batch axis) of a lone tensor fed to a one-Input model that
        # `_bind_inputs` took as it was: one of the same takes no conversion or check again.
        self.lone_feed = None

    def _plan_channels_first(self) -> None:
        """Which edges carry channels-first tensors (engine/channels_first.py): planned once,
        on the first run, when every layer is built."""
        calls = [
            (
                channels_first.role(step.layer) if step.input_ids is not None else None,
                step.input_ids,
                step.output_ids[0] if len(step.output_ids) == 1 else None,
            )
            for step in self.steps
        ]
        consumed_elsewhere = [
            id(t) for step in self.steps if step.input_ids is None for t in step.parents
        ]
        kept = {id(t) for t in self.flat_outputs} | set(consumed_elsewhere)
        for step, planned in zip(self.steps, channels_first.plan(calls, kept), strict=True):
            step.channels_first = planned
        self.planned = True

    def __getstate__(self):
        # The ids are the tensors' addresses in this process: a copy (copy.deepcopy, pickle)
        # holds new tensors, so it works them out again.
        return {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("steps", "input_ids", "planned", "lone_feed")
        }

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        self._index_tensors()

    def _order(self):
        input_ids = {id(t) for t in self.flat_inputs}
        traversal_index: dict[int, int] = {}
        finished: list = []
        finished_ids: set[int] = set()
        in_progress: set[int] = set()

        def enter(tensor: KerasTensor):
            """Check a tensor's node; return it if the walk must descend into it, else None."""
            node = tensor.node
            if node is None and id(tensor) in input_ids:
                return (
                    None  # a bare KerasTensor given as an input (`Function`): bound, never computed
                )
            if node is None and record_mask_node(tensor):
                node = tensor.node
            if node is None:
                raise ValueError(f"Tensor {tensor} was not produced by a layer or an Input().")
            if id(node) in finished_ids:
                return None
            is_input_layer = isinstance(node.layer, InputLayer)
            if id(tensor) in input_ids and not is_input_layer:
                # An intermediate tensor given as a model input: bound, never computed.
                finished_ids.add(id(node))
                return None
            if is_input_layer and id(tensor) not in input_ids:
                raise ValueError(
                    f"The graph needs input {node.layer.name!r}, which is not among the model's "
                    "inputs. Hint: pass every Input() the outputs depend on to Model(inputs=...)."
                )
            if id(node) in in_progress:
                raise ValueError("The layer graph has a cycle.")
            traversal_index.setdefault(id(node.layer), len(traversal_index))
            in_progress.add(id(node))
            return node

        # A depth-first walk with an explicit stack (a chain of thousands of layers must not
        # exhaust Python's recursion limit): each entry is a node and its parents left to visit.
        for tensor in self.flat_outputs:
            root = enter(tensor)
            if root is None:
                continue
            stack = [(root, _parents_to_visit(root))]
            while stack:
                node, parents = stack[-1]
                parent = next(parents, None)
                if parent is not None:
                    child = enter(parent)
                    if child is not None:
                        stack.append((child, _parents_to_visit(child)))
                    continue
                stack.pop()
                in_progress.discard(id(node))
                finished_ids.add(id(node))
                finished.append(node)

        in_graph = {id(node) for node in finished}
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        layers: dict[int, object] = {}
        for node in reversed(finished):
            depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth
            layers[id(node.layer)] = node.layer
            node_depth[id(node)] = depth
            for parent in node.parent_tensors:
                if parent.node is not None and id(parent.node) in in_graph:
                    node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
        # Inputs the outputs do not use still belong to the model: depth 0, before every layer.
        for tensor in self.flat_inputs:
            layer = None if tensor.node is None else tensor.node.layer
            if isinstance(layer, InputLayer) and id(layer) not in layer_depth:
                layer_depth[id(layer)] = 0
                traversal_index[id(layer)] = -1
                layers[id(layer)] = layer

        ordered = sorted(
            layers.values(), key=lambda layer: (-layer_depth[id(layer)], traversal_index[id(layer)])
        )
        run_nodes = [n for n in finished if not isinstance(n.layer, InputLayer)]
        run_nodes.sort(key=lambda n: -node_depth[id(n)])
        return run_nodes, ordered

    def replay(self, new_inputs, layer_for=None, call=None):
        """The outputs of the graph's nodes called again, in run order, on other symbolic inputs
        (in the structure of `inputs`); `layer_for(layer)` picks the layer each node calls
        (default: its own), `call(layer, *args, **kwargs)` makes the call (default: `layer(...)`).
        Cloning a model and slicing one at an inner tensor are this replay."""
        values = {
            id(old): new
            for old, new in zip(self.flat_inputs, flatten_symbolic(new_inputs), strict=True)
        }
        for node in self.nodes:
            layer = node.layer if layer_for is None else layer_for(node.layer)
            args, kwargs = _substitute(node.args, values), _substitute(node.kwargs, values)
            result = layer(*args, **kwargs) if call is None else call(layer, *args, **kwargs)
            for old, new in zip(
                flatten_symbolic(node.outputs), flatten_symbolic(result), strict=True
            ):
                values[id(old)] = new
        return _substitute(self.outputs, values)

    def run(self, inputs, owner: str = "Model"):
        """Replay the graph on real tensors (the training flag reaches layers through the stack).
        `owner` names the model or function in errors (`Model 'siamese'`)."""
        values = self._bind_inputs(inputs, owner)
        if not self.planned:
            self._plan_channels_first()
        REPLAYS[0] += 1
        try:
            if channels_first.active():
                training = channels_first.enclosing_training()
                for step in self.steps:
                    if step.channels_first is not None:
                        step.run_channels_first(values, training)
                    elif step.plain_input is None:
                        step.run(values)
                    else:  # layer(x): `Layer._call_in_run` checks what may differ per layer
                        result = step.layer._call_in_run(values[step.plain_input], training)
                        if step.lone_output is not None and isinstance(result, torch.Tensor):
                            values[step.lone_output] = result
                        else:
                            step.store(values, result)
            else:
                for step in self.steps:
                    step.run(values)
        finally:
            REPLAYS[0] -= 1
        return _substitute(self.outputs, values, sort_dicts=True)

    def _bind_inputs(self, inputs, owner: str = "Model"):
        lone = self.lone_feed
        if (
            lone is not None
            and type(inputs) is torch.Tensor
            and inputs.dtype is lone[0]
            and inputs.shape[1:] == lone[1]
        ):
            return {self.input_ids[0]: inputs}  # every batch of predict after the first
        values = {}
        if isinstance(inputs, dict):
            flat = self._match_dict(inputs, owner)
        else:
            if self.keyed_by_dict():
                self._check_positional_feed(inputs, owner)
            flat = flat_feed(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if isinstance(inputs, (list, tuple)) and _holds_arrays(
                [item for item in inputs if isinstance(item, (list, tuple))]
            ):
                warnings.warn(  # Keras warns too, and feeds the flattened arrays
                    f"{owner}: the structure of the inputs (nested lists) does not match the "
                    f"model's {len(self.flat_inputs)} Input(s); their arrays are fed in order.",
                    UserWarning,
                    stacklevel=5,
                )
        if len(flat) != len(self.flat_inputs):
            names = [t.name for t in self.flat_inputs]
            raise errors.value_error(
                owner,
                f"{len(self.flat_inputs)} input array(s) (for {names})",
                f"{len(flat)}",
                f"pass a list of {len(names)} arrays in that order, or a dict keyed by those "
                "names.",
            )
        for symbolic, value in zip(self.flat_inputs, flat, strict=True):
            if value is None:
                _check_optional(symbolic)
                values[id(symbolic)] = None
                continue
            expected = symbolic.shape
            value = adjust_input_rank(_to_tensor(value, symbolic), expected)
            if len(value.shape) != len(expected) or any(
                e is not None and e != a for e, a in zip(expected[1:], value.shape[1:], strict=True)
            ):
                owner = symbolic if symbolic.node is None else symbolic.node.layer
                raise errors.value_error(
                    f"Input '{owner.name}'",
                    f"shape {errors.format_shape(expected)}",
                    f"an array of shape {tuple(value.shape)}",
                    "reshape the data to the model's input shape (the batch axis comes first).",
                )
            values[id(symbolic)] = value
        if (
            type(inputs) is torch.Tensor
            and len(flat) == 1
            and values[self.input_ids[0]] is inputs  # no conversion, no rank adjusted
            and not self.keyed_by_dict()
        ):
            self.lone_feed = (inputs.dtype, inputs.shape[1:])
        return values

    def input_keys(self) -> list[str]:
        """The keys a dict of data is matched by, in the order of `flat_inputs`.

        Keras's rule: a model built on a dict of Inputs is fed by that dict's keys; a model built
        on one Input or a list of them is fed by the Input layers' names.
        """
        if self.keyed_by_dict():
            by_tensor = {id(tensor): key for key, tensor in self.inputs.items()}
            return [by_tensor[id(tensor)] for tensor in self.flat_inputs]
        return [tensor.node.layer.name for tensor in self.flat_inputs]

    def keyed_by_dict(self) -> bool:
        """Whether the model was built on a flat dict of symbolic inputs."""
        return isinstance(self.inputs, dict) and all(
            isinstance(tensor, KerasTensor) for tensor in self.inputs.values()
        )

    def _check_positional_feed(self, inputs, owner: str = "Model") -> None:
        """Keras's rule for data that is no dict given to a model built on a dict of Inputs: the
        arrays are taken in sorted key order, with a warning, and refused if the model's dict was
        not written in that order (the positions would be ambiguous)."""
        keys = list(self.inputs)
        if keys != sorted(keys):
            raise errors.value_error(
                owner,
                f"a dict with the keys {keys} (the model's inputs are a dict)",
                f"a {type(inputs).__name__}",
                "pass the data as a dict keyed like the model's inputs.",
            )
        warnings.warn(
            f"The model's inputs are a dict with the keys {keys}; data given as a "
            f"{type(inputs).__name__} is matched to them in that order. Hint: pass a dict.",
            UserWarning,
            stacklevel=5,
        )

    def _match_dict(self, inputs: dict, owner: str = "Model") -> list:
        """The values of a dict of data in `flat_inputs` order, picked by `input_keys()`."""
        if isinstance(self.inputs, dict) and not self.keyed_by_dict():
            return self._match_nested(inputs, owner)
        keys = self.input_keys()
        missing = [key for key in keys if key not in inputs]
        if missing:
            raise errors.value_error(
                owner,
                f"a dict with the keys {keys}",
                f"keys {list(inputs)}, without {missing}",
                "a model built on a dict of Inputs is fed by that dict's keys, one built on a "
                "list of Inputs by the Input layers' names.",
            )
        extra = [key for key in inputs if key not in keys]
        if extra and self.keyed_by_dict():
            # Keras warns here (the structure differs from the model's) and drops the extra keys.
            # Attributed to this line, as Keras's is to its own, so fit, evaluate and predict on
            # the same data warn once between them.
            warnings.warn(
                f"The model's inputs are a dict with the keys {keys}; the data's keys {extra} "
                "match no input and are ignored.",
                UserWarning,
                stacklevel=1,
            )
        return [inputs[key] for key in keys]

    def _match_nested(self, inputs: dict, owner: str = "Model") -> list:
        """The data for a model built on a nested structure of Inputs (`{"1": a, "others":
        {"2": b, "3": c}}`), taken along that structure, in `flat_inputs` order."""
        found: dict[int, object] = {}

        def take(structure, data, where: str) -> None:
            if isinstance(structure, KerasTensor):
                found[id(structure)] = data
            elif isinstance(structure, dict):
                if not isinstance(data, dict) or any(key not in data for key in structure):
                    raise errors.value_error(
                        owner,
                        f"at {where or 'the top'} a dict with the keys {list(structure)}",
                        f"{list(data) if isinstance(data, dict) else type(data).__name__}",
                        "feed the data in the structure of the model's inputs.",
                    )
                for key, item in structure.items():
                    take(item, data[key], f"{where}[{key!r}]")
            else:  # a list or tuple of inputs
                if not isinstance(data, (list, tuple)) or len(data) != len(structure):
                    raise errors.value_error(
                        owner,
                        f"at {where or 'the top'} a list of {len(structure)} arrays",
                        f"{type(data).__name__}",
                        "feed the data in the structure of the model's inputs.",
                    )
                for index, (item, value) in enumerate(zip(structure, data, strict=True)):
                    take(item, value, f"{where}[{index}]")

        take(self.inputs, inputs, "")
        return [found[id(tensor)] for tensor in self.flat_inputs]


class _Step:
    """One node's replay, its lookups worked out once: a ResNet's training step replays some fifty
    nodes, and walking each node's argument structures on every call cost more host time than
    the layers' own Python (which is what a GPU step waits on)."""

    def __init__(self, node):
        self.layer = node.layer
        self.args, self.kwargs = node.args, node.kwargs
        self.symbolic_kwargs = bool(flatten_symbolic(node.kwargs))
        self.output_ids = [id(t) for t in flatten_symbolic(node.outputs)]
        self.parents = node.parent_tensors
        # The common shapes of a call: layer(x) and layer([x, y, ...]), x symbolic.
        args = node.args
        self.lone_input = None
        self.input_list = None
        if len(args) == 1 and isinstance(args[0], KerasTensor):
            self.lone_input = id(args[0])
        elif (
            len(args) == 1
            and type(args[0]) in (list, tuple)
            and all(isinstance(a, KerasTensor) for a in args[0])
        ):
            self.input_list = (type(args[0]), [id(a) for a in args[0]])
        # The tensors a channels-first plan may hand this call (None: a call it leaves alone).
        self.input_ids = None
        if not node.kwargs:
            if self.lone_input is not None:
                self.input_ids = [self.lone_input]
            elif self.input_list is not None:
                self.input_ids = self.input_list[1]
        self.channels_first = None  # its part in the plan: a channels_first.Step, or None
        # `layer(x)` with no other argument: its input's id (else None), and its output's id
        # where it has one output (else None).
        self.plain_input = self.lone_input if not node.kwargs else None
        self.lone_output = self.output_ids[0] if len(self.output_ids) == 1 else None

    def run(self, values: dict) -> None:
        kwargs = _substitute(self.kwargs, values) if self.symbolic_kwargs else self.kwargs
        if self.lone_input is not None:
            result = self.layer(values[self.lone_input], **kwargs)
        elif self.input_list is not None:
            kind, ids = self.input_list
            result = self.layer(kind(values[i] for i in ids), **kwargs)
        else:
            result = self.layer(*_substitute(self.args, values), **kwargs)
        if len(self.output_ids) == 1 and isinstance(result, torch.Tensor):
            values[self.output_ids[0]] = result
            return
        self.store(values, result)

    def store(self, values: dict, result) -> None:
        """Each output of the call's `result` under its tensor's id."""
        for output_id, value in zip(self.output_ids, _flatten_values(result), strict=False):
            values[output_id] = value

    def run_channels_first(self, values: dict, training) -> None:
        if self.lone_input is not None:
            inputs, as_list = [values[self.lone_input]], None
        else:
            as_list, ids = self.input_list
            inputs = [values[i] for i in ids]
        result = channels_first.run(self.layer, inputs, self.channels_first, as_list, training)
        if len(self.output_ids) == 1 and isinstance(result, torch.Tensor):
            values[self.output_ids[0]] = result
            return
        for output_id, value in zip(self.output_ids, _flatten_values(result), strict=False):
            values[output_id] = value


def _parents_to_visit(node):
    """The tensors a node's walk descends into: none for an InputLayer, else its arguments'."""
    if isinstance(node.layer, InputLayer):
        return iter(())
    return iter(node.parent_tensors)


def rank_adjusted_shape(shape: tuple, expected_shape: tuple) -> tuple:
    """`shape` after Keras's rank rule for a model input (`adjust_input_rank`): a trailing unit
    axis dropped, or one added where the `Input`'s last size is 1, when that gives the expected
    rank; any other shape as it is. Symbolic traces (a Sequential's) follow the rule by it too.

    Args:
        shape: the given input's shape.
        expected_shape: the `Input`'s shape, batch axis included (`None` for unknown sizes).

    Example:
        >>> rank_adjusted_shape((None, 1), (None,)), rank_adjusted_shape((4, 28), (None, 28, 1))
        ((None,), (4, 28, 1))
    """
    if len(shape) == len(expected_shape) + 1 and shape[-1] == 1:
        return shape[:-1]
    if len(shape) == len(expected_shape) - 1 and expected_shape and expected_shape[-1] == 1:
        return (*shape, 1)
    return shape


def adjust_input_rank(array, expected_shape):
    """Keras's rank rule for a model input: an array one axis short of an `Input` whose last size
    is 1 gains that axis (a (N, 28, 28) array into `Input((28, 28, 1))`), and an array with one
    extra trailing axis of size 1 loses it; any other array is returned as it is, for the caller's
    shape check to judge. Works on NumPy arrays and torch tensors alike (a view, no copy).

    Args:
        array: the value given for one input (anything with `.shape` and NumPy-style indexing).
        expected_shape: the `Input`'s shape, batch axis included (`None` for unknown sizes).

    Example:
        >>> adjust_input_rank(np.zeros((4, 28, 28)), (None, 28, 28, 1)).shape
        (4, 28, 28, 1)
    """
    shape = tuple(getattr(array, "shape", ()))
    changes_rank = len(shape) in (len(expected_shape) + 1, len(expected_shape) - 1)
    if changes_rank and not isinstance(array, (np.ndarray, torch.Tensor)):
        array = np.asarray(array)  # a pandas Series / frame takes no `[..., None]`
    target = rank_adjusted_shape(shape, expected_shape)
    if target == shape:
        return array
    adjusted = array[..., 0] if len(target) < len(shape) else array[..., None]
    mask = getattr(array, "_keras_mask", None)
    if mask is not None:
        adjusted._keras_mask = mask
    return adjusted


def _check_optional(symbolic: KerasTensor) -> None:
    """An input given as None must be optional: Keras's `Input(optional=True)` takes None (the
    layers it feeds see None); any other input refuses it."""
    layer = None if symbolic.node is None else symbolic.node.layer
    if not getattr(layer, "optional", False):
        name = symbolic.name if layer is None else layer.name
        raise errors.value_error(
            f"Input '{name}'",
            "an array (the input is not optional)",
            "None",
            "pass data for it, or declare it Input(..., optional=True) to let it be None.",
        )


def _to_tensor(value, symbolic: KerasTensor) -> torch.Tensor:
    from lamina import backend

    if not isinstance(value, torch.Tensor):
        import numpy as np

        if symbolic.dtype == "string":  # strings never become tensors (see StringLookup)
            return np.asarray(value)
        value = backend.from_numpy(value).to(backend.default_device())  # ml_dtypes' bfloat16 too
    expected = backend.to_torch_dtype(symbolic.dtype)
    if value.dtype != expected and (value.is_floating_point() or expected.is_floating_point):
        value = value.to(expected)
    return value


def _substitute(structure, values, sort_dicts=False):
    """The structure with each KerasTensor replaced by its value; with `sort_dicts`, dicts are
    rebuilt in sorted key order, as Keras returns a model's dict outputs."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        items = [_substitute(s, values, sort_dicts) for s in structure]
        if hasattr(structure, "_fields"):  # a namedtuple takes its fields as arguments
            return type(structure)(*items)
        return type(structure)(items)
    if isinstance(structure, dict):
        keys = sorted(structure) if sort_dicts else structure
        return {k: _substitute(structure[k], values, sort_dicts) for k in keys}
    return structure


def _flatten_values(result):
    if isinstance(result, (list, tuple)):
        out = []
        for item in result:
            out.extend(_flatten_values(item))
        return out
    if isinstance(result, dict):
        return _flatten_values(list(result.values()))
    return [result]
