"""Weight constraints: projections applied to a weight after each optimizer step (Keras's names).

A constraint sees the weight in Keras's layout (a Dense kernel as `(in, out)`, a Conv2D kernel as
`(kh, kw, in, out)`), so `axis` means what it means in Keras: the built-in layers' weights have
Keras's shapes, and a weight made with a converting layout is converted around the constraint.
`collect(model)` returns the `(parameter, function)` pairs that
`Optimizer.build(parameters, constraints=...)` applies.
"""

from __future__ import annotations

import torch

from lamina.engine import errors

# Keras divides by `epsilon + norm` with its backend epsilon.
EPSILON = 1e-7


class Constraint:
    """Base class of weight constraints: `constraint(weight)` returns the projected weight.

    The base class returns the weight unchanged; subclasses override `__call__` and, when they take
    arguments, `get_config()`.

    Examples:
        >>> class Clip(Constraint):
        ...     def __call__(self, weight):
        ...         return weight.clamp(-1.0, 1.0)
        >>> Clip()(torch.tensor([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return weight

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _tensor(weight) -> torch.Tensor:
    """A weight as a tensor: a constraint called by hand on a NumPy array works, as in Keras."""
    return weight if isinstance(weight, torch.Tensor) else torch.as_tensor(weight)


def _norms(weight: torch.Tensor, axis) -> torch.Tensor:
    dim = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(weight.square(), dim=dim, keepdim=True))


def _axis(axis):
    # kept as given (a list stays a list), so the config is the one Keras writes
    return axis if isinstance(axis, (list, tuple)) else int(axis)


class MaxNorm(Constraint):
    """Rescale so the norm along `axis` is at most `max_value`.

    Args:
        max_value: the largest allowed norm (default 2).
        axis: the axis (or axes) the norm is taken over; 0 for a Dense kernel `(in, out)` bounds
            each unit's incoming weights, `[0, 1, 2]` does so for a Conv2D kernel.

    Examples:
        >>> kernel = torch.tensor([[3.0, 0.5], [4.0, 0.0]])
        >>> [[round(v, 4) for v in row] for row in MaxNorm(max_value=1.0)(kernel).tolist()]
        [[0.6, 0.5], [0.8, 0.0]]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = _axis(axis)

    def __call__(self, weight):
        weight = _tensor(weight)
        norms = _norms(weight, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return weight * (desired / (EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative entries to zero.

    Examples:
        >>> NonNeg()(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
        True
    """

    def __call__(self, weight):
        weight = _tensor(weight)
        return weight * (weight >= 0).to(weight.dtype)


class UnitNorm(Constraint):
    """Divide by the norm along `axis`, so each slice has unit norm.

    Args:
        axis: the axis (or axes) the norm is taken over (default 0: each column of a Dense kernel).

    Examples:
        >>> UnitNorm()(torch.tensor([[3.0], [4.0]])).flatten().tolist()
        [0.6000000238418579, 0.800000011920929]
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, weight):
        weight = _tensor(weight)
        return weight / (EPSILON + _norms(weight, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the norm along `axis` toward `[min_value, max_value]` at `rate` (1.0: all the way).

    Args:
        min_value: the smallest allowed norm (default 0).
        max_value: the largest allowed norm (default 1).
        rate: how far to move per application: `norm' = rate * clip(norm) + (1 - rate) * norm`.
        axis: the axis (or axes) the norm is taken over (default 0).

    Examples:
        >>> kernel = torch.tensor([[0.3], [0.4]])
        >>> [[round(v, 4) for v in row] for row in MinMaxNorm(min_value=1.0)(kernel).tolist()]
        [[0.6], [0.8]]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis)

    def __call__(self, weight):
        weight = _tensor(weight)
        norms = _norms(weight, self.axis)
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value)
        desired = desired + (1 - self.rate) * norms
        return weight * (desired / (EPSILON + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


# Keras's lower-case aliases
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_BY_CLASS = {cls.__name__: cls for cls in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_BY_NAME = {
    "max_norm": MaxNorm,
    "maxnorm": MaxNorm,
    "non_neg": NonNeg,
    "nonneg": NonNeg,
    "unit_norm": UnitNorm,
    "unitnorm": UnitNorm,
    "min_max_norm": MinMaxNorm,
    "minmaxnorm": MinMaxNorm,
}


def get(identifier):
    """A constraint from a name, a config dict, an instance, a callable or None.

    Args:
        identifier: None (returned as None), a name (`"max_norm"`, `"NonNeg"`, ...), a dict
            `{"class_name": ..., "config": ...}`, a `Constraint` or a function (returned as is).

    Examples:
        >>> get({"class_name": "MaxNorm", "config": {"max_value": 3}}).get_config()
        {'max_value': 3, 'axis': 0}
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_CLASS.get(identifier) or _BY_NAME.get(identifier.lower())
        if cls is None:
            raise errors.unknown_name("constraint", identifier, _BY_NAME)
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _BY_CLASS.get(name) or _BY_NAME.get(str(name).lower())
        if cls is None:
            from lamina.saving import object_registration

            if name == "function":  # a registered function, as Keras writes one
                return object_registration.registered_function("constraint", identifier, _BY_NAME)
            cls = object_registration.registered_class("constraint", identifier, _BY_CLASS)
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(
        f"constraint must be a name ({sorted(_BY_NAME)}), a Constraint or a function; "
        f"received {identifier!r}."
    )


def serialize(constraint):
    """A constraint as Keras writes it: `{"module", "class_name", "config", "registered_name"}`
    (None stays None).

    Args:
        constraint: the `Constraint`, or None.

    Examples:
        >>> serialize(UnitNorm(axis=1))["config"]
        {'axis': 1}
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(constraint)


def deserialize(config):
    """A constraint from its config dict or name (the inverse of `serialize`).

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"non_neg"`.

    Examples:
        >>> type(deserialize("non_neg")).__name__
        'NonNeg'
    """
    return get(config)


def collect(model) -> list:
    """The `(parameter, constraint)` pairs of every constrained trainable weight under `model`.

    Every weight has Keras's shape, so the optimizer writes
    `parameter.copy_(constraint(parameter))` after each step.

    Args:
        model: a layer or model; all its sub-layers are searched.

    Returns:
        A list of `(torch.nn.Parameter, function)` pairs, each parameter once.

    Examples:
        >>> dense = lamina.layers.Dense(2, kernel_constraint=NonNeg())
        >>> dense.build((None, 3))
        >>> len(collect(dense))
        1
    """
    pairs, seen = [], set()
    for module in model.modules():
        for name, constraint in getattr(module, "_constraints", ()):
            parameter = getattr(module, name)
            if id(parameter) in seen or not getattr(parameter, "requires_grad", False):
                continue
            seen.add(id(parameter))
            pairs.append((parameter, constraint))
    return pairs
