"""Boston housing prices: 506 samples of 13 features, read from Keras's `boston_housing.npz`."""

from __future__ import annotations

import numpy as np

from lamina.datasets.archive import ORIGIN, locate


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Return `(x_train, y_train), (x_test, y_test)`, float64, split as Keras splits them.

    Args:
        path: the `.npz` file (keys x, y) or its name in the cache folders.
        test_split: the fraction held out for testing.
        seed: the seed of the shuffle before the split (Keras's 113 gives Keras's split).
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1); received test_split={test_split}.")
    found = locate("boston_housing", ["boston_housing.npz"], path, ORIGIN + "boston_housing.npz")
    with np.load(found, allow_pickle=False) as archive:
        x, y = archive["x"], archive["y"]
    # The same shuffle as Keras (a RandomState permutation of the indices), so the split matches.
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
