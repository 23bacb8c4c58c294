"""bfloat16 and float16 weights through every save format: bit-exact round trips, and Keras's
`.weights.h5` layout for bfloat16 (opaque 2-byte values marked `dtype="bfloat16"`) both ways."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving.errors import FileFormatError
from tests.parity import reference


def _dense_model(dtype, seed=0):
    lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((4,))
    return lamina.Model(inputs, layers.Dense(3, dtype=dtype, name="dense")(inputs), name="low")


def _bits(model):
    """Each weight's raw bits (float16 and bfloat16 viewed as int16): equal bits, equal weights."""
    return [w.detach().cpu().view(torch.int16).numpy() for w in model.weights]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("fmt", ["weights.h5", "keras", "h5"])
def test_low_precision_model_round_trips_bit_exactly(tmp_path, dtype, fmt):
    model = _dense_model(dtype)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    path = str(tmp_path / f"model.{fmt}")
    if fmt == "weights.h5":
        model.save_weights(path)
        loaded = _dense_model(dtype, seed=1)  # other weights until the file is read
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = lamina.saving.load_model(path)
    assert [w.dtype for w in loaded.weights] == [getattr(torch, dtype)] * 2
    for saved, restored in zip(_bits(model), _bits(loaded), strict=True):
        np.testing.assert_array_equal(saved, restored)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0).astype("float32"),
        model.predict(x, verbose=0).astype("float32"),
    )


def test_bfloat16_weights_are_stored_as_keras_stores_them(tmp_path):
    model = _dense_model("bfloat16")
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as file:
        kernel = file["layers/dense/vars/0"]
        assert kernel.dtype.kind == "V" and kernel.dtype.itemsize == 2
        assert kernel.attrs["dtype"] == "bfloat16"
        assert file["layers/dense/vars/1"].attrs["dtype"] == "bfloat16"
    float_path = tmp_path / "float.weights.h5"
    _dense_model("float32").save_weights(float_path)
    with h5py.File(float_path, "r") as file:  # float32 files are unchanged: no mark
        assert file["layers/dense/vars/0"].dtype == np.float32
        assert "dtype" not in file["layers/dense/vars/0"].attrs


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_keras_loads_lamina_low_precision_weights(tmp_path, dtype):
    model = _dense_model(dtype)
    path = str(tmp_path / "lamina.weights.h5")
    model.save_weights(path)
    x = np.random.default_rng(1).normal(size=(4, 4)).astype("float32")
    facts = reference.keras_low_precision_dense_io(dtype, load_path=path, x=x)
    assert facts["dtypes"] == [dtype, dtype]
    for ours, theirs in zip(model.get_weights(), facts["weights"], strict=True):
        np.testing.assert_array_equal(ours.astype("float32"), theirs)
    np.testing.assert_allclose(
        model.predict(x, verbose=0).astype("float32"), facts["prediction"], rtol=1e-2, atol=1e-2
    )


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_lamina_loads_keras_low_precision_weights(tmp_path, dtype):
    path = str(tmp_path / "keras.weights.h5")
    facts = reference.keras_low_precision_dense_io(dtype, save_path=path)
    model = _dense_model(dtype, seed=3)
    model.load_weights(path)
    assert [w.dtype for w in model.weights] == [getattr(torch, dtype)] * 2
    for ours, theirs in zip(model.get_weights(), facts["weights"], strict=True):
        np.testing.assert_array_equal(ours.astype("float32"), theirs)


def test_bfloat16_file_loads_into_float32_model_exactly(tmp_path):
    path = tmp_path / "model.weights.h5"
    source = _dense_model("bfloat16")
    source.save_weights(path)
    target = _dense_model("float32", seed=2)
    target.load_weights(path)
    assert target.weights[0].dtype == torch.float32
    for ours, theirs in zip(target.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs.astype("float32"))


def test_unmarked_opaque_dataset_is_still_refused(tmp_path):
    path = tmp_path / "model.weights.h5"
    _dense_model("bfloat16").save_weights(path)
    with h5py.File(path, "a") as file:
        del file["layers/dense/vars/0"].attrs["dtype"]
    with pytest.raises(FileFormatError, match=r"dtype \|V2 \(kind 'V'\); weights are numbers"):
        _dense_model("bfloat16").load_weights(path)


def test_wide_opaque_dataset_marked_bfloat16_is_refused(tmp_path):
    path = tmp_path / "model.weights.h5"
    _dense_model("bfloat16").save_weights(path)
    with h5py.File(path, "a") as file:
        del file["layers/dense/vars/0"]
        fake = file["layers/dense/vars"].create_dataset("0", data=np.zeros((4, 3), dtype="V4"))
        fake.attrs["dtype"] = "bfloat16"
    with pytest.raises(FileFormatError, match=r"dtype \|V4 \(kind 'V'\)"):
        _dense_model("bfloat16").load_weights(path)
