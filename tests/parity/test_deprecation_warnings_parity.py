"""The warnings Keras 3 gives for arguments it deprecates (and lamina still accepts): the same
category and message from lamina, and the argument still does what it did."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras

CASES = {
    "input_shape": lambda L: L.Dense(2, input_shape=(3,)),
    "input_dim": lambda L: L.Dense(2, input_dim=3),
    "leaky-relu-alpha": lambda L: L.LeakyReLU(alpha=0.1),
    "embedding-input-length": lambda L: L.Embedding(10, 4, input_length=5),
    "layer-norm-rms-scaling": lambda L: L.LayerNormalization(rms_scaling=True),
    "stft-fft-length": lambda L: L.STFTSpectrogram(frame_length=12, fft_length=24),
    "input-layer-input-shape": lambda L: L.InputLayer(input_shape=(3,)),
    "no-warning": lambda L: L.Dense(2),
}


def warnings_of(make, library):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(library.layers)
    return [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parity
@pytest.mark.parametrize("name", CASES)
def test_deprecated_arguments_warn_as_keras_does(name):
    assert warnings_of(CASES[name], lamina) == warnings_of(CASES[name], keras)


def test_the_deprecated_arguments_still_work():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        leaky = lamina.layers.LeakyReLU(alpha=0.1)
        model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,))])
        embedded = lamina.Sequential([lamina.layers.Embedding(10, 4, input_length=5)])
    assert leaky.negative_slope == pytest.approx(0.1)
    assert model.built and model.output_shape == (None, 2)
    assert embedded.output_shape == (None, 5, 4)
    assert lamina.ops.convert_to_numpy(leaky(np.array([-10.0]))).tolist() == pytest.approx([-1.0])
