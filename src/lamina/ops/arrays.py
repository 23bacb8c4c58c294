"""Array ops: creation, reshaping, joining and splitting, indexing (NumPy's names and rules).

Creation ops (`arange`, `zeros`, ...) make tensors on lamina's device, and on the meta device while
a layer's output shape is being inferred, so a custom layer may call them inside `call`.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend, dtypes
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.shape_inference import OutputSpec, unprobed_shape
from lamina.ops.core import _target_device, symbolic_op, tensor, to_dtype


def _dtype_or(dtype, default):
    return default if dtype is None else to_dtype(dtype)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------
# creation


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in the half-open interval `[start, stop)`.

    With one argument, it is the stop and the start is 0. The dtype defaults to int32 when every
    argument is an integer (Keras's default), else float32.

    Args:
        start: the first value, or the stop when `stop` is None.
        stop: the end of the interval, not included (default None).
        step: the spacing between values (default None: 1).
        dtype: dtype of the result (default None: int32 or float32, as above).

    Returns:
        A 1-D tensor.

    Example:
        >>> lamina.ops.arange(4)
        tensor([0, 1, 2, 3], dtype=torch.int32)
        >>> lamina.ops.arange(0.0, 1.0, 0.25)
        tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    integral = _is_int(start) and _is_int(stop) and _is_int(step)
    default = torch.int32 if integral else torch.float32
    return torch.arange(start, stop, step, dtype=_dtype_or(dtype, default), device=_target_device())


@symbolic_op("linspace", broadcasts=True)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop`.

    `start` and `stop` may be arrays (broadcast together): each pair gets its own run of values,
    along the new axis `axis`.

    Args:
        start: the first value, or an array of them.
        stop: the last value (included when `endpoint` is True), or an array of them.
        num: how many values (default 50).
        endpoint: whether `stop` is the last value (default True); if False, the interval is split
            into `num` steps and `stop` left out.
        retstep: whether to also return the spacing (default False).
        dtype: dtype of the result (default None: float32, or float16/bfloat16 for bounds of
            that dtype).
        axis: where the new axis of values goes when `start`/`stop` are arrays (default 0).

    Returns:
        A tensor of `num` values along `axis`; with `retstep`, the pair `(values, step)`.

    Example:
        >>> lamina.ops.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
        >>> lamina.ops.linspace(0, 1, 4, endpoint=False)
        tensor([0.0000, 0.2500, 0.5000, 0.7500])
        >>> lamina.ops.linspace(np.array([0.0, 10.0]), np.array([1.0, 20.0]), 3, axis=-1)
        tensor([[ 0.0000,  0.5000,  1.0000],
                [10.0000, 15.0000, 20.0000]])
    """
    device = _target_device()
    divisions = num - 1 if endpoint else num
    if np.ndim(start) == 0 and np.ndim(stop) == 0 and not retstep:
        start, stop = float(start), float(stop)
        values = torch.linspace(start, stop, divisions + 1, device=device, dtype=torch.float64)
        return values[:num].to(_dtype_or(dtype, torch.float32))
    first, last = tensor(start), tensor(stop)
    if dtype is None:  # Keras's rule: half-precision bounds keep theirs, the rest give float32
        common = torch.promote_types(first.dtype, last.dtype)
        dtype = common if common in (torch.float16, torch.bfloat16) else torch.float32
    dtype = to_dtype(dtype)
    first = first.to(device=device, dtype=torch.float64)
    last = last.to(device=device, dtype=torch.float64)
    first, last = torch.broadcast_tensors(first, last)
    step = (last - first) / divisions if divisions > 0 else torch.full_like(first, torch.nan)
    shape = (num,) + (1,) * first.dim()
    steps = torch.arange(num, device=device, dtype=torch.float64).reshape(shape)
    values = first + steps * (step if divisions > 0 else 0.0)
    if endpoint and num > 1:
        values[-1] = last  # exactly `stop`, as NumPy
    values = values.movedim(0, axis).to(dtype)
    return (values, step.to(dtype)) if retstep else values


def _shape_tuple(shape):
    return (int(shape),) if _is_int(shape) else tuple(int(d) for d in shape)


def zeros(shape, dtype=None):
    """A tensor of the given shape filled with zeros.

    Args:
        shape: an int or a tuple of ints.
        dtype: dtype of the result (default None: float32).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.zeros((2, 3))
        tensor([[0., 0., 0.],
                [0., 0., 0.]])
    """
    return torch.zeros(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


def ones(shape, dtype=None):
    """A tensor of the given shape filled with ones.

    Args:
        shape: an int or a tuple of ints.
        dtype: dtype of the result (default None: float32).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.ones(3, dtype="int32")
        tensor([1, 1, 1], dtype=torch.int32)
    """
    return torch.ones(
        _shape_tuple(shape), dtype=_dtype_or(dtype, torch.float32), device=_target_device()
    )


def full(shape, fill_value, dtype=None):
    """A tensor of the given shape filled with `fill_value`.

    Args:
        shape: an int or a tuple of ints.
        fill_value: the value of every element, or an array broadcast to `shape`.
        dtype: dtype of the result (default None: float32).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.full((2, 2), 7.0)
        tensor([[7., 7.],
                [7., 7.]])
    """
    shape, dtype = _shape_tuple(shape), _dtype_or(dtype, torch.float32)
    if np.ndim(fill_value) or isinstance(fill_value, (torch.Tensor, np.ndarray)):
        return _filled(shape, fill_value, dtype, _target_device())
    return torch.full(shape, fill_value, dtype=dtype, device=_target_device())


def _filled(shape, fill_value, dtype, device) -> torch.Tensor:
    """A new `shape` tensor holding `fill_value` (an array or tensor) broadcast over it."""
    values = tensor(fill_value).to(device=device, dtype=dtype)
    return torch.broadcast_to(values, shape).clone()


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """A 2-D tensor with ones on a diagonal and zeros elsewhere.

    Args:
        N: the number of rows.
        M: the number of columns (default None: `N`).
        k: which diagonal holds the ones: 0 the main one (default), positive above it, negative
            below.
        dtype: dtype of the result (default None: float32).

    Returns:
        An `(N, M)` tensor.

    Example:
        >>> lamina.ops.eye(3)
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
        >>> lamina.ops.eye(2, 3, k=1)
        tensor([[0., 1., 0.],
                [0., 0., 1.]])
    """
    matrix = torch.ones(N, N if M is None else M, device=_target_device()).triu(k).tril(k)
    return matrix.to(_dtype_or(dtype, torch.float32))


def identity(n, dtype=None):
    """The `n` by `n` identity matrix.

    Args:
        n: the number of rows and columns.
        dtype: dtype of the result (default None: float32).

    Returns:
        An `(n, n)` tensor with ones on the diagonal.

    Example:
        >>> lamina.ops.identity(2, dtype="int32")
        tensor([[1, 0],
                [0, 1]], dtype=torch.int32)
    """
    return eye(n, dtype=dtype)


@symbolic_op("zeros_like")
def zeros_like(x, dtype=None):
    """A tensor of zeros with the shape (and by default the dtype) of `x`.

    Args:
        x: the tensor whose shape is copied.
        dtype: dtype of the result (default None: `x`'s).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.zeros_like(np.array([[1, 2, 3]]))
        tensor([[0, 0, 0]])
    """
    x = tensor(x)
    return torch.zeros_like(x, dtype=_dtype_or(dtype, x.dtype))


@symbolic_op("ones_like")
def ones_like(x, dtype=None):
    """A tensor of ones with the shape (and by default the dtype) of `x`.

    Args:
        x: the tensor whose shape is copied.
        dtype: dtype of the result (default None: `x`'s).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.ones_like(np.array([[1, 2, 3]]), dtype="float32")
        tensor([[1., 1., 1.]])
    """
    x = tensor(x)
    return torch.ones_like(x, dtype=_dtype_or(dtype, x.dtype))


@symbolic_op("full_like")
def full_like(x, fill_value, dtype=None):
    """A tensor filled with `fill_value`, with the shape (and by default the dtype) of `x`.

    Args:
        x: the tensor whose shape is copied.
        fill_value: the value of every element, or an array broadcast to `x`'s shape.
        dtype: dtype of the result (default None: `x`'s).

    Returns:
        The new tensor.

    Example:
        >>> lamina.ops.full_like(np.array([1, 2, 3]), 9)
        tensor([9, 9, 9])
    """
    x = tensor(x)
    dtype = _dtype_or(dtype, x.dtype)
    if np.ndim(fill_value) or isinstance(fill_value, (torch.Tensor, np.ndarray)):
        return _filled(x.shape, fill_value, dtype, x.device)
    return torch.full_like(x, fill_value, dtype=dtype)


# --------------------------------------------------------------------------------------------------
# reshaping


def _reshape_shape(x, newshape):
    """Keras's symbolic reshape of an input with an unknown dimension: the new shape as given,
    its -1 entry unknown. (A probe size standing in for the batch need not fit the new shape:
    (None, 4) -> (-1, 3, 4).) None for a fully known input, which the probe checks."""
    if not isinstance(x, KerasTensor) or None not in x.shape:
        return None
    return tuple(None if d == -1 else d for d in _shape_tuple(newshape))


@symbolic_op(
    "reshape",
    shape_rule=_reshape_shape,
    text=lambda x, newshape: np.reshape(x, _shape_tuple(newshape)),
)
def reshape(x, newshape):
    """Give a tensor a new shape holding the same elements, in row-major order.

    Args:
        x: input tensor.
        newshape: an int or a tuple of ints; one entry may be -1, inferred from the element count.

    Returns:
        The reshaped tensor.

    Example:
        >>> lamina.ops.reshape(np.arange(6), (2, -1))
        tensor([[0, 1, 2],
                [3, 4, 5]])
    """
    return tensor(x).reshape(_shape_tuple(newshape))


@symbolic_op("transpose")
def transpose(x, axes=None):
    """Permute the axes of a tensor.

    Args:
        x: input tensor.
        axes: the new order of the axes (default None: reversed, as NumPy).

    Returns:
        The tensor with its axes permuted.

    Example:
        >>> lamina.ops.transpose(np.array([[1, 2, 3]]))
        tensor([[1],
                [2],
                [3]])
        >>> lamina.ops.shape(lamina.ops.transpose(np.zeros((2, 3, 4)), axes=(0, 2, 1)))
        (2, 4, 3)
    """
    x = tensor(x)
    return x.permute(tuple(reversed(range(x.dim())) if axes is None else axes))


def _axes(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@symbolic_op("expand_dims", text=lambda x, axis: np.expand_dims(x, _axes(axis)))
def expand_dims(x, axis):
    """Insert axes of size 1.

    Args:
        x: input tensor.
        axis: the position of the new axis in the result, or a list/tuple of positions.

    Returns:
        The tensor with the new axes.

    Example:
        >>> lamina.ops.expand_dims(np.array([1, 2]), 0)
        tensor([[1, 2]])
        >>> lamina.ops.shape(lamina.ops.expand_dims(np.array([1, 2]), [0, 2]))
        (1, 2, 1)
    """
    x = tensor(x)
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    rank = x.dim() + len(axes)  # positions count in the result, negative ones from its end
    for a in sorted(a % rank for a in axes):
        x = x.unsqueeze(a)
    return x


@symbolic_op("squeeze", text=lambda x, axis=None: np.squeeze(x, _axes(axis)))
def squeeze(x, axis=None):
    """Remove axes of size 1.

    Args:
        x: input tensor.
        axis: the axis or axes to remove (default None: every axis of size 1).

    Returns:
        The tensor without those axes.

    Example:
        >>> lamina.ops.squeeze(np.array([[[1], [2]]]))
        tensor([1, 2])
        >>> lamina.ops.shape(lamina.ops.squeeze(np.zeros((1, 2, 1)), axis=0))
        (2, 1)
    """
    x = tensor(x)
    if axis is None:
        return x.squeeze()
    return x.squeeze(tuple(axis) if isinstance(axis, (list, tuple)) else axis)


@symbolic_op("ravel")
def ravel(x):
    """Flatten a tensor to 1-D, in row-major order.

    Args:
        x: input tensor.

    Returns:
        A 1-D tensor.

    Example:
        >>> lamina.ops.ravel(np.array([[1, 2], [3, 4]]))
        tensor([1, 2, 3, 4])
    """
    return tensor(x).reshape(-1)


@symbolic_op("broadcast_to", unifies=True)
def broadcast_to(x, shape):
    """Broadcast a tensor to a new shape, as NumPy's broadcasting rules allow.

    Args:
        x: input tensor.
        shape: the target shape, an int or a tuple of ints.

    Returns:
        A tensor of the target shape (a view of `x`, not a copy).

    Example:
        >>> lamina.ops.broadcast_to(np.array([1, 2]), (2, 2))
        tensor([[1, 2],
                [1, 2]])
    """
    return tensor(x).expand(_shape_tuple(shape))


@symbolic_op("swapaxes")
def swapaxes(x, axis1, axis2):
    """Exchange two axes of a tensor.

    Args:
        x: input tensor.
        axis1: the first axis.
        axis2: the second axis.

    Returns:
        The tensor with the two axes swapped.

    Example:
        >>> lamina.ops.shape(lamina.ops.swapaxes(np.zeros((2, 3, 4)), 0, 2))
        (4, 3, 2)
    """
    return tensor(x).transpose(axis1, axis2)


@symbolic_op("moveaxis")
def moveaxis(x, source, destination):
    """Move axes to new positions, keeping the order of the others.

    Args:
        x: input tensor.
        source: the axis (or list of axes) to move.
        destination: the new position (or list of positions) for each, in order.

    Returns:
        The tensor with its axes rearranged.

    Example:
        >>> lamina.ops.shape(lamina.ops.moveaxis(np.zeros((2, 3, 4)), 0, -1))
        (3, 4, 2)
    """
    return torch.movedim(tensor(x), source, destination)


@symbolic_op("tile")
def tile(x, repeats):
    """Repeat a whole tensor along each axis.

    Args:
        x: input tensor.
        repeats: an int, or the number of repetitions per axis.

    Returns:
        The tiled tensor.

    Example:
        >>> lamina.ops.tile(np.array([1, 2]), 2)
        tensor([1, 2, 1, 2])
        >>> lamina.ops.tile(np.array([1, 2]), (2, 1))
        tensor([[1, 2],
                [1, 2]])
    """
    return torch.tile(tensor(x), (repeats,) if _is_int(repeats) else tuple(repeats))


def _repeat_shape(x, repeats, axis=None):
    """Keras's shape where a probe size cannot stand in: per-element `repeats` over an unknown
    size (the output size is then unknown too; the run checks the counts)."""
    if not isinstance(x, KerasTensor):
        return None
    if axis is None:
        return (None,) if None in x.shape else None
    if x.shape[axis] is None:
        return tuple(x.shape)
    return None


@symbolic_op("repeat", shape_rule=_repeat_shape)
def repeat(x, repeats, axis=None):
    """Repeat each element of a tensor along an axis.

    Args:
        x: input tensor.
        repeats: how often each element repeats: an int, or one count per element along `axis`.
        axis: the axis to repeat along (default None: the flattened tensor).

    Returns:
        The tensor with repeated elements.

    Example:
        >>> lamina.ops.repeat(np.array([[1, 2], [3, 4]]), 2)
        tensor([1, 1, 2, 2, 3, 3, 4, 4])
        >>> lamina.ops.repeat(np.array([[1, 2], [3, 4]]), 2, axis=0)
        tensor([[1, 2],
                [1, 2],
                [3, 4],
                [3, 4]])
    """
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if np.ndim(repeats) or isinstance(repeats, torch.Tensor):
        repeats = tensor(repeats).to(device=x.device, dtype=torch.long).reshape(-1)
    else:
        repeats = int(repeats)
    return torch.repeat_interleave(x, repeats, dim=axis)


@symbolic_op("flip")
def flip(x, axis=None):
    """Reverse the order of elements along the given axes.

    Args:
        x: input tensor.
        axis: an axis or list/tuple of axes (default None: every axis).

    Returns:
        The flipped tensor.

    Example:
        >>> lamina.ops.flip(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([[2, 1],
                [4, 3]])
        >>> lamina.ops.flip(np.array([[1, 2], [3, 4]]))
        tensor([[4, 3],
                [2, 1]])
    """
    x = tensor(x)
    dims = (
        tuple(range(x.dim()))
        if axis is None
        else (tuple(axis) if isinstance(axis, (list, tuple)) else (axis,))
    )
    return torch.flip(x, dims)


@symbolic_op("triu")
def triu(x, k=0):
    """The upper triangle of the last two axes; the rest is zeroed.

    Args:
        x: input tensor with at least 2 axes.
        k: the diagonal below which elements are zeroed: 0 the main one (default), positive above
            it, negative below.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.triu(np.ones((3, 3), dtype="int64"))
        tensor([[1, 1, 1],
                [0, 1, 1],
                [0, 0, 1]])
    """
    return torch.triu(tensor(x), k)


@symbolic_op("tril")
def tril(x, k=0):
    """The lower triangle of the last two axes; the rest is zeroed.

    Args:
        x: input tensor with at least 2 axes.
        k: the diagonal above which elements are zeroed: 0 the main one (default), positive above
            it, negative below.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.tril(np.ones((3, 3), dtype="int64"), k=-1)
        tensor([[0, 0, 0],
                [1, 0, 0],
                [1, 1, 0]])
    """
    return torch.tril(tensor(x), k)


# --------------------------------------------------------------------------------------------------
# joining and splitting


def _joined_spec(xs, axis, new_axis):
    """Keras's static rule for joining `xs` whose sizes are unknown in some and known in others
    (where a probe size would clash with the known one): the first tensor's shape, the joined
    axis summed (None if any part is unknown) or, for `stack`, a new axis of `len(xs)`. None
    (probe as usual) where every size agrees."""
    if not isinstance(xs, (list, tuple)) or not all(isinstance(x, KerasTensor) for x in xs):
        return None
    shapes = [tuple(x.shape) for x in xs]
    if len({len(s) for s in shapes}) != 1:
        return None  # the probe reports the rank mismatch
    rank = len(shapes[0])
    if not isinstance(axis, int) or not -rank - new_axis <= axis < rank + new_axis:
        return None  # flattened (axis=None), or out of range: the probe decides or raises
    axis = axis % (rank + new_axis)
    kept = [i for i in range(rank) if new_axis or i != axis]
    sizes_of = [{s[i] for s in shapes} for i in kept]
    if not any(None in sizes and len(sizes) > 1 for sizes in sizes_of):
        return None
    if any(len(sizes - {None}) > 1 for sizes in sizes_of):
        return None  # two different known sizes: the probe raises the mismatch
    shape = list(shapes[0])
    if new_axis:
        shape.insert(axis, len(xs))
    else:
        sizes = [s[axis] for s in shapes]
        shape[axis] = None if None in sizes else sum(sizes)
    dtype = dtypes.result_type(*[x.dtype for x in xs])
    return OutputSpec(tuple(shape), backend.to_torch_dtype(dtype))


def _concatenate_spec(xs, axis=0):
    return _joined_spec(xs, axis, new_axis=False)


def _stack_spec(x, axis=0):
    return _joined_spec(x, axis, new_axis=True)


@symbolic_op("concatenate", shape_rule=_concatenate_spec)
def concatenate(xs, axis=0):
    """Join a sequence of tensors along an existing axis.

    Args:
        xs: a list or tuple of tensors whose shapes agree except along `axis`.
        axis: the axis to join along (default 0).

    Returns:
        The joined tensor.

    Example:
        >>> lamina.ops.concatenate([np.array([[1, 2]]), np.array([[3, 4]])], axis=0)
        tensor([[1, 2],
                [3, 4]])
    """
    return torch.cat([tensor(x) for x in xs], dim=axis)


@symbolic_op("stack", shape_rule=_stack_spec)
def stack(x, axis=0):
    """Join a sequence of same-shaped tensors along a new axis.

    Args:
        x: a list or tuple of tensors of the same shape.
        axis: the position of the new axis in the result (default 0).

    Returns:
        A tensor with one axis more than the inputs.

    Example:
        >>> lamina.ops.stack([np.array([1, 2]), np.array([3, 4])], axis=1)
        tensor([[1, 3],
                [2, 4]])
    """
    return torch.stack([tensor(v) for v in x], dim=axis)


@symbolic_op("split")
def split(x, indices_or_sections, axis=0):
    """Split a tensor into several along an axis, NumPy's `split` rules.

    An int asks for that many equal sections (the axis must divide evenly); a list gives the indices
    at which each new section starts.

    Args:
        x: input tensor.
        indices_or_sections: the number of equal sections, or a list of split indices.
        axis: the axis to split along (default 0).

    Returns:
        A list of tensors.

    Example:
        >>> lamina.ops.split(np.arange(6), 3)
        [tensor([0, 1]), tensor([2, 3]), tensor([4, 5])]
        >>> lamina.ops.split(np.arange(6), [1, 4])
        [tensor([0]), tensor([1, 2, 3]), tensor([4, 5])]
    """
    x = tensor(x)
    length = x.shape[axis]
    if _is_int(indices_or_sections):
        sections = int(indices_or_sections)
        if length % sections and unprobed_shape((length,)) == (None,):
            # a probe size stands for an unknown size (Keras: the sections' size is unknown);
            # whole sections of it differ between the two probes, so they come out unknown
            x = x.narrow(axis, 0, length - length % sections)
        elif length % sections:
            raise _sections_mismatch(length, sections)
        return list(torch.tensor_split(x, sections, dim=axis))  # n sections, even of size 0
    bounds = [0, *(int(i) for i in indices_or_sections), length]
    return [
        x.narrow(axis, lo, max(hi - lo, 0)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _sections_mismatch(length, sections) -> ValueError:
    return ValueError(
        f"split() expects an axis whose size ({length}) divides into {sections} equal sections; "
        f"received indices_or_sections={sections}. Hint: pass the split indices as a list instead."
    )


# --------------------------------------------------------------------------------------------------
# indexing and sorting


@symbolic_op("take")
def take(x, indices, axis=None):
    """Gather elements along an axis at the given indices.

    Args:
        x: input tensor.
        indices: integer tensor of indices; negative ones count from the end.
        axis: the axis to gather along (default None: the flattened tensor).

    Returns:
        A tensor in which the `axis` dimension is replaced by the shape of `indices`.

    Example:
        >>> lamina.ops.take(np.array([[1, 2], [3, 4]]), np.array([3, 0]))
        tensor([4, 1])
        >>> lamina.ops.take(np.array([[1, 2], [3, 4]]), np.array([1, 1]), axis=1)
        tensor([[2, 2],
                [4, 4]])
    """
    x = tensor(x)
    indices = tensor(indices).long()
    if axis is None:
        return x.reshape(-1)[indices]
    indices = _from_the_end(indices, x.shape[axis])
    return torch.index_select(x, axis, indices.reshape(-1)).reshape(
        x.shape[: axis % x.dim()] + indices.shape + x.shape[axis % x.dim() + 1 :]
    )


@symbolic_op("take_along_axis", unifies=True)
def take_along_axis(x, indices, axis=None):
    """Pick values of `x` along an axis at indices that match `x`'s other axes.

    Pairs well with `argsort` and `argmax(keepdims=True)`.

    Args:
        x: input tensor.
        indices: integer tensor with the same number of axes as `x` (broadcast on the others);
            negative ones count from the end.
        axis: the axis to pick along (default None: the flattened tensor).

    Returns:
        A tensor shaped like `indices` (after broadcasting).

    Example:
        >>> x = np.array([[10, 30, 20], [60, 40, 50]])
        >>> lamina.ops.take_along_axis(x, np.array([[1], [0]]), axis=1)
        tensor([[30],
                [60]])
    """
    x = tensor(x)
    indices = tensor(indices).long()
    if axis is None:
        x, indices, axis = x.reshape(-1), indices.reshape(-1), 0
    return torch.take_along_dim(x, _from_the_end(indices, x.shape[axis]), dim=axis)


def _from_the_end(indices: torch.Tensor, size: int) -> torch.Tensor:
    """NumPy's negative indices (-1 is the last) as the non-negative ones torch's gathers take."""
    return torch.where(indices < 0, indices + size, indices)


@symbolic_op("sort")
def sort(x, axis=-1):
    """Sort the elements of a tensor along an axis, in ascending order.

    Args:
        x: input tensor.
        axis: the axis to sort along (default -1; None: the flattened tensor).

    Returns:
        The sorted tensor.

    Example:
        >>> lamina.ops.sort(np.array([[3, 1, 2], [9, 7, 8]]))
        tensor([[1, 2, 3],
                [7, 8, 9]])
    """
    x, axis = flat_without_axis(tensor(x), axis)
    return torch.sort(x, dim=axis).values


@symbolic_op("argsort")
def argsort(x, axis=-1):
    """The indices that would sort a tensor along an axis, in ascending order.

    The sort is stable: equal elements keep their order.

    Args:
        x: input tensor.
        axis: the axis to sort along (default -1; None: the flattened tensor).

    Returns:
        An int32 tensor of indices shaped like `x` (1-D when `axis` is None).

    Example:
        >>> lamina.ops.argsort(np.array([3, 1, 2, 1]))
        tensor([1, 3, 2, 0], dtype=torch.int32)
    """
    x, axis = flat_without_axis(tensor(x), axis)
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def flat_without_axis(x: torch.Tensor, axis):
    """`(x, axis)`, or the flattened `x` and its only axis when `axis` is None (NumPy's rule)."""
    return (x.reshape(-1), 0) if axis is None else (x, axis)
