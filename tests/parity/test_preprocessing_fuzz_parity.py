"""Parity with Keras 3 (torch backend) at the edges a differential fuzz of the preprocessing
layers found (those Keras runs without TensorFlow): values on a bin boundary, output dtypes,
and configs as Keras writes them and as lamina loads them.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina

pytestmark = pytest.mark.parity


def _config_without_name(layer):
    return {k: v for k, v in layer.get_config().items() if k != "name"}


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_float32_value_on_a_decimal_boundary_is_keras(mode):
    # 0.1 and -0.98 are not float32 numbers: a float32 input written as a boundary equals that
    # boundary in float32 (Keras's comparison), and so falls in the bin above.
    boundaries = [-0.98, 0.1, 0.63]
    x = np.array([[-0.98, 0.1], [0.63, 0.2]], dtype="float32")
    config = {"bin_boundaries": boundaries, "output_mode": mode}
    want = np.asarray(keras.layers.Discretization(**config)(x))
    got = lamina.layers.Discretization(**config)(torch.tensor(x)).cpu().numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_discretization_from_keras_config_gives_integer_ids():
    # Keras writes dtype "float32" for an int-mode layer, whose ids stay int32.
    x = np.array([[-1.0, 0.5, 2.0]], dtype="float32")
    theirs = keras.layers.Discretization(bin_boundaries=[0.0, 1.0])
    ours = lamina.layers.Discretization.from_config(theirs.get_config())
    got = ours(torch.tensor(x)).cpu().numpy()
    want = np.asarray(theirs(x))
    assert got.dtype == want.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    assert _config_without_name(ours) == _config_without_name(theirs)


@pytest.mark.parametrize("adapted", [False, True], ids=["given", "adapted"])
@pytest.mark.parametrize("axis", [-1, None, 1, (1, 2), -2])
def test_normalization_config_is_keras(axis, adapted):
    data = np.random.default_rng(0).standard_normal((6, 3, 4)).astype("float32")
    config = {"axis": axis, "invert": True}
    if not adapted:
        config.update(mean=0.5, variance=2.0)
    theirs, ours = keras.layers.Normalization(**config), lamina.layers.Normalization(**config)
    if adapted:
        theirs.adapt(data)
        ours.adapt(data)
    assert _config_without_name(ours) == _config_without_name(theirs)
    # Keras's config loads in lamina and normalizes alike.
    loaded = lamina.layers.Normalization.from_config(theirs.get_config())
    if adapted:
        loaded.adapt(data)
    np.testing.assert_allclose(
        loaded(torch.tensor(data)).cpu().numpy(), np.asarray(theirs(data)), atol=1e-4
    )


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_config_is_keras(mode):
    theirs = keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    ours = lamina.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    assert _config_without_name(ours) == _config_without_name(theirs)
