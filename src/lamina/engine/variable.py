"""`lamina.Variable`: Keras's variable API over one torch tensor.

A variable holds a torch tensor: an `nn.Parameter` when it is trainable (so autograd and the
optimizers see it), a plain tensor otherwise. Arithmetic, comparisons, `lamina.ops` and torch
functions take it as its current value. Assigned as an attribute of a `Layer`, it becomes one of
the layer's weights (see `Layer._track_variable`): the tensor is registered on the layer under
`<attribute>_variable`, listed in `layer.weights`, saved and trained like an `add_weight` weight,
and the variable reads it back from the layer, so `layer.to(device)` moves it too.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lamina import backend
from lamina.engine import naming, scopes
from lamina.engine.variable_base import VariableBase
from lamina.engine.weight import TrainableWeight, as_weight

_AGGREGATIONS = (None, "none", "mean", "sum", "only_first_replica")
_SYNCHRONIZATIONS = (None, "none", "on_read", "on_write", "auto")


def _unwrap(x):
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(item) for item in x)
    if isinstance(x, dict):
        return {key: _unwrap(item) for key, item in x.items()}
    return x


def _device_for_new_tensors() -> torch.device:
    """A layer's build device (its torch.device context), else lamina's device."""
    device = torch.get_default_device()
    return backend.default_device() if device.type == "cpu" else device


class Variable(VariableBase):
    """A named, assignable tensor: Keras's `keras.Variable` on torch.

    Args:
        initializer: an initial value (a number, list, NumPy array or tensor) or an initializer
            (a name such as `"zeros"` or a callable taking `(shape, dtype=...)`), which needs
            `shape`.
        shape: the shape, when `initializer` is an initializer.
        dtype: the dtype's name; defaults to an array value's own dtype, else `"float32"`.
        trainable: whether training updates it (the tensor then requires grad).
        autocast: whether mixed precision may cast it when read (kept for Keras's signature;
            torch's autocast casts at the ops that use it).
        aggregation: how replicas combine it: `"none"`, `"mean"`, `"sum"` or
            `"only_first_replica"`.
        synchronization: when replicas synchronise it: `"auto"`, `"none"`, `"on_read"` or
            `"on_write"`.
        name: its name (no `/`); defaults to `variable`, `variable_1`, ...

    Example:
        >>> v = lamina.Variable([1.0, 2.0], name="w")
        >>> _ = v.assign_add([0.5, 0.5])
        >>> v.numpy()
        array([1.5, 2.5], dtype=float32)
        >>> (v * 2).tolist(), v.shape, v.dtype, v.path
        ([3.0, 5.0], (2,), 'float32', 'w')
    """

    def __init__(
        self,
        initializer,
        shape=None,
        dtype=None,
        trainable=True,
        autocast=True,
        aggregation="none",
        synchronization="auto",
        name=None,
        layout=None,
    ):
        name = naming.unique_name("variable") if name is None else name
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                f"Variable(): expected `name` to be a string without `/`; received name={name!r}."
            )
        if aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Variable(): expected `aggregation` to be one of {list(_AGGREGATIONS)}; "
                f"received aggregation={aggregation!r}."
            )
        if synchronization not in _SYNCHRONIZATIONS:
            raise ValueError(
                f"Variable(): expected `synchronization` to be one of {list(_SYNCHRONIZATIONS)}; "
                f"received synchronization={synchronization!r}."
            )
        self._name = name
        parent = scopes.current_path()
        self._path = f"{parent}/{name}" if parent else name
        self._trainable = bool(trainable)
        self._autocast = bool(autocast)
        self._aggregation = aggregation or "none"
        self._synchronization = synchronization or "none"
        self._layout = layout
        self._regularizer = None
        self._constraint = None
        self._holder = None  # (layer, key) once a layer tracks it

        if isinstance(initializer, str):
            from lamina import initializers

            initializer = initializers.get(initializer)
        if callable(initializer) and not isinstance(initializer, (torch.Tensor, np.ndarray)):
            if shape is None:
                raise ValueError(
                    "Variable(): an initializer needs `shape=`; received "
                    f"initializer={initializer!r} and shape=None."
                )
            torch_dtype = backend.to_torch_dtype(dtype)
            with torch.device("cpu"):  # drawn on the CPU: the same seed gives the same values
                value = initializer(tuple(int(d) for d in shape), dtype=torch_dtype)
            value = torch.as_tensor(value, dtype=torch_dtype)
        else:
            if scopes.in_stateless_scope():
                raise ValueError(
                    "Variable(): a variable with a concrete initial value cannot be created "
                    "inside a StatelessScope. Hint: create the variables before entering it, "
                    "or give an initializer and a shape."
                )
            value = self._as_tensor(initializer, dtype)
            if shape is not None and tuple(value.shape) != tuple(shape):
                raise ValueError(
                    f"Variable(): expected an initial value of shape {tuple(shape)}; received "
                    f"one of shape {tuple(value.shape)}."
                )
        value = value.detach().to(_device_for_new_tensors()).clone()
        self._tensor = as_weight(value, TrainableWeight, self._path, self._grad_wanted(value))

    # ----------------------------------------------------------------------------------------------
    # The tensor

    @staticmethod
    def _as_tensor(value, dtype=None) -> torch.Tensor:
        torch_dtype = None if dtype is None else backend.to_torch_dtype(dtype)
        if isinstance(value, torch.Tensor):
            return value.detach() if torch_dtype is None else value.detach().to(torch_dtype)
        array = np.asarray(value)
        if torch_dtype is None:
            if array.dtype == np.float64 and not isinstance(value, np.ndarray):
                torch_dtype = backend.to_torch_dtype(backend.floatx())  # Python floats
            elif array.dtype == np.int64 and not isinstance(value, np.ndarray):
                torch_dtype = torch.int32  # Python ints, as Keras
        tensor = torch.as_tensor(array)
        return tensor if torch_dtype is None else tensor.to(torch_dtype)

    def _grad_wanted(self, value: torch.Tensor) -> bool:
        return self._trainable and (value.is_floating_point() or value.is_complex())

    def _stored(self) -> torch.Tensor:
        """The tensor itself (the one registered on the layer that tracks the variable)."""
        if self._holder is not None:
            layer, key = self._holder
            tensor = layer._parameters.get(key)
            return tensor if tensor is not None else layer._buffers[key]
        return self._tensor

    def _store(self, value: torch.Tensor) -> None:
        """Write an assigned value (converted, of the right shape) where the variable keeps it."""
        with torch.no_grad():
            self._stored().copy_(value)

    def _converted(self, value) -> torch.Tensor:
        """A value as a tensor of this variable's dtype, on its device."""
        stored = self._stored()
        return self._as_tensor(_unwrap(value), stored.dtype).to(stored.device)

    @property
    def value(self) -> torch.Tensor:
        """The current value: the stored tensor, or the value a `StatelessScope` holds for it."""
        scope = scopes.get_stateless_scope()
        if scope is not None:
            value = scope.get_current_value(self)
            if value is not None:
                return value
        return self._stored()

    def assign(self, value):
        """Set the value (same shape); returns the value assigned, as Keras does.

        Inside a `StatelessScope` the assignment is recorded in the scope, not applied.

        Args:
            value: a number, array or tensor of the variable's shape.
        """
        value = self._converted(value)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                "The shape of the target variable and the shape of the target value in "
                f"`variable.assign(value)` must match. variable.shape={self.shape}, "
                f"Received: value.shape={tuple(value.shape)}. Target variable: {self!r}"
            )
        scope = scopes.get_stateless_scope()
        if scope is not None:
            scope.add_update((self, value))
        else:
            self._store(value)
        return value

    def assign_add(self, value):
        """`assign(variable + value)`; returns the value assigned.

        Args:
            value: what to add (broadcast to the variable's shape).
        """
        return self.assign(self + value)

    def assign_sub(self, value):
        """`assign(variable - value)`; returns the value assigned.

        Args:
            value: what to subtract (broadcast to the variable's shape).
        """
        return self.assign(self - value)

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (a copy)."""
        return np.array(self)

    def __array__(self, dtype=None, copy=None):
        array = backend.as_numpy(self.value)  # any device; bfloat16 as ml_dtypes.bfloat16
        if dtype is not None:
            return array.astype(dtype)
        # A CPU value's array shares its storage: hand out a snapshot (as Keras does), or a later
        # `assign` would change what `numpy()` returned. Only copy=False asks for the live view.
        return array if copy is False else array.copy()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(tuple(args)), **_unwrap(kwargs or {}))

    # ----------------------------------------------------------------------------------------------
    # Properties

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> str:
        """`"scope/name"`: the name scopes open when the variable was created, then its name."""
        return self._path

    @property
    def shape(self) -> tuple:
        return tuple(self._stored().shape)

    @property
    def ndim(self) -> int:
        return self._stored().dim()

    @property
    def dtype(self) -> str:
        return backend.dtype_name(self._stored().dtype)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        stored = self._stored()
        if isinstance(stored, nn.Parameter):
            stored.requires_grad_(self._grad_wanted(stored))

    @property
    def aggregation(self) -> str:
        return self._aggregation

    @property
    def synchronization(self) -> str:
        return self._synchronization

    @property
    def overwrite_with_gradient(self) -> bool:
        """Whether an optimizer replaces this variable by its gradient instead of a step."""
        return self._stored().overwrite_with_gradient

    @overwrite_with_gradient.setter
    def overwrite_with_gradient(self, value) -> None:
        if not isinstance(value, bool):
            raise TypeError(
                "`overwrite_with_gradient` must be a boolean. "
                f"Received: {value!r} of type {type(value).__name__}"
            )
        self._stored().overwrite_with_gradient = value  # the tensor the optimizer sees

    @property
    def regularizer(self):
        """A callable penalty on the value, added to the losses of a layer tracking it."""
        return self._regularizer

    @regularizer.setter
    def regularizer(self, value) -> None:
        if value is not None and not callable(value):
            raise ValueError(
                f"Invalid value for attribute `regularizer`. Expected a callable; "
                f"received {value!r}."
            )
        self._regularizer = value

    @property
    def constraint(self):
        """A callable projecting the value after each optimizer step."""
        return self._constraint

    @constraint.setter
    def constraint(self, value) -> None:
        if value is not None and not callable(value):
            raise ValueError(
                f"Invalid value for attribute `constraint`. Expected a callable; "
                f"received {value!r}."
            )
        self._constraint = value

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
            f"value={self.numpy()}>"
        )

    # ----------------------------------------------------------------------------------------------
    # Python's operators: on the current value, with lamina.ops's dtype rules

    __hash__ = object.__hash__  # a variable is one object (Keras's is unhashable: no dict keys)

    def __bool__(self):
        raise TypeError("A lamina Variable cannot be used as a boolean.")

    def __int__(self):
        if self.ndim:
            raise TypeError(f"Only scalar variables can be converted to int; shape={self.shape}.")
        return int(self.value.detach())

    def __float__(self):
        if self.ndim:
            raise TypeError(f"Only scalar variables can be converted to float; shape={self.shape}.")
        return float(self.value.detach())

    def __len__(self):
        return len(self._stored())

    def __getitem__(self, index):
        return self.value[_unwrap(index)]

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return self.value.abs()

    def __invert__(self):
        return ~self.value

    def __round__(self, ndigits=None):
        return _ops().round(self.value, decimals=ndigits or 0)


def _ops():
    from lamina import ops

    return ops


def _binary(op_name: str, reflected: bool = False):
    def method(self, other):
        op = getattr(_ops(), op_name)
        other = _unwrap(other)
        return op(other, self.value) if reflected else op(self.value, other)

    method.__name__ = op_name
    return method


for _dunder, _op in {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "true_divide",
    "floordiv": "floor_divide",
    "mod": "mod",
    "pow": "power",
    "matmul": "matmul",
    "and": "logical_and",
    "or": "logical_or",
    "xor": "logical_xor",
}.items():
    setattr(Variable, f"__{_dunder}__", _binary(_op))
    setattr(Variable, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in {
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
}.items():
    setattr(Variable, f"__{_dunder}__", _binary(_op))
