"""OrbaxCheckpoint: Keras's numbered step folders, written by lamina (atomic, in the background,
in order), and read back by load_model / load_weights from the directory."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.callbacks import LambdaCallback, OrbaxCheckpoint
from lamina.saving import FileFormatError, atomic, step_checkpoints


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def _model(seed=1):
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _fit(model, callbacks, epochs=3, **kwargs):
    x, y = _data()
    return model.fit(
        x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks, **kwargs
    )


def _same(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("background", [True, False])
def test_each_epoch_is_a_step_holding_that_epochs_state(tmp_path, background):
    model, seen = _model(), []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    save = OrbaxCheckpoint(tmp_path, max_to_keep=None, save_on_background=background)
    _fit(model, [save, record])
    assert step_checkpoints.steps(tmp_path) == [0, 1, 2]
    for epoch, weights in enumerate(seen):
        restored = lamina.saving.load_model(tmp_path / str(epoch))
        assert _same(restored.get_weights(), weights)  # the epoch's, not a later state
        assert int(restored.optimizer.iterations) == 3 * (epoch + 1)


def test_max_to_keep_keeps_the_newest_steps(tmp_path):
    _fit(_model(), [OrbaxCheckpoint(tmp_path, max_to_keep=2)], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["2", "3"]


def test_a_run_resumed_from_the_directory_continues_as_one_run(tmp_path):
    whole = _model()
    expected = _fit(whole, [], epochs=3).history["loss"]
    first = _model()
    _fit(first, [OrbaxCheckpoint(tmp_path)], epochs=2)
    resumed = lamina.saving.load_model(tmp_path)  # the highest step
    history = _fit(resumed, [], epochs=3, initial_epoch=2).history["loss"]
    np.testing.assert_allclose(history, expected[2:], rtol=1e-6)
    for found, expected_weight in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(found, expected_weight, atol=1e-6)


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_a_batch_frequency_numbers_steps_by_batches_seen(tmp_path, steps_per_execution):
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    _fit(model, [OrbaxCheckpoint(tmp_path, save_freq=3, max_to_keep=None)], epochs=2)
    assert step_checkpoints.steps(tmp_path) == [3, 6]
    # A reloaded model counts on from its optimizer's iterations.
    resumed = lamina.saving.load_model(tmp_path)
    _fit(resumed, [OrbaxCheckpoint(tmp_path, save_freq=3, max_to_keep=None)], epochs=1)
    assert step_checkpoints.steps(tmp_path) == [3, 6, 9]


def test_save_best_only_saves_improvements_and_warns_without_the_quantity(tmp_path):
    save = OrbaxCheckpoint(tmp_path, monitor="val_loss", save_best_only=True, max_to_keep=None)
    save.set_model(_model())
    for epoch, value in enumerate([1.0, 2.0, 0.5, 0.7]):
        save.on_epoch_end(epoch, {"val_loss": value})
    save.wait_until_finished()
    assert step_checkpoints.steps(tmp_path) == [0, 2]
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        save.on_epoch_end(4, {"loss": 0.1})
    save.wait_until_finished()
    assert step_checkpoints.steps(tmp_path) == [0, 2]


def test_weights_only_steps_load_into_a_built_model(tmp_path):
    model = _model()
    _fit(model, [OrbaxCheckpoint(tmp_path, save_weights_only=True)], epochs=2)
    assert os.listdir(tmp_path / "1") == [step_checkpoints.WEIGHTS_FILE]
    fresh = _model(seed=5)
    fresh.load_weights(tmp_path)
    assert _same(fresh.get_weights(), model.get_weights())
    with pytest.raises(ValueError, match="holds only weights"):
        lamina.saving.load_model(tmp_path)


def test_a_failed_background_save_is_raised_not_lost(tmp_path):
    in_the_way = tmp_path / "checkpoints"
    in_the_way.write_text("a file where the directory should be")
    with pytest.raises(OSError):
        _fit(_model(), [OrbaxCheckpoint(in_the_way)], epochs=1)


def test_links_and_strays_in_the_directory_are_not_steps(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    _fit(_model(), [OrbaxCheckpoint(elsewhere, max_to_keep=None)], epochs=3)
    directory = tmp_path / "checkpoints"
    _fit(_model(), [OrbaxCheckpoint(directory)], epochs=1)
    os.symlink(elsewhere / "2", directory / "7")  # a link to another run's step
    (directory / "8").mkdir()  # a folder with no checkpoint in it
    (directory / "notes").mkdir()
    assert step_checkpoints.steps(directory) == [0]
    assert step_checkpoints.resolve(directory) == str(directory / "0" / "model.keras")
    linked_file = elsewhere / "1" / "model.keras"
    os.remove(linked_file)
    os.symlink(directory / "0" / "model.keras", linked_file)
    with pytest.raises(FileFormatError, match="not a regular file"):
        lamina.saving.load_model(elsewhere / "1")


def test_an_empty_directory_is_no_checkpoint(tmp_path):
    with pytest.raises(FileFormatError, match="is a directory"):
        lamina.saving.load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
        step_checkpoints.resolve(tmp_path)


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"save_freq": "batch"}, "save_freq"),
        ({"save_freq": 0}, "save_freq"),
        ({"max_to_keep": 0}, "max_to_keep"),
    ],
)
def test_arguments_are_checked_when_given(tmp_path, arguments, match):
    with pytest.raises(ValueError, match=match):
        OrbaxCheckpoint(tmp_path, **arguments)


def _dead_pid() -> int:
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    return child


def _leftover(folder, name, age):
    """A step folder's temporary as a write killed midway leaves it, `age` seconds old."""
    path = folder / name
    path.mkdir(parents=True)
    (path / step_checkpoints.MODEL_FILE).write_bytes(b"half a zip")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def test_the_next_save_removes_steps_killed_midway_and_spares_live_writers(tmp_path):
    dead, live = _dead_pid(), os.getppid()
    stale = atomic.STALE_SECONDS + 5
    gone = _leftover(tmp_path, f".3.lamina-{dead}-abcdefgh.tmp", stale)
    writing = _leftover(tmp_path, f".4.lamina-{live}-abcdefgh.tmp", stale)
    fresh = _leftover(tmp_path, f".5.lamina-{dead}-abcdefgh.tmp", 1)
    step_checkpoints.write_step(tmp_path, 7, step_checkpoints.MODEL_FILE, b"data")
    assert not gone.exists()
    assert writing.exists() and fresh.exists()  # a writer alive, or one that just died
    assert step_checkpoints.steps(tmp_path) == [7]


def test_an_unzipped_models_next_save_removes_its_killed_write(tmp_path):
    gone = _leftover(tmp_path, f".unzipped.lamina-{_dead_pid()}-abcdefgh.tmp", 3600 * 2)
    _model().save(tmp_path / "unzipped", zipped=False)
    assert not gone.exists()
    assert sorted(os.listdir(tmp_path)) == ["unzipped"]
