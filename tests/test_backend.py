"""lamina.backend's Keras-style queries, and the model attributes tools read."""

import pytest

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
