"""Functional model configs (engine/serialization.py): written as Keras writes them and rebuilt
from them, custom layers with minimal `get_config()`s included."""

import json
import warnings

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


def _filled_class(m):
    class Filled(m.layers.Layer):
        """A layer whose build takes one more argument than the input shape."""

        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape, fill):
            self.fill = fill
            self.shape_seen = list(input_shape)
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units), initializer=m.initializers.Constant(fill)
            )

        def call(self, x):
            return m.ops.matmul(x, self.w)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

        def get_build_config(self):
            return {"input_shape": self.shape_seen, "fill": self.fill}

        def build_from_config(self, config):
            self.build(config["input_shape"], config["fill"])

    return Filled


def _rebuilt_filled(m, path):
    filled = _filled_class(m)
    layer = filled(units=3)
    layer.build((None, 4), fill=0.5)
    model = m.Sequential([layer, m.layers.Dense(1)])
    model(np.ones((2, 4), dtype="float32"))
    model.save(path)
    restored = m.models.load_model(path, custom_objects={"Filled": filled})
    first = restored.layers[0]
    return first.fill, bool(restored.built), first.w.numpy().shape


def test_a_layer_with_its_own_build_config_is_built_from_it(tmp_path):
    assert _rebuilt_filled(lamina, tmp_path / "filled.keras") == (0.5, True, (4, 3))


@pytest.mark.parity
def test_own_build_config_rebuilds_as_in_keras(tmp_path):
    ours = _rebuilt_filled(lamina, tmp_path / "ours.keras")
    assert ours == reference.keras_run(lambda m: _rebuilt_filled(m, tmp_path / "theirs.keras"))


def test_only_a_layer_stating_its_build_config_carries_one():
    # Built-in layers are built as the graph is replayed: lamina's recorded input shape is not
    # Keras's build_config for a build of several shapes (MultiHeadAttention), which Keras would
    # call wrongly, so only a layer with its own get_build_config writes one.
    filled = _filled_class(lamina)(units=2)
    filled.build((None, 3), fill=1.0)
    model = lamina.Sequential([lamina.Input((3,)), filled, lamina.layers.Dense(1)])
    entries = {e["class_name"]: e for e in model.get_config()["layers"]}
    assert entries["Filled"]["build_config"] == {"input_shape": [None, 3], "fill": 1.0}
    assert "build_config" not in entries["Dense"]
    assert "build_config" not in entries["InputLayer"]


# Keras's automatic config: a custom layer that writes no get_config() saves and loads when its
# constructor took plain values; one given an object (a layer) has none to give.
def _auto_config_facts(m, tmp_path):
    class Shift(m.layers.Layer):
        def __init__(self, offset, scale=(2, 2), mode="add", **kwargs):
            super().__init__(**kwargs)
            self.offset, self.scale, self.mode = offset, scale, mode

        def call(self, x):
            return x * self.scale[0] + self.offset

    class Fixed(m.layers.Layer):
        def __init__(self, offset):
            super().__init__()
            self.offset = offset

        def call(self, x):
            return x + self.offset

    # Fixed's config is written, without `name` (its __init__ takes none), but as in Keras it
    # cannot load: its __init__ takes no `trainable` or `dtype` either.
    shift, fixed = Shift(1.5, name="shift"), Fixed(offset=3)
    inputs = m.Input((2,))
    model = m.Model(inputs, shift(inputs))
    path = str(tmp_path / f"auto_{m.__name__}.keras")
    model.save(path)
    loaded = m.saving.load_model(path, custom_objects={"Shift": Shift})
    x = np.array([[1.0, 2.0]], "float32")
    shift_config = {k: v for k, v in shift.get_config().items() if k != "dtype"}
    return shift_config, sorted(fixed.get_config()), np.asarray(loaded.predict(x, verbose=0))


def test_a_custom_layer_without_get_config_keeps_its_constructor_arguments(tmp_path):
    shift_config, fixed_keys, predicted = _auto_config_facts(lamina, tmp_path)
    assert shift_config == {
        "name": "shift",
        "offset": 1.5,
        "scale": (2, 2),
        "mode": "add",
        "trainable": True,
    }
    assert fixed_keys == ["dtype", "offset", "trainable"]  # its __init__ takes no name
    np.testing.assert_allclose(predicted, [[3.5, 5.5]])


def test_a_custom_layer_given_an_object_has_no_automatic_config():
    class Wraps(lamina.layers.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

    assert "inner" not in Wraps(lamina.layers.Dense(2)).get_config()


@pytest.mark.parity
def test_automatic_config_matches_keras(tmp_path):
    ours = _auto_config_facts(lamina, tmp_path)
    theirs = _auto_config_facts(reference.keras, tmp_path)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2])


def test_a_layer_made_inside_a_compiled_call_still_traces():
    # Keeping constructor arguments must not stop torch.compile from tracing a call that makes a
    # layer (keras-io's SSVEPFormer builds a Reshape in call() under jit_compile=True).
    import torch

    class MakesReshape(lamina.layers.Layer):
        def call(self, x):
            return lamina.layers.Reshape((1, -1))(x)

    model = lamina.Sequential([lamina.Input((4,)), MakesReshape()])
    out = torch.compile(model, backend="eager")(torch.ones(2, 4))
    assert tuple(out.shape) == (2, 1, 4)


def test_functional_config_round_trip_keeps_tuples_and_layer_trainable_flags():
    # As Keras: a tuple of outputs comes back a tuple, and a frozen model's restored layers keep
    # the `trainable` their configs hold.
    inputs = lamina.Input((3,), batch_size=2)
    dense = lamina.layers.Dense(4)(inputs)
    model = lamina.Model(inputs, (dense, lamina.layers.Dense(5)(dense)), trainable=False)
    restored = lamina.Model.from_config(model.get_config())
    assert isinstance(restored(np.ones((2, 3), "float32")), tuple)
    assert restored.get_config() == model.get_config()
    assert not restored.trainable and restored.layers[1].trainable
    assert not restored.trainable_weights


def _shared_dense_config(k):
    # The layer is called in another model first: the saved graph numbers only its own nodes.
    dense = k.layers.Dense(3, name="d")
    first = k.Input((3,))
    k.Model(first, dense(first))
    inputs = k.Input((3,), name="b")
    return k.Model(inputs, dense(dense(inputs))).get_config()


def test_a_layer_called_outside_the_model_is_numbered_as_keras():
    ours, theirs = _shared_dense_config(lamina), _shared_dense_config(reference.keras)
    nodes = [json.loads(json.dumps(c["layers"][1]["inbound_nodes"])) for c in (ours, theirs)]
    assert nodes[0] == nodes[1]
    assert ours["output_layers"] == theirs["output_layers"] == ["d", 1, 0]
    restored = lamina.Model.from_config(ours)
    assert restored(np.ones((2, 3), "float32")).shape == (2, 3)


def test_a_model_sliced_at_an_inner_tensor_starts_from_an_input_layer(tmp_path):
    inputs = lamina.Input((None, 2))
    hidden = lamina.layers.Dense(4, name="dense2")(lamina.layers.Dense(3)(inputs))
    decoder = lamina.Model(hidden, lamina.layers.Dense(5, name="dense3")(hidden))
    assert [type(layer).__name__ for layer in decoder.layers] == ["InputLayer", "Dense"]
    assert decoder.input.shape == (None, None, 4)
    decoder.save(tmp_path / "decoder.keras")
    restored = lamina.models.load_model(tmp_path / "decoder.keras")
    x = np.ones((1, 2, 4), "float32")
    np.testing.assert_allclose(restored.predict(x, verbose=0), decoder.predict(x, verbose=0))


def _unbuilt_sequential(layers):
    """A Sequential never called or built, holding layers built on their own."""
    dense, embedding = layers.Dense(3), layers.ReversibleEmbedding(5, 2)
    dense.build((None, 4))
    embedding.build()
    return layers, [dense, embedding]


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_built_layers_of_an_unbuilt_sequential_keep_their_weights(writer, tmp_path):
    """Each built layer's build_config travels with it (as Keras writes it), so loading builds it
    and loads its weights; lamina wrote none and loaded an unbuilt model that drew new weights."""
    framework = lamina if writer == "lamina" else reference.keras
    _, built = _unbuilt_sequential(framework.layers)
    model = framework.models.Sequential(built)
    path = str(tmp_path / "model.keras")
    with warnings.catch_warnings():  # Keras warns that the model is not built
        warnings.simplefilter("ignore", UserWarning)
        model.save(path)
    expected = [np.asarray(framework.ops.convert_to_numpy(w)) for w in model.weights]
    loaded = lamina.saving.load_model(path)
    assert all(layer.built for layer in loaded.layers)
    got = [lamina.ops.convert_to_numpy(w) for w in loaded.weights]
    assert len(got) == len(expected) == 3
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    if writer == "lamina":  # and Keras reads lamina's file the same
        reread = reference.keras.saving.load_model(path)
        for mine, theirs in zip(reread.weights, expected, strict=True):
            np.testing.assert_array_equal(reference.keras.ops.convert_to_numpy(mine), theirs)


def _custom_functional(m):
    """A Functional subclass (Keras's `*args, **kwargs` constructor) with a key of its own."""

    class CustomModel(m.Model):
        def __init__(self, *args, param=1, **kwargs):
            super().__init__(*args, **kwargs)
            self.param = param

        def get_config(self):
            return super().get_config() | {"param": self.param}

    inputs = m.Input((3,))
    model = CustomModel(inputs=inputs, outputs=m.layers.Dense(5)(inputs), param=3)
    revived = CustomModel.from_config(model.get_config())
    return type(revived).__name__, revived.param, len(revived.layers)


def test_functional_subclass_gets_its_own_config_keys_back_as_in_keras():
    assert _custom_functional(lamina) == reference.keras_run(_custom_functional)
    assert _custom_functional(lamina)[1] == 3


def _two_classes_one_name(m, path):
    """Two registered classes named `Twin` in two packages; a model of the first saved, then
    loaded after the second was registered: the file's registered name decides."""

    def make(package, weights):
        @m.saving.register_keras_serializable(package=package)
        class Twin(m.layers.Layer):
            def build(self, input_shape):
                self.scales = [
                    self.add_weight(shape=(), initializer="ones", name=f"s{i}")
                    for i in range(weights)
                ]

            def call(self, x):
                return x * self.scales[0]

        return Twin

    twin = make("gaps_first", 3)
    inputs = m.Input((2,))
    m.Model(inputs, twin()(inputs)).save(path)
    make("gaps_second", 1)
    loaded = m.saving.load_model(path)
    return len(loaded.layers[1].weights)


def test_loading_picks_a_registered_class_by_its_registered_name(tmp_path):
    expected = reference.keras_run(lambda keras: _two_classes_one_name(keras, tmp_path / "k.keras"))
    assert _two_classes_one_name(lamina, tmp_path / "l.keras") == expected == 3


def _keras2_config():
    """A functional config in Keras 2's node form (tf.keras files): two inputs, an Add of two
    Dense layers, a Dropout called with training=False."""
    return {
        "name": "keras2",
        "layers": [
            {
                "class_name": "InputLayer",
                "name": name,
                "config": {"batch_input_shape": [None, 10], "dtype": "float32", "name": name},
                "inbound_nodes": [],
            }
            for name in ("input_1", "input_2")
        ]
        + [
            {
                "class_name": "Dense",
                "name": "node_a",
                "config": {"units": 4, "name": "node_a"},
                "inbound_nodes": [[["input_1", 0, 0, {}]]],
            },
            {
                "class_name": "Dense",
                "name": "node_b",
                "config": {"units": 4, "name": "node_b"},
                "inbound_nodes": [[["input_2", 0, 0, {}]]],
            },
            {
                "class_name": "Add",
                "name": "add",
                "config": {"name": "add"},
                "inbound_nodes": [[["node_a", 0, 0, {}], ["node_b", 0, 0, {}]]],
            },
            {
                "class_name": "Dropout",
                "name": "drop",
                "config": {"rate": 0.5, "name": "drop"},
                "inbound_nodes": [[["add", 0, 0, {"training": False}]]],
            },
        ],
        "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
        "output_layers": [["drop", 0, 0]],
    }


def _rebuilt_keras2(m):
    model = m.Model.from_config(_keras2_config())
    return model.count_params(), [layer.name for layer in model.layers], model.output_shape


def test_a_keras2_node_config_rebuilds_as_in_keras():
    assert _rebuilt_keras2(lamina) == reference.keras_run(_rebuilt_keras2)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ([["nowhere", 0, 0, {}]], r"Missing node: nowhere"),
        ([["drop", 0, 0, {}]], r"They wait on a loop"),
        ([["input_1", 0]], r"each Keras 2 inbound node as \[layer_name, node_index"),
    ],
)
def test_a_broken_keras2_node_config_names_the_fault(node, message):
    config = _keras2_config()
    config["layers"][2]["inbound_nodes"] = [node]
    with pytest.raises(ValueError, match=message):
        lamina.Model.from_config(config)
