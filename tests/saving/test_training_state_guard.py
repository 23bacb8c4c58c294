"""BackupAndRestore's own file (saving/training_state.py) goes through the same HDF5 guard as
weight files: links to other files, external storage and declared shapes are checked before any
data is read, and a refused file changes nothing."""

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import FileFormatError, training_state


def model():
    built = lamina.Sequential([layers.Input((3,)), layers.Dense(2)])
    built.compile(optimizer="adam", loss="mse")
    built.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    return built


def backup(tmp_path, trained):
    path = tmp_path / "training_state.h5"
    state = lamina.backend.get_rng_state()
    training_state.write(
        path, trained, epoch=1, step=0, batches_seen=1, epoch_start_rng=state, rng=state
    )
    return path


def kernel_key(trained):
    return next(key for key in trained.state_dict() if key.endswith("kernel"))


def test_a_backup_round_trips(tmp_path):
    trained = model()
    state = training_state.read(backup(tmp_path, trained), trained)
    key = kernel_key(trained)
    np.testing.assert_array_equal(state["weights"][key], trained.state_dict()[key].numpy())


def test_an_external_link_in_a_backup_is_refused(tmp_path):
    trained = model()
    path = backup(tmp_path, trained)
    secret = tmp_path / "elsewhere.h5"
    with h5py.File(secret, "w") as other:
        other["data"] = np.full(trained.state_dict()[kernel_key(trained)].shape, 7.0, "float32")
    with h5py.File(path, "a") as file:
        del file["model"][kernel_key(trained)]
        file["model"][kernel_key(trained)] = h5py.ExternalLink(str(secret), "/data")
    with pytest.raises(FileFormatError, match=r"is an external link to '/data' in the file"):
        training_state.read(path, trained)


def test_a_huge_declared_shape_is_refused_before_reading(tmp_path):
    trained = model()
    path = backup(tmp_path, trained)
    with h5py.File(path, "a") as file:
        del file["model"][kernel_key(trained)]
        file["model"].create_dataset(
            kernel_key(trained), shape=(60000, 60000), dtype="float32", chunks=(64, 64)
        )
    with pytest.raises(FileFormatError, match=r"declares shape \(60000, 60000\); expected"):
        training_state.read(path, trained)


def test_external_raw_storage_is_refused(tmp_path):
    trained = model()
    path = backup(tmp_path, trained)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(6, "float32").tobytes())
    key = kernel_key(trained)
    with h5py.File(path, "a") as file:
        shape = file["model"][key].shape
        del file["model"][key]
        file["model"].create_dataset(
            key, shape=shape, dtype="float32", external=[(str(raw), 0, 24)]
        )
    with pytest.raises(FileFormatError, match=r"keeps its data in external file"):
        training_state.read(path, trained)
