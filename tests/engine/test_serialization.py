"""Functional model configs (engine/serialization.py): written as Keras writes them and rebuilt
from them, custom layers with minimal `get_config()`s included."""

import json

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _scale_class(m):
    class Scale(m.layers.Layer):
        """A layer whose get_config() holds only its own argument: no `name`."""

        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    return Scale


def _wrapper_class(m):
    class Wrap(m.layers.Layer):
        """Holds a sub-layer and lists it, as an object, in its get_config()."""

        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

        def get_config(self):
            return {**super().get_config(), "inner": self.inner}

        @classmethod
        def from_config(cls, config):
            config["inner"] = m.layers.deserialize(config["inner"])
            return cls(**config)

    return Wrap


def _rebuild_scale_model(m):
    scale = _scale_class(m)
    inputs = m.Input((3,))
    outputs = m.layers.Dense(2)(scale(0.5)(inputs))
    model = m.Model(inputs, outputs)
    config = model.get_config()
    rebuilt = m.Model.from_config(config, custom_objects={"Scale": scale})
    return [type(layer).__name__ for layer in rebuilt.layers], rebuilt.output_shape


def test_custom_layer_without_name_in_its_config_rebuilds_in_a_functional_model():
    # The entry's `name` keys the graph; the rebuilt layer gets a fresh auto-name, so its nodes
    # must be found by the entry's name, not by the layer's.
    ours = _rebuild_scale_model(lamina)
    assert ours == (["InputLayer", "Scale", "Dense"], (None, 2))


@pytest.mark.parity
def test_custom_layer_without_name_rebuilds_as_in_keras():
    assert _rebuild_scale_model(lamina) == reference.keras_run(_rebuild_scale_model)


def _wrapped_config(m):
    wrap = _wrapper_class(m)
    inputs = m.Input((4,))
    outputs = wrap(m.layers.Dense(2, name="inner_dense"))(inputs)
    model = m.Model(inputs, outputs)
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["class_name"] == "Wrap")
    inner = entry["config"]["inner"]
    rebuilt = m.Model.from_config(json.loads(json.dumps(config)), custom_objects={"Wrap": wrap})
    return (
        sorted(inner),
        inner["class_name"],
        inner["config"]["units"],
        rebuilt.output_shape,
    )


def test_layer_objects_in_a_custom_config_are_serialized_as_keras_entries():
    # get_config() may hold a layer object; the model config must still be JSON and rebuild.
    ours = _wrapped_config(lamina)
    assert ours == (["class_name", "config", "module", "registered_name"], "Dense", 2, (None, 2))


@pytest.mark.parity
def test_layer_objects_in_a_custom_config_serialize_as_in_keras():
    ours = _wrapped_config(lamina)
    theirs = reference.keras_run(_wrapped_config)
    # Keras adds a build_config to a built sub-layer's entry; the rest is the same.
    assert ours[1:] == theirs[1:]
    assert set(ours[0]) <= set(theirs[0])


def test_rebuilt_model_with_renamed_layer_computes_the_same_function():
    scale = _scale_class(lamina)
    inputs = lamina.Input((3,))
    outputs = lamina.layers.Dense(2)(scale(2.0)(inputs))
    model = lamina.Model(inputs, outputs)
    rebuilt = lamina.Model.from_config(model.get_config(), custom_objects={"Scale": scale})
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
