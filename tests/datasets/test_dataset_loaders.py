"""Data set loaders read tiny files written here in each standard format (no downloads)."""

import gzip
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from lamina.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    mnist,
)
from lamina.datasets.archive import safe_unpickle


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """Point every cache folder at an empty temporary home."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("LAMINA_HOME", raising=False)
    return tmp_path / "home" / ".keras" / "datasets"


def rows(count, seed):
    return np.random.default_rng(seed).integers(0, 256, (count, 3072), dtype=np.uint8)


def planar_to_images(data):
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def test_mnist_from_the_cache_folder(empty_cache):
    empty_cache.mkdir(parents=True)
    arrays = {
        "x_train": np.ones((3, 28, 28), np.uint8),
        "y_train": np.arange(3, dtype=np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8),
        "y_test": np.arange(2, dtype=np.uint8),
    }
    np.savez(empty_cache / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (3, 28, 28) and x_train.dtype == np.uint8
    assert y_test.tolist() == [0, 1]


def test_missing_file_says_which_file_to_place_where(empty_cache):
    with pytest.raises(
        FileNotFoundError,
        match=r"Place 'mnist.npz' \(download it from https://"
        r".*mnist.npz\) at '.*\.keras/datasets/mnist.npz'",
    ):
        mnist.load_data()
    with pytest.raises(FileNotFoundError, match="cifar10: .*Place 'cifar-10-batches-py'"):
        cifar10.load_data()


def test_keras_home_is_searched(tmp_path, monkeypatch):
    folder = tmp_path / "elsewhere" / "datasets"
    folder.mkdir(parents=True)
    np.savez(folder / "boston_housing.npz", x=np.zeros((10, 13)), y=np.arange(10.0))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "elsewhere"))
    (x_train, _), (x_test, _) = boston_housing.load_data()
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13)


def test_boston_split_follows_keras_shuffle(tmp_path):
    x = np.arange(50 * 13, dtype=np.float64).reshape(50, 13)
    y = np.arange(50, dtype=np.float64)
    np.savez(tmp_path / "boston.npz", x=x, y=y)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(tmp_path / "boston.npz")
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    assert y_train.tolist() == order[:40].tolist() and y_test.tolist() == order[40:].tolist()
    np.testing.assert_array_equal(x_test, x[order[40:]])


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def test_fashion_mnist_reads_the_idx_files(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[:2])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(2, dtype=np.uint8))
    (x_train, y_train), (x_test, _) = fashion_mnist.load_data(folder)
    np.testing.assert_array_equal(x_train, images)
    assert y_train.tolist() == [0, 1, 2, 3] and x_test.shape == (2, 28, 28)
    x_train[0, 0, 0] = 1  # writable, unlike a bare frombuffer array


def cifar10_python_files(folder, per_batch=2):
    folder.mkdir(parents=True)
    expected = []
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rows(per_batch, index)
        labels = [(index + j) % 10 for j in range(per_batch)]
        # Protocol 2 with bytes keys: what the real (Python 2) batches decode to.
        with open(folder / name, "wb") as handle:
            pickle.dump(
                {b"data": data, b"labels": labels, b"batch_label": b"x"}, handle, protocol=2
            )
        expected.append((data, labels))
    return expected


def check_cifar10(result, expected):
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (10, 1) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[:2], planar_to_images(expected[0][0]))
    np.testing.assert_array_equal(x_test, planar_to_images(expected[5][0]))
    assert y_test[:, 0].tolist() == expected[5][1]


def test_cifar10_python_version_folder_and_tarball(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    expected = cifar10_python_files(folder)
    check_cifar10(cifar10.load_data(folder), expected)
    tarball = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(folder, arcname="cifar-10-batches-py")
    check_cifar10(cifar10.load_data(tarball), expected)


def test_cifar10_binary_version(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected = []
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data, labels = rows(2, index), [index, (index + 3) % 10]
        records = np.concatenate([np.asarray(labels, np.uint8)[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
        expected.append((data, labels))
    check_cifar10(cifar10.load_data(folder), expected)


def test_cifar100_python_and_binary_label_modes(tmp_path):
    data, fine, coarse = rows(3, 1), [5, 50, 99], [1, 10, 19]
    python = tmp_path / "cifar-100-python"
    python.mkdir()
    for name in ("train", "test"):
        with open(python / name, "wb") as handle:
            pickle.dump(
                {b"data": data, b"fine_labels": fine, b"coarse_labels": coarse}, handle, protocol=2
            )
    binary = tmp_path / "cifar-100-binary"
    binary.mkdir()
    records = np.concatenate([np.stack([coarse, fine], 1).astype(np.uint8), data], axis=1)
    for name in ("train.bin", "test.bin"):
        (binary / name).write_bytes(records.tobytes())
    for folder in (python, binary):
        (x_train, y_fine), _ = cifar100.load_data(path=folder)
        _, (_, y_coarse) = cifar100.load_data("coarse", path=folder)
        np.testing.assert_array_equal(x_train, planar_to_images(data))
        assert y_fine.dtype == np.int64 and y_fine[:, 0].tolist() == fine
        assert y_coarse[:, 0].tolist() == coarse
    with pytest.raises(ValueError, match="label_mode 'fine' or 'coarse'"):
        cifar100.load_data("medium", path=python)


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo owned",))


def test_restricted_unpickler_refuses_code():
    with pytest.raises(pickle.UnpicklingError, match="Refusing to load .*system"):
        safe_unpickle(io.BytesIO(pickle.dumps({b"data": Exploit()}, protocol=2)))
    plain = {"a": [1, 2.5, "text"], b"b": np.arange(3)}
    loaded = safe_unpickle(io.BytesIO(pickle.dumps(plain, protocol=4)))
    assert loaded["a"] == [1, 2.5, "text"] and loaded[b"b"].tolist() == [0, 1, 2]


def test_california_housing_splits_as_keras_and_has_a_small_version(tmp_path):
    x = np.arange(700 * 8, dtype=np.float64).reshape(700, 8)
    y = np.arange(700, dtype=np.float64)
    np.savez(tmp_path / "cal.npz", x=x, y=y)
    (x_train, y_train), (x_test, y_test) = california_housing.load_data(path=tmp_path / "cal.npz")
    order = np.arange(700)
    np.random.RandomState(113).shuffle(order)
    assert y_train.tolist() == order[:560].tolist() and y_test.tolist() == order[560:].tolist()
    np.testing.assert_array_equal(x_test, x[order[560:]])
    (x_small, _), (x_small_test, y_small_test) = california_housing.load_data(
        version="small", path=tmp_path / "cal.npz", test_split=0.5, seed=1
    )
    assert len(x_small) + len(x_small_test) == 600 and y_small_test.max() < 600


def test_california_housing_refuses_bad_arguments_and_names_the_missing_file():
    with pytest.raises(ValueError, match="version must be 'small' or 'large'"):
        california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match=r"test_split must be in \[0, 1\)"):
        california_housing.load_data(test_split=1.0)
    with pytest.raises(FileNotFoundError, match="california_housing.npz"):
        california_housing.load_data()
