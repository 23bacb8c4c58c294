"""TorchModuleWrapper and plain torch modules set on a layer, against Keras's torch backend."""

import inspect

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.parity.reference import keras

X = np.random.default_rng(0).random((8, 2)).astype("float32")
Y = np.random.default_rng(1).random((8, 2)).astype("float32")


def _mixed_model(module):
    class Mixed(module.Model):
        """Keras's pattern: plain torch modules as attributes, beside a Dense."""

        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(2, 4)
            self.bn1 = torch.nn.BatchNorm1d(4)
            self.fc2 = module.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.fc2(self.bn1(self.fc1(inputs)))

    return Mixed()


def test_plain_torch_modules_on_a_model_are_wrapped_and_trained_as_keras():
    ours, theirs = _mixed_model(lamina), _mixed_model(keras)
    assert isinstance(ours.fc1, layers.TorchModuleWrapper)
    assert isinstance(ours.fc1.module, torch.nn.Linear)  # the wrapper's module stays plain
    ours(X), theirs(X)
    # (lamina also lists the module's buffers as non-trainable weights; Keras keeps them out)
    for attribute in ("layers", "trainable_weights"):
        assert len(getattr(ours, attribute)) == len(getattr(theirs, attribute)), attribute
    before = ours.fc1.module.weight.detach().clone()
    ours.compile(optimizer="sgd", loss="mse")
    ours.fit(X, Y, epochs=2, verbose=0)
    assert not torch.equal(before, ours.fc1.module.weight.detach())


def test_a_wrapped_module_follows_the_call_s_training_flag():
    model = _mixed_model(lamina)
    model(X, training=False)
    stats = model.bn1.module.running_mean.clone()
    model(X, training=False)  # inference: BatchNorm keeps its moving statistics
    assert torch.equal(stats, model.bn1.module.running_mean)
    model(X, training=True)
    assert not torch.equal(stats, model.bn1.module.running_mean)


def test_output_shape_answers_compute_output_shape_as_keras():
    module = torch.nn.Linear(3, 5)
    ours = layers.TorchModuleWrapper(module, output_shape=(None, 5))
    theirs = keras.layers.TorchModuleWrapper(module, output_shape=(None, 5))
    assert ours.compute_output_shape((None, 3)) == theirs.compute_output_shape((None, 3))


def test_the_module_moves_to_lamina_s_default_device():
    # As Keras's moves it to its device: where lamina's layers put their weights and inputs.
    previous = lamina.backend.default_device()
    lamina.backend.set_default_device("meta")
    try:
        wrapper = layers.TorchModuleWrapper(torch.nn.Linear(2, 3))
    finally:
        lamina.backend.set_default_device(previous)
    assert wrapper.module.weight.device.type == "meta"


def test_a_wrapped_module_s_attributes_read_through_the_wrapper():
    # Code written against the plain module (`self.fc1.weight`) keeps working once it is wrapped.
    model = _mixed_model(lamina)
    assert model.fc1.weight is model.fc1.module.weight and model.fc1.in_features == 2
    assert model.bn1.running_mean is model.bn1.module.running_mean
    with pytest.raises(AttributeError, match="no_such_attribute"):
        model.fc1.no_such_attribute  # noqa: B018 - the read is the test


def test_a_wrapped_module_s_tensors_carry_paths_for_state_trees():
    # Its parameters are torch's own: without a path, listing them by path or get_state_tree()
    # failed (every one was "variable").
    model = _mixed_model(lamina)
    model(X)
    paths = [w.path for w in model.weights]
    assert len(set(paths)) == len(paths)
    assert paths[0].endswith("/weight") and "running_mean" in " ".join(paths)
    tree = model.get_state_tree()
    assert len(lamina.tree.flatten(tree["trainable_variables"])) == len(model.trainable_weights)


def test_from_config_takes_keras_s_custom_objects_and_safe_mode_arguments():
    # Keras's signature is from_config(config, custom_objects=None, safe_mode=None); lamina's
    # took config alone, so Keras's code passing safe_mode=False failed with a TypeError.
    keras_wrapper = keras.src.utils.torch_utils.TorchModuleWrapper
    assert list(inspect.signature(layers.TorchModuleWrapper.from_config).parameters) == list(
        inspect.signature(keras_wrapper.from_config).parameters
    )
    wrapper = layers.TorchModuleWrapper(torch.nn.Linear(3, 2), name="head")
    config = wrapper.get_config()
    given = torch.nn.Linear(3, 2)
    rebuilt = layers.TorchModuleWrapper.from_config(config, {"head": given}, safe_mode=False)
    assert rebuilt.module is given
    # lamina never unpickles, whatever safe_mode says: the module must still be given.
    with pytest.raises(lamina.saving.code_entries.CodeNotGivenError, match="custom_objects"):
        layers.TorchModuleWrapper.from_config(config, safe_mode=False)


def test_wrapper_weights_are_variables_that_write_through_to_the_module_as_keras():
    # keras.io's torchvision port (and any "for w in model.weights: w.assign(...)") treats a
    # wrapper's weights as variables; they were the module's plain Parameters (no `assign`).
    def wrapped(module):
        torch.manual_seed(0)
        return module.layers.TorchModuleWrapper(torch.nn.Linear(2, 3))

    ours, theirs = wrapped(lamina), wrapped(keras)
    optimizer = torch.optim.SGD(ours.module.parameters(), lr=1.0)
    for wrapper in (ours, theirs):
        for weight in wrapper.trainable_weights:
            weight.assign(np.full(tuple(weight.shape), 0.5, dtype="float32"))
    expected = keras.ops.convert_to_numpy(theirs(torch.from_numpy(X)))
    got = ours(torch.from_numpy(X))
    np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-6)
    assert [w.numpy().tolist() for w in ours.trainable_weights] == [
        keras.ops.convert_to_numpy(w).tolist() for w in theirs.trainable_weights
    ]
    assert [w.name for w in ours.trainable_weights] == ["weight", "bias"]
    # In place: the module keeps its own Parameter objects, so an optimizer made before still
    # steps them.
    assert all(
        a is b for a, b in zip(ours.module.parameters(), ours.trainable_weights, strict=True)
    )
    got.sum().backward()
    optimizer.step()
    assert not np.allclose(ours.module.bias.detach().numpy(), 0.5)
