"""More of NumPy's array ops: stacking and splitting by direction, rolling, rotating, diagonals,
grids, differences, and the creation functions not in `arrays.py` (windows, log-spaced ranges).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.shape_inference import in_probe
from lamina.ops.arrays import _dtype_or, _is_int, _shape_tuple, split
from lamina.ops.core import (
    _target_device,
    convert_to_tensor,
    floating,
    narrows_64_bits,
    symbolic_op,
    tensor,
)


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
    """Append `x2` to the end of `x1` along an axis.

    The two are promoted to a common dtype; with `axis=None` both are flattened first.

    Args:
        x1: the leading tensor.
        x2: the tensor appended; its shape must match `x1`'s except along `axis`.
        axis: the axis to join along (default None: flatten both).

    Returns:
        The joined tensor.

    Example:
        >>> lamina.ops.append(np.array([[1, 2]]), np.array([[3, 4]]))
        tensor([1, 2, 3, 4])
        >>> lamina.ops.append(np.array([[1, 2]]), np.array([[3, 4]]), axis=0)
        tensor([[1, 2],
                [3, 4]])
    """
    a, b = _common_list([x1, x2])
    if axis is None:
        return torch.cat([a.reshape(-1), b.reshape(-1)])
    return torch.cat([a, b], dim=axis)


@symbolic_op("hstack", unifies=True)
def hstack(xs):
    """Join tensors horizontally: along the second axis (the first for 1-D tensors).

    Args:
        xs: a list or tuple of tensors, promoted to a common dtype.

    Returns:
        The joined tensor.

    Example:
        >>> lamina.ops.hstack([np.array([[1], [2]]), np.array([[3], [4]])])
        tensor([[1, 3],
                [2, 4]])
    """
    return torch.hstack(_common_list(xs))


@symbolic_op("vstack", unifies=True)
def vstack(xs):
    """Join tensors vertically: along the first axis, 1-D tensors becoming rows.

    Args:
        xs: a list or tuple of tensors, promoted to a common dtype.

    Returns:
        The joined tensor.

    Example:
        >>> lamina.ops.vstack([np.array([1, 2]), np.array([3, 4])])
        tensor([[1, 2],
                [3, 4]])
    """
    return torch.vstack(_common_list(xs))


@symbolic_op("dstack", unifies=True)
def dstack(xs):
    """Join tensors depth-wise: along the third axis, lower-rank tensors made 3-D first.

    A 1-D tensor of length N becomes `(1, N, 1)` and a 2-D `(M, N)` one becomes `(M, N, 1)`.

    Args:
        xs: a list or tuple of tensors, promoted to a common dtype.

    Returns:
        The joined tensor, with at least 3 axes.

    Example:
        >>> lamina.ops.dstack([np.array([1, 2]), np.array([3, 4])])
        tensor([[[1, 3],
                 [2, 4]]])
    """
    return torch.dstack(_common_list(xs))


@symbolic_op("array_split")
def array_split(x, indices_or_sections, axis=0):
    """Split a tensor into several along an axis, allowing unequal sections.

    Unlike `split`, an int need not divide the axis: the first sections get one element more.

    Args:
        x: input tensor.
        indices_or_sections: the number of sections, or a list of indices where sections start.
        axis: the axis to split along (default 0).

    Returns:
        A list of tensors.

    Example:
        >>> lamina.ops.array_split(np.arange(5), 3)
        [tensor([0, 1]), tensor([2, 3]), tensor([4])]
    """
    x = tensor(x)
    if _is_int(indices_or_sections):
        return list(torch.tensor_split(x, int(indices_or_sections), dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


def hsplit(x, indices_or_sections):
    """Split a tensor horizontally: `split` along the second axis (the first for 1-D tensors).

    Args:
        x: input tensor.
        indices_or_sections: the number of equal sections, or a list of split indices.

    Returns:
        A list of tensors.

    Example:
        >>> lamina.ops.hsplit(np.array([[1, 2, 3, 4]]), 2)
        [tensor([[1, 2]]), tensor([[3, 4]])]
    """
    axis = 0 if len(getattr(x, "shape", np.shape(x))) == 1 else 1
    return split(x, indices_or_sections, axis=axis)


def vsplit(x, indices_or_sections):
    """Split a tensor vertically: `split` along the first axis.

    Args:
        x: input tensor with at least 2 axes.
        indices_or_sections: the number of equal sections, or a list of split indices.

    Returns:
        A list of tensors.

    Example:
        >>> lamina.ops.vsplit(np.array([[1, 2], [3, 4]]), 2)
        [tensor([[1, 2]]), tensor([[3, 4]])]
    """
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """Split a tensor depth-wise: `split` along the third axis.

    Args:
        x: input tensor with at least 3 axes.
        indices_or_sections: the number of equal sections, or a list of split indices.

    Returns:
        A list of tensors.

    Example:
        >>> [lamina.ops.shape(part) for part in lamina.ops.dsplit(np.zeros((2, 2, 4)), [1])]
        [(2, 2, 1), (2, 2, 3)]
    """
    return split(x, indices_or_sections, axis=2)


def unstack(x, num=None, axis=0):
    """Unpack a tensor into the list of its slices along an axis.

    On a symbolic tensor whose `axis` has an unknown size, `num` says how many slices there
    are (as in Keras); without it the count cannot be known and a `ValueError` says so.

    Args:
        x: input tensor.
        num: the size of `axis`, if known (default None); a mismatch raises a `ValueError`.
        axis: the axis to unstack along (default 0).

    Returns:
        A list of tensors, each with one axis fewer than `x`.

    Example:
        >>> lamina.ops.unstack(np.array([[1, 2], [3, 4]]), axis=1)
        [tensor([1, 3]), tensor([2, 4])]
        >>> [t.shape for t in lamina.ops.unstack(lamina.KerasTensor((None, 3)), num=2)]
        [(3,), (3,)]
    """
    if isinstance(x, KerasTensor):
        size = x.shape[axis]
        if size is None and num is None:
            raise ValueError(
                f"unstack() cannot tell how many slices a symbolic tensor of shape {x.shape} "
                f"has along axis {axis}: that size is unknown. Pass num= (the size it will have)."
            )
        if size is not None and num is not None and num != size:
            raise _num_mismatch(axis, size, num)
    return _unstack(x, num=num, axis=axis)


@symbolic_op("unstack")
def _unstack(x, num=None, axis=0):
    x = tensor(x)
    if num is not None and num != x.shape[axis]:
        if in_probe():  # a probe size stands for the unknown size: `num` is the real one
            return [x.select(axis, 0) for _ in range(num)]
        raise _num_mismatch(axis, x.shape[axis], num)
    return list(torch.unbind(x, dim=axis))


def _num_mismatch(axis, size, num) -> ValueError:
    return ValueError(
        f"unstack() expects num to equal the size of axis {axis} ({size}); received num={num}."
    )


# --------------------------------------------------------------------------------------------------
# rearranging


@symbolic_op("roll")
def roll(x, shift, axis=None):
    """Shift the elements along an axis, those pushed off the end wrapping around to the start.

    Args:
        x: input tensor.
        shift: how many places to shift (negative: toward the start); an int (the same shift
            along every axis given, as NumPy's), or a tuple to go with a tuple of axes.
        axis: the axis or axes to roll (default None: the flattened tensor, reshaped back).

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.roll(np.array([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
        >>> lamina.ops.roll(np.array([[1, 2], [3, 4]]), -1, axis=0)
        tensor([[3, 4],
                [1, 2]])
    """
    x = tensor(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift).reshape(x.shape)
    if isinstance(axis, (list, tuple)) and isinstance(shift, int):  # torch wants one per axis
        shift = (shift,) * len(axis)
    return torch.roll(x, shift, dims=axis)


@symbolic_op("rot90")
def rot90(array, k=1, axes=(0, 1)):
    """Rotate a tensor by 90 degrees, counterclockwise, in the plane of two axes.

    Args:
        array: input tensor with at least 2 axes.
        k: the number of quarter turns (default 1; negative turns clockwise).
        axes: the two axes of the plane (default (0, 1)); the rotation goes from the first toward
            the
            second.

    Returns:
        The rotated tensor.

    Example:
        >>> lamina.ops.rot90(np.array([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    return torch.rot90(tensor(array), k, dims=list(axes))


@symbolic_op("fliplr")
def fliplr(x):
    """Reverse the order of elements along the second axis (left to right).

    Args:
        x: input tensor with at least 2 axes.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.fliplr(np.array([[1, 2], [3, 4]]))
        tensor([[2, 1],
                [4, 3]])
    """
    return torch.fliplr(tensor(x))


@symbolic_op("flipud")
def flipud(x):
    """Reverse the order of elements along the first axis (up to down).

    Args:
        x: input tensor with at least 1 axis.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.flipud(np.array([[1, 2], [3, 4]]))
        tensor([[3, 4],
                [1, 2]])
    """
    return torch.flipud(tensor(x))


@symbolic_op("diff")
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along an axis: `a[i + 1] - a[i]`, applied `n` times.

    Args:
        a: input tensor.
        n: how many times to take the difference (default 1).
        axis: the axis along which it is taken (default -1).

    Returns:
        A tensor shaped like `a` with `n` fewer elements along `axis`.

    Example:
        >>> lamina.ops.diff(np.array([1, 4, 9, 16]))
        tensor([3, 5, 7])
        >>> lamina.ops.diff(np.array([1, 4, 9, 16]), n=2)
        tensor([2, 2])
    """
    return torch.diff(tensor(a), n=n, dim=axis)


def _diag_shape(x, k=0):
    """A matrix's diagonal over an unknown size has an unknown length (the probe would give
    the other, known size); everything else the probe finds."""
    if isinstance(x, KerasTensor) and len(x.shape) == 2 and None in x.shape:
        return (None,)
    return None


@symbolic_op("diag", shape_rule=_diag_shape)
def diag(x, k=0):
    """Build a diagonal matrix from a 1-D tensor, or take a diagonal of a 2-D one.

    Args:
        x: a 1-D tensor (placed on diagonal `k` of a square matrix) or a 2-D tensor (whose diagonal
            `k` is extracted).
        k: the diagonal: 0 the main one (default), positive above it, negative below.

    Returns:
        A 2-D tensor for 1-D `x`, a 1-D tensor for 2-D `x`.

    Example:
        >>> lamina.ops.diag(np.array([1, 2]))
        tensor([[1, 0],
                [0, 2]])
        >>> lamina.ops.diag(np.array([[1, 2], [3, 4]]), k=1)
        tensor([2])
    """
    return torch.diag(tensor(x), k)


@symbolic_op("diagflat")
def diagflat(x, k=0):
    """Place the flattened input on a diagonal of a new square matrix.

    Args:
        x: input tensor of any shape; flattened first.
        k: the diagonal: 0 the main one (default), positive above it, negative below.

    Returns:
        A 2-D tensor.

    Example:
        >>> lamina.ops.diagflat(np.array([[1, 2]]))
        tensor([[1, 0],
                [0, 2]])
    """
    return torch.diagflat(tensor(x), k)


@symbolic_op("meshgrid")
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors.

    Args:
        *x: 1-D tensors, the coordinates along each axis of the grid (a tensor of another
            rank counts as its flattened elements, as in NumPy).
        indexing: `"xy"` (default: Cartesian, the first two output axes swapped) or `"ij"` (matrix
            indexing).

    Returns:
        A list of tensors, one per input, each of the grid's shape.

    Example:
        >>> xs, ys = lamina.ops.meshgrid(np.array([1, 2, 3]), np.array([4, 5]))
        >>> xs
        tensor([[1, 2, 3],
                [1, 2, 3]])
        >>> ys
        tensor([[4, 4, 4],
                [5, 5, 5]])
    """
    # NumPy's rule: inputs of any rank count as their flattened elements.
    return list(torch.meshgrid(*[tensor(v).reshape(-1) for v in x], indexing=indexing))


@symbolic_op("vander")
@narrows_64_bits
def vander(x, N=None, increasing=False):  # noqa: N803 - NumPy's name
    """The Vandermonde matrix of a 1-D tensor: its columns are powers of `x`.

    Args:
        x: 1-D input tensor.
        N: the number of columns (default None: `len(x)`).
        increasing: whether the powers increase from left to right (default False: they decrease,
            ending with `x**0`).

    Returns:
        A `(len(x), N)` tensor.

    Example:
        >>> lamina.ops.vander(np.array([1, 2, 3]))
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]], dtype=torch.int32)
    """
    x = tensor(x)
    out = torch.vander(x, N=N, increasing=increasing)
    integer = not (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool)
    return out.to(x.dtype) if integer else out  # torch widens integers to int64; Keras keeps them


# --------------------------------------------------------------------------------------------------
# creation


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """A matrix with ones at and below a diagonal and zeros above.

    Args:
        N: the number of rows.
        M: the number of columns (default None: `N`).
        k: the diagonal at and below which ones are placed: 0 the main one (default), positive above
            it, negative below.
        dtype: dtype of the result (default None: float32).

    Returns:
        An `(N, M)` tensor.

    Example:
        >>> lamina.ops.tri(3, dtype="int32")
        tensor([[1, 0, 0],
                [1, 1, 0],
                [1, 1, 1]], dtype=torch.int32)
    """
    ones = torch.ones(N, N if M is None else M, device=_target_device())
    return torch.tril(ones, k).to(_dtype_or(dtype, torch.float32))


def empty(shape, dtype=None):
    """A new tensor of the given shape.

    Unlike NumPy's, its contents are defined: zeros.

    Args:
        shape: an int or a tuple of ints.
        dtype: dtype of the result (default None: float32).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.empty((2, 2))
        tensor([[0., 0.],
                [0., 0.]])
    """
    return torch.zeros(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


@symbolic_op("empty_like")
def empty_like(x, dtype=None):
    """A new tensor with the shape (and by default the dtype) of `x`, filled with zeros.

    Args:
        x: the tensor whose shape is copied.
        dtype: dtype of the result (default None: `x`'s).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.empty_like(np.array([1, 2, 3]))
        tensor([0, 0, 0])
    """
    x = tensor(x)
    return torch.zeros_like(x, dtype=_dtype_or(dtype, x.dtype))


def array(x, dtype=None):
    """Create a tensor from array-like data (a list, NumPy array, tensor or number).

    The same as `convert_to_tensor`: Python floats become float32 and Python ints int32.

    Args:
        x: the data.
        dtype: dtype of the result (default None: inferred as above).

    Returns:
        A tensor.

    Example:
        >>> lamina.ops.array([[1, 2], [3, 4]])
        tensor([[1, 2],
                [3, 4]], dtype=torch.int32)
        >>> lamina.ops.array([1, 2], dtype="float32")
        tensor([1., 2.])
    """
    return convert_to_tensor(x, dtype=dtype)


def _spaced(start, stop, num, endpoint, axis, dtype, make):
    start, stop = floating(tensor(start)), floating(tensor(stop))
    steps = torch.linspace(0.0, 1.0, num + (0 if endpoint else 1), device=start.device)
    steps = steps[:num].to(start.dtype)
    shape = [-1] + [1] * len(torch.broadcast_shapes(start.shape, stop.shape))
    values = make(start, stop, steps.reshape(shape))
    values = torch.movedim(values, 0, axis) if axis != 0 else values
    return values.to(_dtype_or(dtype, values.dtype))


@symbolic_op("logspace", broadcasts=True)
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """Numbers evenly spaced on a log scale: `base ** linspace(start, stop, num)`.

    Args:
        start: the exponent of the first value.
        stop: the exponent of the last value (included when `endpoint` is True).
        num: how many values (default 50).
        endpoint: whether `base ** stop` is the last value (default True).
        base: the base of the powers (default 10).
        dtype: dtype of the result (default None: float32 for integer limits).
        axis: where the new axis goes when `start`/`stop` are tensors (default 0).

    Returns:
        A tensor of `num` values along `axis`.

    Example:
        >>> lamina.ops.logspace(0, 3, 4)
        tensor([   1.0000,   10.0000,  100.0000, 1000.0000])
        >>> lamina.ops.logspace(0, 3, 4, base=2)
        tensor([1.0000, 2.0000, 4.0000, 8.0000])
    """
    return _spaced(
        start, stop, num, endpoint, axis, dtype,
        lambda a, b, t: torch.pow(float(base), a + (b - a) * t),
    )  # fmt: skip


@symbolic_op("geomspace", broadcasts=True)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers evenly spaced on a log scale from `start` to `stop` (a geometric progression).

    Unlike `logspace`, the limits are the values themselves, not exponents; they must be nonzero and
    of the same sign.

    Args:
        start: the first value.
        stop: the last value (included when `endpoint` is True).
        num: how many values (default 50).
        endpoint: whether `stop` is the last value (default True).
        dtype: dtype of the result (default None: float32 for integer limits).
        axis: where the new axis goes when `start`/`stop` are tensors (default 0).

    Returns:
        A tensor of `num` values along `axis`.

    Example:
        >>> lamina.ops.geomspace(1, 1000, 4)
        tensor([1.0000e+00, 1.0000e+01, 1.0000e+02, 1.0000e+03])
    """

    def make(a, b, t):
        sign = torch.sign(a)
        return sign * torch.exp(torch.log(a.abs()) + (torch.log(b.abs()) - torch.log(a.abs())) * t)

    return _spaced(start, stop, num, endpoint, axis, dtype, make)


def _window(torch_fn, x, **kwargs):
    n = int(x)
    return torch_fn(n, periodic=False, device=_target_device(), **kwargs)


def bartlett(x):
    """The Bartlett (triangular) window of `x` points, as NumPy's `bartlett`.

    The window is symmetric, with its peak of 1 in the middle.

    Args:
        x: the number of points.

    Returns:
        A 1-D float32 tensor of `x` values.

    Example:
        >>> lamina.ops.bartlett(5)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return _window(torch.bartlett_window, x)


def blackman(x):
    """The Blackman window of `x` points, as NumPy's `blackman`.

    The window is symmetric, with its peak of 1 in the middle.

    Args:
        x: the number of points.

    Returns:
        A 1-D float32 tensor of `x` values.

    Example:
        >>> lamina.ops.blackman(5)[1:4]
        tensor([0.3400, 1.0000, 0.3400])
    """
    return _window(torch.blackman_window, x)


def hamming(x):
    """The Hamming window of `x` points, as NumPy's `hamming`.

    The window is symmetric, with its peak of 1 in the middle.

    Args:
        x: the number of points.

    Returns:
        A 1-D float32 tensor of `x` values.

    Example:
        >>> lamina.ops.hamming(5)
        tensor([0.0800, 0.5400, 1.0000, 0.5400, 0.0800])
    """
    return _window(torch.hamming_window, x)


def hanning(x):
    """The Hann window of `x` points, as NumPy's `hanning`.

    The window is symmetric, with its peak of 1 in the middle.

    Args:
        x: the number of points.

    Returns:
        A 1-D float32 tensor of `x` values.

    Example:
        >>> lamina.ops.hanning(5)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return _window(torch.hann_window, x)


def kaiser(x, beta):
    """The Kaiser window of `x` points, as NumPy's `kaiser` (symmetric, peak 1 in the middle).

    Args:
        x: the number of points.
        beta: the shape parameter: 0 gives a rectangular window, larger values a narrower one.

    Returns:
        A 1-D float32 tensor of `x` values.

    Example:
        >>> lamina.ops.kaiser(5, beta=5.0)
        tensor([0.0367, 0.5529, 1.0000, 0.5529, 0.0367])
    """
    return _window(torch.kaiser_window, x, beta=float(beta))
