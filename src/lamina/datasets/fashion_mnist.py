"""Fashion-MNIST: 70,000 28x28 grey images of clothes, read from the four IDX `.gz` files."""

from __future__ import annotations

import gzip
import os

import numpy as np

from lamina.datasets.archive import locate

_FILES = {
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_train": "train-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
}
_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/ (the four files)"


def read_idx(filename) -> np.ndarray:
    """An IDX file (gzipped or not): the magic number gives the rank, then big-endian sizes."""
    opener = gzip.open if os.fspath(filename).endswith(".gz") else open
    with opener(filename, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{os.fspath(filename)!r} is not an IDX file of unsigned bytes.")
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    # A copy: frombuffer arrays are read-only, which surprises in-place preprocessing.
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape).copy()


def load_data(path=None):
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 (60000, 28, 28) / (60000,) and
    (10000, 28, 28) / (10000,), as Keras's loader does.

    Args:
        path: the folder holding the four files; by default `fashion-mnist/` in the cache folders.
    """
    folder = locate("fashion_mnist", ["fashion-mnist"], path, _URL)
    arrays = {}
    for key, name in _FILES.items():
        file = os.path.join(folder, name)
        if not os.path.exists(file):
            raise FileNotFoundError(
                f"fashion_mnist: {file!r} is missing; the folder needs {sorted(_FILES.values())}."
            )
        arrays[key] = read_idx(file)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
