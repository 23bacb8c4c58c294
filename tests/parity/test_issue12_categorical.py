"""CategoryEncoding and Discretization against Keras 3 (both run without TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

IDS = {
    "vector": np.array([0, 3, 2, 5]),
    "batch": np.array([[0, 1, 1], [3, 3, 2]]),
    "column": np.array([[1], [4], [0]]),
}


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("name", list(IDS))
def test_category_encoding_matches_keras(mode, name):
    ids = IDS[name]
    want = keras.layers.CategoryEncoding(6, output_mode=mode)(ids)
    got = layers.CategoryEncoding(6, output_mode=mode)(ids)
    np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    assert tuple(layers.CategoryEncoding(6, output_mode=mode).compute_output_shape(ids.shape)) == (
        tuple(want.shape)
    )


def test_category_encoding_count_weights_match_keras():
    ids, weights = IDS["batch"], np.array([[0.5, 1.0, 2.0], [1.5, 1.0, 0.25]], dtype="float32")
    want = keras.layers.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights)
    got = layers.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights)
    np.testing.assert_allclose(got.numpy(), np.asarray(want))


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(mode):
    x = np.random.default_rng(0).standard_normal((3, 5)).astype("float32")
    x[0, 0] = 0.5  # exactly on a boundary: the upper bucket
    config = {"bin_boundaries": [-1.0, 0.0, 0.5, 1.2], "output_mode": mode}
    want = keras.layers.Discretization(**config)(x)
    got = layers.Discretization(**config)(torch.tensor(x))
    np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    keys = set(keras.layers.Discretization(**config).get_config())
    assert keys <= set(layers.Discretization(**config).get_config())
