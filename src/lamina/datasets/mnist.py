"""MNIST: 70,000 28x28 grey digits, read from Keras's `mnist.npz` (no download)."""

from __future__ import annotations

import numpy as np

from lamina.datasets.archive import ORIGIN, locate


def load_data(path="mnist.npz"):
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 (60000, 28, 28) / (60000,) and
    (10000, 28, 28) / (10000,), as Keras's loader does.

    Args:
        path: the `.npz` file (keys x_train, y_train, x_test, y_test), or its name in the cache
            folders (~/.keras/datasets, ~/.lamina/datasets).
    """
    found = locate("mnist", ["mnist.npz"], path, ORIGIN + "mnist.npz")
    with np.load(found, allow_pickle=False) as archive:
        return (archive["x_train"], archive["y_train"]), (archive["x_test"], archive["y_test"])
