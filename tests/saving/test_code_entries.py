"""Lambda functions and wrapped torch modules in saved files: written as Keras writes them where
it can, loaded from what the caller gives, never from code the file holds."""

import functools
import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import FileFormatError, custom_object_scope
from lamina.saving.code_entries import CodeNotGivenError
from tests.parity.reference import keras_run

X = np.arange(6, dtype="float32").reshape(2, 3) - 2.0


def double(x):
    return x * 2.0


def relu(x):  # a user's function named like a built-in: never taken for lamina's relu
    return x + 100.0


def _lambda_model(framework, function, name="scale"):
    inputs = framework.Input((3,))
    outputs = framework.layers.Lambda(function, output_shape=(3,), name=name)(inputs)
    return framework.Model(inputs, framework.layers.Dense(2, name="head")(outputs))


def _layer_config(path, name):
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]
    return next(entry for entry in config["layers"] if entry["config"]["name"] == name)["config"]


def test_named_function_round_trips_through_custom_objects(tmp_path):
    model = _lambda_model(lamina, double)
    path = tmp_path / "named.keras"
    model.save(path)
    written = _layer_config(path, "scale")["function"]
    assert (written["class_name"], written["config"]) == ("function", "double")
    with pytest.raises(CodeNotGivenError, match=r"'scale'.*'double'.*custom_objects=\{'double'"):
        lamina.models.load_model(path)
    loaded = lamina.models.load_model(path, custom_objects={"double": double})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_a_user_function_is_never_taken_for_a_builtin_of_the_same_name(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Lambda(relu, name="shift")])
    path = tmp_path / "shadow.keras"
    model.save(path)
    with pytest.raises(CodeNotGivenError, match="'relu'"):
        lamina.models.load_model(path)
    loaded = lamina.models.load_model(path, custom_objects={"relu": relu})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), X + 100.0)


def test_lamina_builtin_functions_load_without_help(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Lambda(lamina.activations.relu)])
    path = tmp_path / "builtin.keras"
    model.save(path)
    np.testing.assert_allclose(lamina.models.load_model(path).predict(X, verbose=0), X.clip(0))


@pytest.mark.parametrize("safe_mode", [True, False])
def test_anonymous_function_is_never_run_from_the_file(tmp_path, safe_mode):
    model = _lambda_model(lamina, lambda x: x * 2.0)
    path = tmp_path / "anonymous.keras"
    model.save(path)
    assert _layer_config(path, "scale")["function"]["class_name"] == "__lambda__"
    with pytest.raises(CodeNotGivenError, match=r"'scale'.*anonymous.*custom_objects=\{'scale'"):
        lamina.models.load_model(path, safe_mode=safe_mode)
    loaded = lamina.models.load_model(
        path, custom_objects={"scale": lambda x: x * 2.0}, safe_mode=safe_mode
    )
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_a_callable_without_a_name_saves_and_loads_by_the_layer_name(tmp_path):
    model = lamina.Sequential(
        [lamina.Input((3,)), layers.Lambda(functools.partial(torch.mul, other=3.0), name="triple")]
    )
    path = tmp_path / "partial.keras"
    model.save(path)  # it once failed here: a partial has no name and no config
    with pytest.raises(CodeNotGivenError, match="'triple'.*no name"):
        lamina.models.load_model(path)
    given = {"triple": functools.partial(torch.mul, other=3.0)}
    loaded = lamina.models.load_model(path, custom_objects=given)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), X * 3.0)


def test_callable_output_shape_and_mask_are_resolved_too():
    def shape_of(input_shape):
        return input_shape

    def keep_mask(inputs, mask):
        return mask

    layer = layers.Lambda(double, output_shape=shape_of, mask=keep_mask, name="both")
    config = json.loads(json.dumps(layer.get_config()))
    with custom_object_scope({"double": double, "shape_of": shape_of, "keep_mask": keep_mask}):
        rebuilt = layers.Lambda.from_config(config)
    assert (rebuilt.function, rebuilt._output_shape, rebuilt.mask) == (
        double,
        shape_of,
        keep_mask,
    )


def test_keras2_h5_lambda_configs():
    named = {"name": "f", "function": "double", "function_type": "function", "module": "m"}
    with custom_object_scope({"double": double}):
        assert layers.Lambda.from_config(named).function is double
    coded = {"name": "g", "function": ["4wEAAA==", None, None], "function_type": "lambda"}
    with pytest.raises(CodeNotGivenError, match="'g'"):
        layers.Lambda.from_config(coded)


def test_legacy_deserialize_finds_lambda_functions_in_custom_objects():
    entry = {"class_name": "Lambda", "config": {"name": "d", "function": "double"}}
    layer = lamina.utils.legacy.deserialize_keras_object(
        entry, module_objects=vars(lamina.layers), custom_objects={"double": double}
    )
    assert layer.function is double


def test_lamina_lambda_files_load_in_keras_and_back(tmp_path):
    ours = _lambda_model(lamina, double)
    named, anonymous = tmp_path / "named.keras", tmp_path / "anonymous.keras"
    ours.save(named)
    _lambda_model(lamina, lambda x: x * 2.0).save(anonymous)
    expected = ours.predict(X, verbose=0)

    def keras_loads(keras):
        by_name = keras.models.load_model(named, custom_objects={"double": double})
        coded = keras.models.load_model(anonymous, safe_mode=False)
        keras_file = tmp_path / "keras.keras"
        by_name.save(keras_file)
        return by_name.predict(X, verbose=0), coded.layers[1](X).numpy(), keras_file

    theirs, coded, keras_file = keras_run(keras_loads)
    np.testing.assert_allclose(theirs, expected, rtol=1e-6)
    np.testing.assert_allclose(coded, X * 2.0)
    back = lamina.models.load_model(keras_file, custom_objects={"double": double})
    np.testing.assert_allclose(back.predict(X, verbose=0), expected, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# TorchModuleWrapper


def _wrapped_model():
    inputs = lamina.Input((3,))
    body = layers.TorchModuleWrapper(
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)), name="body"
    )
    return lamina.Model(inputs, layers.Dense(1, name="head")(body(inputs)))


def test_wrapped_module_loads_into_the_module_the_caller_gives(tmp_path):
    model = _wrapped_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, X[:, :1], epochs=2, verbose=0)  # moves BatchNorm's running statistics too
    path = tmp_path / "wrapped.keras"
    model.save(path)
    written = _layer_config(path, "body")["module"]
    assert written["config"]["class"] == "torch.nn.modules.container.Sequential"
    with pytest.raises(CodeNotGivenError, match=r"'body'.*never unpickles.*custom_objects"):
        lamina.models.load_model(path)

    def make():
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))

    for given in (make(), make):
        loaded = lamina.models.load_model(path, custom_objects={"body": given})
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    with pytest.raises(FileFormatError, match="expects 2 weights.*has 7"):
        lamina.models.load_model(path, custom_objects={"body": torch.nn.Linear(3, 5)})


def test_keras_pickled_module_is_refused_with_the_hint():
    config = {"name": "body", "module": "gASVpickled=="}
    with pytest.raises(CodeNotGivenError, match="pickled by Keras"):
        layers.TorchModuleWrapper.from_config(config)


def test_clone_copies_the_module_with_fresh_parameters():
    model = _wrapped_model()
    clone = lamina.models.clone_model(model)
    original, copied = model.get_layer("body").module, clone.get_layer("body").module
    assert copied is not original and repr(copied) == repr(original)
    assert not torch.equal(copied[0].weight, original[0].weight)
    assert clone.predict(X, verbose=0).shape == (2, 1)
