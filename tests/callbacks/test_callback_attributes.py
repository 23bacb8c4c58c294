"""Callbacks' public attributes hold what Keras's hold, and at the same moments: the monitoring
callbacks' `monitor_op` / `min_delta` (set at the first epoch's end), ProgbarLogger's counters,
CSVLogger's file and writer, TensorBoard's stored arguments."""

import numpy as np
import pytest

import lamina
from lamina import callbacks
from tests.callbacks.test_callbacks import FakeModel
from tests.parity.reference import keras

MONITORING = {
    "early_stopping": lambda m, tmp: m.callbacks.EarlyStopping("loss", min_delta=0.1),
    "early_stopping_max": lambda m, tmp: m.callbacks.EarlyStopping(
        "accuracy", min_delta=0.1, mode="max"
    ),
    "reduce_lr": lambda m, tmp: m.callbacks.ReduceLROnPlateau("loss", min_delta=0.05),
    "checkpoint": lambda m, tmp: m.callbacks.ModelCheckpoint(
        str(tmp / f"{m.__name__}.weights.h5"), "loss", save_best_only=True, save_weights_only=True
    ),
}


def _state(callback, ops):
    op = {None: None, ops.less: "less", ops.greater: "greater"}[callback.monitor_op]
    return op, callback.min_delta, callback.best


@pytest.mark.parity
@pytest.mark.parametrize("case", list(MONITORING))
def test_monitor_op_is_set_at_the_first_epoch_end_as_keras(case, tmp_path):
    theirs, ours = MONITORING[case](keras, tmp_path), MONITORING[case](lamina, tmp_path)
    model = FakeModel()
    model.save_weights = lambda path, overwrite=True: None
    seen = []
    for callback, module in ((theirs, keras), (ours, lamina)):
        callback.set_model(model)
        callback.on_train_begin()
        states = [_state(callback, module.ops)]
        for epoch, value in enumerate([0.5, 0.45, 0.3]):
            callback.on_epoch_end(epoch, {"loss": value, "accuracy": value})
            states.append(_state(callback, module.ops))
        seen.append(states)
    assert seen[1] == seen[0]
    assert seen[1][0][0] is None and seen[1][1][0] is not None


def test_improvement_in_monitor_op_terms():
    # A subclass may ask Keras's question itself: better than `best` by more than min_delta?
    stop = callbacks.EarlyStopping("loss", min_delta=0.1)
    stop.on_epoch_end(0, {"loss": 1.0})
    assert bool(stop.monitor_op(0.85 - stop.min_delta, stop.best))
    assert not bool(stop.monitor_op(0.95 - stop.min_delta, stop.best))


def test_checkpoint_saving_every_batch_compares_before_any_epoch_end(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    save = callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"),
        "loss",
        save_best_only=True,
        save_weights_only=True,
        save_freq=1,
    )
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0, callbacks=[save])
    assert save.monitor_op is lamina.ops.less and (tmp_path / "best.weights.h5").exists()


def test_progbar_logger_counters_as_keras():
    theirs, ours = keras.callbacks.ProgbarLogger(), callbacks.ProgbarLogger()
    attributes = ("seen", "target", "verbose", "epochs")
    assert [getattr(ours, a) for a in attributes] == [getattr(theirs, a) for a in attributes]
    params = {"verbose": "auto", "epochs": 3, "steps": 5}
    for logger in (theirs, ours):
        logger.set_params(params)
    assert [getattr(ours, a) for a in attributes] == [getattr(theirs, a) for a in attributes]


def test_progbar_logger_counts_a_pass_of_unknown_length(capsys):
    logger = callbacks.ProgbarLogger()
    logger.set_params({"verbose": 2, "epochs": 1, "steps": None})
    logger.on_epoch_begin(0)
    for batch in range(4):
        logger.on_train_batch_end(batch, {"loss": 1.0})
    assert (logger.seen, logger.target) == (4, None)
    logger.on_epoch_end(0, {"loss": 1.0})
    assert (logger.seen, logger.target) == (4, 4)  # the next epoch's bar knows its length
    capsys.readouterr()


def test_csv_logger_file_writer_and_header_as_keras(tmp_path):
    path = tmp_path / "log.csv"
    logger = callbacks.CSVLogger(str(path), append=True)
    assert (logger.csv_file, logger.writer, logger.append_header) == (None, None, True)
    logger.on_train_begin()
    assert logger.append_header and not logger.csv_file.closed
    logger.on_epoch_end(0, {"loss": 0.5})
    assert logger.writer is not None
    logger.on_train_end()
    assert logger.csv_file.closed and logger.writer is None
    logger.on_train_begin()  # the file has its header now: appending adds rows only
    assert not logger.append_header
    logger.on_epoch_end(1, {"loss": 0.25})
    logger.on_train_end()
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,0.5,NA", "1,0.25,NA"]


@pytest.mark.parity
@pytest.mark.parametrize("validation_split", [0.0, 0.25], ids=["train", "validation"])
def test_csv_logger_columns_as_keras(tmp_path, validation_split):
    def columns(m):
        model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        path = tmp_path / f"{m.__name__}.csv"
        model.fit(
            np.zeros((8, 2)),
            np.zeros((8, 1)),
            epochs=2,
            verbose=0,
            validation_split=validation_split,
            callbacks=[m.callbacks.CSVLogger(str(path))],
        )
        rows = path.read_text().splitlines()
        return rows[0], [row.count("NA") for row in rows[1:]]

    assert columns(lamina) == columns(keras)


def test_tensorboard_keeps_kerass_arguments(tmp_path):
    options = {"embeddings_freq": 0, "embeddings_metadata": {"embedding": "meta.tsv"}}
    board = callbacks.TensorBoard(str(tmp_path), **options)
    reference = keras.callbacks.TensorBoard(str(tmp_path), **options)
    for name in ("write_images", "embeddings_freq", "embeddings_metadata"):
        assert getattr(board, name) == getattr(reference, name)
