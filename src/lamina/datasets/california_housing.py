"""California housing prices: 20,640 districts of 8 features, read from Keras's
`california_housing.npz` (lamina does not download it: see `lamina.datasets.archive`)."""

from __future__ import annotations

import numpy as np

from lamina.datasets.archive import ORIGIN, locate
from lamina.datasets.splits import check_test_split, shuffled_split


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the California housing regression data, split as Keras splits it.

    The 8 features per district are median income, house age, average rooms, average bedrooms,
    population, average occupancy, latitude and longitude; the target is the median house value
    in dollars.

    Args:
        version: `"large"` (all 20,640 districts) or `"small"` (the first 600, Keras's stand-in
            for the retired Boston housing data).
        path: the `.npz` file (keys x, y) or its name in the cache folders.
        test_split: the fraction held out for testing.
        seed: the seed of the shuffle before the split (Keras's 113 gives Keras's split).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays of shape `(n, 8)` and `(n,)`.

    Example:
        >>> load_data(version="medium")
        Traceback (most recent call last):
        ...
        ValueError: version must be 'small' or 'large'; received version='medium'.
    """
    if version not in ("small", "large"):
        raise ValueError(f"version must be 'small' or 'large'; received version={version!r}.")
    check_test_split(test_split)
    found = locate(
        "california_housing", ["california_housing.npz"], path, ORIGIN + "california_housing.npz"
    )
    with np.load(found, allow_pickle=False) as archive:
        x, y = archive["x"], archive["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffled_split(x, y, test_split, seed)
