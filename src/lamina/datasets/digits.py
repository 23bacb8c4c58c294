"""The built-in data set: scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes).

It ships inside scikit-learn, so it needs no download. `load_data()` answers like Keras's loaders:
`(x_train, y_train), (x_test, y_test)` with images as float32 (n, 8, 8) in [0, 16] and labels as
int64 (n,), split by a fixed seeded shuffle (`test_split` of the samples held out).
"""

from __future__ import annotations

import numpy as np


def load_data(test_split: float = 0.2, seed: int = 113):
    """Return `(x_train, y_train), (x_test, y_test)`; the split is the same on every call."""
    from sklearn.datasets import load_digits

    if not 0.0 < test_split < 1.0:
        raise ValueError(f"test_split must be in (0, 1); received test_split={test_split}.")
    digits = load_digits()
    images = digits.images.astype("float32")
    labels = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    split = int(round(len(images) * (1.0 - test_split)))
    return (images[:split], labels[:split]), (images[split:], labels[split:])
