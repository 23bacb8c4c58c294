"""Products and pairings of tensors: tensordot, inner, outer, kron, vdot, cross, traces, distances.

All of them are torch's functions under NumPy's names and argument conventions.
"""

from __future__ import annotations

import torch

from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor
from lamina.ops.core import boolean_product, floating, narrows_64_bits, symbolic_op, tensor


def _common(x1, x2):
    a, b = tensor(x1), tensor(x2)
    dtype = torch.promote_types(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


@symbolic_op("tensordot", unifies=True)
@narrows_64_bits
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
        dims = (first, second)
    else:
        dims = int(axes)
    return boolean_product(lambda p, q: torch.tensordot(p, q, dims=dims), a, b)


@symbolic_op("inner", unifies=True)
@narrows_64_bits
def inner(x1, x2):
    """The inner product: the sum of products over the last axes of both tensors.

    Args:
        x1: first input tensor.
        x2: second input tensor; its last axis has the length of `x1`'s.

    Returns:
        A tensor of shape `x1.shape[:-1] + x2.shape[:-1]` (a scalar for two vectors).

    Example:
        >>> lamina.ops.inner(np.array([1, 2, 3]), np.array([4, 5, 6]))
        tensor(32, dtype=torch.int32)
        >>> lamina.ops.inner(np.array([[1, 0], [0, 1]]), np.array([2, 3]))
        tensor([2, 3], dtype=torch.int32)
    """
    return boolean_product(torch.inner, *_common(x1, x2))


@symbolic_op("outer")
def outer(x1, x2):
    """The outer product of two tensors, each flattened first: `x1[i] * x2[j]`.

    Args:
        x1: first input tensor (flattened).
        x2: second input tensor (flattened).

    Returns:
        A 2-D tensor of shape `(x1.size, x2.size)`.

    Example:
        >>> lamina.ops.outer(np.array([1, 2]), np.array([1, 10, 100]))
        tensor([[  1,  10, 100],
                [  2,  20, 200]])
    """
    a, b = _common(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


@symbolic_op("vdot", unifies=True)
@narrows_64_bits
def vdot(x1, x2):
    """The dot product of two tensors, both flattened; the first is conjugated when complex.

    Args:
        x1: first input tensor (flattened, and conjugated if complex).
        x2: second input tensor, with as many elements as `x1`.

    Returns:
        A scalar tensor.

    Example:
        >>> lamina.ops.vdot(np.array([[1, 2], [3, 4]]), np.array([[1, 1], [1, 1]]))
        tensor(10, dtype=torch.int32)
    """
    a, b = _common(x1, x2)
    return boolean_product(torch.vdot, a.reshape(-1), b.reshape(-1))


@symbolic_op("kron")
def kron(x1, x2):
    """The Kronecker product: each element of `x1` scales a whole copy of `x2`.

    Args:
        x1: first input tensor.
        x2: second input tensor.

    Returns:
        A tensor whose sizes are the products of the inputs' sizes, axis by axis.

    Example:
        >>> lamina.ops.kron(np.array([[1, 2]]), np.array([[1], [10]]))
        tensor([[ 1,  2],
                [10, 20]])
    """
    return torch.kron(*_common(x1, x2))


@symbolic_op("cross")
@narrows_64_bits
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of two tensors of 3-vectors (or 2-vectors), broadcasting the other axes.

    2-vectors are taken to have a z component of 0; when both are 2-vectors, only the z component of
    the product is returned, as NumPy.

    Args:
        x1: tensor of vectors along `axisa`.
        x2: tensor of vectors along `axisb`.
        axisa: the axis of `x1` holding the vectors (default -1).
        axisb: the axis of `x2` holding the vectors (default -1).
        axisc: the axis of the result holding the vectors (default -1).
        axis: if given, overrides `axisa`, `axisb` and `axisc` (default None).

    Returns:
        The tensor of cross products.

    Example:
        >>> lamina.ops.cross(np.array([1, 0, 0]), np.array([0, 1, 0]))
        tensor([0, 0, 1], dtype=torch.int32)
        >>> lamina.ops.cross(np.array([1, 2]), np.array([3, 4]))
        tensor(-2, dtype=torch.int32)
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


def _diagonal_shape(x, offset=0, axis1=0, axis2=1):
    """The diagonal over an unknown size has an unknown length (Keras's rule; the probe would
    give the other, known size); everything else the probe finds."""
    if not isinstance(x, KerasTensor) or not isinstance(axis1, int) or not isinstance(axis2, int):
        return None
    rank = len(x.shape)
    if not (-rank <= axis1 < rank and -rank <= axis2 < rank):
        return None  # the probe raises
    axes = {axis1 % rank, axis2 % rank}
    if len(axes) != 2 or all(x.shape[a] is not None for a in axes):
        return None
    return tuple(d for i, d in enumerate(x.shape) if i not in axes) + (None,)


@symbolic_op("diagonal", shape_rule=_diagonal_shape)
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of a tensor over two of its axes.

    Args:
        x: input tensor with at least 2 axes.
        offset: which diagonal: 0 the main one (default), positive above it, negative below.
        axis1: the first axis of the 2-D planes (default 0).
        axis2: the second axis of the 2-D planes (default 1).

    Returns:
        A tensor with those two axes removed and the diagonal appended as the last axis.

    Example:
        >>> lamina.ops.diagonal(np.array([[1, 2], [3, 4]]))
        tensor([1, 4])
        >>> lamina.ops.diagonal(np.array([[1, 2], [3, 4]]), offset=1)
        tensor([2])
    """
    return torch.diagonal(tensor(x), offset=offset, dim1=axis1, dim2=axis2)


@symbolic_op("trace")
def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along a diagonal of a tensor.

    Booleans and integers narrower than 32 bits are summed in int32.

    Args:
        x: input tensor with at least 2 axes.
        offset: which diagonal: 0 the main one (default), positive above it, negative below.
        axis1: the first axis of the 2-D planes (default 0).
        axis2: the second axis of the 2-D planes (default 1).

    Returns:
        A tensor with those two axes removed (a scalar for a matrix).

    Example:
        >>> lamina.ops.trace(np.array([[1, 2], [3, 4]]))
        tensor(5)
    """
    x = tensor(x)
    if x.dtype in (torch.bool, torch.int8, torch.int16, torch.uint8):
        x = x.to(torch.int32)
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2).sum(-1, dtype=x.dtype)


@symbolic_op("correlate")
@narrows_64_bits
def correlate(x1, x2, mode="valid"):
    """The cross-correlation of two 1-D sequences, as NumPy's `correlate`.

    Integer inputs are computed in float32.

    Args:
        x1: first 1-D sequence.
        x2: second 1-D sequence, slid along `x1`.
        mode: the output length: `"valid"` (default: only full overlaps), `"same"` (the length of
            the longer input) or `"full"` (every partial overlap).

    Returns:
        A 1-D tensor.

    Example:
        >>> lamina.ops.correlate(np.array([1, 2, 3]), np.array([0, 1]))
        tensor([2., 3.])
        >>> lamina.ops.correlate(np.array([1, 2, 3]), np.array([0, 1]), mode="full")
        tensor([1., 2., 3., 0.])
    """
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
    """The Pearson correlation coefficients between the rows of a 2-D tensor.

    Each row is a variable and each column an observation. Integer inputs are computed in float32.

    Args:
        x: `(variables, observations)` tensor, or 1-D for a single variable.

    Returns:
        A `(variables, variables)` tensor of coefficients.

    Example:
        >>> lamina.ops.corrcoef(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    return torch.corrcoef(floating(tensor(x)))


@symbolic_op("cdist")
def cdist(x, y):
    """The Euclidean distances between every row of `x` and every row of `y`.

    Leading axes are batch axes. Integer inputs are computed in float32.

    Args:
        x: `(..., n, d)` tensor of points.
        y: `(..., m, d)` tensor of points.

    Returns:
        A `(..., n, m)` tensor of distances.

    Example:
        >>> lamina.ops.cdist(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[3.0, 4.0]]))
        tensor([[5.0000],
                [3.6056]])
    """
    a, b = (floating(t) for t in _common(x, y))
    if a.shape[-1:] != b.shape[-1:]:
        raise errors.value_error(
            "cdist()",
            "points of the same dimension (last axis)",
            f"shapes {tuple(a.shape)} and {tuple(b.shape)}",
        )
    if a.dtype in (torch.float16, torch.bfloat16):  # torch's kernel has no half precision
        return torch.cdist(a.float(), b.float()).to(a.dtype)
    return torch.cdist(a, b)
