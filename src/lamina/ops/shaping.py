"""More of NumPy's array ops: stacking and splitting by direction, rolling, rotating, diagonals,
grids, differences, and the creation functions not in `arrays.py` (windows, log-spaced ranges).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina.ops.arrays import _dtype_or, _is_int, _shape_tuple, split
from lamina.ops.core import _target_device, convert_to_tensor, floating, symbolic_op, tensor


def _common_list(xs):
    tensors = [tensor(x) for x in xs]
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in tensors]


# --------------------------------------------------------------------------------------------------
# joining and splitting


@symbolic_op("append")
def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (both flattened when `axis` is None)."""
    a, b = _common_list([x1, x2])
    if axis is None:
        return torch.cat([a.reshape(-1), b.reshape(-1)])
    return torch.cat([a, b], dim=axis)


@symbolic_op("hstack")
def hstack(xs):
    """Join along the second axis (the first for 1-D tensors)."""
    return torch.hstack(_common_list(xs))


@symbolic_op("vstack")
def vstack(xs):
    """Join along the first axis, 1-D tensors becoming rows."""
    return torch.vstack(_common_list(xs))


@symbolic_op("dstack")
def dstack(xs):
    """Join along the third axis, lower-rank tensors promoted to 3-D first."""
    return torch.dstack(_common_list(xs))


@symbolic_op("array_split")
def array_split(x, indices_or_sections, axis=0):
    """Like `split`, but `n` sections need not be equal: the first ones get one more element."""
    x = tensor(x)
    if _is_int(indices_or_sections):
        return list(torch.tensor_split(x, int(indices_or_sections), dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


def hsplit(x, indices_or_sections):
    """`split` along the second axis (the first for 1-D tensors)."""
    axis = 0 if len(getattr(x, "shape", np.shape(x))) == 1 else 1
    return split(x, indices_or_sections, axis=axis)


def vsplit(x, indices_or_sections):
    """`split` along the first axis."""
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """`split` along the third axis."""
    return split(x, indices_or_sections, axis=2)


@symbolic_op("unstack")
def unstack(x, num=None, axis=0):
    """The slices of `x` along `axis`, as a list.

    Args:
        x: input tensor.
        num: the size of `axis`, when known (checked).
        axis: the axis to unstack.
    """
    x = tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(
            f"unstack() expects num to equal the size of axis {axis} ({x.shape[axis]}); "
            f"received num={num}."
        )
    return list(torch.unbind(x, dim=axis))


# --------------------------------------------------------------------------------------------------
# rearranging


@symbolic_op("roll")
def roll(x, shift, axis=None):
    """Elements shifted by `shift` along `axis`, wrapping around (flattened when `axis` is None)."""
    x = tensor(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift).reshape(x.shape)
    return torch.roll(x, shift, dims=axis)


@symbolic_op("rot90")
def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes`."""
    return torch.rot90(tensor(array), k, dims=list(axes))


@symbolic_op("fliplr")
def fliplr(x):
    """Reverse the second axis."""
    return torch.fliplr(tensor(x))


@symbolic_op("flipud")
def flipud(x):
    """Reverse the first axis."""
    return torch.flipud(tensor(x))


@symbolic_op("diff")
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis`."""
    return torch.diff(tensor(a), n=n, dim=axis)


@symbolic_op("diag")
def diag(x, k=0):
    """A 1-D tensor -> the matrix with it on diagonal `k`; a matrix -> its diagonal `k`."""
    return torch.diag(tensor(x), k)


@symbolic_op("diagflat")
def diagflat(x, k=0):
    """The flattened input on diagonal `k` of a new matrix."""
    return torch.diagflat(tensor(x), k)


@symbolic_op("meshgrid")
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors ("xy": Cartesian, "ij": matrix indexing)."""
    return list(torch.meshgrid(*[tensor(v) for v in x], indexing=indexing))


@symbolic_op("vander")
def vander(x, N=None, increasing=False):  # noqa: N803 - NumPy's name
    """The Vandermonde matrix: columns are powers of `x` (decreasing unless `increasing`)."""
    return torch.vander(tensor(x), N=N, increasing=increasing)


# --------------------------------------------------------------------------------------------------
# creation


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """Ones at and below diagonal `k` of an `N x M` matrix, zeros above."""
    ones = torch.ones(N, N if M is None else M, device=_target_device())
    return torch.tril(ones, k).to(_dtype_or(dtype, torch.float32))


def empty(shape, dtype=None):
    """A tensor of `shape` (filled with zeros, so its contents are defined)."""
    return torch.zeros(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


@symbolic_op("empty_like")
def empty_like(x, dtype=None):
    """A tensor shaped like `x` (filled with zeros)."""
    x = tensor(x)
    return torch.zeros_like(x, dtype=_dtype_or(dtype, x.dtype))


def array(x, dtype=None):
    """A tensor from array-like data (`convert_to_tensor`)."""
    return convert_to_tensor(x, dtype=dtype)


def _spaced(start, stop, num, endpoint, axis, dtype, make):
    start, stop = floating(tensor(start)), floating(tensor(stop))
    steps = torch.linspace(0.0, 1.0, num + (0 if endpoint else 1), device=start.device)
    steps = steps[:num].to(start.dtype)
    shape = [-1] + [1] * len(torch.broadcast_shapes(start.shape, stop.shape))
    values = make(start, stop, steps.reshape(shape))
    values = torch.movedim(values, 0, axis) if axis != 0 else values
    return values.to(_dtype_or(dtype, values.dtype))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)`."""
    return _spaced(
        start, stop, num, endpoint, axis, dtype,
        lambda a, b, t: torch.pow(float(base), a + (b - a) * t),
    )  # fmt: skip


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` numbers from `start` to `stop`, evenly spaced on a log scale."""

    def make(a, b, t):
        sign = torch.sign(a)
        return sign * torch.exp(torch.log(a.abs()) + (torch.log(b.abs()) - torch.log(a.abs())) * t)

    return _spaced(start, stop, num, endpoint, axis, dtype, make)


def _window(torch_fn, x, **kwargs):
    n = int(x)
    return torch_fn(n, periodic=False, device=_target_device(), **kwargs)


def bartlett(x):
    """The Bartlett (triangular) window of `x` points."""
    return _window(torch.bartlett_window, x)


def blackman(x):
    """The Blackman window of `x` points."""
    return _window(torch.blackman_window, x)


def hamming(x):
    """The Hamming window of `x` points."""
    return _window(torch.hamming_window, x)


def hanning(x):
    """The Hann window of `x` points."""
    return _window(torch.hann_window, x)


def kaiser(x, beta):
    """The Kaiser window of `x` points with shape parameter `beta`."""
    return _window(torch.kaiser_window, x, beta=float(beta))
