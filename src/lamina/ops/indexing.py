"""Indexing ops: gathering, slicing and scattering by index, searching sorted data, membership.

`slice`, `slice_update`, `scatter` and `scatter_update` are Keras's (TensorFlow-style) index ops;
the rest are NumPy's. Updates return new tensors; inputs are never written in place.
"""

from __future__ import annotations

import builtins

import torch

from lamina import backend
from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor, basic_index_shape
from lamina.engine.shape_inference import OutputSpec
from lamina.ops.arrays import flat_without_axis
from lamina.ops.core import narrows_64_bits, symbolic_op, tensor


def _item_shape(x, key):
    return None if isinstance(key, list) else basic_index_shape(x, key)  # a list: an index array


@symbolic_op("get_item", shape_rule=_item_shape)
def get_item(x, key):
    """Index a tensor: `x[key]`.

    Args:
        x: input tensor.
        key: an int, slice, None, Ellipsis, a boolean or integer index tensor (or list), or a tuple
            of these, as in NumPy.

    Returns:
        The indexed tensor.

    Example:
        >>> x = np.array([[1, 2, 3], [4, 5, 6]])
        >>> lamina.ops.get_item(x, (1, 2))
        tensor(6)
        >>> lamina.ops.get_item(x, np.array([True, False]))
        tensor([[1, 2, 3]])
    """
    if isinstance(key, tuple):
        key = tuple(tensor(k) if hasattr(k, "__array__") else k for k in key)
    elif hasattr(key, "__array__") or isinstance(key, list):
        key = tensor(key)
    return tensor(x)[key]


def _starts(start_indices):
    if not isinstance(start_indices, (list, tuple)):
        start_indices = tensor(start_indices).tolist()
    return [int(s) for s in start_indices]


@symbolic_op("slice")
def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """Cut a block of a given shape out of a tensor.

    Args:
        inputs: input tensor.
        start_indices: where the block starts, one index per axis (a list, tuple or tensor).
        shape: the size of the block along each axis; -1 takes the rest of the axis (as
            TensorFlow's `slice` and Keras's symbolic shapes).

    Returns:
        A tensor of shape `shape`.

    Example:
        >>> x = np.arange(12).reshape(3, 4)
        >>> lamina.ops.slice(x, (1, 1), (2, 2))
        tensor([[ 5,  6],
                [ 9, 10]])
    """
    x = tensor(inputs)
    starts, sizes = _starts(start_indices), [int(n) for n in shape]
    if not len(starts) == len(sizes) == x.dim():
        raise errors.value_error(
            "slice()",
            f"one start index and one size per axis of the rank-{x.dim()} input",
            f"{len(starts)} start indices and {len(sizes)} sizes",
        )
    index = tuple(
        builtins.slice(s, None if n == -1 else s + n) for s, n in zip(starts, sizes, strict=True)
    )
    return x[index]


@symbolic_op("slice_update")
def slice_update(inputs, start_indices, updates):
    """Replace a block of a tensor with `updates`, returning a new tensor.

    Args:
        inputs: input tensor (left unchanged).
        start_indices: where the block starts, one index per axis (a list, tuple or tensor).
        updates: the new values; its shape is the block's.

    Returns:
        A tensor shaped like `inputs`.

    Example:
        >>> lamina.ops.slice_update(np.zeros((2, 3), dtype="int64"), (0, 1), np.array([[7, 8]]))
        tensor([[0, 7, 8],
                [0, 0, 0]])
    """
    x = tensor(inputs).clone()
    updates = tensor(updates).to(x.dtype)
    index = tuple(
        builtins.slice(s, s + n) for s, n in zip(_starts(start_indices), updates.shape, strict=True)
    )
    x[index] = updates
    return x


def _flat_positions(indices, shape):
    """Row-major positions of index tuples (last axis of `indices`) into `shape`, and the depth."""
    indices = tensor(indices).long()
    depth = indices.shape[-1]
    strides = torch.tensor(
        [int(torch.tensor(shape[i + 1 : depth]).prod()) for i in range(depth)],
        device=indices.device,
    )
    return (indices * strides).sum(-1), depth


@symbolic_op("scatter")
def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (duplicate indices add up).

    Args:
        indices: `(..., depth)` integer positions into the first `depth` axes of `shape`.
        values: the values to place, `(..., *shape[depth:])`.
        shape: the shape of the result.

    Returns:
        A tensor of `shape`, in the dtype of `values`.

    Example:
        >>> lamina.ops.scatter(np.array([[0, 1], [2, 0], [0, 1]]), np.array([1, 2, 3]), (3, 2))
        tensor([[0, 4],
                [0, 0],
                [2, 0]])
    """
    values = tensor(values)
    shape = tuple(int(d) for d in shape)
    positions, depth = _flat_positions(indices, shape)
    out = torch.zeros((int(torch.tensor(shape[:depth]).prod()), *shape[depth:]),
                      dtype=values.dtype, device=values.device)  # fmt: skip
    out.index_add_(0, positions.reshape(-1), values.reshape(-1, *shape[depth:]))
    return out.reshape(shape)


@symbolic_op("scatter_update")
def scatter_update(inputs, indices, updates, reduction=None):
    """Write `updates` into a copy of `inputs` at `indices`.

    This is TensorFlow's `tensor_scatter_nd_update`, with optional reductions.

    Args:
        inputs: the tensor to update (left unchanged).
        indices: `(..., depth)` integer positions into the first `depth` axes of `inputs`.
        updates: the new values, `(..., *inputs.shape[depth:])`.
        reduction: how to combine with the existing values: None (default: replace), `"add"`,
            `"mul"`, `"max"` or `"min"`.

    Returns:
        A tensor shaped like `inputs`.

    Example:
        >>> x = np.zeros((2, 3), dtype="int64")
        >>> lamina.ops.scatter_update(x, np.array([[0, 0], [1, 2]]), np.array([5, 6]))
        tensor([[5, 0, 0],
                [0, 0, 6]])
        >>> lamina.ops.scatter_update(x, np.array([[1]]), np.array([[1, 2, 3]]))
        tensor([[0, 0, 0],
                [1, 2, 3]])
    """
    x = tensor(inputs)
    shape = tuple(x.shape)
    positions, depth = _flat_positions(indices, shape)
    flat = x.reshape(-1, *shape[depth:]).clone()
    updates = tensor(updates).to(x.dtype).reshape(-1, *shape[depth:])
    positions = positions.reshape(-1)
    if reduction is None:
        flat[positions] = updates
    else:
        modes = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}
        if reduction not in modes:
            raise ValueError(
                f"scatter_update() expects reduction in [None, {', '.join(map(repr, modes))}]; "
                f"received reduction={reduction!r}."
            )
        if reduction == "add":
            flat.index_add_(0, positions, updates)
        else:
            flat.index_reduce_(0, positions, updates, modes[reduction])
    return flat.reshape(shape)


@symbolic_op("select")
def select(condlist, choicelist, default=0):
    """Choose each element from the first choice whose condition holds, as NumPy's `select`.

    Args:
        condlist: a list of boolean tensors.
        choicelist: a list of tensors, one per condition, of the same shape.
        default: the value where no condition holds (default 0).

    Returns:
        A tensor shaped like the choices.

    Example:
        >>> x = np.array([-2, 0, 3])
        >>> lamina.ops.select([x < 0, x > 0], [-x, x * 10], default=-1)
        tensor([ 2, -1, 30])
    """
    choices = [tensor(c) for c in choicelist]
    dtype = choices[0].dtype
    if isinstance(default, float) and not (dtype.is_floating_point or dtype.is_complex):
        dtype = backend.to_torch_dtype(backend.floatx())  # a float default makes the result float
    out = torch.broadcast_to(tensor(default).to(dtype), choices[0].shape)
    for condition, choice in zip(reversed(condlist), reversed(choices), strict=True):
        out = torch.where(tensor(condition).to(torch.bool), choice, out)
    return out


def _nonzero_spec(x):
    """One int32 index vector per axis, of a length only the data knows (Keras: None)."""
    if not isinstance(x, KerasTensor):
        return None
    return tuple(OutputSpec((None,), torch.int32) for _ in x.shape)


@symbolic_op("nonzero", shape_rule=_nonzero_spec)
def nonzero(x):
    """The indices of the non-zero elements, one tensor per axis.

    Args:
        x: input tensor.

    Returns:
        A tuple of int32 tensors, one per axis of `x`.

    Example:
        >>> lamina.ops.nonzero(np.array([[0, 1], [2, 0]]))
        (tensor([0, 1], dtype=torch.int32), tensor([1, 0], dtype=torch.int32))
    """
    return tuple(i.to(torch.int32) for i in torch.nonzero(tensor(x), as_tuple=True))


@symbolic_op("searchsorted")
def searchsorted(sorted_sequence, values, side="left"):
    """Where each value would be inserted into a sorted 1-D sequence to keep it sorted.

    Args:
        sorted_sequence: 1-D tensor in ascending order.
        values: the values to place.
        side: `"left"` (default: before equal elements) or `"right"` (after them).

    Returns:
        An int32 tensor of insertion indices, shaped like `values`.

    Example:
        >>> lamina.ops.searchsorted(np.array([1, 3, 5]), np.array([0, 3, 6]))
        tensor([0, 1, 3], dtype=torch.int32)
        >>> lamina.ops.searchsorted(np.array([1, 3, 5]), np.array([0, 3, 6]), side="right")
        tensor([0, 2, 3], dtype=torch.int32)
    """
    sequence, values = tensor(sorted_sequence), tensor(values)
    dtype = torch.promote_types(sequence.dtype, values.dtype)
    out = torch.searchsorted(sequence.to(dtype), values.to(dtype), side=side)
    return out.to(torch.int32)


@symbolic_op("digitize")
def digitize(x, bins):
    """The index of the bin each element of `x` falls into.

    With increasing `bins`, element `v` gets `i` such that `bins[i - 1] <= v < bins[i]`; values
    below
    the first edge get 0 and values at or above the last get `len(bins)`.

    Args:
        x: input tensor.
        bins: 1-D tensor of increasing bin edges.

    Returns:
        An int32 tensor shaped like `x`.

    Example:
        >>> lamina.ops.digitize(torch.tensor([0.5, 1.0, 2.5, 9.0]), torch.tensor([1.0, 2.0, 3.0]))
        tensor([0, 1, 2, 3], dtype=torch.int32)
    """
    x, bins = tensor(x), tensor(bins)
    dtype = torch.promote_types(x.dtype, bins.dtype)
    return torch.bucketize(x.to(dtype), bins.to(dtype), right=True).to(torch.int32)


@symbolic_op("isin")
def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of `x1` occurs in `x2`.

    Args:
        x1: input tensor.
        x2: the values to look for (any shape).
        assume_unique: whether both inputs are known to hold unique values, which can be faster
            (default False).
        invert: whether to return the negation: True where the element is not in `x2` (default
            False).

    Returns:
        A boolean tensor shaped like `x1`.

    Example:
        >>> lamina.ops.isin(np.array([1, 2, 3, 4]), np.array([2, 4]))
        tensor([False,  True, False,  True])
    """
    x1, x2 = tensor(x1), tensor(x2)
    if x1.dtype == torch.bool or x2.dtype == torch.bool:  # torch's isin rejects booleans
        common = torch.promote_types(x1.dtype, x2.dtype)
        common = torch.uint8 if common == torch.bool else common
        x1, x2 = x1.to(common), x2.to(common)
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


@symbolic_op("argpartition")
def argpartition(x, kth, axis=-1):
    """Indices that partition a tensor around its `kth` element along an axis.

    In the reordered tensor the `kth` element is where sorting would put it, with no larger element
    before it and no smaller one after. Any such order is valid; lamina returns the stable sorted
    order, which is one.

    Args:
        x: input tensor.
        kth: the position of the element to partition around.
        axis: the axis to partition along (default -1; None: the flattened tensor).

    Returns:
        An int32 tensor of indices shaped like `x`.

    Example:
        >>> lamina.ops.argpartition(np.array([3, 4, 1, 2]), 1)
        tensor([2, 3, 0, 1], dtype=torch.int32)
    """
    x, axis = flat_without_axis(tensor(x), axis)
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


@symbolic_op("unravel_index")
@narrows_64_bits
def unravel_index(indices, shape):
    """Convert flat indices into coordinates in a tensor of the given shape (row-major).

    Args:
        indices: integer tensor of flat indices.
        shape: the shape the indices point into.

    Returns:
        A tuple of tensors, one per axis of `shape`, each shaped like `indices`.

    Example:
        >>> lamina.ops.unravel_index(np.array([1, 5]), (2, 3))
        (tensor([0, 1], dtype=torch.int32), tensor([1, 2], dtype=torch.int32))
    """
    coords = torch.unravel_index(tensor(indices).long(), tuple(int(d) for d in shape))
    return tuple(c.to(tensor(indices).dtype) for c in coords)


def _unique_spec(
    x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,  # noqa: A002
    size=None, fill_value=None,
):  # fmt: skip
    """The values and extras `unique` gives, sized as Keras states them: the number of unique
    values is known only from the data (None) unless `size` fixes it."""
    if not isinstance(x, KerasTensor):
        return None
    found = size
    if axis is None:
        values_shape, inverse_shape = (found,), tuple(x.shape)
    else:
        axis = axis % len(x.shape)
        values_shape = tuple(found if i == axis else d for i, d in enumerate(x.shape))
        inverse_shape = (x.shape[axis],)
    specs = [OutputSpec(values_shape, backend.to_torch_dtype(x.dtype))]
    if return_index:
        specs.append(OutputSpec((found,), torch.int32))
    if return_inverse:
        specs.append(OutputSpec(inverse_shape, torch.int32))
    if return_counts:
        specs.append(OutputSpec((found,), torch.int32))
    return specs[0] if len(specs) == 1 else tuple(specs)


@symbolic_op("unique", shape_rule=_unique_spec)
def unique(
    x,
    sorted=True,  # noqa: A002 - NumPy's name
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """The unique elements of a tensor, with NumPy's optional extras.

    Args:
        x: input tensor; flattened unless `axis` is given.
        sorted: accepted for NumPy compatibility; the values always come in ascending order
            (default True).
        return_index: also return the index of each value's first occurrence in the flattened `x`
            (default False).
        return_inverse: also return, for each element of `x`, the index of its unique value
            (default False).
        return_counts: also return how often each value occurs (default False).
        axis: find unique slices along this axis instead of unique elements (default None).
        size: pad or cut the values (and counts) to this length (default None: as many as found).
        fill_value: the padding value when `size` is larger (default None: the smallest value).

    Returns:
        The unique values, or a tuple of them and the requested extras in the order above (the
        extras are int32).

    Example:
        >>> lamina.ops.unique(np.array([3, 1, 3, 2, 1]))
        tensor([1, 2, 3])
        >>> lamina.ops.unique(np.array([3, 1, 3]), return_counts=True)
        (tensor([1, 3]), tensor([1, 2], dtype=torch.int32))
    """
    x = tensor(x)
    flat = x.reshape(-1) if axis is None else x
    values, inverse, counts = torch.unique(
        flat, sorted=True, return_inverse=True, return_counts=True, dim=axis
    )
    results = [values]
    if return_index:
        order = torch.arange(inverse.shape[0], device=x.device)
        first = torch.full((values.shape[0 if axis is None else axis],), inverse.shape[0],
                           dtype=torch.long, device=x.device)  # fmt: skip
        results.append(first.scatter_reduce(0, inverse, order, "amin").to(torch.int32))
    if return_inverse:
        results.append(inverse.reshape(x.shape if axis is None else inverse.shape).to(torch.int32))
    if return_counts:
        results.append(counts.to(torch.int32))
    if size is not None:
        results[0] = _resize_1d(values, size, values.min() if fill_value is None else fill_value)
        if return_counts:
            results[-1] = _resize_1d(results[-1], size, 0)
    return results[0] if len(results) == 1 else tuple(results)


def _resize_1d(values, size, fill):
    if values.shape[0] >= size:
        return values[:size]
    padding = torch.full((size - values.shape[0],), fill, dtype=values.dtype, device=values.device)
    return torch.cat([values, padding])


@symbolic_op("in_top_k")
def in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` highest predictions of its row.

    Ties count in the target's favour: it is in the top `k` when fewer than `k` predictions are
    strictly higher. A non-finite target score gives False.

    Args:
        targets: `(batch,)` integer class indices.
        predictions: `(batch, classes)` scores.
        k: how many of the highest scores count.

    Returns:
        A `(batch,)` boolean tensor.

    Example:
        >>> predictions = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
        >>> lamina.ops.in_top_k(np.array([2, 2]), predictions, k=2)
        tensor([ True, False])
    """
    predictions = tensor(predictions)
    targets = tensor(targets).long()
    target_scores = predictions.gather(1, targets.unsqueeze(1))
    higher = (predictions > target_scores).sum(1)
    return (higher < k) & torch.isfinite(target_scores.squeeze(1))
