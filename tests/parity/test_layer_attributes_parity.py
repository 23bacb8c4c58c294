"""Keras's public attributes of the non-recurrent layers, read on lamina's: the same values as
Keras 3 answers for the same constructor arguments."""

from __future__ import annotations

import keras
import pytest

import lamina

pytestmark = pytest.mark.parity

POOLINGS = [
    f"{kind}{rank}D"
    for kind in ("MaxPooling", "AveragePooling", "MaxPool", "AvgPool")
    for rank in (1, 2, 3)
]


@pytest.mark.parametrize("name", POOLINGS)
def test_pool_mode_as_keras(name):
    assert getattr(lamina.layers, name)(2).pool_mode == getattr(keras.layers, name)(2).pool_mode


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_spatial_dropout_noise_shape_as_keras(rank):
    name = f"SpatialDropout{rank}D"
    assert getattr(lamina.layers, name)(0.3).noise_shape is None
    assert getattr(keras.layers, name)(0.3).noise_shape is None


def test_additive_attention_score_mode_as_keras():
    ours, theirs = lamina.layers.AdditiveAttention(), keras.layers.AdditiveAttention()
    assert ours.score_mode == theirs.score_mode


@pytest.mark.parametrize("data_format", [None, "channels_first"])
def test_max_num_bounding_boxes_data_format_as_keras(data_format):
    ours = lamina.layers.MaxNumBoundingBoxes(3, data_format=data_format)
    theirs = keras.layers.MaxNumBoundingBoxes(3, data_format=data_format)
    assert ours.data_format == theirs.data_format
    assert ours.get_config()["data_format"] == theirs.get_config()["data_format"]


def test_discretization_state_protocol_matches_keras():
    import numpy as np

    ours = lamina.layers.Discretization(num_bins=3)
    theirs = keras.layers.Discretization(num_bins=3)
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(40,)).astype("float32") * (i + 1) for i in range(3)]
    for layer in (ours, theirs):
        layer.reset_state()
        layer.update_state(batches[0])
        layer.update_state(batches[1])
        layer.finalize_state()
    np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries)
    np.testing.assert_allclose(ours.summary, theirs.summary)
    for layer in (ours, theirs):  # the summary persists over finalize, as in Keras
        layer.update_state(batches[2])
        layer.finalize_state()
    np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries)
    ours.reset_state()
    theirs.reset_state()
    assert ours.summary.shape == theirs.summary.shape == (2, 0)
    assert lamina.layers.Discretization(bin_boundaries=[0.0, 1.0]).summary is None
