"""Indexing ops: gathering, slicing and scattering by index, searching sorted data, membership.

`slice`, `slice_update`, `scatter` and `scatter_update` are Keras's (TensorFlow-style) index ops;
the rest are NumPy's. Updates return new tensors; inputs are never written in place.
"""

from __future__ import annotations

import builtins

import torch

from lamina.ops.core import symbolic_op, tensor


@symbolic_op("get_item")
def get_item(x, key):
    """`x[key]` (ints, slices, None, Ellipsis, boolean or integer index tensors)."""
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
    """The block of `inputs` of size `shape` starting at `start_indices` (one per axis)."""
    x = tensor(inputs)
    index = tuple(
        builtins.slice(s, s + n)
        for s, n in zip(_starts(start_indices), [int(n) for n in shape], strict=True)
    )
    return x[index]


@symbolic_op("slice_update")
def slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` replaced by `updates` (a new tensor)."""
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
    """A zero tensor of `shape` with `values` added at `indices` (duplicates add up).

    Args:
        indices: `(..., depth)` integer positions into the first `depth` axes of `shape`.
        values: `(..., *shape[depth:])` the values to place.
        shape: the output's shape.
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
    """`inputs` with `updates` written at `indices` (TensorFlow's tensor_scatter_nd_update).

    Args:
        inputs: the tensor to update (not modified).
        indices: `(..., depth)` integer positions into the first `depth` axes.
        updates: the new values.
        reduction: None (replace), "add", "max", "min" or "mul".
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
    """From the first true condition in `condlist`, the matching element of `choicelist`."""
    choices = [tensor(c) for c in choicelist]
    out = torch.broadcast_to(tensor(default).to(choices[0].dtype), choices[0].shape)
    for condition, choice in zip(reversed(condlist), reversed(choices), strict=True):
        out = torch.where(tensor(condition).to(torch.bool), choice, out)
    return out


@symbolic_op("nonzero")
def nonzero(x):
    """The indices of the non-zero elements, one int32 tensor per axis."""
    return tuple(i.to(torch.int32) for i in torch.nonzero(tensor(x), as_tuple=True))


@symbolic_op("searchsorted")
def searchsorted(sorted_sequence, values, side="left"):
    """Where each of `values` would go in the 1-D `sorted_sequence` to keep it sorted (int32)."""
    sequence, values = tensor(sorted_sequence), tensor(values)
    dtype = torch.promote_types(sequence.dtype, values.dtype)
    out = torch.searchsorted(sequence.to(dtype), values.to(dtype), side=side)
    return out.to(torch.int32)


@symbolic_op("digitize")
def digitize(x, bins):
    """The index of the bin each element of `x` falls in (`bins` increasing; int32)."""
    x, bins = tensor(x), tensor(bins)
    dtype = torch.promote_types(x.dtype, bins.dtype)
    return torch.bucketize(x.to(dtype), bins.to(dtype), right=True).to(torch.int32)


@symbolic_op("isin")
def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of `x1` occurs in `x2`."""
    return torch.isin(tensor(x1), tensor(x2), assume_unique=assume_unique, invert=invert)


@symbolic_op("argpartition")
def argpartition(x, kth, axis=-1):
    """Indices that put the `kth` element where sorting would, smaller ones before it (int32).

    Any valid partition is allowed; lamina returns the fully sorted order, which is one.
    """
    return torch.argsort(tensor(x), dim=axis, stable=True).to(torch.int32)


@symbolic_op("unravel_index")
def unravel_index(indices, shape):
    """Flat indices into `shape` -> a tuple of coordinate tensors, one per axis."""
    coords = torch.unravel_index(tensor(indices).long(), tuple(int(d) for d in shape))
    return tuple(c.to(tensor(indices).dtype) for c in coords)


@symbolic_op("unique")
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
    """The unique elements of `x` (flattened unless `axis`), with NumPy's optional extras.

    Args:
        x: input tensor.
        sorted: return them in ascending order.
        return_index: also the first index of each in the flattened `x`.
        return_inverse: also, for each element, the index of its unique value.
        return_counts: also how often each occurs.
        axis: find unique slices along this axis instead.
        size: pad (with `fill_value`, default the smallest) or cut the result to this length.
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
    """Whether each target class is among the `k` highest predictions of its row."""
    predictions = tensor(predictions)
    targets = tensor(targets).long()
    target_scores = predictions.gather(1, targets.unsqueeze(1))
    higher = (predictions > target_scores).sum(1)
    return (higher < k) & torch.isfinite(target_scores.squeeze(1))
