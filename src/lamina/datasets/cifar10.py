"""CIFAR-10: 60,000 32x32 colour images in 10 classes, from either standard archive."""

from __future__ import annotations

import numpy as np

from lamina.datasets import cifar
from lamina.datasets.archive import locate

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CANDIDATES = [
    "cifar-10-batches-py",
    "cifar-10-python.tar.gz",
    "cifar-10-batches-bin",
    "cifar-10-binary.tar.gz",
]
_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def load_data(path=None):
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 (50000, 32, 32, 3) / (50000, 1) and
    (10000, 32, 32, 3) / (10000, 1), as Keras's loader does.

    Args:
        path: the Python version (`cifar-10-python.tar.gz` or its extracted
            `cifar-10-batches-py/`) or the binary version (`cifar-10-binary.tar.gz` or
            `cifar-10-batches-bin/`); by default looked for under those names in the cache folders.
    """
    location = locate("cifar10", _CANDIDATES, path, _URL)
    if cifar.has_members(location, [_TRAIN[0]]):
        members = cifar.read_members(location, [*_TRAIN, "test_batch"])
        batches = [
            cifar.read_python_batch(members[name], "labels") for name in [*_TRAIN, "test_batch"]
        ]
    else:
        names = [f"{name}.bin" for name in [*_TRAIN, "test_batch"]]
        members = cifar.read_members(location, names)
        batches = [cifar.read_binary_batch(members[name], 1, 0) for name in names]
    x_train = np.concatenate([images for images, _ in batches[:5]])
    y_train = np.concatenate([labels for _, labels in batches[:5]]).astype(np.uint8)
    x_test, y_test = batches[5][0], np.asarray(batches[5][1], dtype=np.uint8)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
