"""Logs, CSV files, TensorBoard summaries and restored weights of bfloat16 models: every value is
the float32 widening of the bfloat16 one (exact), never torch's 'unsupported ScalarType'."""

import csv

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina
from lamina import callbacks, layers, mixed_precision
from lamina.callbacks.callback import log_value


@pytest.fixture
def policy():
    """Sets the global dtype policy for one test and puts float32 back after it."""
    yield mixed_precision.set_global_policy
    mixed_precision.set_global_policy("float32")


def test_log_value_widens_bfloat16_exactly():
    scalar = torch.tensor(0.30078125, dtype=torch.bfloat16)  # a bfloat16 number exactly
    assert log_value(scalar) == 0.30078125 and isinstance(log_value(scalar), float)
    per_class = log_value(torch.tensor([0.5, 0.2], dtype=torch.bfloat16))
    assert per_class.dtype == np.float32
    np.testing.assert_array_equal(per_class, [0.5, np.float32(0.2001953125)])
    half = log_value(torch.tensor([0.5, 0.25], dtype=torch.float16))  # kept as it is
    assert half.dtype == np.float16 and half.tolist() == [0.5, 0.25]
    assert log_value(torch.tensor([0.1])) == pytest.approx(0.1) and log_value(2) == 2.0


def _fit(tmp_path, dtype=None, extra=()):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = lamina.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(5, activation="relu", name="hidden", dtype=dtype),
            layers.Dense(1, activation="sigmoid", name="out", dtype=dtype),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    board = callbacks.TensorBoard(tmp_path / "tb", histogram_freq=1)
    logger = callbacks.CSVLogger(str(tmp_path / "log.csv"))
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[board, logger, *extra])
    return model, history


@pytest.mark.parametrize("setting", ["mixed_bfloat16", "bfloat16"])
def test_history_csv_and_tensorboard_of_a_bfloat16_model(tmp_path, policy, setting):
    if setting == "mixed_bfloat16":
        policy("mixed_bfloat16")
        model, history = _fit(tmp_path)
        assert model.layers[0].compute_dtype == "bfloat16"
    else:
        model, history = _fit(tmp_path, dtype="bfloat16")
        assert model.layers[0].kernel.dtype == torch.bfloat16
    for name in ("loss", "accuracy"):
        assert all(isinstance(v, float) for v in history.history[name])
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"], rel=1e-6)
    train = EventAccumulator(str(tmp_path / "tb" / "train"), size_guidance={"histograms": 0})
    train.Reload()
    logged = [e.value for e in train.Scalars("epoch_loss")]
    assert logged == pytest.approx(history.history["loss"], rel=1e-6)
    kernel = model.layers[0].get_weights()[0].astype("float32")
    last = train.Histograms("hidden/kernel/histogram")[-1].histogram_value
    assert last.num == kernel.size
    assert (last.min, last.max) == (kernel.min(), kernel.max())  # widened exactly
    assert last.sum == pytest.approx(float(kernel.sum()), abs=1e-5)


class _RecordWeights(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_early_stopping_restores_bfloat16_best_weights(tmp_path):
    recorder = _RecordWeights()
    stopper = callbacks.EarlyStopping(monitor="loss", mode="max", restore_best_weights=True)
    model, history = _fit(tmp_path, dtype="bfloat16", extra=[recorder, stopper])
    best = int(np.argmax(history.history["loss"]))
    assert len(recorder.weights) == 2 and best == stopper.best_epoch
    for restored, recorded in zip(model.get_weights(), recorder.weights[best], strict=True):
        assert restored.dtype.name == "bfloat16"
        np.testing.assert_array_equal(restored.astype("float32"), recorded.astype("float32"))
    assert not np.array_equal(
        recorder.weights[0][0].astype("float32"), recorder.weights[1][0].astype("float32")
    )
