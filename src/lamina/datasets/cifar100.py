"""CIFAR-100: 60,000 32x32 colour images in 100 fine / 20 coarse classes, from either archive."""

from __future__ import annotations

import numpy as np

from lamina.datasets import cifar
from lamina.datasets.archive import locate

_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_CANDIDATES = [
    "cifar-100-python",
    "cifar-100-python.tar.gz",
    "cifar-100-binary",
    "cifar-100-binary.tar.gz",
]


def load_data(label_mode="fine", path=None):
    """Return `(x_train, y_train), (x_test, y_test)`: uint8 (50000, 32, 32, 3) images and int64
    (50000, 1) labels; (10000, ...) for the test part, as Keras's loader does.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 super-classes).
        path: the Python version (`cifar-100-python.tar.gz` or `cifar-100-python/`) or the binary
            version (`cifar-100-binary.tar.gz` or `cifar-100-binary/`).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f"cifar100.load_data expects label_mode 'fine' or 'coarse'; received "
            f"label_mode={label_mode!r}."
        )
    location = locate("cifar100", _CANDIDATES, path, _URL)
    if cifar.has_members(location, ["train"]):
        members = cifar.read_members(location, ["train", "test"])
        parts = [
            cifar.read_python_batch(members[name], f"{label_mode}_labels")
            for name in ("train", "test")
        ]
    else:
        members = cifar.read_members(location, ["train.bin", "test.bin"])
        # Binary records start with the coarse label, then the fine one.
        index = 0 if label_mode == "coarse" else 1
        parts = [
            cifar.read_binary_batch(members[name], 2, index) for name in ("train.bin", "test.bin")
        ]
    (x_train, y_train), (x_test, y_test) = parts
    return (
        (x_train, np.asarray(y_train, dtype=np.int64).reshape(-1, 1)),
        (x_test, np.asarray(y_test, dtype=np.int64).reshape(-1, 1)),
    )
