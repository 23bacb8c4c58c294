"""Gaps that "Hands-On Machine Learning" (3rd edition, chapters 14-19) found in lamina, each
reproduced in a few lines of our own, grouped by chapter. The book's notebooks are not copied
here; each test's comment names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np
import torch

import lamina
from lamina import layers
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


# --------------------------------------------------------------------------------------------------
# Chapter 16: a stateful char-RNN resets its model's states from a callback at each epoch start
# (`self.model.reset_states()`, tf.keras 2's method; Keras 3 keeps only the layers' reset_state).


def _stateful_char_rnn(api):
    return api.Sequential(
        [
            api.layers.Input(batch_shape=(2, None)),
            api.layers.Embedding(7, 4),
            api.layers.GRU(3, return_sequences=True, stateful=True),
        ]
    )


def test_model_reset_states_zeroes_every_stateful_layer_as_keras_layer_reset_state():
    reference, ours = _stateful_char_rnn(keras), _stateful_char_rnn(lamina)
    ours.set_weights(reference.get_weights())
    chunks = np.random.default_rng(1).integers(0, 7, size=(2, 2, 5))
    wrapper = lamina.Sequential([ours])  # a stateful model nested in another, as the book does
    for chunk in chunks:  # carry state across two chunks, then start over
        reference(chunk)
        wrapper(chunk)
    reference.layers[-1].reset_state()
    wrapper.reset_states()
    expected = reference(chunks[1]).detach().numpy()
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours(chunks[1])), expected, atol=1e-6)


def test_reset_states_callback_runs_in_fit():
    resets = []

    class ResetAtEpochStart(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.reset_states()
            resets.append(self.model.layers[-2].states)

    model = _stateful_char_rnn(lamina)
    model.add(layers.Dense(7, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam")
    x = np.random.default_rng(2).integers(0, 7, size=(4, 6))
    model.fit(
        x, x, batch_size=2, shuffle=False, epochs=2, callbacks=[ResetAtEpochStart()], verbose=0
    )
    # No state carried into an epoch's first batch: none before any call, zeros after (as Keras).
    assert resets[0] is None
    assert all(not state.any() for state in resets[1])
    assert model.layers[-2].states is not None  # the last batch's state is carried out


# --------------------------------------------------------------------------------------------------
# Chapter 17: autoencoders.


def test_fit_takes_another_models_output_as_plain_data():
    # Training stacked autoencoders one at a time fits the second on `encoder(X)`, a tensor still
    # tied to the first encoder's graph; each step backpropagated into it ("backward through the
    # graph a second time", as Keras on torch does), where TensorFlow sees plain data.
    encoder = layers.Dense(4, activation="relu")
    codings = encoder(np.random.default_rng(3).random((16, 6)).astype("float32"))
    assert codings.requires_grad
    model = lamina.Sequential([layers.Dense(2, activation="relu"), layers.Dense(4)])
    model.compile(loss="mse", optimizer="nadam")
    history = model.fit(codings, codings, batch_size=8, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert encoder.kernel.grad is None  # the data's own graph is left untouched


def test_add_weight_takes_a_bare_size_for_a_vector():
    # A tied-weights decoder layer creates its bias with shape=<the tied Dense's input size>,
    # an int (tf.keras 2 read it as a vector; Keras 3 refuses it, lamina failed with a raw
    # TypeError).
    class Bias(lamina.layers.Layer):
        def build(self, input_shape):
            self.bias = self.add_weight(name="bias", shape=input_shape[-1], initializer="ones")

        def call(self, inputs):
            return inputs + self.bias

    layer = Bias()
    out = layer(np.zeros((2, 5), "float32"))
    assert tuple(layer.bias.shape) == (5,)
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(out), np.ones((2, 5)))


def test_kullback_leibler_divergence_is_keras_kl_divergence():
    # A sparse autoencoder's KL activity regularizer reads the loss by tf.keras 2's long name.
    target = np.full((3,), 0.1, "float32")
    mean_activity = np.array([0.05, 0.2, 0.5], "float32")
    ours = lamina.losses.kullback_leibler_divergence(target, mean_activity)
    expected = keras.losses.kl_divergence(target, mean_activity).detach().numpy()
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours), expected, rtol=1e-6)
