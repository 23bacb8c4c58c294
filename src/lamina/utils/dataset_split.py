"""`split_dataset`: cut arrays or a dataset into a left and a right `lamina.data.Dataset`."""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

from lamina import tree
from lamina.data import Dataset, structure, transforms

_BACKENDS = (None, "tensorflow", "torch", "jax", "numpy", "lamina")


def _size_kind(size):
    if size is None:
        return None
    if isinstance(size, bool):
        return type(size)
    if isinstance(size, numbers.Integral):
        return int
    if isinstance(size, numbers.Real):
        return float
    return type(size)


def split_sizes(left_size, right_size, total):
    """Keras's rules turning `left_size` / `right_size` (counts or fractions) into two counts.

    Examples:
        >>> split_sizes(0.8, None, 10), split_sizes(None, 3, 10), split_sizes(2, 0.5, 10)
        ((8, 2), (7, 3), (2, 5))
    """
    left_kind, right_kind = _size_kind(left_size), _size_kind(right_size)
    valid = (None, int, float)
    if left_kind not in valid and right_kind not in valid:
        raise TypeError(
            "Invalid `left_size` and `right_size` Types. Expected: integer or float or None, "
            f"Received: type(left_size)={type(left_size)} and "
            f"type(right_size)={type(right_size)}"
        )
    if left_kind not in valid:
        raise TypeError(
            "Invalid `left_size` Type. Expected: int or float or None, "
            f"Received: type(left_size)={type(left_size)}."
        )
    if right_kind not in valid:
        raise TypeError(
            "Invalid `right_size` Type. Expected: int or float or None, "
            f"Received: type(right_size)={type(right_size)}."
        )
    if left_size == 0 and right_size == 0:
        raise ValueError(
            "Both `left_size` and `right_size` are zero. "
            "At least one of the split sizes must be non-zero."
        )
    for side, size, kind in (("left", left_size, left_kind), ("right", right_size, right_kind)):
        limit = total if kind is int else 1
        if kind is not None and not 0 < size < limit:
            smaller = "smaller than {}," if side == "left" else "and smaller than {}"
            raise ValueError(
                f"`{side}_size` should be either a positive integer {smaller.format(total)} "
                f"or a float within the range `[0, 1]`. Received: {side}_size={size}"
            )
    if left_kind is float and right_kind is float and left_size + right_size > 1:
        raise ValueError(
            "The sum of `left_size` and `right_size` is greater than 1. "
            "It must be less than or equal to 1."
        )

    def count(size, kind):
        # Python's round (halves to even), as Keras uses.
        return None if kind is None else round(size * total) if kind is float else int(size)

    left, right = count(left_size, left_kind), count(right_size, right_kind)
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
            f"Received: left_size + right_size = {left + right} and total_length = {total}"
        )
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left} and "
                f"`right_size`={right}. Resulting {side} side dataset split will be empty. "
                "Adjust any of the aforementioned parameters"
            )
    return left, right


def _batch_size_of(dataset: Dataset):
    """The batch size of a dataset whose last real stage is `batch` (prefetch aside), else None."""
    node = dataset._node
    while isinstance(node, transforms.Prefetch):
        node = node.upstream
    return node.batch_size if isinstance(node, transforms.Batch) else None


def _stack(elements):
    try:
        return structure.stack_structures(elements)
    except (RuntimeError, ValueError) as error:
        raise ValueError(
            "split_dataset expects every element of the dataset to have the same shape (it "
            f"stacks them into arrays); {error}. Hint: give variable-length data one length "
            "first (output_sequence_length=, pad_sequences, or a map that pads)."
        ) from error


def _columns(dataset):
    """The dataset as a structure of arrays / tensors sharing a first axis, and a batch size."""
    if isinstance(dataset, Dataset):
        batch_size = _batch_size_of(dataset)
        elements = list(dataset.unbatch() if batch_size else dataset)
        if not elements:
            raise ValueError("split_dataset received an empty dataset.")
        return _stack(elements), batch_size
    if isinstance(dataset, torch.utils.data.Dataset) and hasattr(dataset, "__len__"):
        elements = [structure.to_element(dataset[i]) for i in range(len(dataset))]
        if not elements:
            raise ValueError("split_dataset received an empty dataset.")
        return _stack(elements), None
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        return dataset, None
    if isinstance(dataset, (list, tuple)):
        kind = type(dataset).__name__
        if not dataset:
            raise ValueError(
                f"Received an empty {kind} dataset. Please provide a non-empty {kind} of arrays."
            )
        for index, column in enumerate(dataset):
            if not isinstance(column, (np.ndarray, torch.Tensor)):
                raise ValueError(
                    f"Expected a {kind} of `numpy.ndarray` objects, Received: {type(column)} "
                    f"at index {index}."
                )
        return tuple(dataset), None
    if isinstance(dataset, dict):
        return dataset, None
    raise TypeError(
        "The `dataset` argument must be either a `lamina.data.Dataset` (or "
        "`torch.utils.data.Dataset`) object, or a list/tuple/dict of arrays. "
        f"Received: dataset={dataset!r} of type {type(dataset)}"
    )


def _take(column, rows):
    if isinstance(column, torch.Tensor):
        return column[torch.as_tensor(rows, dtype=torch.long)]
    return np.asarray(column)[rows]


def split_dataset(
    dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None
):
    """Splits a dataset into a left half and a right half (e.g. train / test).

    The left split takes the first `left_size` rows, the right split the last `right_size` rows
    (rows in between, when the sizes add up to less than the whole, are dropped, as in Keras).
    With `shuffle`, the rows are first permuted by Python's `random.Random(seed).shuffle`, the
    permutation Keras's TensorFlow path draws for the same seed. Both splits are
    `lamina.data.Dataset`s (re-iterable, with `len()` and `cardinality()`); a batched
    `lamina.data.Dataset` is unbatched, split by rows and both splits batched again alike.

    Args:
        dataset: a NumPy array or torch tensor, a tuple / list / dict of them with equal first
            axes, a `lamina.data.Dataset` (such as `image_dataset_from_directory` returns), the
            windows of `timeseries_dataset_from_array` (split by window, batched alike), or a
            map-style `torch.utils.data.Dataset`.
        left_size: a float in (0, 1): the left fraction (rounded to a row count); an int: the
            left row count. None: whatever `right_size` leaves.
        right_size: likewise for the right split.
        shuffle: shuffle the rows before splitting.
        seed: the shuffle's seed.
        preferred_backend: accepted for Keras compatibility (Keras picks tf.data or torch
            datasets with it); lamina always returns `lamina.data.Dataset`s.

    Returns:
        `(left, right)`, two `lamina.data.Dataset`s.

    Examples:
        >>> left, right = split_dataset(np.arange(10), left_size=0.8)
        >>> len(left), [int(x) for x in right]
        (8, [8, 9])
    """
    if preferred_backend not in _BACKENDS:
        raise ValueError(
            f"split_dataset expects preferred_backend None, 'tensorflow', 'torch', 'jax', "
            f"'numpy' or 'lamina'; received {preferred_backend!r}."
        )
    columns, batch_size = _columns(dataset)
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. "
            "Received: left_size=None and right_size=None"
        )
    lengths = {len(leaf) for leaf in tree.flatten(columns)}
    if len(lengths) != 1:
        raise ValueError(
            "split_dataset expects all arrays to have the same length (first axis); received "
            f"lengths {sorted(lengths)}."
        )
    total = lengths.pop()
    left, right = split_sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        random.Random(seed).shuffle(order)
    splits = []
    for rows in (order[:left], order[total - right :]):
        rows = np.asarray(rows, dtype=np.int64)
        part = Dataset.from_tensor_slices(
            tree.map_structure(lambda c, r=rows: _take(c, r), columns)
        )
        splits.append(part.batch(batch_size) if batch_size else part)
    return tuple(splits)


__all__ = ["split_dataset"]
