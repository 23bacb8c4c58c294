"""lamina.data: the input pipeline (tf.data's API on torch tensors and background threads)."""

from lamina.data import experimental
from lamina.data.dataset import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    TextLineDataset,
)

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "TextLineDataset",
    "experimental",
]
