"""The Metric base class and the running means: state in device tensors, never read on the host.

`update_state` adds to running totals with tensor ops; `result()` returns a tensor; reading it as
a Python number (`float(metric.result())`) is the only sync, done by the progress bar and at epoch
end.
"""

from __future__ import annotations

import functools
import math

import torch

from lamina import backend, dtype_policies, initializers
from lamina.engine.errors import value_error
from lamina.engine.naming import to_snake_case, unique_name
from lamina.engine.shape_inference import in_meta_inference
from lamina.engine.variable_base import VariableBase
from lamina.engine.weight import NonTrainableWeight, as_weight


def _stateless_in_shape_inference(update_state):
    """`update_state` that changes nothing while a model infers shapes on the meta device: a
    layer's `call` that updates a metric (Keras's endpoint-layer pattern) runs once when a
    functional model is defined, and Keras discards the state changes of that symbolic pass."""

    @functools.wraps(update_state)
    def update_unless_symbolic(self, *args, **kwargs):
        if in_meta_inference():
            return None
        return update_state(self, *args, **kwargs)

    return update_unless_symbolic


class Metric:
    """Base class: subclasses create state with `add_state` and implement update_state / result.

    Args:
        dtype: the dtype `add_variable` makes state in and `self.dtype` names (a name or a
            `DTypePolicy`, whose compute dtype counts; default `floatx()`). The built-in
            metrics keep their running totals in float32 whatever it is.
        name: the metric's name (default: the class's in snake case, numbered after the first
            as Keras numbers it: `precision`, `precision_1`).

    Examples:
        >>> class Count(Metric):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.add_state("seen")
        ...     def update_state(self, values):
        ...         self.seen += torch.as_tensor(values).numel()
        ...     def result(self):
        ...         return self.seen
        >>> Count()(torch.zeros(3)).item()
        3.0
    """

    # Read by `Layer.__setattr__`: an attribute holding a metric is one `Layer.metrics` visits.
    _is_metric = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "update_state" in cls.__dict__:
            cls.update_state = _stateless_in_shape_inference(cls.__dict__["update_state"])

    def __init__(self, dtype=None, name=None):  # Keras's order: dtype first
        # unnamed: the class's name, numbered as Keras numbers it (`precision`, `precision_1`)
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        # Keras: the compute dtype of `dtype` (a name or a DTypePolicy), else floatx(); never the
        # global policy's (a metric under mixed_float16 still sums in float32).
        self._dtype = dtype_policies.get(dtype or backend.floatx()).compute_dtype
        self._state_names: list[str] = []
        self._state_paths: dict[str, str] = {}  # add_state's Keras paths, by attribute
        self._constant_names: list[str] = []
        self._added_variables: list[torch.Tensor] = []
        self._device = None

    def add_state(self, name: str, shape=(), dtype=torch.float32, variable_name=None):
        """Make a zero-filled state tensor `self.<name>`, which `reset_state` zeroes again.

        Args:
            name: the attribute holding it.
            shape: its shape.
            dtype: its torch dtype.
            variable_name: its name in `variables` (and path) where Keras's differs from the
                attribute's (Keras's `TruePositives.accumulator` is listed as "accumulator").

        Example:
            >>> Sum().variables[0].path
            'sum/total'
        """
        setattr(self, name, torch.zeros(shape, dtype=dtype))
        self._state_names.append(name)
        self._state_paths[name] = f"{self.name}/{variable_name or name}"

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Keras's way to make a metric's state: a variable on lamina's device, which
        `update_state` changes with `assign` / `assign_add` and `reset_state` zeroes.

        Args:
            shape: its shape (a tuple, or an int for one axis).
            initializer: an initializer or its name (`"zeros"`).
            dtype: its dtype (default: the metric's, `"float32"`).
            aggregation: accepted for Keras compatibility (how replicas combine it).
            name: its name, for its `path` (`"<metric>/<name>"`).

        Returns:
            The variable: a torch tensor with Keras's variable API (`engine/weight.py`).

        Example:
            >>> class Total(Metric):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.total = self.add_variable((), "zeros", name="total")
            ...     def update_state(self, values):
            ...         self.total.assign_add(torch.as_tensor(values).sum())
            ...     def result(self):
            ...         return self.total.value
            >>> Total()([1.0, 2.0]).item()
            3.0
        """
        shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
        torch_dtype = backend.to_torch_dtype(dtype or self.dtype)
        with torch.device("cpu"):  # a seed gives the same values on every device
            value = initializers.get(initializer)(shape, dtype=torch_dtype)
        path = f"{self.name}/{name or 'variable'}"
        variable = as_weight(
            _as_tensor(value).to(backend.default_device()), NonTrainableWeight, path
        )
        self._added_variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Keras's older name for `add_variable` (initializer `"zeros"` by default).

        Args:
            shape: its shape.
            initializer: an initializer or its name (default `"zeros"`).
            dtype: its dtype (default: the metric's).
            name: its name.

        Returns:
            The variable, as `add_variable` makes it.

        Example:
            >>> Mean().add_weight((2,), name="extra").tolist()
            [0.0, 0.0]
        """
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    def add_constant(self, name: str, value) -> None:
        """Keep `value` as `self.<name>` and move it with the state to the data's device once: a
        constant copied from the host at every update would make the device wait for it.

        Args:
            name: the attribute's name.
            value: a tensor (made on the host, e.g. thresholds), or None.

        Example:
        >>> self.add_constant("_thresholds", torch.tensor([0.3, 0.7]))  # doctest: +SKIP
        """
        setattr(self, name, value)
        self._constant_names.append(name)

    @property
    def dtype(self) -> str:
        """The dtype the metric computes in (read-only, as Keras's)."""
        return self._dtype

    @property
    def variables(self) -> list[torch.Tensor]:
        """The state tensors, with Keras's `name` and `path`: this metric's in the order they
        were added (`add_state`'s, then `add_variable`'s), then those of the metrics it holds
        in its attributes, as Keras tracks them."""
        return [v for owner in self._state_owners() for v in owner._listed_variables()]

    def _state_tensors(self) -> list[torch.Tensor]:
        """The tensors `update_state` changes, in `variables`' order (held metrics' included):
        what a captured step must keep at fixed addresses."""
        return [t for owner in self._state_owners() for t in owner._own_variables()]

    def _own_variables(self) -> list[torch.Tensor]:
        return [*(getattr(self, name) for name in self._state_names), *self._added_variables]

    def _listed_variables(self) -> list[torch.Tensor]:
        """This metric's own state as `variables` lists it: each `add_state` tensor as a named
        view over its storage (Keras's name and path), made once per tensor. The state itself
        stays a plain tensor, on which the updates of every step cost least."""
        views = self.__dict__.setdefault("_state_views", {})
        listed = []
        for name in self._state_names:
            tensor = getattr(self, name)
            cached = views.get(name)
            if cached is None or cached[0] is not tensor:
                cached = views[name] = (
                    tensor,
                    as_weight(tensor, NonTrainableWeight, self._state_paths[name]),
                )
            listed.append(cached[1])
        return [*listed, *self._added_variables]

    def _held_metrics(self) -> list[tuple[str, Metric]]:
        """(attribute, metric) for each metric held in an attribute, alone, in a list or in a
        dict (a custom metric made of a Mean and a Sum): their state is part of this metric's."""
        held = []
        for attribute, value in vars(self).items():
            if isinstance(value, Metric):
                held.append((attribute, value))
            elif isinstance(value, (list, tuple)):
                held += [
                    (f"{attribute}.{i}", v) for i, v in enumerate(value) if isinstance(v, Metric)
                ]
            elif isinstance(value, dict):  # {"precision": Precision(), ...}, as Keras tracks
                held += [(f"{attribute}.{k}", v) for k, v in value.items() if isinstance(v, Metric)]
        return held

    def _state_owners(self) -> list[Metric]:
        """This metric and every metric it holds (recursively), in `variables`' order."""
        owners = [self]
        for _, metric in self._held_metrics():
            owners += metric._state_owners()
        return owners

    def _state_by_name(self) -> dict[str, torch.Tensor]:
        """Every state tensor by a name unique in this metric: `add_state`'s by attribute,
        `add_variable`'s by position (`added_0`, ...), a held metric's under its attribute
        (`mean.total`). What a saved run stores to resume."""
        named = {name: getattr(self, name) for name in self._state_names}
        named.update((f"added_{i}", v) for i, v in enumerate(self._added_variables))
        for attribute, metric in self._held_metrics():
            named.update((f"{attribute}.{k}", v) for k, v in metric._state_by_name().items())
        return named

    def _to(self, device):
        """Move state and constants to the data's device once (a no-op after the first update).
        Made outside inference mode even when the first update comes from evaluate(): an
        inference tensor could not be reset in place by the next fit()."""
        if self._device != device:
            with torch.inference_mode(False):
                for name in self._state_names:
                    setattr(self, name, getattr(self, name).to(device))
                for variable in self._added_variables:  # in place: the user's attribute holds it
                    variable.data = variable.data.to(device)
                for name in self._constant_names:
                    value = getattr(self, name)
                    if value is not None:
                        setattr(self, name, value.to(device))
            self._device = device

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self) -> None:
        for variable in self._own_variables():
            variable.zero_()
        for _, metric in self._held_metrics():
            metric.reset_state()

    def reset_states(self) -> None:
        self.reset_state()

    def _swap_state(self, values) -> list[torch.Tensor]:
        """Put `values` in place of the state tensors (in `variables`' order) and return the ones
        they replace. `add_state`'s are attributes, rebound; `add_variable`'s are held by the
        user's attributes too, so their storage is swapped in place."""
        previous = []
        state = [*self._state_names, *self._added_variables]
        # Fewer values than slots when the call built the state: the new slots stay as made.
        for slot, value in zip(state, values, strict=False):
            if isinstance(slot, str):
                previous.append(getattr(self, slot))
                setattr(self, slot, value)
            else:
                previous.append(slot.data)
                slot.data = value
        return previous

    def _run_on_state(self, metric_variables, method, *args, **kwargs):
        """`method(*args, **kwargs)` run on copies of `metric_variables` as the state, which is
        then put back as it was: (what `method` returned, the copies as it left them)."""
        current = self.variables
        if len(metric_variables) != len(current):
            raise value_error(
                f"{type(self).__name__} '{self.name}'",
                f"metric_variables: a list of {len(current)} tensors, one per `variables` entry",
                f"a list of {len(metric_variables)}",
                "pass the list `metric.variables` holds, or what a stateless_* call returned",
            )
        copies = [
            _as_tensor(value).to(device=own.device, dtype=own.dtype, copy=True)
            for own, value in zip(current, metric_variables, strict=True)
        ]
        # Swapped metric by metric (a group's state is its metrics'), with the counts of before
        # the call: a metric that makes its state at its first update has none yet.
        owners = self._state_owners()
        counts = [len(metric._own_variables()) for metric in owners]
        devices = [metric._device for metric in owners]
        starts = [sum(counts[:i]) for i in range(len(owners))]
        saved = [
            metric._swap_state(copies[start : start + count])
            for metric, start, count in zip(owners, starts, counts, strict=True)
        ]
        try:
            returned = method(*args, **kwargs)
        finally:
            left = [metric._swap_state(state) for metric, state in zip(owners, saved, strict=True)]
            for metric, device in zip(owners, devices, strict=True):
                metric._device = device  # the state put back is where it was
        updated = []
        for metric, count, state in zip(owners, counts, left, strict=True):
            if len(metric._own_variables()) != count:
                # Built at this update (its shapes came with the data): the state it made is
                # the result; the metric keeps its new shapes, with the values a reset gives.
                state = [variable.clone() for variable in metric._own_variables()]
                for variable in metric._own_variables():
                    variable.zero_()
            updated += state
        return returned, updated

    def stateless_update_state(self, metric_variables, *args, **kwargs) -> list[torch.Tensor]:
        """`update_state` on the given state instead of this metric's, which stays as it is (for
        training loops written as functions of the state).

        Args:
            metric_variables: the state to start from, one tensor per `variables` entry.
            *args: `update_state`'s arguments (`y_true, y_pred`, or `values`).
            **kwargs: its keyword arguments (`sample_weight`).

        Returns:
            The updated state: new tensors, in `variables`' order.

        Example:
            >>> m = Mean()
            >>> state = m.stateless_update_state(m.variables, torch.tensor([2.0, 4.0]))
            >>> m.stateless_result(state).item(), m.result().item()
            (3.0, 0.0)
        """
        return self._run_on_state(metric_variables, self.update_state, *args, **kwargs)[1]

    def stateless_result(self, metric_variables) -> torch.Tensor:
        """`result()` of the given state instead of this metric's.

        Args:
            metric_variables: the state, one tensor per `variables` entry.

        Returns:
            What `result()` returns for that state.

        Example:
            >>> Sum().stateless_result([torch.tensor(5.0)]).item()
            5.0
        """
        return self._run_on_state(metric_variables, self.result)[0]

    def stateless_reset_state(self) -> list[torch.Tensor]:
        """The state `reset_state()` would leave, as new tensors; this metric's stays as it is.

        Returns:
            The reset state, one tensor per `variables` entry.

        Example:
            >>> m = Sum()
            >>> m.update_state([1.0, 2.0])
            >>> m.stateless_reset_state()[0].item(), m.result().item()
            (0.0, 3.0)
        """
        return self._run_on_state(self.variables, self.reset_state)[1]

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class MetricGroup(Metric):
    """A metric that holds other metrics (Keras's `compile_metrics`): `result()` is a dict of
    theirs by name, `reset_state()` and `variables` cover them all. Logs, resets, backups and
    the ranks' sums see the metrics it holds (`flatten_metrics`).

    Args:
        name: the group's name.
        metrics: the metrics it holds (a subclass may fill `self.metrics` later).

    Example:
        >>> group = MetricGroup("pair", [Mean("a"), Sum("b")])
        >>> group.metrics[0].update_state(torch.tensor([2.0]))
        >>> {k: v.item() for k, v in group.result().items()}
        {'a': 2.0, 'b': 0.0}
    """

    def __init__(self, name, metrics=()):
        super().__init__(name=name)
        self.metrics = list(metrics)  # held: `variables` and `reset_state` cover them

    def result(self) -> dict:
        return {metric.name: metric.result() for metric in self.metrics}


def flatten_metrics(metrics) -> list:
    """`metrics` with each `MetricGroup` replaced by the metrics it holds (recursively): the
    metric objects whose state a model keeps.

    Args:
        metrics: metrics and metric groups (e.g. `model.metrics`).

    Example:
        >>> [m.name for m in flatten_metrics([Mean("loss"), MetricGroup("g", [Sum("s")])])]
        ['loss', 's']
    """
    flat = []
    for metric in metrics:
        if isinstance(metric, MetricGroup):
            flat.extend(flatten_metrics(metric.metrics))
        else:
            flat.append(metric)
    return flat


def _detached_tensor(values) -> torch.Tensor:
    """`values` as one tensor outside the graph. A list of tensors (Keras's
    `metric.update_state([loss])` with a loss that carries gradients) is stacked after each is
    detached: `torch.as_tensor` on such a list warns, and Keras takes it without a word."""
    if values.__class__ is torch.Tensor:  # the usual case, every step: nothing to convert
        return values
    if isinstance(values, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in values):
        tensors = [v.detach() if isinstance(v, torch.Tensor) else _as_tensor(v) for v in values]
        device = next((t.device for t in tensors if t.device.type != "cpu"), torch.device("cpu"))
        return torch.stack([t.to(device) for t in tensors])
    return _as_tensor(values)


def broadcast_weight(weight, values):
    """Weights (N,) or (N, 1) against values of any rank: squeeze or unsqueeze trailing axes."""
    while weight.dim() > values.dim() and weight.shape[-1] == 1:
        weight = weight.squeeze(-1)
    while weight.dim() < values.dim():
        weight = weight.unsqueeze(-1)
    return weight


class Mean(Metric):
    """Weighted mean of the values given to update_state.

    Examples:
        >>> m = Mean()
        >>> m.update_state(torch.tensor([1.0, 3.0]))
        >>> m.update_state(torch.tensor([5.0]), sample_weight=torch.tensor([2.0]))
        >>> m.result().item()
        3.5

    Args:
        name: the metric's name (default `"mean"`).
        dtype: accepted for Keras compatibility; state is float32.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values, sample_weight=None):
        # A loss's mask on its values (ignore_class's samples): Keras zeroes their weights, so
        # they leave the count, but only when weights are given.
        mask = getattr(values, "_keras_mask", None)
        values = _detached_tensor(values)
        self._to(values.device)
        values = values.detach().float()
        # Keras first averages each sample's values (and weights) over the axes after the batch
        # axis, so its state counts samples: the same sums divided by the values per sample.
        per_sample = 1 / (math.prod(values.shape[1:]) or 1)
        if sample_weight is not None:
            weight = _as_tensor(sample_weight, device=values.device).float()
            weight = torch.broadcast_to(broadcast_weight(weight, values), values.shape)
            if mask is not None:
                weight = weight * broadcast_weight(mask.to(weight.device, weight.dtype), values)
            self.total.add_((values * weight).sum(), alpha=per_sample)
            self.count.add_(weight.sum(), alpha=per_sample)
        else:
            self.total.add_(values.sum(), alpha=per_sample)
            self.count += values.shape[0] if values.dim() else 1

    def result(self):
        # 0 where the weights sum to 0 (before any update, or all weights 0), as Keras's
        # divide_no_nan; a negative weight sum divides as it is.
        return torch.where(self.count == 0, 0.0, self.total / self.count)

    def update_weighted(self, value: torch.Tensor, weight) -> None:
        """Add `value` counted `weight` times (the batch loss counted once per sample)."""
        self._to(value.device)
        self.total.add_(value.detach(), alpha=weight)  # one kernel: total += value * weight
        self.count += weight


class Sum(Metric):
    """Running sum of the values given to update_state.

    Examples:
        >>> Sum()(torch.tensor([1.0, 2.0])).item()
        3.0

    Args:
        name: the metric's name (default `"sum"`).
        dtype: accepted for Keras compatibility; state is float32.
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")

    def update_state(self, values, sample_weight=None):
        mask = getattr(values, "_keras_mask", None)  # as Mean: it counts when weights are given
        values = _detached_tensor(values)
        self._to(values.device)
        values = values.detach().float()
        if sample_weight is not None:
            weight = _as_tensor(sample_weight, device=values.device).float()
            if mask is not None:
                weight = broadcast_weight(weight, mask) * mask.to(weight.device, weight.dtype)
            values = values * broadcast_weight(weight, values)
        self.total += values.sum()

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """A function `(y_true, y_pred) -> per-sample values` as a running (weighted) mean.

    Args:
        fn: the function.
        name: the metric's name (the function's name by default).
        **kwargs: options passed to `fn` on every update.

    Examples:
        >>> m = MeanMetricWrapper(lambda t, p: (t - p).abs(), name="abs")
        >>> m(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 3.0])).item()
        2.0
    """

    # `(fn, the same test as booleans)` for a wrapper whose `fn` gives 0/1 values (accuracy):
    # an unweighted update sums the booleans, without their float copy (a kernel per step).
    _matches: tuple | None = None

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._matches is not None and sample_weight is None and self._counted(y_true, y_pred):
            return
        mask = getattr(y_pred, "_keras_mask", None)  # a masked sequence model's padded steps
        y_pred = _as_tensor(y_pred)
        if not y_pred.is_floating_point():
            y_pred = y_pred.float()
        y_true = _as_tensor(y_true, device=y_pred.device)
        values = self.fn(y_true, y_pred, **self.fn_kwargs)
        if isinstance(mask, torch.Tensor) and _leads(mask.shape, values.shape):
            # Keras's rule: masked-out values weigh 0, so the mean is over the valid ones; a
            # per-step mask covers each step's values (binary_accuracy's per label).
            mask = mask.to(torch.float32)
            if sample_weight is None:
                sample_weight = mask
            else:
                weight = _as_tensor(sample_weight, device=mask.device).float()
                sample_weight = broadcast_weight(weight, mask) * mask
        super().update_state(values, sample_weight)

    def _counted(self, y_true, y_pred) -> bool:
        """The update of a 0/1 test without weights or a mask, from its booleans: the same sums
        as Mean's of the floats (whole numbers, exact), one cast fewer. False, having done
        nothing, where the general path must run (another `fn`, inputs to convert or move)."""
        fn, matches = self._matches
        if (
            self.fn is not fn
            or y_pred.__class__ is not torch.Tensor
            or y_true.__class__ is not torch.Tensor
            or not y_pred.is_floating_point()  # the general path casts integer predictions
            or y_true.device != y_pred.device
            or getattr(y_pred, "_keras_mask", None) is not None
        ):
            return False
        hits = matches(y_true, y_pred, **self.fn_kwargs)
        count = hits.shape[0] if hits.dim() else 1
        if hits.numel() != count:  # several values per sample: Mean averages them first
            Mean.update_state(self, hits.float())
            return True
        self._to(hits.device)
        self.total.add_(hits.sum(dtype=self.total.dtype))  # whole numbers: exact
        self.count += count
        return True

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self.fn_kwargs}


def _leads(mask_shape, values_shape) -> bool:
    """Whether a mask of `mask_shape` covers values of `values_shape`: the same leading axes."""
    rank = len(mask_shape)
    return 0 < rank <= len(values_shape) and tuple(values_shape[:rank]) == tuple(mask_shape)


def _as_tensor(value, device=None) -> torch.Tensor:
    """`torch.as_tensor`, also of a `Variable` (`mean.update_state(augmenter.probability)`),
    which torch would read as a sequence."""
    if value.__class__ is torch.Tensor and (device is None or value.device == device):
        return value  # what torch.as_tensor gives back, decided without its call
    if isinstance(value, VariableBase):
        value = value.value
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        # `update_state([real_labels, fake_labels], [real_preds, fake_preds])`: stacked, as
        # Keras converts a list of tensors (torch.as_tensor takes only one-element ones)
        return torch.stack([_as_tensor(v, device) for v in value])
    return torch.as_tensor(value, device=device)
