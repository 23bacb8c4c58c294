"""Gaps that "Hands-On Machine Learning" (3rd edition, chapters 14-19) found in lamina, each
reproduced in a few lines of our own, grouped by chapter. The book's notebooks are not copied
here; each test's comment names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np
import torch

import lamina
from tests.parity.reference import keras

# --------------------------------------------------------------------------------------------------
# Chapter 15: sequences. The book windows a 1-D series with timeseries_dataset_from_array, so
# each batch is (batch, steps), and feeds it to RNNs declared with input_shape=[None, 1].


def _one_unit_rnn(api, units=1):
    return api.Sequential([api.layers.Input((None, 1)), api.layers.SimpleRNN(units)])


def test_sequential_gives_a_batch_of_windows_its_trailing_feature_axis():
    # Keras's rank rule for a model input (a functional model's too): one axis short of an
    # Input whose last size is 1 gains it. A Sequential refused a (4, 6) batch outright.
    reference, ours = _one_unit_rnn(keras, 2), _one_unit_rnn(lamina, 2)
    ours.set_weights(reference.get_weights())
    windows = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    expected = reference(windows).detach().numpy()
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours(windows)), expected, atol=1e-6)
    np.testing.assert_allclose(ours.predict(windows, verbose=0), expected, atol=1e-6)


def test_fit_on_a_windowed_series_dataset_trains_an_rnn():
    series = np.sin(np.arange(80, dtype="float32") / 4)
    dataset = lamina.utils.timeseries_dataset_from_array(
        series, targets=series[8:], sequence_length=8, batch_size=16
    )
    model = _one_unit_rnn(lamina)
    model.compile(loss="mse", optimizer="sgd")
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()
    assert tuple(model(torch.zeros(3, 8)).shape) == (3, 1)
