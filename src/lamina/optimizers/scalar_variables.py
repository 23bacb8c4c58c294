"""An optimizer's step counter and learning rate as Keras programs read them.

Keras keeps both as variables, so programs write `optimizer.iterations.numpy()`,
`optimizer.learning_rate.assign(1e-4)` or `float(optimizer.learning_rate)`. lamina keeps them
as host numbers (torch's optimizers take a Python float, and a host counter costs no device sync
per step); these read-only views of them are numbers too (an `int`, a `float`: arithmetic,
comparisons and formatting are unchanged) that also answer Keras's variable methods, which
write through to the optimizer.
"""

from __future__ import annotations

import numpy as np
import torch


class _ScalarVariable:
    """Keras's variable methods on a number that belongs to an optimizer attribute."""

    _numpy_dtype: type
    _torch_dtype: torch.dtype

    def __new__(cls, value, owner, attribute: str):
        scalar = super().__new__(cls, value)
        scalar._owner = owner
        scalar._attribute = attribute
        return scalar

    @property
    def value(self) -> torch.Tensor:
        """The number as a 0-d tensor (Keras's `variable.value`)."""
        return torch.tensor(self._plain(), dtype=self._torch_dtype)

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def dtype(self) -> torch.dtype:
        return self._torch_dtype

    def numpy(self):
        """The number as a NumPy scalar of Keras's dtype (`int32`, `float32`)."""
        return self._numpy_dtype(self._plain())

    def assign(self, value):
        """Set the optimizer's attribute (as `optimizer.<attribute> = value` does)."""
        setattr(self._owner, self._attribute, _plain_number(value))
        return getattr(self._owner, self._attribute)

    def assign_add(self, delta):
        return self.assign(self._plain() + _plain_number(delta))

    def assign_sub(self, delta):
        return self.assign(self._plain() - _plain_number(delta))

    def __reduce__(self):  # copies and pickles are plain numbers, detached from the optimizer
        return (type(self).__mro__[2], (self._plain(),))

    def __repr__(self):
        return (
            f"<{type(self).__name__} path={self._owner.name}/{self._attribute}, shape=(), "
            f"value={self._plain()!r}>"
        )


def _plain_number(value):
    if isinstance(value, torch.Tensor | np.ndarray | np.generic):
        return value.item()
    return value


class StepCounter(_ScalarVariable, int):
    """`optimizer.iterations`: the number of updates applied, an `int` with Keras's variable
    methods.

    Example:
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.iterations.numpy(), optimizer.iterations + 1
        (np.int32(0), 1)
    """

    _numpy_dtype = np.int32  # Keras's counter is an int32 variable (its weights files say so)
    _torch_dtype = torch.int32

    def _plain(self) -> int:
        return int(self)

    def assign(self, value):
        """Set the optimizer's update count, and the per-weight counts its bias corrections read
        (`Optimizer.align_step_counts`), as Keras's `iterations.assign` does."""
        counter = super().assign(value)
        align = getattr(self._owner, "align_step_counts", None)
        if align is not None:
            align()
        return counter


class LearningRate(_ScalarVariable, float):
    """`optimizer.learning_rate`: the current rate, a `float` with Keras's variable methods
    (`assign` refuses while a schedule owns the rate, as setting it does).

    Example:
        >>> optimizer = lamina.optimizers.SGD(0.5)
        >>> optimizer.learning_rate.assign(0.25)
        <LearningRate path=sgd/learning_rate, shape=(), value=0.25>
        >>> float(optimizer.learning_rate) * 2
        0.5
    """

    _numpy_dtype = np.float32
    _torch_dtype = torch.float32

    def _plain(self) -> float:
        return float(self)
