"""Nested elements of a Dataset: a tensor, a tuple / list of elements, or a dict of elements.

Everything a Dataset yields passes through `to_element`, so the pipeline sees one kind of leaf:
numeric data becomes a CPU torch tensor; text stays a NumPy array (torch has no string dtype).
"""

from __future__ import annotations

import numpy as np
import torch


def map_structure(fn, element):
    """Apply `fn` to every leaf, keeping tuples, lists and dicts."""
    if isinstance(element, dict):
        return {key: map_structure(fn, value) for key, value in element.items()}
    if isinstance(element, (tuple, list)):
        return type(element)(map_structure(fn, value) for value in element)
    return fn(element)


def flatten(element) -> list:
    """The leaves, in a fixed order (dict keys in insertion order)."""
    if isinstance(element, dict):
        return [leaf for value in element.values() for leaf in flatten(value)]
    if isinstance(element, (tuple, list)):
        return [leaf for value in element for leaf in flatten(value)]
    return [element]


def stack_structures(elements: list):
    """[(a1, b1), (a2, b2)] -> (stack([a1, a2]), stack([b1, b2])), following the first element."""
    first = elements[0]
    if isinstance(first, dict):
        return {key: stack_structures([e[key] for e in elements]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(stack_structures([e[i] for e in elements]) for i in range(len(first)))
    return stack(elements)


def to_leaf(value):
    """One leaf -> a CPU torch tensor, or a NumPy array for text and Python objects."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, bool):
        return torch.tensor(value)
    if isinstance(value, int):
        return torch.tensor(value, dtype=torch.int64)
    if isinstance(value, float):
        # Python floats become float32, as TensorFlow's constants do.
        return torch.tensor(value, dtype=torch.float32)
    if isinstance(value, (str, bytes)):
        return np.asarray(value)
    if isinstance(value, list):
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        value = array
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" or value.dtype == np.bool_:
            if not value.flags.writeable or not value.flags.c_contiguous:
                # torch.from_numpy warns on read-only memory; a copy is the honest fix.
                value = np.array(value, order="C")
            return torch.from_numpy(value)
        return value
    return value


def to_element(value):
    """A user's element (tensors, arrays, numbers, nested in tuples / lists / dicts) -> leaves."""
    if isinstance(value, dict):
        return {key: to_element(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(to_element(item) for item in value)
    if isinstance(value, list) and value and isinstance(value[0], (torch.Tensor, np.ndarray)):
        return tuple(to_element(item) for item in value)
    return to_leaf(value)


def stack(leaves: list):
    """Stack same-shaped leaves along a new first axis."""
    first = leaves[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(leaves)
    return np.stack(leaves)


def leaf_shape(leaf) -> tuple:
    return tuple(leaf.shape) if hasattr(leaf, "shape") else ()


def slice_leaf(leaf, index):
    """`leaf[index]` for a tensor or array; an index array gathers rows."""
    if isinstance(leaf, torch.Tensor) and isinstance(index, np.ndarray):
        if leaf.device.type == "cpu" and not leaf.requires_grad:
            # NumPy's row gather is about 5x faster than torch's indexing kernels on CPU
            # (measured: 64 rows of 32x32x3 floats, 0.3 ms vs 1.8 ms).
            return torch.from_numpy(leaf.numpy()[index])
        return leaf[torch.from_numpy(index).to(leaf.device)]
    return leaf[index]


def to_numpy(element):
    """Every leaf as a NumPy array (for `as_numpy_iterator`)."""
    return map_structure(
        lambda leaf: leaf.numpy() if isinstance(leaf, torch.Tensor) else leaf, element
    )
