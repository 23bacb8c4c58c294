"""Custom layers, losses, activations and models written the Keras 3 way and registered with
`register_keras_serializable(package=...)` cross `.keras` files between Keras and lamina both
ways with no `custom_objects=`: each side finds "Serial>ScaledDense" in its own registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras

PACKAGE = "Serial"


def _custom_objects_for(ns):
    """One source, two frameworks: the same class bodies over `ns` (keras or lamina)."""
    register = ns.saving.register_keras_serializable(package=PACKAGE)

    @register
    def doubled_relu(x):
        return ns.ops.relu(x) * 2.0

    @register
    class ScaledDense(ns.layers.Layer):
        def __init__(self, units, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.activation = ns.activations.get(activation)
            self.inner = ns.layers.Dense(units, use_bias=False)

        def build(self, input_shape):
            self.inner.build(input_shape)
            self.scale = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )
            self.offset = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=False
            )

        def call(self, inputs):
            return self.activation(self.inner(inputs) * self.scale + self.offset)

        def compute_output_shape(self, input_shape):
            return (*input_shape[:-1], self.units)

        def get_config(self):
            config = super().get_config()
            activation = ns.activations.serialize(self.activation)
            return {**config, "units": self.units, "activation": activation}

    @register
    class MeanAbsolute(ns.losses.Loss):
        def call(self, y_true, y_pred):
            return ns.ops.mean(ns.ops.abs(y_true - y_pred), axis=-1)

    @register
    class Tower(ns.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.block = ScaledDense(units, activation=doubled_relu)
            self.head = ns.layers.Dense(2)

        def call(self, inputs):
            return self.head(self.block(inputs))

        def get_config(self):
            return {"name": self.name, "units": self.units}

    return {"ScaledDense": ScaledDense, "MeanAbsolute": MeanAbsolute, "Tower": Tower}


OURS = _custom_objects_for(lamina)
THEIRS = _custom_objects_for(keras)


def _model(ns, objects, kind):
    if kind == "sequential":
        return ns.Sequential(
            [ns.Input((4,)), objects["ScaledDense"](3, activation="tanh"), ns.layers.Dense(2)]
        )
    if kind == "functional":
        inputs = ns.Input((4,))
        hidden = objects["ScaledDense"](
            3, activation=ns.saving.get_registered_object(f"{PACKAGE}>doubled_relu")
        )(inputs)
        return ns.Model(inputs, ns.layers.Dense(2)(hidden))
    model = objects["Tower"](units=3)
    model(np.zeros((1, 4), "float32"))
    return model


def _numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _x():
    return np.random.default_rng(0).standard_normal((5, 4)).astype("float32")


def _y():
    return np.random.default_rng(1).standard_normal((5, 2)).astype("float32")


KINDS = ["sequential", "functional", "subclassed"]


@pytest.mark.parity
@pytest.mark.parametrize("kind", KINDS)
def test_keras_file_loads_in_lamina_without_custom_objects(tmp_path, kind):
    reference = _model(keras, THEIRS, kind)
    reference.compile(optimizer="sgd", loss=THEIRS["MeanAbsolute"]())
    path = str(tmp_path / "model.keras")
    reference.save(path)

    model = lamina.models.load_model(path)

    expected = _numpy(reference.predict(_x(), verbose=0))
    np.testing.assert_allclose(model.predict(_x(), verbose=0), expected, rtol=1e-5, atol=1e-5)
    # Compiled from the file with the registered loss: the same loss value as Keras's.
    loss = model.evaluate(_x(), _y(), verbose=0)
    np.testing.assert_allclose(loss, reference.evaluate(_x(), _y(), verbose=0), rtol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("kind", KINDS)
def test_lamina_file_loads_in_keras_without_custom_objects(tmp_path, kind):
    model = _model(lamina, OURS, kind)
    model.compile(optimizer="sgd", loss=OURS["MeanAbsolute"]())
    path = str(tmp_path / "model.keras")
    model.save(path)

    reference = keras.models.load_model(path)

    assert isinstance(reference.loss, THEIRS["MeanAbsolute"])
    expected = model.predict(_x(), verbose=0)
    got = _numpy(reference.predict(_x(), verbose=0))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    loss = reference.evaluate(_x(), _y(), verbose=0)
    np.testing.assert_allclose(loss, model.evaluate(_x(), _y(), verbose=0), rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_lamina_file_reloads_through_saving_load_model(tmp_path, kind):
    model = _model(lamina, OURS, kind)
    path = str(tmp_path / "model.keras")
    model.save(path)

    restored = lamina.saving.load_model(path)

    np.testing.assert_allclose(restored.predict(_x(), verbose=0), model.predict(_x(), verbose=0))


def test_unnamed_weights_take_their_attribute_names():
    layer = OURS["ScaledDense"](3)
    layer.build((None, 4))
    assert [name for name, _ in layer.named_parameters()] == ["scale", "inner.kernel"]
    assert [name for name, _ in layer.named_buffers()] == ["offset"]
    assert [w.shape for w in layer.get_weights()] == [(3,), (3,), (4, 3)]


def test_add_weight_takes_keras_positional_order_and_keeps_named_calls():
    layer = lamina.layers.Layer()
    layer.kernel = layer.add_weight((2, 3), "ones")
    layer.add_weight(shape=(3,), initializer="zeros", trainable=False, name="bias")
    assert [name for name, _ in layer.named_parameters()] == ["kernel"]
    assert torch.equal(layer.kernel, torch.ones(2, 3))
    assert [name for name, _ in layer.named_buffers()] == ["bias"]
    # As in Keras 3, no shape means a scalar.
    assert tuple(layer.add_weight(initializer="zeros").shape) == ()


def test_a_sub_layer_built_by_its_parent_is_not_built_again():
    layer = OURS["ScaledDense"](3)
    model = lamina.Sequential([lamina.Input((4,)), layer])
    model.predict(_x(), verbose=0)
    assert layer.inner.built and len(layer.inner.weights) == 1
    assert len(model.weights) == 3


def test_subclassed_model_weights_sit_under_attribute_names(tmp_path):
    import h5py

    model = _model(lamina, OURS, "subclassed")
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r") as file:
        groups = []
        file.visit(groups.append)
    assert "block/vars/0" in groups and "block/inner/vars/0" in groups and "head/vars/1" in groups
    assert not any(group.startswith("layers") for group in groups)


def test_older_lamina_files_of_subclassed_models_still_load(tmp_path):
    import h5py

    from lamina.saving import h5_weights
    from lamina.saving.weight_paths import model_tree

    model = _model(lamina, OURS, "subclassed")
    path = str(tmp_path / "old.weights.h5")
    with h5py.File(path, "w") as file:  # the layout lamina wrote before: `layers/<key>`
        for node in model_tree(model, by_attribute=False):
            group = file.require_group(f"{node.path}/vars" if node.path else "vars")
            for index, entry in enumerate(node.weights):
                h5_weights.create_dataset(group, str(index), _numpy(entry.saved()))
    twin = _model(lamina, OURS, "subclassed")
    twin.load_weights(path)
    np.testing.assert_array_equal(twin.predict(_x(), verbose=0), model.predict(_x(), verbose=0))
