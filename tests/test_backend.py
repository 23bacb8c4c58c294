"""lamina.backend's Keras-style queries, and the model attributes tools read."""

import numpy as np
import pytest
import torch

import lamina


@pytest.mark.parity
def test_backend_queries_answer_as_keras_on_torch_does():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    for name in ("backend", "image_data_format", "epsilon"):
        assert getattr(lamina.backend, name)() == getattr(keras.backend, name)(), name


def test_compiled_model_reports_its_jit_compile_setting():
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1)])
    model.compile(loss="mse", jit_compile=False)
    assert model.jit_compile is False


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("int", torch.int32), (int, torch.int32), (float, torch.float32), ("float", torch.float32)],
)
def test_python_dtype_names_map_as_keras_on_torch(dtype, expected):
    # Keras's standardize_dtype: "int" and Python's int are int32 on torch, float is float32.
    assert lamina.backend.to_torch_dtype(dtype) is expected
    variable = lamina.Variable(initializer=np.arange(4), shape=(4,), dtype=dtype, trainable=False)
    assert variable.dtype == lamina.backend.standardize_dtype(dtype)


def test_an_unknown_dtype_names_what_is_supported():
    with pytest.raises(ValueError, match="Unsupported dtype 'float17'; expected one of"):
        lamina.backend.to_torch_dtype("float17")


def _complex_values(m):
    x = m.ops.ones((2,), dtype="complex64")
    flags = m.ops.isreal(m.ops.array([1 + 1j, 4.5, 2j], dtype="complex64"))
    return m.backend.result_type(x.dtype, int), m.ops.convert_to_numpy(flags).tolist()


@pytest.mark.parity
def test_complex_dtypes_are_dtypes_as_in_keras():
    # Before: to_torch_dtype refused "complex64" (Keras's result_type and isreal examples).
    from tests.parity import reference

    assert lamina.backend.to_torch_dtype("complex128") is torch.complex128
    assert _complex_values(lamina) == reference.keras_run(_complex_values)
