"""Models of the layers added for issue 12 go through `.keras` and `.h5` files both ways:
lamina writes, Keras reads and predicts the same; Keras writes back, lamina reads the same."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers as L
from tests.parity.reference import keras


def _dense_stack():
    return [
        L.Input((6,)),
        L.Dense(8),
        L.PReLU(),
        L.RMSNormalization(),
        L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c"),
        L.AlphaDropout(0.1),
    ], (3, 6)


def _sequence_stack():
    return [
        L.Input((4, 6, 6, 2)),
        L.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
        L.ConvLSTM2D(2, 2),
        L.AdaptiveAveragePooling2D(2),
        L.Flatten(),
    ], (2, 4, 6, 6, 2)


def _audio_stack():
    return [
        L.Input((64, 1)),
        L.STFTSpectrogram(frame_length=16, frame_step=8),
        L.SpectralNormalization(L.Dense(5)),
    ], (2, 64, 1)


@pytest.mark.parity
@pytest.mark.parametrize("build", [_dense_stack, _sequence_stack, _audio_stack])
@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's notes on HDF5 and compiling
def test_files_round_trip_with_keras(build, ext, tmp_path):
    stack, shape = build()
    model = lamina.Sequential(stack)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = model.predict(x, verbose=0)
    model.save(tmp_path / f"ours.{ext}")
    theirs = keras.models.load_model(tmp_path / f"ours.{ext}")
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), want, atol=1e-5)
    theirs.save(tmp_path / f"theirs.{ext}")
    back = lamina.models.load_model(tmp_path / f"theirs.{ext}")
    np.testing.assert_allclose(back.predict(x, verbose=0), want, atol=1e-5)


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_spectral_normalization_h5_order(tmp_path):
    # Keras's legacy .h5 lists trainable then non-trainable weights (kernel, bias, vector_u);
    # get_weights() lists the wrapper's vector_u before the Dense's bias.
    model = lamina.Sequential([L.Input((7,)), L.SpectralNormalization(L.Dense(5))])
    x = np.random.default_rng(0).standard_normal((4, 7)).astype("float32")
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "ours.h5")
    theirs = keras.models.load_model(tmp_path / "ours.h5")
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), want, atol=1e-5)
    theirs.save(tmp_path / "theirs.h5")
    back = lamina.models.load_model(tmp_path / "theirs.h5")
    np.testing.assert_allclose(back.predict(x, verbose=0), want, atol=1e-5)
    for ours, loaded in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, loaded)
