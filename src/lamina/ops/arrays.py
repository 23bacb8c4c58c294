"""Array ops: creation, reshaping, joining and splitting, indexing (NumPy's names and rules).

Creation ops (`arange`, `zeros`, ...) make tensors on lamina's device, and on the meta device while
a layer's output shape is being inferred, so a custom layer may call them inside `call`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lamina.ops.core import _target_device, symbolic_op, tensor, to_dtype


def _dtype_or(dtype, default):
    return default if dtype is None else to_dtype(dtype)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------
# creation


def arange(start, stop=None, step=1, dtype=None):
    """`[start, stop)` by `step`; int32 for integer arguments (Keras's default), else float32."""
    if stop is None:
        start, stop = 0, start
    integral = _is_int(start) and _is_int(stop) and _is_int(step)
    default = torch.int32 if integral else torch.float32
    return torch.arange(start, stop, step, dtype=_dtype_or(dtype, default), device=_target_device())


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    if endpoint:
        values = torch.linspace(start, stop, num, device=_target_device())
    else:
        values = torch.linspace(start, stop, num + 1, device=_target_device())[:-1]
    return values.to(_dtype_or(dtype, torch.float32))


def _shape_tuple(shape):
    return (int(shape),) if _is_int(shape) else tuple(int(d) for d in shape)


def zeros(shape, dtype=None):
    return torch.zeros(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


def ones(shape, dtype=None):
    return torch.ones(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


def full(shape, fill_value, dtype=None):
    return torch.full(
        _shape_tuple(shape),
        fill_value,
        dtype=_dtype_or(dtype, torch.float32),
        device=_target_device(),
    )


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    matrix = torch.ones(N, N if M is None else M, device=_target_device()).triu(k).tril(k)
    return matrix.to(_dtype_or(dtype, torch.float32))


identity = eye


@symbolic_op("zeros_like")
def zeros_like(x, dtype=None):
    x = tensor(x)
    return torch.zeros_like(x, dtype=_dtype_or(dtype, x.dtype))


@symbolic_op("ones_like")
def ones_like(x, dtype=None):
    x = tensor(x)
    return torch.ones_like(x, dtype=_dtype_or(dtype, x.dtype))


@symbolic_op("full_like")
def full_like(x, fill_value, dtype=None):
    x = tensor(x)
    return torch.full_like(x, fill_value, dtype=_dtype_or(dtype, x.dtype))


# --------------------------------------------------------------------------------------------------
# reshaping


@symbolic_op("reshape")
def reshape(x, newshape):
    return tensor(x).reshape(_shape_tuple(newshape))


@symbolic_op("transpose")
def transpose(x, axes=None):
    """Permute axes; with `axes=None`, reverse them (NumPy's rule)."""
    x = tensor(x)
    return x.permute(*(reversed(range(x.dim())) if axes is None else axes))


@symbolic_op("expand_dims")
def expand_dims(x, axis):
    x = tensor(x)
    for a in sorted(axis) if isinstance(axis, (list, tuple)) else [axis]:
        x = x.unsqueeze(a)
    return x


@symbolic_op("squeeze")
def squeeze(x, axis=None):
    x = tensor(x)
    if axis is None:
        return x.squeeze()
    return x.squeeze(tuple(axis) if isinstance(axis, (list, tuple)) else axis)


@symbolic_op("ravel")
def ravel(x):
    return tensor(x).reshape(-1)


@symbolic_op("broadcast_to")
def broadcast_to(x, shape):
    return tensor(x).expand(_shape_tuple(shape))


@symbolic_op("swapaxes")
def swapaxes(x, axis1, axis2):
    return tensor(x).transpose(axis1, axis2)


@symbolic_op("moveaxis")
def moveaxis(x, source, destination):
    return torch.movedim(tensor(x), source, destination)


@symbolic_op("tile")
def tile(x, repeats):
    return torch.tile(tensor(x), (repeats,) if _is_int(repeats) else tuple(repeats))


@symbolic_op("repeat")
def repeat(x, repeats, axis=None):
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.repeat_interleave(x, repeats, dim=axis)


@symbolic_op("flip")
def flip(x, axis=None):
    x = tensor(x)
    dims = (
        tuple(range(x.dim()))
        if axis is None
        else (tuple(axis) if isinstance(axis, (list, tuple)) else (axis,))
    )
    return torch.flip(x, dims)


@symbolic_op("pad")
def pad(x, pad_width, mode="constant", constant_values=None):
    """NumPy's pad: `pad_width` lists (before, after) per axis, first axis first."""
    x = tensor(x)
    widths = [
        (int(p), int(p)) if _is_int(p) else tuple(int(v) for v in p)
        for p in (pad_width if not _is_int(pad_width) else [pad_width] * x.dim())
    ]
    if len(widths) == 1 and x.dim() > 1:
        widths = widths * x.dim()
    flat = [v for before_after in reversed(widths) for v in before_after]  # torch: last axis first
    if mode == "constant":
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    torch_modes = {"edge": "replicate", "reflect": "reflect", "wrap": "circular"}
    if mode not in torch_modes:
        raise ValueError(
            f"pad() expects mode in {['constant', *torch_modes]}; received mode={mode!r}."
        )
    return F.pad(x, flat, mode=torch_modes[mode])


@symbolic_op("triu")
def triu(x, k=0):
    return torch.triu(tensor(x), k)


@symbolic_op("tril")
def tril(x, k=0):
    return torch.tril(tensor(x), k)


# --------------------------------------------------------------------------------------------------
# joining and splitting


@symbolic_op("concatenate")
def concatenate(xs, axis=0):
    return torch.cat([tensor(x) for x in xs], dim=axis)


@symbolic_op("stack")
def stack(x, axis=0):
    return torch.stack([tensor(v) for v in x], dim=axis)


@symbolic_op("split")
def split(x, indices_or_sections, axis=0):
    """NumPy's split: `n` equal sections, or the indices where each new section starts."""
    x = tensor(x)
    length = x.shape[axis]
    if _is_int(indices_or_sections):
        sections = int(indices_or_sections)
        if length % sections:
            raise ValueError(
                f"split() expects an axis whose size ({length}) divides into {sections} equal "
                f"sections; received indices_or_sections={sections}. Hint: pass the split indices "
                "as a list instead."
            )
        return list(torch.split(x, length // sections, dim=axis))
    bounds = [0, *(int(i) for i in indices_or_sections), length]
    return [
        x.narrow(axis, lo, max(hi - lo, 0)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


# --------------------------------------------------------------------------------------------------
# indexing and sorting


@symbolic_op("take")
def take(x, indices, axis=None):
    x = tensor(x)
    indices = tensor(indices).long()
    if axis is None:
        return x.reshape(-1)[indices]
    return torch.index_select(x, axis, indices.reshape(-1)).reshape(
        *x.shape[: axis % x.dim()], *indices.shape, *x.shape[axis % x.dim() + 1 :]
    )


@symbolic_op("take_along_axis")
def take_along_axis(x, indices, axis=None):
    x = tensor(x)
    if axis is None:
        return torch.take_along_dim(x.reshape(-1), tensor(indices).long().reshape(-1))
    return torch.take_along_dim(x, tensor(indices).long(), dim=axis)


@symbolic_op("sort")
def sort(x, axis=-1):
    return torch.sort(tensor(x), dim=axis).values


@symbolic_op("argsort")
def argsort(x, axis=-1):
    return torch.argsort(tensor(x), dim=axis, stable=True).to(torch.int32)
