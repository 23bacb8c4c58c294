"""`Dataset.element_spec`: the type and shape of a pipeline's elements, as tf.data describes them.

tf.data knows its specs from the traced graph; lamina reads them off the first element and, as
tf.data does, leaves the batch axis unknown (None) when a `batch` without `drop_remainder` made it
(the last batch may be shorter).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import tree
from lamina.data.transforms import Batch, Unbatch


class TensorSpec:
    """The shape and dtype of one component of a dataset's elements (tf.TensorSpec's repr).

    Args:
        shape: a tuple of sizes, None for an unknown one.
        dtype: the dtype's name ("float32", "int64", "string", ...).
        name: an optional name.

    Example:
        >>> TensorSpec((None, 28, 28), "float32")
        TensorSpec(shape=(None, 28, 28), dtype=float32, name=None)
    """

    def __init__(self, shape, dtype, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (
            other.shape,
            other.dtype,
            other.name,
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype}, name={self.name})"


def _dtype_name(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(value.dtype).removeprefix("torch.")
    array = np.asarray(value)
    return "string" if array.dtype.kind in "USO" else array.dtype.name


def _batch_axis_unknown(node) -> bool:
    """Whether the nearest batching upstream of `node` may give a shorter last batch."""
    while node is not None:
        if isinstance(node, Unbatch):
            return False
        if isinstance(node, Batch):
            return not node.drop_remainder
        node = getattr(node, "upstream", None)
    return False


def element_spec(dataset):
    """The structure of `TensorSpec`s describing `dataset`'s elements (from its first element).

    Args:
        dataset: a `lamina.data.Dataset`.

    Example:
        >>> from lamina.data import Dataset
        >>> Dataset.from_tensor_slices(np.zeros((5, 3), "float32")).batch(2).element_spec
        TensorSpec(shape=(None, 3), dtype=float32, name=None)
    """
    first = next(iter(dataset), None)
    if first is None:
        raise ValueError(
            "Dataset.element_spec reads the first element; received an empty dataset. Hint: "
            "check the pipeline's source and filters."
        )
    unknown_batch = _batch_axis_unknown(dataset._node)

    def spec_of(value):
        shape = tuple(int(size) for size in getattr(value, "shape", np.shape(value)))
        if unknown_batch and shape:
            shape = (None,) + shape[1:]
        return TensorSpec(shape, _dtype_name(value))

    return tree.map_structure(spec_of, first)
