"""Fixtures of the visualization tests: figures closed after each test, the digits data."""

import sys

import numpy as np
import pytest

import lamina


@pytest.fixture(autouse=True)
def close_figures():
    """pyplot keeps every figure alive until closed (and warns past 20, an error here)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="module")
def digits():
    """The built-in digits in [0, 1] with a channel axis: (x_train, y_train, x_test, y_test)."""
    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    scale = np.float32(1 / 16)
    return (
        (x_train * scale)[..., None].astype("float32"),
        y_train,
        (x_test * scale)[..., None].astype("float32"),
        y_test,
    )
