"""A mixed-precision model saved to .keras keeps its layers' policies, as Keras writes them."""

import json
import zipfile

import numpy as np
import torch

import lamina
from lamina import layers
from tests.parity import reference


def _layer_dtypes(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {
        entry["config"]["name"]: entry["config"]["dtype"]
        for entry in config["config"]["layers"]
        if entry["class_name"] != "InputLayer"
    }


def _lamina_model():
    return lamina.Sequential(
        [
            lamina.Input((5,)),
            layers.Dense(4, activation="relu", dtype="mixed_bfloat16", name="hidden"),
            layers.Dense(3, dtype="mixed_float16", name="logits"),
            layers.Activation("softmax", dtype="float32", name="probabilities"),
        ],
        name="mixed",
    )


def test_saved_config_holds_the_policies_as_keras_writes_them(tmp_path):
    model = _lamina_model()
    model.save(tmp_path / "lamina.keras")
    reference.keras_save_mixed_model(tmp_path / "keras.keras", weights=model.get_weights())
    ours = _layer_dtypes(tmp_path / "lamina.keras")
    assert ours == _layer_dtypes(tmp_path / "keras.keras")
    assert ours["hidden"]["config"] == {"name": "mixed_bfloat16"}


def test_loading_keeps_policies_and_outputs(tmp_path):
    model = _lamina_model()
    x = torch.randn(6, 5)
    expected = model(x)
    model.save(tmp_path / "model.keras")
    loaded = lamina.saving.load_model(tmp_path / "model.keras")
    assert [layer.dtype_policy.name for layer in loaded.layers] == [
        "mixed_bfloat16",
        "mixed_float16",
        "float32",
    ]
    assert all(w.dtype == torch.float32 for w in loaded.weights)
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)


def test_a_keras_saved_mixed_model_loads_with_its_policies(tmp_path):
    model = _lamina_model()
    reference.keras_save_mixed_model(tmp_path / "keras.keras", weights=model.get_weights())
    loaded = lamina.saving.load_model(tmp_path / "keras.keras")
    assert [layer.compute_dtype for layer in loaded.layers] == ["bfloat16", "float16", "float32"]
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_compiled_float16_model_saves_and_resumes_its_loss_scale(tmp_path):
    lamina.mixed_precision.set_global_policy("mixed_float16")
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((8, 4), "float32"), np.ones((8, 2), "float32")
    model.fit(x, y, batch_size=4, verbose=0)
    model.optimizer.dynamic_scale.fill_(512.0)  # as after some overflows
    model.save(tmp_path / "model.keras")
    lamina.backend.clear_session()  # the file, not the global policy, brings the policies back
    loaded = lamina.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, lamina.mixed_precision.LossScaleOptimizer)
    assert float(loaded.optimizer.dynamic_scale) == 512.0
    assert loaded.optimizer.iterations == model.optimizer.iterations >= 1
    assert loaded.layers[0].compute_dtype == "float16"
