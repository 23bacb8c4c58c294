"""Gaps "Deep Learning with Python", 3rd edition (chapters 2-9) found in lamina, each reproduced in
a few lines of our own, grouped by chapter. The notebooks themselves are not copied here; each
test's docstring names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

import lamina
from tests.parity.reference import keras

# Chapter 2: a dense layer written from scratch on Variables, updated by an optimizer.


def _naive_step(lib, kernel, grads):
    """One SGD step on free-standing Variables (no layer), the ch. 2 way."""
    w = lib.Variable(shape=kernel.shape, initializer="uniform")
    b = lib.Variable(shape=(kernel.shape[1],), initializer="zeros")
    w.assign(kernel)
    optimizer = lib.optimizers.SGD(learning_rate=0.1)
    grads = [lib.ops.convert_to_tensor(g) for g in grads]  # Keras's torch SGD takes tensors only
    optimizer.apply_gradients(zip(grads, [w, b], strict=True))
    out = lib.ops.softmax(lib.ops.matmul(np.ones((2, kernel.shape[0]), "float32"), w) + b)
    return [np.asarray(lib.ops.convert_to_numpy(v)) for v in (w, b, out)]


def test_free_variables_take_an_optimizer_step_as_keras():
    """Ch. 2's NaiveDense: `Variable(shape=, initializer="uniform")`, assigned, stepped by
    `optimizer.apply_gradients(zip(grads, weights))`, then used in ops."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(4, 3)).astype("float32")
    grads = [rng.normal(size=(4, 3)).astype("float32"), np.ones(3, "float32")]
    for ours, theirs in zip(
        _naive_step(lamina, kernel, grads), _naive_step(keras, kernel, grads), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_uniform_initializer_draws_within_keras_bounds():
    """Ch. 2: the "uniform" initializer string is Keras's RandomUniform(-0.05, 0.05)."""
    values = lamina.ops.convert_to_numpy(lamina.Variable(shape=(64, 64), initializer="uniform"))
    assert values.min() >= -0.05 and values.max() <= 0.05 and values.std() > 0.02


# Chapter 3: a layer whose build() unpacks the input shape, stacked in a Sequential.


def _simple_dense_class(lib):
    class SimpleDense(lib.Layer):
        def __init__(self, units, activation=None):
            super().__init__()
            self.units = units
            self.activation = activation

        def build(self, input_shape):
            _, input_dim = input_shape
            self.W = self.add_weight(shape=(input_dim, self.units), initializer="random_normal")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            y = lib.ops.matmul(inputs, self.W) + self.b
            return y if self.activation is None else self.activation(y)

    return SimpleDense


def _stack_of_simple_dense(lib):
    layer = _simple_dense_class(lib)
    model = lib.Sequential([lib.Input((784,)), layer(32, lib.ops.relu), layer(10, lib.ops.softmax)])
    weights = [
        np.random.default_rng(3).normal(size=w.shape).astype("float32") for w in model.get_weights()
    ]
    model.set_weights(weights)
    out = model(np.linspace(-1, 1, 2 * 784, dtype="float32").reshape(2, 784))
    return model.count_params(), lib.ops.convert_to_numpy(out)


def test_layer_building_from_unpacked_shape_matches_keras():
    """Ch. 3's SimpleDense: `batch_dim, input_dim = input_shape` in build(), keras.ops in call()."""
    ours_count, ours_out = _stack_of_simple_dense(lamina)
    theirs_count, theirs_out = _stack_of_simple_dense(keras)
    assert ours_count == theirs_count == 784 * 32 + 32 + 32 * 10 + 10
    np.testing.assert_allclose(ours_out, theirs_out, rtol=1e-5, atol=1e-6)


# Chapter 7: a subclassed model with several outputs, compiled with per-output metric lists.


def _two_output_subclass(lib):
    """A subclassed model returning an unnamed tuple of (score, class probabilities)."""

    class TwoHeads(lib.Model):
        def __init__(self):
            super().__init__()
            self.mix = lib.layers.Dense(6, activation="relu")
            self.score = lib.layers.Dense(1, activation="sigmoid")
            self.classes = lib.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            features = self.mix(inputs)
            return self.score(features), self.classes(features)

    return TwoHeads()


def _evaluate_two_heads(lib, x, y, weights):
    model = _two_output_subclass(lib)
    model(x[:2])
    model.set_weights(weights)
    model.compile(
        optimizer="adam",
        loss=["mean_squared_error", "sparse_categorical_crossentropy"],
        metrics=[["mean_absolute_error", "mse"], ["accuracy", "mse"]],
        weighted_metrics=[["mae"], ["mae"]],
    )
    return model.evaluate(x, y, verbose=0, return_dict=True), model.evaluate(x, y, verbose=0)


def test_unnamed_outputs_log_metrics_unprefixed_as_keras():
    """Ch. 7's CustomerTicketModel: a subclassed model's outputs have no names, so Keras logs
    `mean_absolute_error` / `accuracy` (repeats numbered, weighted repeats `weighted_`), and
    evaluate()'s list puts the compiled metrics right after the loss."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = [rng.random((32, 1)).astype("float32"), rng.integers(0, 3, (32, 1))]
    probe = _two_output_subclass(lamina)
    probe(x[:2])
    weights = [rng.normal(size=w.shape).astype("float32") * 0.4 for w in probe.get_weights()]

    ours_dict, ours_list = _evaluate_two_heads(lamina, x, y, weights)
    theirs_dict, theirs_list = _evaluate_two_heads(keras, x, y, weights)

    assert sorted(ours_dict) == sorted(theirs_dict)
    for key, value in theirs_dict.items():
        np.testing.assert_allclose(ours_dict[key], value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_list, theirs_list, rtol=1e-5, atol=1e-6)


def _history_keys_of_custom_step(lib):
    """fit() on a Functional subclass whose torch-style train_step returns every metric's
    result by name (the compiled metrics as one `compile_metrics` dict)."""

    class StepModel(lib.Model):
        def train_step(self, data):
            inputs, targets = data
            predictions = self(inputs, training=True)
            loss = self.compute_loss(y=targets, y_pred=predictions)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([w.value.grad for w in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(targets, predictions)
            return {m.name: m.result() for m in self.metrics}

    inputs = lib.Input(shape=(4,))
    model = StepModel(inputs, lib.layers.Dense(3, activation="softmax")(inputs))
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[
            lib.metrics.SparseCategoricalAccuracy(),
            lib.metrics.SparseTopKCategoricalAccuracy(k=2),
        ],
    )
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    return list(model.fit(x, y, epochs=1, batch_size=8, verbose=0).history)


def test_custom_step_history_orders_keys_as_keras():
    """Ch. 7's "train_step() metrics handling with PyTorch": Keras sorts the step's own keys,
    then spreads `compile_metrics`'s dict in its place, so the compiled metrics come before
    `loss` in the history."""
    assert _history_keys_of_custom_step(lamina) == _history_keys_of_custom_step(keras)


def _rmse_metric_class(lib):
    class RootMeanSquaredError(lib.metrics.Metric):
        def __init__(self, name="rmse", **kwargs):
            super().__init__(name=name, **kwargs)
            self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
            self.total_samples = self.add_weight(name="total_samples", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            ops = lib.ops
            y_true = ops.one_hot(y_true, num_classes=ops.shape(y_pred)[1])
            self.mse_sum.assign_add(ops.sum(ops.square(y_true - y_pred)))
            self.total_samples.assign_add(ops.shape(y_pred)[0])

        def result(self):
            return lib.ops.sqrt(self.mse_sum / self.total_samples)

        def reset_state(self):
            self.mse_sum.assign(0.0)
            self.total_samples.assign(0.0)

    return RootMeanSquaredError


def _fit_with_rmse(lib):
    inputs = lib.Input(shape=(12,))
    hidden = lib.layers.Dense(8, activation="relu")(inputs)
    model = lib.Model(inputs, lib.layers.Dense(5, activation="softmax")(hidden))
    rng = np.random.default_rng(1)
    model.set_weights(
        [rng.normal(size=w.shape).astype("float32") * 0.3 for w in model.get_weights()]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", _rmse_metric_class(lib)()],
    )
    x = rng.random((48, 12)).astype("float32")
    y = rng.integers(0, 5, 48).astype("uint8")
    history = model.fit(
        x, y, epochs=2, batch_size=16, shuffle=False, verbose=0, validation_data=(x, y)
    )
    return history.history, model.evaluate(x, y, verbose=0)


def test_custom_metric_with_state_weights_matches_keras():
    """Ch. 7's RootMeanSquaredError: a Metric with add_weight() state, one_hot of uint8 labels,
    assign_add of a Python int; its training and validation values follow Keras's."""
    ours_history, ours_eval = _fit_with_rmse(lamina)
    theirs_history, theirs_eval = _fit_with_rmse(keras)
    assert list(ours_history) == list(theirs_history)
    for key, values in theirs_history.items():
        np.testing.assert_allclose(ours_history[key], values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_eval, theirs_eval, rtol=1e-5, atol=1e-6)


# Chapter 9: residual blocks with separable convolutions and batch norm (a mini Xception).


def _mini_xception(lib, size=64):
    layers = lib.layers
    inputs = lib.Input(shape=(size, size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(filters=8, kernel_size=5, use_bias=False)(x)
    for filters in [8, 16, 32]:
        residual = x
        for _ in range(2):
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(residual)
        x = layers.add([x, residual])
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return lib.Model(inputs=inputs, outputs=outputs)


def test_mini_xception_matches_keras_in_size_and_inference():
    """Ch. 9's mini Xception: same parameter counts (trainable / not) and, with Keras's
    weights, the same predictions."""
    ours, theirs = _mini_xception(lamina), _mini_xception(keras)
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    ours.set_weights(theirs.get_weights())
    images = np.random.default_rng(2).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(
        ours.predict(images, verbose=0), theirs.predict(images, verbose=0), rtol=1e-4, atol=1e-5
    )


# Chapter 8: a folder of JPEGs, augmented by a function mapped over the dataset, checkpointed.


def test_image_folder_with_mapped_augmentation_and_checkpoint(tmp_path):
    """Ch. 8's cats-vs-dogs workflow: image_dataset_from_directory, `.map()` of a function that
    runs Random* layers on a batch, `.prefetch(AUTOTUNE)`, fit() with
    ModelCheckpoint(save_best_only) and the reloaded best model evaluating as the saved one."""
    rng = np.random.default_rng(0)
    for category in ("cat", "dog"):
        (tmp_path / "train" / category).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (int(rng.integers(20, 40)), 30, 3)).astype("uint8")
            Image.fromarray(pixels).save(tmp_path / "train" / category / f"{i}.jpg")
    dataset = lamina.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(24, 24), batch_size=4, verbose=False
    )
    augmenters = [lamina.layers.RandomFlip("horizontal"), lamina.layers.RandomRotation(0.1)]

    def augment(images, targets):
        for layer in augmenters:
            images = layer(images)
        return images, targets

    augmented = dataset.map(augment, num_parallel_calls=8).prefetch(lamina.data.AUTOTUNE)
    inputs = lamina.Input(shape=(24, 24, 3))
    x = lamina.layers.Rescaling(1.0 / 255)(inputs)
    x = lamina.layers.Conv2D(4, 3, activation="relu")(x)
    x = lamina.layers.GlobalAveragePooling2D()(x)
    model = lamina.Model(inputs, lamina.layers.Dense(1, activation="sigmoid")(x))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    path = tmp_path / "best.keras"
    checkpoint = lamina.callbacks.ModelCheckpoint(
        filepath=path, save_best_only=True, monitor="val_loss"
    )
    history = model.fit(
        augmented, epochs=2, validation_data=dataset, callbacks=[checkpoint], verbose=0
    )
    best = int(np.argmin(history.history["val_loss"]))
    restored = lamina.models.load_model(path)
    loss, _ = restored.evaluate(dataset, verbose=0)
    np.testing.assert_allclose(loss, history.history["val_loss"][best], rtol=1e-5)
