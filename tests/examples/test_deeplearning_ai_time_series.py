"""Small reproductions of what DeepLearning.AI's "TensorFlow Developer" course 4 (sequences and
time series) asks of lamina.

The course's notebooks window a 1-D series with tf.data (`window` -> `flat_map` -> `map` ->
`shuffle` -> `batch`), feed the windows to Dense, SimpleRNN, Bidirectional LSTM and causal Conv1D
models behind `Lambda` layers, sweep the learning rate with `LearningRateScheduler` and read the
sweep back from `history.history`. Each test is our own few lines for one such pattern; the
notebooks themselves are not copied here.
"""

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from lamina.data import Dataset
from tests.parity.reference import keras


def _windows(series, size, label="next"):
    """The course's pipeline: sliding windows of `size` inputs, labelled by the next value (or,
    for the seq2seq models, by the window shifted one step)."""
    dataset = Dataset.from_tensor_slices(series)
    dataset = dataset.window(size + 1, shift=1, drop_remainder=True)
    dataset = dataset.flat_map(lambda window: window.batch(size + 1))
    if label == "next":
        return dataset.map(lambda window: (window[:-1], window[-1]))
    return dataset.map(lambda window: (window[:-1], window[1:]))


def test_the_window_pipeline_yields_every_sliding_window_once():
    series = np.arange(12, dtype="float32")
    pairs = [(x.numpy(), float(y)) for x, y in _windows(series, 4)]
    expected = [(series[i : i + 4], float(series[i + 4])) for i in range(8)]
    assert len(pairs) == len(expected)
    for (x, y), (want_x, want_y) in zip(pairs, expected, strict=True):
        np.testing.assert_array_equal(x, want_x)
        assert y == want_y
    batches = list(_windows(series, 4).shuffle(100, seed=1).batch(3).prefetch(1))
    assert [tuple(x.shape) for x, _ in batches] == [(3, 4), (3, 4), (2, 4)]
    seen = sorted(float(v) for _, y in batches for v in y)
    assert seen == [float(v) for v in series[4:]]


def test_seq2seq_windows_of_an_expanded_series_train_a_causal_conv_lstm():
    # The sunspots / temperatures notebooks: `ops.expand_dims(series, -1)` before slicing, labels
    # are the window shifted by one step, and the model maps (batch, time, 1) to (batch, time, 1).
    lamina.utils.set_random_seed(0)
    series = np.sin(np.arange(48) / 6.0) * 20.0 + 20.0
    train = _windows(ops.expand_dims(series, axis=-1), 16, label="shifted").shuffle(64).batch(16)
    x, y = next(iter(train))
    assert tuple(x.shape) == (16, 16, 1) and tuple(y.shape) == (16, 16, 1)
    model = lamina.Sequential(
        [
            lamina.Input((None, 1)),
            layers.Conv1D(8, 5, padding="causal", activation="relu"),
            layers.LSTM(8, return_sequences=True),
            layers.Dense(1),
            layers.Lambda(lambda t: t * 40.0),
        ]
    )
    model.compile(loss=lamina.losses.Huber(), optimizer=lamina.optimizers.SGD(1e-4, momentum=0.9))
    history = model.fit(train, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    windows = Dataset.from_tensor_slices(series[..., None]).window(16, shift=1, drop_remainder=True)
    forecast = model.predict(windows.flat_map(lambda w: w.batch(16)).batch(32), verbose=0)
    assert forecast.shape == (48 - 16 + 1, 16, 1)


# --------------------------------------------------------------------------------------------------
# The learning-rate sweep: `history.history["lr"]` is the tf.keras 2 name of the logged rate.


def _sweep(module, x, y):
    model = module.Sequential([module.Input((4,)), module.layers.Dense(1)])
    model.compile(loss=module.losses.Huber(), optimizer=module.optimizers.SGD(momentum=0.9))
    schedule = module.callbacks.LearningRateScheduler(lambda epoch: 1e-8 * 10 ** (epoch / 20))
    return model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[schedule])


def test_the_swept_rate_is_logged_as_learning_rate_and_lr_names_it():
    x, y = np.random.rand(8, 4).astype("float32"), np.random.rand(8, 1).astype("float32")
    ours, theirs = _sweep(lamina, x, y), _sweep(keras, x, y)
    assert sorted(ours.history) == sorted(theirs.history) == ["learning_rate", "loss"]
    np.testing.assert_allclose(
        ours.history["learning_rate"], theirs.history["learning_rate"], rtol=1e-6
    )
    # Keras 3 no longer logs "lr": both refuse it with a KeyError; ours says what to read instead.
    with pytest.raises(KeyError):
        theirs.history["lr"]
    with pytest.raises(KeyError, match=r"history.history\['learning_rate'\]"):
        ours.history["lr"]
    with pytest.raises(KeyError, match="'val_accuracy'"):
        ours.history["val_acc"]
    assert ours.history.get("lr") is None and "lr" not in ours.history
    with pytest.raises(KeyError) as unknown:
        ours.history["not_a_log"]
    assert unknown.value.args == ("not_a_log",)


# --------------------------------------------------------------------------------------------------
# Week 1's baselines: the metric functions score NumPy forecasts (float32 series, float64 moving
# averages) and `.numpy()` reads the score, as the course prints it.


def test_metric_functions_score_numpy_forecasts_as_keras():
    rng = np.random.default_rng(0)
    truth = (rng.standard_normal(50) * 5 + 30).astype("float32")
    forecasts = {
        "naive": np.concatenate([[30.0], truth[:-1]]).astype("float32"),
        "moving average": np.convolve(truth, np.ones(5) / 5, mode="same"),
    }
    for forecast in forecasts.values():
        for name in ("mean_squared_error", "mean_absolute_error"):
            ours = getattr(lamina.metrics, name)(truth, forecast).numpy()
            theirs = getattr(keras.metrics, name)(truth, forecast).numpy()
            assert np.shape(ours) == np.shape(theirs) == ()
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# Week 4 tunes and trains one model: keep `get_weights()`, sweep the rate, `clear_session()`, put
# the weights back and compile again.


def test_weights_kept_before_a_sweep_restore_the_model_after_clear_session():
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential(
        [
            lamina.Input((12, 1)),
            layers.Conv1D(4, 3, padding="causal", activation="relu"),
            layers.LSTM(4),
            layers.Dense(1),
            layers.Lambda(lambda t: t * 400),
        ]
    )
    x = np.random.rand(16, 12, 1).astype("float32")
    y = np.random.rand(16, 1).astype("float32") * 100
    before = model.predict(x, verbose=0)
    init_weights = model.get_weights()
    model.compile(loss=lamina.losses.Huber(), optimizer=lamina.optimizers.SGD(momentum=0.9))
    sweep = lamina.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 10 ** (epoch / 20))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[sweep])
    assert not np.allclose(model.predict(x, verbose=0), before)
    lamina.backend.clear_session()
    model.set_weights(init_weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-6)
    model.compile(
        loss=lamina.losses.Huber(),
        optimizer=lamina.optimizers.SGD(learning_rate=1e-7, momentum=0.9),
        metrics=["mae"],
    )
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
