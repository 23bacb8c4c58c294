"""The core of `lamina.ops`: conversion, dtypes, shapes, and the rule that makes every op symbolic.

Every public op is wrapped by `symbolic_op`: on torch tensors (or NumPy arrays, or Python numbers)
it computes at once; when any argument is a `KerasTensor` (inside a functional graph) it records an
op node instead, whose output shape is inferred on the meta device like any layer's.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from lamina import backend
from lamina.engine.symbolic import KerasTensor, apply_op
from lamina.engine.variable_base import VariableBase

# Keras's default dtypes for Python numbers: int32 and float32 (NumPy arrays keep their dtype).
_PYTHON_DEFAULTS = {bool: torch.bool, int: torch.int32, float: torch.float32}


def symbolic_op(name: str):
    """Decorate a torch implementation so it also records a node on KerasTensors."""

    def wrap(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if _holds_variable(args) or (kwargs and _holds_variable(kwargs.values())):
                args, kwargs = _values_of(args), {k: _values_of(v) for k, v in kwargs.items()}
            return apply_op(fn, *args, name=name, **kwargs)

        return op

    return wrap


def _holds_variable(args) -> bool:
    """Whether a `Variable` is among the arguments (or one level down, in a list of them)."""
    for arg in args:
        if isinstance(arg, VariableBase):
            return True
        if isinstance(arg, (list, tuple)) and any(isinstance(a, VariableBase) for a in arg):
            return True
    return False


def _values_of(x):
    """Variables replaced by their current values (ops compute on tensors)."""
    if isinstance(x, VariableBase):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_values_of(item) for item in x)
    return x


def to_dtype(dtype) -> torch.dtype:
    """A Keras dtype name ("int32", "bool", "float32") or a torch/NumPy dtype -> torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dtype = np.dtype(dtype).name
    return backend.to_torch_dtype(dtype)


def _target_device() -> torch.device:
    # Inside output-shape inference torch's default device is "meta": new tensors must be meta too.
    default = torch.get_default_device()
    return default if default.type == "meta" else backend.default_device()


def convert_to_tensor(x, dtype=None, sparse=None) -> torch.Tensor:
    """A torch tensor on lamina's device from a tensor, NumPy array, list or Python number.

    Python floats become float32 and Python ints int32, as in Keras; NumPy arrays keep their dtype.
    """
    torch_dtype = None if dtype is None else to_dtype(dtype)
    if isinstance(x, VariableBase):
        x = x.value
    if isinstance(x, torch.Tensor):
        return x if torch_dtype is None else x.to(torch_dtype)
    if isinstance(x, KerasTensor):
        raise TypeError(
            "convert_to_tensor() received a symbolic KerasTensor; symbolic tensors have no values. "
            "Hint: call it inside a layer's call(), or on the model's predictions."
        )
    if isinstance(x, (bool, int, float)) and torch_dtype is None:
        torch_dtype = _PYTHON_DEFAULTS[type(x)]
    array = np.asarray(x)
    if array.dtype == np.float64 and not isinstance(x, np.ndarray) and torch_dtype is None:
        torch_dtype = torch.float32  # Python lists of floats, as Keras: floatx
    if array.dtype == np.int64 and not isinstance(x, np.ndarray) and torch_dtype is None:
        torch_dtype = torch.int32
    tensor = torch.as_tensor(array, device=_target_device())
    return tensor if torch_dtype is None else tensor.to(torch_dtype)


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy array from a tensor (detached, copied to the host) or anything array-like."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, KerasTensor):
        raise TypeError("convert_to_numpy() received a symbolic KerasTensor, which has no values.")
    return np.asarray(x)


def tensor(x):
    """The argument as a torch tensor (tensors pass through untouched)."""
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def operands(x1, x2):
    """Two tensors; a Python number takes the other side's dtype when that keeps its value."""
    if isinstance(x1, torch.Tensor) and isinstance(x2, (int, float)) and not isinstance(x2, bool):
        return x1, _scalar_like(x2, x1)
    if isinstance(x2, torch.Tensor) and isinstance(x1, (int, float)) and not isinstance(x1, bool):
        return _scalar_like(x1, x2), x2
    return tensor(x1), tensor(x2)


def _scalar_like(value, other: torch.Tensor) -> torch.Tensor:
    keeps_value = other.is_floating_point() or isinstance(value, int)
    dtype = other.dtype if keeps_value else torch.float32
    return torch.tensor(value, dtype=dtype, device=other.device)


def floating(x: torch.Tensor) -> torch.Tensor:
    """`x` itself when floating or complex, else `x` in float32 (Keras's rule for int inputs)."""
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def axis_arg(axis):
    """An axis argument as torch takes it: lists become tuples."""
    return tuple(axis) if isinstance(axis, list) else axis


def is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def shape(x) -> tuple:
    """The shape as a tuple: ints for real tensors, `None` for unknown sizes of symbolic ones."""
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(int(d) for d in tensor(x).shape)


def ndim(x) -> int:
    return len(shape(x))


def size(x) -> int:
    return int(np.prod(shape(x)))


@symbolic_op("cast")
def cast(x, dtype):
    """`x` converted to `dtype` (a Keras name such as "int32", "bool", "float32")."""
    return tensor(x).to(to_dtype(dtype))


@symbolic_op("stop_gradient")
def stop_gradient(x):
    return tensor(x).detach()


def dtype(x) -> str:
    """The Keras name of a tensor's dtype."""
    if isinstance(x, KerasTensor):
        return x.dtype
    return backend.dtype_name(tensor(x).dtype)


@symbolic_op("saturate_cast")
def saturate_cast(x, dtype):
    """`x` converted to `dtype`, clipped to the target's range first (no integer wrap-around).

    Args:
        x: input tensor.
        dtype: target dtype name.
    """
    x = tensor(x)
    target = to_dtype(dtype)
    if target.is_floating_point or target == torch.bool:
        if target.is_floating_point and x.is_floating_point():
            info = torch.finfo(target)
            x = x.clamp(info.min, info.max)
        return x.to(target)
    info = torch.iinfo(target)
    if x.is_floating_point():
        bounds = torch.tensor([info.min, info.max], dtype=x.dtype, device=x.device)
        if int(bounds[1]) > info.max:  # the float nearest the bound rounded past it
            bounds[1] = torch.nextafter(bounds[1], torch.zeros_like(bounds[1]))
        return torch.minimum(torch.maximum(x, bounds[0]), bounds[1]).to(target)
    return x.clamp(info.min, info.max).to(target)


@symbolic_op("view")
def view(x, dtype=None):
    """The same memory read as `dtype` (the last axis scales by the size ratio), as NumPy's view.

    Args:
        x: input tensor.
        dtype: the dtype to reinterpret the bytes as (None: unchanged).
    """
    x = tensor(x)
    return x if dtype is None else x.view(to_dtype(dtype))
