"""Products and pairings of tensors: tensordot, inner, outer, kron, vdot, cross, traces, distances.

All of them are torch's functions under NumPy's names and argument conventions.
"""

from __future__ import annotations

import torch

from lamina.ops.core import floating, symbolic_op, tensor


def _common(x1, x2):
    a, b = tensor(x1), tensor(x2)
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


@symbolic_op("tensordot")
def tensordot(x1, x2, axes=2):
    """Sum of products over `axes`: the last `axes` of `x1` with the first of `x2`, or two lists.

    Args:
        x1, x2: input tensors.
        axes: an int N, or a pair `(axes_of_x1, axes_of_x2)`.

    Examples:
        >>> tensordot(torch.ones(2, 3), torch.ones(3, 4), axes=1).shape
        torch.Size([2, 4])
    """
    a, b = _common(x1, x2)
    if isinstance(axes, (list, tuple)):
        first, second = axes
        first = [first] if isinstance(first, int) else list(first)
        second = [second] if isinstance(second, int) else list(second)
        return torch.tensordot(a, b, dims=(first, second))
    return torch.tensordot(a, b, dims=int(axes))


@symbolic_op("inner")
def inner(x1, x2):
    """Sum of products over the last axes of both tensors."""
    return torch.inner(*_common(x1, x2))


@symbolic_op("outer")
def outer(x1, x2):
    """The outer product of the two tensors, flattened first."""
    a, b = _common(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


@symbolic_op("vdot")
def vdot(x1, x2):
    """The dot product of the flattened tensors (conjugating the first)."""
    a, b = _common(x1, x2)
    return torch.vdot(a.reshape(-1), b.reshape(-1))


@symbolic_op("kron")
def kron(x1, x2):
    """The Kronecker product."""
    return torch.kron(*_common(x1, x2))


@symbolic_op("cross")
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (2-vectors are padded with a zero z, as NumPy).

    Args:
        x1, x2: tensors of vectors.
        axisa, axisb: the vectors' axes in `x1` and `x2`.
        axisc: the vectors' axis in the result.
        axis: when given, overrides all three.
    """
    a, b = _common(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = torch.movedim(a, axisa, -1), torch.movedim(b, axisb, -1)
    two_d = a.shape[-1] == 2 and b.shape[-1] == 2
    if a.shape[-1] == 2:
        a = torch.nn.functional.pad(a, (0, 1))
    if b.shape[-1] == 2:
        b = torch.nn.functional.pad(b, (0, 1))
    a, b = torch.broadcast_tensors(a, b)
    out = torch.linalg.cross(a, b, dim=-1)
    if two_d:
        return out[..., 2]
    return torch.movedim(out, -1, axisc)


@symbolic_op("diagonal")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of `x` over two axes; it becomes the last axis."""
    return torch.diagonal(tensor(x), offset=offset, dim1=axis1, dim2=axis2)


@symbolic_op("trace")
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of `diagonal(x, offset, axis1, axis2)`; bools and small ints sum in int32."""
    x = tensor(x)
    if x.dtype in (torch.bool, torch.int8, torch.int16, torch.uint8):
        x = x.to(torch.int32)
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2).sum(-1, dtype=x.dtype)


@symbolic_op("correlate")
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences, NumPy's `mode` ("valid", "same" or "full")."""
    a, b = _common(x1, x2)
    a, b = floating(a), floating(b)
    if mode not in ("valid", "same", "full"):
        raise ValueError(
            f"correlate() expects mode in ['valid', 'same', 'full']; received mode={mode!r}."
        )
    n, m = a.shape[0], b.shape[0]
    if m > n:  # NumPy swaps and reverses so the longer one slides under the shorter
        return torch.flip(correlate(b, a, mode), (0,)).conj()
    full = torch.nn.functional.conv1d(a.view(1, 1, -1), b.view(1, 1, -1), padding=m - 1).view(-1)
    if mode == "full":
        return full
    if mode == "valid":
        return full[m - 1 : n]
    start = (m - 1) // 2
    return full[start : start + n]


@symbolic_op("corrcoef")
def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`."""
    return torch.corrcoef(floating(tensor(x)))


@symbolic_op("cdist")
def cdist(x, y):
    """Euclidean distances between every row of `x` and every row of `y` (batched)."""
    a, b = _common(x, y)
    return torch.cdist(floating(a), floating(b))
