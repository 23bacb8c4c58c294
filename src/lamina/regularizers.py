"""Weight penalties added to the training loss: L1, L2, L1L2 (Keras's names and factors).

Keras's L2 is `l2 * sum(w ** 2)` (no 1/2), its L1 `l1 * sum(|w|)`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lamina.engine import errors
from lamina.engine.variable_base import VariableBase


def _as_tensor(weight) -> torch.Tensor:
    """The tensor a penalty reads: a `Variable`'s value, an array as a tensor (as Keras's
    regularizers take any of them)."""
    if isinstance(weight, torch.Tensor):
        return weight
    if isinstance(weight, VariableBase):
        return weight.value
    return torch.as_tensor(np.asarray(weight))


def _checked_factor(value, name: str, who: str) -> float:
    """A penalty factor as Keras accepts it: a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
        or value < 0
    ):
        raise errors.value_error(
            f"{who} `{name}`",
            "a non-negative float",
            f"{name}={value!r}",
            "a penalty's factor is a finite number >= 0",
        )
    return float(value)


class Regularizer:
    """Base class of weight penalties: `regularizer(weight)` returns a scalar added to the loss.

    Subclasses implement `__call__(weight)` and, when they take arguments, `get_config()`.

    Examples:
        >>> class SumPenalty(Regularizer):
        ...     def __call__(self, weight):
        ...         return 0.1 * weight.sum()
        >>> float(SumPenalty()(torch.ones(5)))
        0.5
    """

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """Both penalties: `l1 * sum(|w|) + l2 * sum(w ** 2)` (Keras's factors: no 1/2 on L2).

    Args:
        l1: the L1 factor (default 0).
        l2: the L2 factor (default 0).

    Examples:
        >>> float(L1L2(l1=0.5, l2=0.25)(torch.tensor([1.0, -2.0])))
        2.75
    """

    def __init__(self, l1=0.0, l2=0.0):
        # Keras reads None as "no penalty of this kind".
        self.l1 = _checked_factor(0.0 if l1 is None else l1, "l1", type(self).__name__)
        self.l2 = _checked_factor(0.0 if l2 is None else l2, "l2", type(self).__name__)

    def __call__(self, weight):
        weight = _as_tensor(weight)
        penalty = weight.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * weight.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * weight.square().sum()
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """The L1 penalty: `l1 * sum(|w|)`.

    Args:
        l1: the factor (default 0.01).

    Examples:
        >>> float(L1(0.5)(torch.tensor([1.0, -2.0])))
        1.5
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """The L2 penalty: `l2 * sum(w ** 2)`.

    Args:
        l2: the factor (default 0.01).

    Examples:
        >>> float(L2(0.5)(torch.tensor([1.0, -2.0])))
        2.5
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Keras's orthogonality penalty: `factor` times the mean of `|W_n W_n^T - I|` off the diagonal.

    `W_n` is the weight flattened to `(-1, last axis)` with its rows (or, with `mode="columns"`, its
    columns) normalized to unit length; orthogonal rows cost nothing.

    Args:
        factor: the penalty's factor (default 0.01).
        mode: `"rows"` or `"columns"`.

    Examples:
        >>> float(OrthogonalRegularizer(factor=1.0)(torch.eye(3)))
        0.0
        >>> float(OrthogonalRegularizer(factor=1.0)(torch.tensor([[1.0, 0.0], [1.0, 0.0]])))
        1.0
    """

    def __init__(self, factor=0.01, mode="rows"):
        if mode not in ("rows", "columns"):
            raise errors.value_error(
                "OrthogonalRegularizer `mode`", "'rows' or 'columns'", f"mode={mode!r}"
            )
        self.factor = _checked_factor(factor, "factor", "OrthogonalRegularizer")
        self.mode = mode

    def __call__(self, weight):
        weight = _as_tensor(weight)
        w = weight.reshape(-1, weight.shape[-1])
        w = w.T if self.mode == "columns" else w
        w = torch.nn.functional.normalize(w, dim=1)
        product = w @ w.T
        size = product.shape[0]
        off_diagonal = product - torch.eye(size, device=w.device, dtype=w.dtype)
        return self.factor * off_diagonal.abs().sum() / (size * (size - 1))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lowercase spellings are the classes themselves (`l1_l2()` is `L1L2()`, both factors 0).
l1 = L1
l2 = L2
l1_l2 = L1L2


_REGULARIZERS = {
    "l1": L1,
    "l2": L2,
    "l1_l2": L1L2,
    "l1l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}
_BY_CLASS = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier):
    """A regularizer from a name, a config dict, an instance, a callable or None.

    Args:
        identifier: None (returned as None), a name (`"l1"`, `"l2"`, `"l1_l2"`,
            `"orthogonal_regularizer"`), `{"class_name": ..., "config": ...}`, a `Regularizer`
            or any callable `weight -> scalar` (both returned as they are).

    Examples:
        >>> get("l2").get_config()
        {'l2': 0.01}
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_CLASS:  # a class name, as Keras's get takes it
            return _BY_CLASS[identifier]()
        key = identifier.lower()
        if key not in _REGULARIZERS:
            raise errors.unknown_name("regularizer", identifier, _REGULARIZERS)
        return _REGULARIZERS[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_CLASS.get(identifier["class_name"])
        if cls is None:
            from lamina.saving import object_registration

            if identifier["class_name"] == "function":  # a registered function, as Keras writes
                return object_registration.registered_function(
                    "regularizer", identifier, _REGULARIZERS
                )
            cls = object_registration.registered_class("regularizer", identifier, _BY_CLASS)
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret regularizer {identifier!r}.")


def serialize(regularizer):
    """A regularizer as Keras writes it: `{"module", "class_name", "config", "registered_name"}`
    (None stays None).

    Args:
        regularizer: the `Regularizer`, or None.

    Examples:
        >>> entry = serialize(L1(0.5))
        >>> entry["module"], entry["class_name"], entry["config"]
        ('keras.regularizers', 'L1', {'l1': 0.5})
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """A config dict (from `serialize`) or a name -> the regularizer.

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"l2"`.
        custom_objects: optional mapping of class names to user Regularizer classes.

    Examples:
        >>> deserialize({"class_name": "L2", "config": {"l2": 0.5}}).get_config()
        {'l2': 0.5}
    """
    if custom_objects and isinstance(config, dict) and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]](**config.get("config", {}))
    return get(config)


# Keras's lowercase spelling of the class.
orthogonal_regularizer = OrthogonalRegularizer
