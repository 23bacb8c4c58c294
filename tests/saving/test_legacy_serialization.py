"""Keras 2's `{"class_name", "config"}` format: what lamina writes matches Keras, what either
writes the other reads, and nothing in a config runs code."""

import pytest

import lamina
from lamina.legacy.saving import deserialize_keras_object, serialize_keras_object
from tests.parity import reference


def _objects(ns):
    return [
        ns.initializers.RandomNormal(mean=1.0, stddev=2.0, seed=3),
        ns.initializers.Constant(0.5),
        ns.regularizers.L1L2(l1=0.1, l2=0.2),
        ns.constraints.MaxNorm(max_value=3.0, axis=1),
        ns.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
    ]


@pytest.mark.parametrize("index", range(5))
def test_serialized_objects_match_keras(index):
    ours = serialize_keras_object(_objects(lamina)[index])
    theirs = reference.keras_legacy_serialized(lambda keras: _objects(keras)[index])
    assert ours == theirs


def test_functions_and_none_serialize_to_names():
    assert serialize_keras_object(lamina.activations.gelu) == "gelu"
    assert serialize_keras_object(None) is None
    assert reference.keras_legacy_serialized(lambda keras: keras.activations.gelu) == "gelu"
    with pytest.raises(ValueError, match="doesn't implement `get_config\\(\\)`"):
        serialize_keras_object(3)


@lamina.saving.register_keras_serializable(package="legacy_test")
class Holder(lamina.layers.Layer):
    def __init__(self, initializer=None, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.initializer = initializer
        self.activation = activation

    def get_config(self):
        return {
            **super().get_config(),
            "initializer": self.initializer,
            "activation": self.activation,
        }


def test_nested_objects_are_marked_passive_and_come_back():
    holder = Holder(lamina.initializers.Constant(2.0), lamina.activations.tanh, name="h")
    entry = serialize_keras_object(holder)
    assert entry["class_name"] == "legacy_test>Holder"
    assert entry["config"]["initializer"] == {
        "class_name": "Constant",
        "config": {"value": 2.0},
        "__passive_serialization__": True,
    }
    assert entry["config"]["activation"] == "tanh"
    restored = deserialize_keras_object(entry, module_objects=vars(lamina.initializers))
    assert isinstance(restored, Holder) and restored.name == "h"
    assert isinstance(restored.initializer, lamina.initializers.Constant)
    assert restored.initializer.value == 2.0
    # "tanh" names a function only when the caller's modules know it.
    assert restored.activation == "tanh"
    restored = deserialize_keras_object(
        entry, module_objects={**vars(lamina.initializers), **vars(lamina.activations)}
    )
    assert restored.activation is lamina.activations.tanh


def test_reads_what_keras_writes():
    def build(ns):
        return ns.layers.Dense(
            4,
            activation="relu",
            kernel_initializer=ns.initializers.RandomNormal(stddev=0.3, seed=7),
            name="d",
        )

    entry = reference.keras_legacy_serialized(build)
    layer = deserialize_keras_object(entry, module_objects=vars(lamina.layers))
    assert (layer.name, layer.units) == ("d", 4)
    assert layer.activation is lamina.activations.relu
    assert layer.kernel_initializer.stddev == pytest.approx(0.3)
    assert layer.kernel_initializer.seed == 7


def test_keras_reads_what_lamina_writes():
    entry = serialize_keras_object(lamina.layers.Dense(5, use_bias=False, name="e"))
    config = reference.keras_legacy_deserialized_config(entry, "layers")
    assert (config["name"], config["units"], config["use_bias"]) == ("e", 5, False)


def test_names_are_found_only_where_the_caller_says():
    entry = {"class_name": "Dense", "config": {"units": 2}}
    with pytest.raises(ValueError, match="Unknown layer: 'Dense'"):
        deserialize_keras_object(entry, printable_module_name="layer")
    found = deserialize_keras_object(entry, custom_objects={"Dense": lamina.layers.Dense})
    assert found.units == 2
    with lamina.saving.custom_object_scope({"Dense": lamina.layers.Dense}):
        assert deserialize_keras_object(entry).units == 2
    # A name alone: a class is instantiated, a function returned.
    assert isinstance(
        deserialize_keras_object("Zeros", module_objects=vars(lamina.initializers)),
        lamina.initializers.Zeros,
    )
    assert deserialize_keras_object("relu", module_objects=vars(lamina.activations)) is (
        lamina.activations.relu
    )
    assert deserialize_keras_object(None) is None
    with pytest.raises(ValueError, match="Improper config format"):
        deserialize_keras_object({"config": {}})
    with pytest.raises(ValueError, match="Could not interpret serialized object: 3"):
        deserialize_keras_object(3)


def test_lambda_functions_come_from_the_caller_never_from_the_config():
    entry = {
        "class_name": "Sequential",
        "config": {"layers": [{"class_name": "Lambda", "config": {"function": "f"}}]},
    }
    with pytest.raises(ValueError, match="calls the function 'f'.*custom_objects"):
        deserialize_keras_object(entry, module_objects=vars(lamina.models))
    model = deserialize_keras_object(
        entry, module_objects=vars(lamina.models), custom_objects={"f": abs}
    )
    assert model.layers[0].function is abs


def test_utils_legacy_is_the_same_pair():
    assert lamina.utils.legacy.serialize_keras_object is serialize_keras_object
    assert lamina.utils.legacy.deserialize_keras_object is deserialize_keras_object
