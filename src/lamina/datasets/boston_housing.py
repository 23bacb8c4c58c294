"""Boston housing prices: 506 samples of 13 features, read from Keras's `boston_housing.npz`."""

from __future__ import annotations

import numpy as np

from lamina.datasets.archive import ORIGIN, locate
from lamina.datasets.splits import check_test_split, shuffled_split


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Return `(x_train, y_train), (x_test, y_test)`, float64, split as Keras splits them.

    Args:
        path: the `.npz` file (keys x, y) or its name in the cache folders.
        test_split: the fraction held out for testing.
        seed: the seed of the shuffle before the split (Keras's 113 gives Keras's split).
    """
    check_test_split(test_split)
    found = locate("boston_housing", ["boston_housing.npz"], path, ORIGIN + "boston_housing.npz")
    with np.load(found, allow_pickle=False) as archive:
        x, y = archive["x"], archive["y"]
    return shuffled_split(x, y, test_split, seed)
