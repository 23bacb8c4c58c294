"""Utilities: seeds, label encoding, progress bars, plots and reports."""

import numpy as np

from lamina.backend import set_random_seed
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset


def to_categorical(y, num_classes=None, dtype="float32"):
    """Class ids -> one-hot rows: `to_categorical([0, 2], 3)` -> [[1, 0, 0], [0, 0, 1]].

    Labels shaped (N, 1) are treated as (N,), as Keras does.
    """
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical expects class ids >= 0; received a minimum of {y.min()}.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(
            f"to_categorical got num_classes={num_classes} but a label {int(y.max())}; "
            f"labels must be in [0, {num_classes})."
        )
    categorical = np.zeros((y.size, num_classes), dtype=dtype)
    categorical[np.arange(y.size), y] = 1
    return categorical.reshape(*shape, num_classes)


__all__ = ["Progbar", "PyDataset", "set_random_seed", "to_categorical"]
