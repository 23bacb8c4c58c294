"""Keras's variable API on lamina's weights (engine/weight.py): Keras's own programs that use it
run on lamina and give Keras's numbers, and the weights stay plain tensors to torch."""

import contextlib
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina.engine.weight import NonTrainableWeight, TrainableWeight
from tests.parity import reference

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 8)).astype("float32")
LABELS = RNG.integers(0, 3, size=16)


def _digits_model(m):
    """The model of Keras's guide "Writing a training loop from scratch in PyTorch", smaller."""
    inputs = m.Input(shape=(8,), name="digits")
    x = m.layers.Dense(6, activation="relu")(inputs)
    outputs = m.layers.Dense(3, name="predictions")(x)
    return m.Model(inputs=inputs, outputs=outputs)


def _initial_weights():
    shapes = [(8, 6), (6,), (6, 3), (3,)]
    rng = np.random.default_rng(1)
    return [rng.normal(scale=0.5, size=s).astype("float32") for s in shapes]


def _torch_training_loop(m):
    """That guide's loop with Keras's optimizer and loss, word for word but for the data."""
    model = _digits_model(m)
    model.set_weights(_initial_weights())
    optimizer = m.optimizers.Adam(learning_rate=1e-2)
    loss_fn = m.losses.CategoricalCrossentropy(from_logits=True)
    targets_all = np.eye(3, dtype="float32")[LABELS]
    for start in range(0, len(X), 4):
        inputs = torch.from_numpy(X[start : start + 4])
        targets = torch.from_numpy(targets_all[start : start + 4])
        logits = model(inputs)
        loss = loss_fn(targets, logits)
        model.zero_grad()
        trainable_weights = [v for v in model.trainable_weights]
        loss.backward()
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            optimizer.apply(gradients, trainable_weights)
    return model.get_weights()


@pytest.mark.parity
def test_keras_torch_training_loop_runs_and_trains_as_in_keras():
    ours = _torch_training_loop(lamina)
    theirs = reference.keras_run(_torch_training_loop)
    for mine, keras_weight, initial in zip(ours, theirs, _initial_weights(), strict=True):
        assert not np.allclose(mine, initial)  # trained
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-6)


def _custom_train_step_fit(m):
    """Keras's guide "Customizing what happens in fit() with PyTorch", its first model."""

    class CustomModel(m.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = m.Input(shape=(8,))
    outputs = m.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.set_weights([_initial_weights()[0][:, :1], np.zeros(1, "float32")])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    y = X[:, :1] * 0.5 + 0.1
    return model.fit(X, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history


@pytest.mark.parity
def test_keras_torch_custom_train_step_runs_and_logs_as_in_keras():
    ours = _custom_train_step_fit(lamina)
    theirs = reference.keras_run(_custom_train_step_fit)
    assert set(ours) == set(theirs) == {"loss", "mae"}
    assert ours["loss"][-1] < ours["loss"][0]
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5)


def _true_positives_fit(m):
    """Keras's custom metric of "Training & evaluation with the built-in methods", in fit."""

    class CategoricalTruePositives(m.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = m.ops.reshape(m.ops.argmax(y_pred, axis=1), (-1, 1))
            values = m.ops.cast(y_true, "int32") == m.ops.cast(y_pred, "int32")
            self.true_positives.assign_add(m.ops.sum(m.ops.cast(values, "float32")))

        def result(self):
            return self.true_positives.value

        def reset_state(self):
            self.true_positives.assign(0.0)

    model = _digits_model(m)
    model.set_weights(_initial_weights())
    model.compile(
        optimizer=m.optimizers.SGD(0.1),
        loss=m.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[CategoricalTruePositives()],
    )
    history = model.fit(X, LABELS[:, None], batch_size=4, epochs=3, shuffle=False, verbose=0)
    return history.history


@pytest.mark.parity
def test_a_keras_custom_metric_with_add_variable_counts_as_in_keras():
    ours = _true_positives_fit(lamina)
    theirs = reference.keras_run(_true_positives_fit)
    assert set(ours) == set(theirs)
    # Reset at each epoch: each count is of one epoch's 16 samples.
    assert all(0 <= count <= 16 for count in ours["categorical_true_positives"])
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5)


class ComputeSum(lamina.layers.Layer):
    """The first layer of Keras's guide "Making new layers and models via subclassing"."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(lamina.ops.sum(inputs, axis=0))
        return self.total


def test_a_non_trainable_weight_accumulates_with_assign_add():
    layer = ComputeSum(2)
    x = lamina.ops.ones((2, 2))
    layer(x)
    np.testing.assert_array_equal(layer(x).numpy(), [4.0, 4.0])
    assert (len(layer.weights), len(layer.non_trainable_weights), len(layer.trainable_weights)) == (
        1,
        1,
        0,
    )
    assert isinstance(layer.total, NonTrainableWeight) and layer.total.trainable is False
    assert layer.total.path == f"{layer.name}/total"


def test_layer_add_variable_is_add_weight_with_shape_and_initializer_first():
    layer = lamina.layers.Layer(name="block")
    scale = layer.add_variable((2,), "ones", trainable=False, name="scale")
    assert layer.non_trainable_weights == [scale] and scale.path == "block/scale"
    np.testing.assert_array_equal(scale.assign_add([1.0, 2.0]).numpy(), [2.0, 3.0])


def test_paths_and_names_are_keras_from_the_start():
    """Before any compile: a functional model's and a Sequential's paths are Keras's."""
    functional = _digits_model(lamina)
    sequential = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="out")])
    assert [w.path for w in functional.weights] == [
        "dense/kernel",
        "dense/bias",
        "predictions/kernel",
        "predictions/bias",
    ]
    assert [w.path for w in sequential.weights] == [
        f"{sequential.name}/out/kernel",
        f"{sequential.name}/out/bias",
    ]
    assert [w.name for w in functional.weights] == ["kernel", "bias", "kernel", "bias"]


def test_numpy_is_a_copy_in_keras_layout():
    layer = lamina.layers.Dense(3)
    layer.build((None, 2))
    array = layer.kernel.numpy()  # a weight that requires grad: torch's .numpy() refuses it
    np.testing.assert_array_equal(array, layer.kernel.detach().cpu().numpy())
    assert array.shape == (2, 3)  # Keras's (input_dim, units), as get_weights() gives it
    np.testing.assert_array_equal(array, layer.get_weights()[0])
    array += 1.0
    assert not np.array_equal(array, layer.kernel.numpy())


def test_assign_takes_keras_layout_and_names_the_weight_on_a_wrong_shape():
    layer = lamina.layers.Dense(3, name="head")
    layer.build((None, 2))
    layer.kernel.assign(np.arange(6, dtype="float32").reshape(2, 3))
    np.testing.assert_array_equal(layer.get_weights()[0], np.arange(6).reshape(2, 3))
    layer.kernel.assign(layer.kernel * 0.5 + 1.0)
    np.testing.assert_array_equal(layer.kernel.numpy(), np.arange(6).reshape(2, 3) * 0.5 + 1)
    layer.bias.assign_sub([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(layer.bias.numpy(), [-1.0, -2.0, -3.0])
    with pytest.raises(ValueError, match=r"'head/kernel'.*\(2, 3\).*\(3, 2\)"):
        layer.kernel.assign(np.zeros((3, 2), "float32"))


def test_ops_on_weights_return_plain_tensors():
    layer = lamina.layers.BatchNormalization()
    layer.build((None, 4))
    for value in (layer.gamma * 2, layer.moving_mean + 1, layer.gamma.detach(), layer.gamma[0]):
        assert type(value) is torch.Tensor


def test_moving_and_copying_a_layer_keeps_its_weights_classes_and_paths():
    layer = lamina.layers.BatchNormalization(name="bn")
    layer.build((None, 4))
    moved = layer.to(torch.float64)
    assert type(moved.gamma) is TrainableWeight and type(moved.moving_mean) is NonTrainableWeight
    assert moved.moving_mean.path == "bn/moving_mean" and moved.moving_mean.dtype == torch.float64
    for copied in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert type(copied.gamma) is TrainableWeight
        assert type(copied.moving_variance) is NonTrainableWeight
        assert copied.moving_variance.path == "bn/moving_variance"
        assert copied.gamma is not layer.gamma
        torch.testing.assert_close(copied.gamma, layer.gamma)


@pytest.mark.slow  # one torch.compile of the train step
def test_the_captured_step_is_captured_under_a_torch_default_device():
    """torch.set_default_device makes a torch function mode, under which Dynamo cannot trace a
    tensor subclass: the captured step hands it plain views of the weights."""
    assert not torch._C._is_torch_function_mode_enabled()  # none leaked in from another test
    x = RNG.normal(size=(32, 8)).astype("float32")
    y = RNG.integers(0, 3, size=32)
    histories = []
    for mode in (None, lamina.backend.default_device()):
        model = lamina.Sequential(
            [
                lamina.Input((8,)),
                lamina.layers.Dense(6, activation="relu"),
                lamina.layers.BatchNormalization(),
                lamina.layers.Dense(3, activation="softmax"),
            ]
        )
        model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
        # `with torch.device(...)` pushes the mode torch.set_default_device sets, and pops it.
        device_mode = contextlib.nullcontext() if mode is None else torch.device(mode)
        with device_mode, warnings.catch_warnings():
            warnings.simplefilter("error")  # a skipped capture warns
            history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        captured = model._compile_state.captured
        assert not captured.disabled and captured._compiled is not None
        histories.append((history.history["loss"], model.get_weights()))
    (loss_a, weights_a), (loss_b, weights_b) = histories
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    for a, b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_weight_arithmetic_with_numpy_keeps_the_gradient_and_stays_a_tensor():
    # Keras's variables convert a NumPy operand; torch's operators would hand it to NumPy,
    # which computes on a detached copy and warns.
    layer = lamina.layers.Dense(2)
    layer.build((None, 3))
    mask = np.zeros(tuple(layer.kernel.shape))
    mask[0] = 1.0
    masked = layer.kernel * mask
    assert isinstance(masked, torch.Tensor) and masked.requires_grad
    masked.sum().backward()
    np.testing.assert_array_equal(layer.kernel.grad.numpy(), mask)
    shifted = layer.bias + [1.0, 2.0]
    assert shifted.dtype == torch.float32
    np.testing.assert_array_equal(shifted.detach().numpy(), [1.0, 2.0])


def test_layer_call_uses_variable_api_on_weights_during_shape_inference():
    # A call() that assigns to its weights (a masked convolution) runs on the meta copies too.
    class MaskedDense(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(2)

        def build(self, input_shape):
            self.dense.build(input_shape)
            self.mask = np.triu(np.ones(tuple(self.dense.kernel.shape)))

        def call(self, inputs):
            self.dense.kernel.assign(self.dense.kernel * self.mask)
            return self.dense(inputs)

    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, MaskedDense()(inputs))
    assert model.output_shape == (None, 2)
    model(np.ones((1, 2), "float32"))
    kernel = model.layers[1].dense.kernel.detach().numpy()
    assert kernel[1, 0] == 0.0
