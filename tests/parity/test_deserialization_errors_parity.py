"""Malformed entries are refused as Keras refuses them (same exception type), with a message
that names what is wrong, never a KeyError or a silent substitute: a registered_name that names
nothing registered while the class_name is a built-in, a config of the wrong type, a Sequential
layer entry without class_name."""

from __future__ import annotations

import pytest

import lamina
from tests.parity.reference import keras

DENSE = {"class_name": "Dense", "module": "keras.layers", "config": {"units": 1}}

BAD = {
    "class_registered_name": (
        {**DENSE, "registered_name": "my_pkg>MyDense"},
        ValueError,
        r"registered_name='my_pkg>MyDense' names no registered object",
    ),
    "function_registered_name": (
        {"class_name": "function", "module": "builtins", "registered_name": "x", "config": "relu"},
        ValueError,
        r"resolved to the built-in 'relu'",
    ),
    "function_config_not_str": (
        {"class_name": "function", "module": "builtins", "config": ["relu"]},
        TypeError,
        r"expects 'config' to be the function's name",
    ),
    "class_config_not_dict": (
        {"class_name": "Dense", "module": "keras.layers", "config": [1, 2]},
        TypeError,
        r"'Dense' expects 'config' to be a dict",
    ),
    "sequential_layer_without_class_name": (
        {
            "class_name": "Sequential",
            "module": "keras",
            "config": {"name": "s", "layers": [DENSE, {}]},
        },
        ValueError,
        r"each layer as a dict with 'class_name' and 'config' keys; received \{\}",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_entries_refused_like_keras(case):
    entry, error, message = BAD[case]
    with pytest.raises(error):
        keras.saving.deserialize_keras_object(entry)
    with pytest.raises(error, match=message):
        lamina.saving.deserialize_keras_object(entry)


@pytest.mark.parametrize("registered_name", [None, "Dense"])
def test_registered_name_of_the_builtin_itself_passes(registered_name):
    entry = {**DENSE, "registered_name": registered_name}
    assert lamina.saving.deserialize_keras_object(entry).units == 1
    assert keras.saving.deserialize_keras_object(entry).units == 1


def test_layer_entry_with_foreign_registered_name_refused_in_model_config():
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    config = model.get_config()
    config["layers"][-1]["registered_name"] = "my_pkg>Dense"
    with pytest.raises(ValueError, match="refusing to substitute the built-in"):
        lamina.Sequential.from_config(config)


def test_function_registered_before_keras_3_7_found_by_bare_name():
    """Keras <= 3.6 wrote a registered function by its bare name; both frameworks find it."""

    def squared_for_old_files(x):
        return x**2

    entry = {
        "module": "builtins",
        "class_name": "function",
        "config": "squared_for_old_files",
        "registered_name": "function",
    }
    for framework in (keras, lamina):
        known = {"old_pkg>squared_for_old_files": squared_for_old_files}
        with framework.saving.custom_object_scope(known):
            assert framework.saving.deserialize_keras_object(entry) is squared_for_old_files
