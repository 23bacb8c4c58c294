"""Dtype names and promotion as Keras reports them: `standardize_dtype`, `result_type` and kin,
and the default float dtype (`floatx`, re-exported by `lamina.backend`).

Keras names dtypes by strings ("float32", "int8", ...) whatever the object given (NumPy dtype,
torch dtype, Python type). Its promotion rule is JAX's with 64-bit types off: the pair's common
type, then `int64`/`uint64`/`float64` narrowed to 32 bits; Python `int`/`float`/`bool` are weak
(they adopt the other operand's kind and width).

Example:
    >>> from lamina import backend
    >>> backend.result_type("int8", "float16"), backend.standardize_dtype(int)
    ('float16', 'int32')
"""

from __future__ import annotations

import numpy as np
import torch

_NAMES = {
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bfloat16",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "string",
    "float8_e4m3fn",
    "float8_e5m2",
}
_PYTHON = {int: "int32", float: "float32", bool: "bool", "int": "int32", "float": "float32"}
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}

_floatx = "float32"


def floatx() -> str:
    """The default float dtype of weights and random tensors, as a string ("float32").

    `set_floatx` changes it; a layer's own `dtype=` (or the global dtype policy) wins over it.

    Example:
        >>> floatx()
        'float32'
    """
    return _floatx


_FLOATX_CHOICES = ("bfloat16", "float16", "float32", "float64")


def set_floatx(dtype: str) -> None:
    """Set the default float dtype: "float16", "bfloat16", "float32" or "float64".

    Args:
        dtype: the dtype's name (or a NumPy/torch float dtype).

    Example:
        >>> lamina.backend.set_floatx("float64")  # doctest: +SKIP
    """
    global _floatx
    name = standardize_dtype(dtype) if not isinstance(dtype, str) else dtype
    if name not in _FLOATX_CHOICES:
        raise ValueError(f"Unknown `floatx` value: {dtype}. Expected one of {set(_FLOATX_CHOICES)}")
    _floatx = name


def dtype_name(dtype: torch.dtype) -> str:
    """A torch dtype's name without the `torch.` prefix (`torch.float32` -> "float32")."""
    return str(dtype).replace("torch.", "")


def standardize_dtype(dtype=None) -> str:
    """The Keras name of a dtype given as a string, NumPy/torch dtype or Python type.

    Args:
        dtype: "float32", `np.float32`, `torch.float16`, `int`, ... or None (`floatx()`).

    Returns:
        The dtype's name, e.g. "float32".

    Example:
        >>> standardize_dtype(np.float32), standardize_dtype(torch.int8)
        ('float32', 'int8')
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, (type, str)) and dtype in _PYTHON:
        return _PYTHON[dtype]
    if isinstance(dtype, torch.dtype):
        name = str(dtype).replace("torch.", "")
    elif isinstance(dtype, str):
        name = dtype
    elif hasattr(dtype, "name") and isinstance(dtype.name, str):
        name = dtype.name
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    if name not in _NAMES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype) -> bool:
    """Whether `dtype` is a floating dtype (bfloat16 and float8 included).

    Args:
        dtype: a dtype name, a torch or NumPy dtype, or anything `standardize_dtype` accepts.

    Example:
        >>> is_float_dtype("bfloat16"), is_float_dtype("int8")
        (True, False)
    """
    name = standardize_dtype(dtype)
    return name.startswith("float") or name == "bfloat16"


def is_int_dtype(dtype) -> bool:
    """Whether `dtype` is a signed or unsigned integer dtype (not bool).

    Args:
        dtype: a dtype name, a torch or NumPy dtype, or anything `standardize_dtype` accepts.

    Example:
        >>> is_int_dtype("uint8"), is_int_dtype("bool")
        (True, False)
    """
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


def _weak_kind(dtype):
    """ "int", "float" or "bool" for Python scalars and their types; None for real dtypes."""
    if dtype in (int, float, bool):
        return {int: "int", float: "float", bool: "bool"}[dtype]
    if isinstance(dtype, bool):
        return "bool"
    if isinstance(dtype, int):
        return "int"
    if isinstance(dtype, float):
        return "float"
    return None


_WIDE_UNSIGNED = ("uint16", "uint32", "uint64")


def _promote(a: str, b: str) -> str:
    """The common dtype of two dtype names, before Keras's narrowing to 32 bits."""
    if a == b:  # "string" too, which torch has no dtype for
        return a
    if a not in _WIDE_UNSIGNED and b not in _WIDE_UNSIGNED:
        return str(torch.promote_types(getattr(torch, a), getattr(torch, b))).replace("torch.", "")
    # torch does not promote uint16/32/64: JAX's lattice, which Keras follows
    unsigned, other = (a, b) if a in _WIDE_UNSIGNED else (b, a)
    if other == "bool":
        return unsigned
    if other.startswith("uint"):
        return max(unsigned, other, key=lambda name: int(name[4:]))
    if not other.startswith("int"):  # a float or complex type wins
        return other
    unsigned_bits, signed_bits = int(unsigned[4:]), int(other[3:])
    if signed_bits > unsigned_bits:
        return other
    return f"int{2 * unsigned_bits}" if unsigned_bits < 64 else "float64"


def result_type(*dtypes) -> str:
    """The dtype an operation on values of `dtypes` returns, by Keras's promotion rule.

    Args:
        *dtypes: dtypes (names, NumPy/torch dtypes) or Python types/scalars (weakly typed).

    Returns:
        The promoted dtype's name; `floatx()` when given nothing.

    Example:
        >>> result_type("uint8", "int8"), result_type(int, "float16"), result_type("int64")
        ('int16', 'float16', 'int32')
    """
    strong = [standardize_dtype(d) for d in dtypes if _weak_kind(d) is None]
    weak = {_weak_kind(d) for d in dtypes} - {None}
    if not strong:
        if not weak:
            return standardize_dtype(None)
        kind = "float" if "float" in weak else "int" if "int" in weak else "bool"
        return {"float": standardize_dtype(None), "int": "int32", "bool": "bool"}[kind]
    name = strong[0]
    for other in strong[1:]:
        name = _promote(name, other)
    if "float" in weak and not (is_float_dtype(name) or name.startswith("complex")):
        name = standardize_dtype(None)
    elif "int" in weak and name == "bool":
        name = "int32"
    return _NARROW.get(name, name)
