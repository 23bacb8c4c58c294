"""The train/test split Keras's regression loaders make: a seeded shuffle, then a cut."""

from __future__ import annotations

import numpy as np


def check_test_split(test_split) -> None:
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1); received test_split={test_split}.")


def shuffled_split(x, y, test_split: float, seed: int):
    """`(x_train, y_train), (x_test, y_test)` after Keras's shuffle (a `RandomState(seed)`
    permutation of the indices), so a given seed gives Keras's split."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
