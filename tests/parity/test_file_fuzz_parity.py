"""Files move between Keras 3 and lamina unchanged: the cases a differential fuzz of `.keras`,
`.h5` files and serialized configs found (random models saved by one framework, loaded by the
other). Each model is written once for both frameworks; the loaded model must predict what the
saved one predicts, with the same weights."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _nested_sequential(m):
    inner = m.Sequential([m.Input((4,)), m.layers.Dense(2, name="inner_dense")], name="inner")
    x = m.Input((3,), name="x")
    return m.Model(x, inner(m.layers.Dense(4)(x)))


def _nested_functional_called_twice(m):
    # Keras numbers a functional model's calls from 1 in a model's outputs and from 0 in its
    # nodes' arguments: each call must come back as itself.
    inner_input = m.Input((3,))
    inner = m.Model(inner_input, m.layers.Dense(3, name="inner_dense")(inner_input), name="inner")
    x = m.Input((3,), name="x")
    once = inner(x)
    twice = inner(m.layers.Dense(3, activation="tanh")(once))
    return m.Model(x, [once, twice])


def _chained_models(m):
    inner_input = m.Input((2,))
    functional = m.Model(inner_input, m.layers.Dense(3)(inner_input), name="fn")
    sequential = m.Sequential([m.Input((4,)), m.layers.Dense(2)], name="seq")
    x = m.Input((4,), name="x")
    return m.Model(x, functional(sequential(x)))


def _bidirectional(m):
    x = m.Input((5, 3))
    y = m.layers.Bidirectional(m.layers.GRU(2, return_sequences=True), merge_mode="sum")(x)
    backward = m.layers.SimpleRNN(2, go_backwards=True, return_sequences=True)
    y = m.layers.Bidirectional(m.layers.LSTM(2, return_sequences=True), backward_layer=backward)(y)
    return m.Model(x, m.layers.Bidirectional(m.layers.SimpleRNN(2))(y))


def _time_distributed(m):
    return m.Sequential(
        [m.Input((5, 3)), m.layers.TimeDistributed(m.layers.Dense(4)), m.layers.Flatten()]
    )


def _spatial_dropouts(m):
    # Keras's spatial dropouts take no `trainable` argument.
    x = m.Input((4, 4, 2))
    y = m.layers.SpatialDropout2D(0.2)(x)
    y = m.layers.Reshape((16, 2))(y)
    y = m.layers.SpatialDropout1D(0.2, seed=3)(y)
    return m.Model(x, m.layers.Dense(3)(y))


def _masked_attention(m):
    # Keras's graph holds the mask as an operation node (`x != 0`), which its legacy `.h5`
    # writes without a module.
    x = m.Input((6,), dtype="int32")
    embedded = m.layers.Embedding(12, 4, mask_zero=True)(x)
    attended = m.layers.MultiHeadAttention(num_heads=1, key_dim=3)(embedded, embedded)
    return m.Model(x, m.layers.GlobalAveragePooling1D()(attended))


BUILDERS = [
    _nested_sequential,
    _nested_functional_called_twice,
    _chained_models,
    _bidirectional,
    _time_distributed,
    _spatial_dropouts,
    _masked_attention,
]


def _inputs(model):
    shape = (2, *tuple(model.inputs[0].shape)[1:])
    rng = np.random.default_rng(0)
    if "int" in str(model.inputs[0].dtype):
        return rng.integers(0, 12, size=shape).astype("int32")  # zeros among them: masked
    return rng.standard_normal(shape).astype("float32")


def _assert_same_model(saved, loaded):
    x = _inputs(saved)
    np.testing.assert_allclose(
        np.asarray(loaded.predict(x, verbose=0)), np.asarray(saved.predict(x, verbose=0)), atol=1e-5
    )
    for ours, theirs in zip(loaded.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parity
@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's and lamina's notes on HDF5
def test_keras_files_load_in_lamina(build, ext, tmp_path):
    keras.backend.clear_session()
    theirs = build(keras)
    theirs.save(tmp_path / f"theirs.{ext}")
    _assert_same_model(theirs, lamina.models.load_model(tmp_path / f"theirs.{ext}"))


@pytest.mark.parity
@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lamina_files_load_in_keras(build, ext, tmp_path):
    ours = build(lamina)
    ours.save(tmp_path / f"ours.{ext}")
    _assert_same_model(ours, keras.models.load_model(tmp_path / f"ours.{ext}"))


@pytest.mark.parity
@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_serialized_models_cross_both_ways(build):
    keras.backend.clear_session()
    theirs = build(keras)
    entry = json.loads(json.dumps(keras.saving.serialize_keras_object(theirs)))
    ours = lamina.saving.deserialize_keras_object(entry)
    ours.set_weights(theirs.get_weights())
    _assert_same_model(theirs, ours)

    ours = build(lamina)
    entry = json.loads(json.dumps(lamina.saving.serialize_keras_object(ours)))
    theirs = keras.saving.deserialize_keras_object(entry)
    theirs.set_weights(ours.get_weights())
    _assert_same_model(ours, theirs)


def _model_names(entry) -> list:
    """(class_name, module, registered_name) of a saved model and of the models in it."""
    names = [(entry["class_name"], entry["module"], entry["registered_name"])]
    for layer in entry["config"].get("layers", []):
        if layer["class_name"] in ("Sequential", "Functional"):
            names += _model_names(layer)
    return names


@pytest.mark.parity
def test_models_are_named_in_files_as_keras_names_them(tmp_path):
    keras.backend.clear_session()
    _chained_models(keras).save(tmp_path / "theirs.keras")
    _chained_models(lamina).save(tmp_path / "ours.keras")
    saved = {}
    for side in ("theirs", "ours"):
        with zipfile.ZipFile(tmp_path / f"{side}.keras") as archive:
            saved[side] = _model_names(json.loads(archive.read("config.json")))
    assert saved["ours"] == saved["theirs"]
    assert len(saved["ours"]) == 3  # the model, its Functional and its Sequential


@pytest.mark.parity
@pytest.mark.parametrize("loader", ["lamina", "keras"])
def test_a_metric_object_of_one_output_keeps_its_log_name_after_recompile_and_reload(
    tmp_path, loader
):
    # lamina names a compiled metric object by its log key (`o1_root_mean_squared_error`); it
    # wrote that name into the file and took it again as the base of a second compile, so the
    # logs said `o1_o1_...` after a recompile and `o1_o1_o1_...` after a reload.
    x = lamina.Input((3,), name="x")
    model = lamina.Model(x, [lamina.layers.Dense(1, name=n)(x) for n in ("o1", "o2")])
    rmse = lamina.metrics.RootMeanSquaredError()
    features, labels = np.ones((4, 3), "float32"), [np.ones((4, 1), "float32")] * 2
    expected = {"loss", "o1_loss", "o2_loss", "o1_root_mean_squared_error", "o2_mae"}
    for _ in range(2):
        model.compile("sgd", ["mse", "mse"], metrics=[[rmse], ["mae"]])
        assert set(model.fit(features, labels, epochs=1, verbose=0).history) == expected
    assert (
        model.get_compile_config()["metrics"][0][0]["config"]["name"] == "root_mean_squared_error"
    )
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = (lamina if loader == "lamina" else keras).models.load_model(path)
    assert set(loaded.fit(features, labels, epochs=1, verbose=0).history) == expected
