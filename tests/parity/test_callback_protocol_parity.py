"""The callback protocol against Keras 3 (torch backend): what a callback sees through fit,
evaluate and predict (`params`, the hooks called, their indices and logs), cases a differential
fuzz found apart. Tiny Dense models with the same weights and data, `shuffle=False`."""

import contextlib
import io
import os
import warnings

import numpy as np
import pytest

import lamina
from tests.callbacks.test_callbacks import HOOKS  # every hook Keras's callbacks have
from tests.parity.reference import keras


def _recorder(module):
    """A callback recording `(hook, index, logs keys)` for every hook, and `params` at each
    `*_begin` of a run."""

    class Recorder(module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.events, self.seen_params = [], []

    def hook(name):
        def record(self, *args, **kwargs):
            logs = kwargs.get("logs", args[-1] if args and isinstance(args[-1], dict) else None)
            index = args[0] if args and isinstance(args[0], int) else None
            self.events.append((name, index, sorted(dict(logs or {}))))
            if name in ("on_train_begin", "on_test_begin", "on_predict_begin"):
                self.seen_params.append((name, dict(self.params)))

        return record

    for name in HOOKS:
        setattr(Recorder, name, hook(name))
    return Recorder()


def _data(samples, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((samples, 4)).astype("float32"),
        rng.standard_normal((samples, 1)).astype("float32"),
    )


def _run(module, weights, fit, evaluate, predict, samples):
    model = module.Sequential([module.Input((4,)), module.layers.Dense(3), module.layers.Dense(1)])
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = _data(samples)
    recorder = _recorder(module)
    model.fit(x, y, callbacks=[recorder], verbose=0, shuffle=False, **fit)
    model.evaluate(x, y, callbacks=[recorder], verbose=0, **evaluate)
    model.predict(x, callbacks=[recorder], verbose=0, **predict)
    return model, recorder


# (fit kwargs, evaluate kwargs, predict kwargs, samples): fuzz cases whose `params` differed.
CASES = {
    "steps_per_epoch-below-the-batches": (
        {"epochs": 2, "batch_size": 4, "steps_per_epoch": 1, "validation_split": 0.25},
        {},
        {},
        8,
    ),
    "steps_per_epoch-above-the-batches": (
        {"epochs": 2, "batch_size": 16, "steps_per_epoch": 2, "initial_epoch": 1},
        {"batch_size": 32},
        {},
        8,
    ),
    "evaluate-and-predict-steps": (
        {"epochs": 1, "batch_size": 4},
        {"steps": 1, "batch_size": 3},
        {"steps": 2, "batch_size": 3},
        10,
    ),
    "no-epoch-to-run": ({"epochs": 1, "initial_epoch": 1}, {}, {"batch_size": 4}, 16),
}


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore::UserWarning")  # "ran out of data" on both sides
@pytest.mark.parametrize("case", sorted(CASES))
def test_callbacks_see_keras_params_and_hooks(case):
    """`params` is Keras's `{verbose, epochs, steps}` in fit, evaluate (epochs 1) and predict, with
    `steps` the steps asked for (not the batches the data holds); the hooks come in Keras's
    order with the same indices and log keys."""
    fit, evaluate, predict, samples = CASES[case]
    reference, theirs = _run(keras, None, fit, evaluate, predict, samples)
    _, ours = _run(lamina, reference.get_weights(), fit, evaluate, predict, samples)
    assert ours.seen_params == theirs.seen_params
    assert ours.events == theirs.events


def _checkpoint_messages(module, folder, weights, checkpoint_kwargs, validation):
    model = module.Sequential([module.Input((4,)), module.layers.Dense(1)])
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=module.optimizers.SGD(0.1), loss="mse")
    x, y = _data(8)
    checkpoint = module.callbacks.ModelCheckpoint(
        os.path.join(folder, "m_{epoch}.weights.h5"),
        save_weights_only=True,
        verbose=1,
        **checkpoint_kwargs,
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Can save best model only with val_loss available"
        model.fit(
            x,
            y,
            epochs=2,
            batch_size=4,
            verbose=0,
            shuffle=False,
            callbacks=[checkpoint],
            validation_data=(x, y) if validation else None,
        )
    lines = printed.getvalue().replace(folder, "<dir>").splitlines()
    return model, [line for line in lines if line], sorted(os.listdir(folder))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("checkpoint_kwargs", "validation"),
    [
        ({}, False),
        ({"save_best_only": True}, True),
        ({"save_best_only": True}, False),  # no val_loss: warns, saves, says only "finished"
        ({"save_best_only": True, "monitor": "loss", "mode": "max"}, False),
    ],
)
def test_model_checkpoint_prints_keras_messages(tmp_path, checkpoint_kwargs, validation):
    """Plain saves say "saving model to" then "finished saving"; best-only ones say whether the
    quantity improved, and only "finished saving" when it is missing (Keras warns, then saves)."""
    weights = [np.full((4, 1), 0.1, "float32"), np.zeros((1,), "float32")]
    for side in ("keras", "lamina"):
        (tmp_path / side).mkdir()
    _, *theirs = _checkpoint_messages(
        keras, str(tmp_path / "keras"), weights, checkpoint_kwargs, validation
    )
    _, *ours = _checkpoint_messages(
        lamina, str(tmp_path / "lamina"), weights, checkpoint_kwargs, validation
    )
    assert ours == theirs


def _history_reader(module):
    """A callback noting what `self.model.history` holds at each hook of fit."""

    class HistoryReader(module.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def _note(self, hook):
            history = getattr(self.model, "history", None)
            recorded = getattr(history, "history", None)
            self.seen.append((hook, type(history).__name__, sorted(recorded or {})))

        def on_train_begin(self, logs=None):
            self._note("train_begin")

        def on_epoch_end(self, epoch, logs=None):
            self._note(f"epoch_end {epoch}")

        def on_train_end(self, logs=None):
            self._note("train_end")

    return HistoryReader()


@pytest.mark.parity
@pytest.mark.parametrize("runs", [1, 2])
def test_model_history_is_the_runs_history_from_train_begin(runs):
    """Keras sets `model.history` to the run's History when fit hands the model to its
    callbacks, so a callback reads it in every hook (lamina set it at the first epoch's end:
    None, or the previous fit's, before)."""
    seen = []
    for module in (keras, lamina):
        model = module.Sequential([module.Input((4,)), module.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        x, y = _data(8)
        for _ in range(runs):
            reader = _history_reader(module)
            model.fit(x, y, epochs=2, verbose=0, callbacks=[reader])
        seen.append(reader.seen)
    assert seen[1] == seen[0]


@pytest.mark.parity
@pytest.mark.parametrize("given", [[], ["History"], ["ProgbarLogger"]])
def test_callback_list_adds_history_then_progbar_as_keras(given):
    order = []
    for module in (keras, lamina):
        callbacks = module.callbacks.CallbackList(
            [getattr(module.callbacks, name)() for name in given],
            add_history=True,
            add_progbar=True,
            verbose=1,
            epochs=1,
            steps=1,
        )
        order.append([type(callback).__name__ for callback in callbacks.callbacks])
    assert order[1] == order[0]


@pytest.mark.parity
def test_a_history_given_to_several_fits_gathers_their_values_as_keras():
    """Keras's History restarts `epoch` at each fit and keeps appending to `history`, so one
    History passed to fit in a loop holds the whole curve."""
    recorded = []
    for module in (keras, lamina):
        model = module.Sequential([module.Input((4,)), module.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        x, y = _data(8)
        history = module.callbacks.History()
        for _ in range(3):
            model.fit(x, y, epochs=2, verbose=0, callbacks=[history])
        recorded.append(
            (history.epoch, {key: len(values) for key, values in history.history.items()})
        )
    assert recorded[1] == recorded[0] == ([0, 1], {"loss": 6, "mae": 6})


def _missing_monitor_warnings(module, name, folder):
    made = {
        "EarlyStopping": lambda: module.callbacks.EarlyStopping(monitor="nope", mode="min"),
        "ReduceLROnPlateau": lambda: module.callbacks.ReduceLROnPlateau(monitor="nope", mode="min"),
        "ModelCheckpoint": lambda: module.callbacks.ModelCheckpoint(
            os.path.join(folder, "m.weights.h5"),
            monitor="nope",
            mode="min",
            save_best_only=True,
            save_weights_only=True,
        ),
    }
    model = module.Sequential([module.Input((4,)), module.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = _data(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0, callbacks=[made[name]()])
    return [str(w.message) for w in caught if "nope" in str(w.message)]


@pytest.mark.parity
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"])
def test_a_missing_monitor_warns_in_keras_words(tmp_path, name):
    """Word for word, with the logs' keys in their order, so a filter on Keras's text matches."""
    theirs = _missing_monitor_warnings(keras, name, str(tmp_path))
    ours = _missing_monitor_warnings(lamina, name, str(tmp_path))
    assert len(theirs) == 1 and ours == theirs
