"""Callbacks: the decisions of EarlyStopping and ReduceLROnPlateau equal Keras's on the same logs;
ModelCheckpoint, LearningRateScheduler, CSVLogger and TerminateOnNaN inside real fit() runs."""

import csv

import numpy as np
import pytest

import lamina
from lamina import callbacks, layers
from tests.parity import reference


class FakeOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class FakeModel:
    """What a callback touches: weights, stop_training, optimizer.learning_rate."""

    def __init__(self):
        self.stop_training = False
        self.step = 0
        self.optimizer = FakeOptimizer(0.1)

    def get_weights(self):
        return [np.array([self.step], dtype="float32")]

    def set_weights(self, weights):
        self.step = int(weights[0][0])


LOSSES = [1.0, 0.8, 0.85, 0.79, 0.9, 0.95, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75]
ACCURACIES = [0.5, 0.6, 0.6, 0.59, 0.61, 0.7, 0.69, 0.69, 0.68, 0.71, 0.70, 0.65]


def _drive(callback, model, monitor, values):
    callback.set_model(model)
    callback.on_train_begin()
    stopped_at = None
    lrs = []
    for epoch, value in enumerate(values):
        model.step = epoch
        logs = {monitor: value}
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, logs)
        lrs.append(float(np.asarray(model.optimizer.learning_rate)))
        if model.stop_training:
            stopped_at = epoch
            break
    callback.on_train_end()
    return stopped_at, model.step, lrs


EARLY_STOPPING = [
    {"monitor": "loss", "patience": 2},
    {"monitor": "loss", "patience": 2, "min_delta": 0.05},
    {"monitor": "loss", "patience": 3, "restore_best_weights": True},
    {"monitor": "loss", "patience": 2, "baseline": 0.75},
    {"monitor": "loss", "patience": 1, "start_from_epoch": 4, "restore_best_weights": True},
    {"monitor": "accuracy", "patience": 2, "mode": "max"},
    {
        "monitor": "accuracy",
        "patience": 3,
        "mode": "max",
        "min_delta": 0.005,
        "restore_best_weights": True,
    },
    {"monitor": "loss", "patience": 0},
]


def _id(config):
    return "-".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parity
@pytest.mark.parametrize("config", EARLY_STOPPING, ids=[_id(c) for c in EARLY_STOPPING])
def test_early_stopping_decides_as_keras(config):
    import keras

    values = ACCURACIES if config["monitor"] == "accuracy" else LOSSES
    ours = _drive(callbacks.EarlyStopping(**config), FakeModel(), config["monitor"], values)
    theirs = _drive(keras.callbacks.EarlyStopping(**config), FakeModel(), config["monitor"], values)
    assert ours == theirs


REDUCE_LR = [
    {"monitor": "loss", "factor": 0.5, "patience": 1},
    {"monitor": "loss", "factor": 0.2, "patience": 2, "cooldown": 1},
    {"monitor": "loss", "factor": 0.1, "patience": 1, "min_lr": 0.002},
    {"monitor": "loss", "factor": 0.5, "patience": 1, "min_delta": 0.05},
    {"monitor": "accuracy", "factor": 0.5, "patience": 2, "mode": "max"},
]


@pytest.mark.parity
@pytest.mark.parametrize("config", REDUCE_LR, ids=[_id(c) for c in REDUCE_LR])
def test_reduce_lr_on_plateau_decides_as_keras(config):
    import keras

    values = ACCURACIES if config["monitor"] == "accuracy" else LOSSES
    ours = _drive(callbacks.ReduceLROnPlateau(**config), FakeModel(), config["monitor"], values)
    theirs = _drive(
        keras.callbacks.ReduceLROnPlateau(**config), FakeModel(), config["monitor"], values
    )
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: callbacks.ReduceLROnPlateau(factor=1.5), r"does not support a factor >= 1.0"),
        (lambda: callbacks.ModelCheckpoint("m.pt"), r"expects a filepath ending in '.keras'"),
        (
            lambda: callbacks.ModelCheckpoint("m.h5", save_weights_only=True),
            r"ending in\s+'.weights.h5'",
        ),
        (
            lambda: callbacks.ModelCheckpoint("m.keras", save_freq=0),
            r"save_freq must be 'epoch' or a positive",
        ),
    ],
    ids=["factor", "checkpoint-extension", "weights-extension", "save-freq"],
)
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_unknown_mode_warns_and_decides_as_auto_as_keras():
    with pytest.warns(UserWarning, match="EarlyStopping mode 'up' is unknown, fallback to auto"):
        stop = callbacks.EarlyStopping(monitor="val_accuracy", mode="up")
    assert stop.mode == "max"


def test_missing_monitor_warns_with_available_keys():
    stop = callbacks.EarlyStopping(monitor="val_loss")
    stop.set_model(FakeModel())
    stop.on_train_begin()
    with pytest.warns(
        UserWarning, match=r"`val_loss` which is not available. Available metrics are: loss"
    ):
        stop.on_epoch_end(0, {"loss": 1.0})


# --------------------------------------------------------------------------------------------------
# Inside fit()


def _model(learning_rate=0.05):
    model = lamina.Sequential(
        [layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1)]
    )
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate), loss="mse")
    return model


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_model_checkpoint_saves_when_the_monitored_quantity_is_missing(tmp_path):
    # Keras warns and saves anyway: save_best_only cannot compare, so it does not skip.
    x, y = _data()
    path = tmp_path / "model.keras"
    checkpoint = callbacks.ModelCheckpoint(path, monitor="unknown", save_best_only=True, mode="min")
    with pytest.warns(UserWarning, match="Can save best model only with unknown available"):
        _model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[checkpoint])
    assert path.exists() and checkpoint.best is None


def test_model_checkpoint_templates_and_best_only(tmp_path):
    x, y = _data()
    template = str(tmp_path / "ckpt-{epoch:02d}-{loss:.3f}.keras")
    checkpoint = callbacks.ModelCheckpoint(template, monitor="loss", save_best_only=True)
    history = _model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[checkpoint])
    saved = sorted(p.name for p in tmp_path.iterdir())
    losses = history.history["loss"]
    expected = [
        f"ckpt-{e + 1:02d}-{loss:.3f}.keras"
        for e, loss in enumerate(losses)
        if loss == min(losses[: e + 1])
    ]
    assert saved == expected
    restored = lamina.models.load_model(tmp_path / saved[-1])
    assert restored.optimizer.iterations == 4 * int(saved[-1][5:7])


def test_model_checkpoint_every_n_batches_weights_only(tmp_path):
    x, y = _data()
    template = str(tmp_path / "w-{epoch}-{batch}.weights.h5")
    checkpoint = callbacks.ModelCheckpoint(template, save_weights_only=True, save_freq=3)
    _model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[checkpoint])
    # 4 batches per epoch, saving every 3 batches counted across epochs: batches 3, 6 (= 2 of 2).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-1-3.weights.h5", "w-2-2.weights.h5"]


def test_early_stopping_restores_best_weights_in_fit():
    x, y = _data()
    model = _model(learning_rate=0.5)  # large enough to diverge after a few epochs
    snapshots = []
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append(model.get_weights())
    )
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0, callbacks=[record, stop])
    best = int(np.argmin(history.history["loss"]))
    for a, b in zip(model.get_weights(), snapshots[best], strict=False):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_scheduler_and_history():
    x, y = _data()
    model = _model()
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125])


def test_learning_rate_scheduler_rejects_non_float():
    x, y = _data()
    scheduler = callbacks.LearningRateScheduler(lambda epoch: "fast")
    with pytest.raises(ValueError, match=r"schedule to return a float; received 'fast'"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[scheduler])


def test_reduce_lr_on_plateau_in_fit_records_rate():
    x, y = _data()
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    model = _model()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[reduce])
    # min_delta=10: no epoch after the first improves, so epochs 2 and 3 each halve the rate;
    # the logs hold the rate each epoch trained with, as Keras's do.
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)


def test_logged_learning_rate_is_the_float32_value_keras_logs():
    x, y = _data()
    model = _model()
    model.compile(optimizer=lamina.optimizers.Adam(5e-05), loss="mse")
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", patience=5)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[reduce])
    assert history.history["learning_rate"] == [4.999999873689376e-05]


@pytest.mark.parametrize(
    "monitor, mode",
    [
        ("val_loss", "min"),
        ("val_accuracy", "max"),
        ("auc", "max"),
        ("val_mean_absolute_error", "min"),
        ("precision", "max"),
    ],
)
def test_auto_mode_from_the_name(monitor, mode):
    assert callbacks.EarlyStopping(monitor=monitor).mode == mode


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.R2Score(),
        lambda m: m.PearsonCorrelation(),
        lambda m: m.ConcordanceCorrelation(),
        lambda m: m.CosineSimilarity(),
        lambda m: m.FBetaScore(),
        lambda m: m.BinaryIoU(),
        lambda m: m.OneHotMeanIoU(num_classes=2),
        lambda m: m.MeanSquaredError(),
        lambda m: m.KLDivergence(),
    ],
    ids=["r2", "pearson", "concordance", "cosine", "fbeta", "binary-iou", "iou", "mse", "kld"],
)
def test_auto_mode_follows_keras_s_metric_directions(make):
    # Keras 3 decides "auto" by the metric's direction; lamina's name rule used to make the
    # correlations, R2, FBeta and IoU scores "min", so EarlyStopping kept the worst epoch.
    keras_metric = make(reference.keras.metrics)
    expected = {"up": "max", "down": "min"}[keras_metric._direction]
    assert callbacks.EarlyStopping(monitor=f"val_{keras_metric.name}").mode == expected


def test_auto_mode_refuses_a_name_it_cannot_place_as_keras():
    # Neither a metric of the model nor a name that says its direction: Keras raises at the
    # first epoch's end rather than guess.
    x, y = _data()
    stop = callbacks.EarlyStopping(monitor="unknown")
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[stop])


def test_auto_mode_reads_a_custom_metric_s_direction():
    class Score(lamina.metrics.Mean):
        _direction = "up"  # Keras's convention for a metric better when larger

    x, y = _data()
    model = _model()
    model.compile(optimizer="sgd", loss="mse", metrics=[Score(name="score")])
    stop = callbacks.EarlyStopping(monitor="score")
    assert stop.mode == "min"  # by the name alone, until the model's metric is seen
    model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
    assert stop.mode == "max" and stop.monitor_op is lamina.ops.greater


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_logger_writes_and_appends(tmp_path, separator):
    x, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    first = model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path, separator)])
    model.fit(
        x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator, append=True)]
    )
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=separator))
    assert rows[0] == ["epoch", "loss", "val_loss"]  # Keras's columns, even without validation
    assert [row[0] for row in rows[1:]] == ["0", "1", "0"]
    assert {row[2] for row in rows[1:]} == {"NA"}
    assert float(rows[1][1]) == pytest.approx(first.history["loss"][0])


def test_terminate_on_nan_stops_at_first_bad_batch(capsys):
    x, y = _data()
    y[9] = 3e38  # finite (fit refuses inf labels), but the second batch's squared error is inf
    model = _model()
    seen = []
    counter = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=8,
        verbose=0,
        shuffle=False,
        callbacks=[counter, callbacks.TerminateOnNaN()],
    )
    assert seen == [0, 1]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_can_raise_and_skip_cleanup():
    # Keras's raise_error=True: a RuntimeError at the bad batch, and no on_train_end anywhere.
    x, y = _data()
    y[9] = 3e38
    ended = []
    cleanup = callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch 1\. Loss value"):
        _model().fit(
            x,
            y,
            epochs=3,
            batch_size=8,
            verbose=0,
            shuffle=False,
            callbacks=[cleanup, callbacks.TerminateOnNaN(raise_error=True)],
        )
    assert ended == []


@pytest.mark.parametrize(
    "callback",
    [
        lambda: callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10.0),
        lambda: callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2),
    ],
    ids=["reduce-lr-on-plateau", "learning-rate-scheduler"],
)
def test_rate_callbacks_refuse_a_schedule_driven_optimizer(callback):
    # Keras raises the same TypeError: the schedule owns the rate.
    schedule = lamina.optimizers.schedules.CosineDecay(0.1, decay_steps=100)
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(schedule), loss="mse")
    x = np.ones((8, 2), dtype="float32")
    with pytest.raises(TypeError, match="created with a LearningRateSchedule .*CosineDecay"):
        model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[callback()])


def _epoch_headers(m, epochs, verbose, capsys) -> list[str]:
    """The `Epoch i/N` lines `framework.fit` prints to stdout."""
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    capsys.readouterr()
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=epochs, verbose=verbose)
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch ")]


@pytest.mark.parity
@pytest.mark.parametrize("epochs", [1, 2])
@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_prints_epoch_headers_only_for_several_epochs_as_keras(epochs, verbose, capsys):
    from tests.parity import reference

    ours = _epoch_headers(lamina, epochs, verbose, capsys)
    assert ours == [f"Epoch {i + 1}/{epochs}" for i in range(epochs)] * (epochs > 1)
    assert ours == reference.keras_run(lambda keras: _epoch_headers(keras, epochs, verbose, capsys))


HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


def _hook_logs(m):
    """Each hook's logs as a callback reads them (`logs.keys()`, and the predictions' shape)
    through fit with validation, evaluate and predict."""
    seen = []

    def recorder(hook):
        def record(self, *args, **kwargs):
            logs = kwargs["logs"] if "logs" in kwargs else args[-1]  # Keras passes logs=...
            entry = (hook, sorted(logs.keys()))
            if "outputs" in logs:
                entry += (np.asarray(logs["outputs"]).shape,)
            seen.append(entry)

        return record

    Recorder = type("Recorder", (m.callbacks.Callback,), {h: recorder(h) for h in HOOKS})
    model = m.Sequential([m.Input((3,)), m.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.linspace(0, 1, 24, dtype="float32").reshape(8, 3)
    y = np.ones((8, 2), dtype="float32")
    kwargs = {"batch_size": 4, "verbose": 0, "callbacks": [Recorder()]}
    model.fit(x, y, epochs=1, validation_split=0.5, **kwargs)
    model.evaluate(x, y, **kwargs)
    model.predict(x, **kwargs)
    return seen


@pytest.mark.parity
def test_every_hook_gets_a_logs_dict_as_in_keras():
    ours = _hook_logs(lamina)
    theirs = reference.keras_run(_hook_logs)
    assert ours == theirs
    assert ("on_predict_batch_end", ["outputs"], (4, 2)) in ours


def _hook_arguments(m):
    """How each hook receives `logs`, for hooks written with `*args` / `**kwargs`."""
    seen = {}

    def recorder(hook):
        def record(self, *args, **kwargs):
            seen.setdefault(hook, ("keyword" if "logs" in kwargs else "position", len(args)))

        return record

    hooks = ["on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin"]
    hooks += ["on_train_batch_end", "on_test_batch_end", "on_predict_batch_end", "on_batch_end"]
    Recorder = type("Recorder", (m.callbacks.Callback,), {h: recorder(h) for h in hooks})
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), "float32")
    model.fit(
        x, x[:, :1], epochs=1, verbose=0, validation_data=(x, x[:, :1]), callbacks=[Recorder()]
    )
    model.predict(x, verbose=0, callbacks=[Recorder()])
    return seen


@pytest.mark.parity
def test_batch_hooks_take_logs_by_keyword_as_keras_calls_them():
    ours = _hook_arguments(lamina)
    assert ours["on_train_batch_end"] == ("keyword", 1)
    assert ours["on_epoch_end"] == ("position", 2)
    assert ours == reference.keras_run(_hook_arguments)


def test_callback_list_takes_keras_positional_order():
    # Keras's CallbackList(callbacks, add_history, add_progbar, model, **params).
    model = _model()
    listed = callbacks.CallbackList([], True, True, model, epochs=2)
    kinds = [type(c).__name__ for c in listed.callbacks]
    # Keras appends the History first (tests/parity/test_callback_protocol_parity.py).
    assert kinds == ["History", "ProgbarLogger"] and listed.history.model is model
    assert listed.callbacks[1].params["epochs"] == 2 and model.history is listed.history


def _checkpoint_messages(m, folder, capsys):
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer=m.optimizers.SGD(0.0), loss="mse")  # a constant loss: no 2nd save
    path = str(folder / "best.weights.h5")
    checkpoint = m.callbacks.ModelCheckpoint(
        path, monitor="loss", save_best_only=True, save_weights_only=True, verbose=1
    )
    x = np.ones((4, 2), "float32")
    capsys.readouterr()
    model.fit(x, np.zeros((4, 1), "float32"), epochs=2, verbose=0, callbacks=[checkpoint])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    return [line.replace(path, "PATH") for line in lines], checkpoint.best


@pytest.mark.parity
def test_model_checkpoint_reports_its_first_save_as_keras_does(tmp_path, capsys):
    ours = _checkpoint_messages(lamina, tmp_path, capsys)
    assert ours[0][0] == "Epoch 1: loss improved from None to 4.00000, saving model to PATH"
    assert ours == reference.keras_run(lambda m: _checkpoint_messages(m, tmp_path, capsys))


def _custom_step_history(m):
    """A custom train_step / test_step that adds an entry to the default step's logs."""

    class Tagged(m.Sequential):
        def train_step(self, data):
            logs = super().train_step(data)
            logs["tag"] = 10.0
            return logs

        def test_step(self, data):
            logs = super().test_step(data)
            logs["tag"] = 5.0
            return logs

    m.utils.set_random_seed(0)
    model = Tagged([m.Input((2,)), m.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0, validation_data=(x, y))
    return history.history, model.evaluate(x, y, verbose=0, return_dict=True)


def test_a_custom_step_adds_to_the_default_steps_logs_as_keras():
    ours = _custom_step_history(lamina)
    theirs = reference.keras_run(_custom_step_history)
    assert ours[0].keys() == theirs[0].keys()
    assert ours[0]["tag"] == theirs[0]["tag"] == [10.0]
    assert ours[0]["val_tag"] == theirs[0]["val_tag"] == [5.0]
    assert ours[1]["tag"] == theirs[1]["tag"] == 5.0
    np.testing.assert_allclose(ours[0]["loss"], theirs[0]["loss"], rtol=1e-6)


def test_batch_hooks_reach_only_the_callbacks_that_define_them():
    seen = []

    class EpochsOnly(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append("epoch")

    class Keras2Batches(callbacks.Callback):  # the base train hook calls on_batch_end
        def on_batch_end(self, batch, logs=None):
            seen.append(("keras2", batch))

    lambdas = callbacks.LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append(b))
    listed = callbacks.CallbackList([EpochsOnly(), Keras2Batches(), lambdas])
    assert listed._batch_targets("on_train_batch_end") == [listed.callbacks[1]]
    assert listed._batch_targets("on_train_batch_begin") == [listed.callbacks[2]]
    assert listed._batch_targets("on_test_batch_end") == []
    listed.on_train_batch_begin(0)
    listed.on_train_batch_end(0, {"loss": 1.0})
    listed.on_test_batch_end(0, {"loss": 1.0})
    assert seen == [0, ("keras2", 0)]
    listed.callbacks = [EpochsOnly()]  # a list replaced (as distribution does): decided again
    assert listed._batch_targets("on_train_batch_begin") == []
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen.clear()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[EpochsOnly(), Keras2Batches()])
    assert seen == [("keras2", 0), ("keras2", 1), "epoch"]
