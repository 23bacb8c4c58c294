"""An unknown keyword argument: Keras raises ValueError where Python would raise TypeError
(layers, optimizers, SeedGenerator, clone_model). lamina's error is both, so an `except` written
for either catches it, and it names the argument."""

from __future__ import annotations

import warnings

import pytest

import lamina
from tests.parity.reference import keras

CALLS = {
    "layer": lambda k: k.layers.Dense(2, unitz=3),
    "layer of an RNN": lambda k: k.layers.LSTM(2, unitz=3),
    "custom layer": lambda k: type("Custom", (k.layers.Layer,), {})(unitz=3),
    "optimizer": lambda k: k.optimizers.Adam(unitz=3),
    "seed generator": lambda k: k.random.SeedGenerator(1, unitz=3),
    "clone_model": lambda k: k.models.clone_model(
        k.Sequential([k.Input((2,)), k.layers.Dense(1)]), unitz=3
    ),
}


@pytest.mark.parametrize("case", sorted(CALLS))
def test_an_unknown_argument_is_the_value_error_keras_raises(case):
    with pytest.raises(ValueError):
        CALLS[case](keras)
    with pytest.raises(ValueError, match=r"unexpected keyword argument\(s\) \['unitz'\]"):
        CALLS[case](lamina)


@pytest.mark.parametrize(
    "call",
    [
        lambda: lamina.layers.Dense(2, unitz=3),
        lambda: lamina.losses.MeanSquaredError(unitz=3),
        lambda: lamina.metrics.Accuracy(unitz=3),
        lambda: lamina.callbacks.ReduceLROnPlateau(unitz=3),
    ],
)
def test_an_unknown_argument_is_still_the_type_error_python_raises(call):
    # Keras's losses and metrics raise Python's TypeError; code catching that still does.
    with pytest.raises(TypeError, match=r"\['unitz'\]"):
        call()


def test_reduce_lr_takes_tf_keras_epsilon_as_min_delta():
    # Keras 3 ignores `epsilon` without a word (min_delta stays 1e-4); tf.keras meant min_delta.
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert keras.callbacks.ReduceLROnPlateau(epsilon=0.5).min_delta == 1e-4
    with pytest.warns(UserWarning, match="`epsilon` is the Keras 2 name of `min_delta`"):
        callback = lamina.callbacks.ReduceLROnPlateau(epsilon=0.5)
    assert callback.min_delta == 0.5
