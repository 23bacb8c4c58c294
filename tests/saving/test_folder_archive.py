"""Keras's unzipped model folder (saving/folder_archive.py): `model.save(path, zipped=False)`
writes the archive's files as a folder that lamina and Keras 3 both load; the folder is written
atomically and read without following links."""

import os

import numpy as np
import pytest

import lamina
from lamina.saving import FileFormatError
from tests.parity import reference

X = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)


def _model(m):
    inputs = m.Input((3,))
    model = m.Model(inputs, m.layers.Dense(2, name="head")(inputs))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.ones((4, 2), "float32"), epochs=1, verbose=0)
    return model


def test_an_unzipped_folder_round_trips_in_lamina_and_keras(tmp_path):
    ours = _model(lamina)
    ours.save(tmp_path / "ours", zipped=False)
    assert sorted(os.listdir(tmp_path / "ours")) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    expected = ours.predict(X, verbose=0)
    np.testing.assert_allclose(lamina.saving.load_model(tmp_path / "ours").predict(X), expected)
    keras_loaded = reference.keras.saving.load_model(str(tmp_path / "ours"))
    np.testing.assert_allclose(keras_loaded.predict(X, verbose=0), expected, atol=1e-6)

    theirs = reference.keras_run(_model)
    theirs.save(str(tmp_path / "theirs"), zipped=False)
    loaded = lamina.saving.load_model(tmp_path / "theirs")
    np.testing.assert_allclose(
        loaded.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-6
    )
    assert loaded.optimizer.iterations.numpy() == 1  # the optimizer's state came too


def test_an_unzipped_save_replaces_the_folder_and_refuses_a_keras_name(tmp_path):
    model = _model(lamina)
    model.save(tmp_path / "m", zipped=False)
    (tmp_path / "m" / "stale.txt").write_text("old")
    model.save(tmp_path / "m", zipped=False)
    assert not (tmp_path / "m" / "stale.txt").exists()  # the old folder is gone whole
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporaries left
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m", zipped=False, overwrite=False)
    with pytest.raises(ValueError, match="should not end in '.keras'"):
        model.save(tmp_path / "m.keras", zipped=False)
    model.save(tmp_path / "z.keras", zipped=True)  # zipped=True is the default's file
    assert (tmp_path / "z.keras").is_file()


def test_a_link_in_an_unzipped_folder_is_refused(tmp_path):
    _model(lamina).save(tmp_path / "m", zipped=False)
    outside = tmp_path / "secret.h5"
    os.replace(tmp_path / "m" / "model.weights.h5", outside)
    os.symlink(outside, tmp_path / "m" / "model.weights.h5")
    with pytest.raises(FileFormatError, match="symbolic link"):
        lamina.saving.load_model(tmp_path / "m")
