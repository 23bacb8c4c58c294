"""Keras's public attributes of the non-recurrent layers, read on lamina's: the same values as
Keras 3 answers for the same constructor arguments."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

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


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_spatial_dropout_passes_a_mask_on_as_keras(rank):
    name = f"SpatialDropout{rank}D"
    ours, theirs = getattr(lamina.layers, name)(0.3), getattr(keras.layers, name)(0.3)
    assert ours.supports_masking is theirs.supports_masking is True
    x = torch.ones((2,) + (3,) * rank + (4,))
    x._keras_mask = torch.ones((2,) + (3,) * rank, dtype=torch.bool)
    assert ours(x)._keras_mask is not None


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


@pytest.mark.parametrize(
    "name,args,kwargs",
    [
        ("Dense", (3,), {}),
        ("EinsumDense", ("ab,bc->ac", 3), {}),
        ("Embedding", (5, 3), {}),
        ("ReversibleEmbedding", (5, 3), {}),
        ("ReversibleEmbedding", (5, 3), {"tie_weights": False}),
    ],
    ids=["Dense", "EinsumDense", "Embedding", "ReversibleEmbedding", "ReversibleEmbedding-untied"],
)
def test_variable_serialization_spec_as_keras(name, args, kwargs):
    ours = getattr(lamina.layers, name)(*args, **kwargs).variable_serialization_spec
    assert ours == getattr(keras.layers, name)(*args, **kwargs).variable_serialization_spec
    ours[None].append("changed")  # a copy: the table itself stays
    assert getattr(lamina.layers, name)(*args, **kwargs).variable_serialization_spec[None][-1] != (
        "changed"
    )


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_variable_serialization_spec_names_the_quantized_dense_variables(mode):
    layer = lamina.layers.Dense(4)
    layer.build((None, 8))
    layer.quantize(mode)
    names = [n for n in layer.variable_serialization_spec[mode] if hasattr(layer, n)]
    assert names[:3] == ["kernel", "bias", "kernel_scale"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {
            "num_mel_bins": 32,
            "num_spectrogram_bins": 257,
            "sampling_rate": 16000,
            "lower_edge_hertz": 0.0,
            "upper_edge_hertz": 8000.0,
        },
    ],
    ids=["defaults", "16k"],
)
def test_linear_to_mel_weight_matrix_matches_keras(kwargs):
    ours = lamina.layers.MelSpectrogram().linear_to_mel_weight_matrix(**kwargs)
    theirs = keras.layers.MelSpectrogram().linear_to_mel_weight_matrix(**kwargs)
    assert ours.dtype == lamina.backend.to_torch_dtype("float32")
    np.testing.assert_allclose(ours.cpu(), np.asarray(theirs), atol=1e-5)


@pytest.mark.parametrize("iterations", [1, 3])
def test_spectral_normalization_normalized_weights_match_keras(iterations):
    theirs = keras.layers.SpectralNormalization(keras.layers.Dense(3), power_iterations=iterations)
    theirs.build((None, 4))
    ours = lamina.layers.SpectralNormalization(lamina.layers.Dense(3), power_iterations=iterations)
    ours.build((None, 4))
    ours.set_weights(theirs.get_weights())
    before = ours.get_weights()
    u_ours, kernel_ours = ours.normalized_weights()
    u_theirs, kernel_theirs = theirs.normalized_weights()
    assert tuple(kernel_ours.shape) == tuple(kernel_theirs.shape) == (4, 3)
    np.testing.assert_allclose(u_ours.detach(), np.asarray(u_theirs.cpu()), atol=1e-6)
    np.testing.assert_allclose(kernel_ours.detach(), kernel_theirs.detach().cpu(), atol=1e-6)
    for now, then in zip(ours.get_weights(), before, strict=True):  # nothing assigned
        np.testing.assert_array_equal(now, then)
    ours(torch.ones(2, 4), training=True)  # a training call sets exactly those values
    np.testing.assert_allclose(ours.layer.get_weights()[0], kernel_ours.detach(), atol=1e-6)
