"""Small reproductions of what the keras.io text, timeseries and tabular examples ask of lamina.

Each test is our own few lines for one pattern those programs use; the programs themselves are not
copied here.
"""

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity.reference import keras


def test_sequential_takes_one_layer_instance_twice_as_keras_does():
    # A helper that builds `Sequential([norm, Dense, norm, Dense])` from one normalisation layer.
    norm = layers.LayerNormalization()
    model = lamina.Sequential([norm, layers.Dense(4), norm, layers.Dense(4)])
    out = model(np.ones((2, 4), "float32"))

    reference_norm = keras.layers.LayerNormalization()
    reference = keras.Sequential(
        [reference_norm, keras.layers.Dense(4), reference_norm, keras.layers.Dense(4)]
    )
    reference(np.ones((2, 4), "float32"))
    assert tuple(out.shape) == (2, 4)
    assert [layer.name for layer in model.layers].count(norm.name) == 2
    assert len(model.layers) == len(reference.layers)
    assert model.count_params() == reference.count_params()


def test_sequential_pop_of_a_shared_layer_keeps_its_other_use_registered():
    norm = layers.LayerNormalization()
    model = lamina.Sequential([lamina.Input((4,)), norm, layers.Dense(4), norm])
    model.pop()
    assert model.layers[0] is norm
    assert any(module is norm for module in model.modules())


def test_sequential_still_rejects_two_different_layers_with_one_name():
    with pytest.raises(ValueError, match="already has a layer named 'twin'"):
        lamina.Sequential([layers.Dense(4, name="twin"), layers.Dense(4, name="twin")])
