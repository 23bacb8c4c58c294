"""Gaps DeepLearning.AI's "TensorFlow: Advanced Techniques" course 1 (custom models, layers and
losses; tf.keras 2 programs) found in lamina, each reproduced in a few lines of our own, with
pins of the course's patterns that already ran. The notebooks themselves are not copied here;
each test's docstring names the pattern it stands for.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from tests.parity.reference import keras

# --------------------------------------------------------------------------------------------------
# Week 2 (Huber loss as a class): a `Loss` subclass made twice with no name. Keras names the
# second `..._1`, as it does custom metrics and layers; lamina gave both the same name.


def _threshold_huber(base):
    class ThresholdHuber(base):
        def __init__(self, threshold=1.0, **kwargs):
            super().__init__(**kwargs)
            self.threshold = threshold

        def call(self, y_true, y_pred):
            error = y_true - y_pred
            small = ops.abs(error) <= self.threshold
            big = self.threshold * (ops.abs(error) - 0.5 * self.threshold)
            return ops.where(small, ops.square(error) / 2, big)

        def get_config(self):
            return {**super().get_config(), "threshold": self.threshold}

    return ThresholdHuber


def test_unnamed_custom_losses_take_keras_auto_names():
    ours = _threshold_huber(lamina.losses.Loss)
    theirs = _threshold_huber(keras.losses.Loss)
    keras.backend.clear_session()
    wanted = [theirs().name, theirs().name, theirs(name="given").name]
    assert [ours().name, ours().name, ours(name="given").name] == wanted
    assert wanted == ["threshold_huber", "threshold_huber_1", "given"]
    # the built-in losses keep their fixed names however many are made
    assert {lamina.losses.Huber().name for _ in range(2)} == {"huber_loss"}


def test_custom_loss_config_round_trips_through_a_saved_model(tmp_path):
    """The lab's `MyHuberLoss(threshold=...)` with a `get_config`, saved with the model and
    loaded back with `custom_objects`: same threshold, same loss values as Keras's."""
    ours = _threshold_huber(lamina.losses.Loss)
    y_true, y_pred = np.array([[0.0], [3.0]]), np.array([[0.5], [0.0]])
    wanted = float(_threshold_huber(keras.losses.Loss)(threshold=1.2)(y_true, y_pred))
    np.testing.assert_allclose(float(ours(threshold=1.2)(y_true, y_pred)), wanted, rtol=1e-6)
    model = lamina.Sequential([lamina.Input((1,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss=ours(threshold=1.2))
    x = np.array([[-1.0], [0.0], [1.0], [2.0]], "float32")
    model.fit(x, 2 * x - 1, epochs=1, verbose=0)
    path = str(tmp_path / "huber.keras")
    model.save(path)
    loaded = lamina.models.load_model(path, custom_objects={"ThresholdHuber": ours})
    assert type(loaded.loss) is ours and loaded.loss.threshold == 1.2


# --------------------------------------------------------------------------------------------------
# Week 3 (custom dense layer): `Sequential([SimpleDense(units=1)])` fit on
# `np.array([-1.0, 0.0, ...])`, one number per sample. tf.keras 2 read it as shape (N, 1);
# Keras 3 builds for shape (N,) and fails (so does lamina), and lamina's error now says how to
# give the shape Keras 3 wants.


@pytest.mark.parametrize("make_layer", [lambda: layers.Dense(1), lambda: _SimpleDense(1)])
def test_rank_one_data_to_an_unbuilt_sequential_names_the_reshape(make_layer):
    model = lamina.Sequential([make_layer()])
    model.compile(optimizer="sgd", loss="mse")
    xs = np.array([-1.0, 0.0, 1.0, 2.0], dtype=float)
    with pytest.raises(ValueError, match=r"x\.reshape\(-1, 1\).*Input\(shape=\(1,\)\)"):
        model.fit(xs, 2 * xs - 1, epochs=1, verbose=0)
    # the hinted shape trains, as in Keras 3
    model = lamina.Sequential([make_layer()])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(xs.reshape(-1, 1), 2 * xs - 1, epochs=1, verbose=0)
    assert model.predict(np.array([[10.0]]), verbose=0).shape == (1, 1)


class _SimpleDense(layers.Layer):
    """The week 3 pattern: weights created in `build` from the input's last size."""

    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.b = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


# --------------------------------------------------------------------------------------------------
# Pins of patterns the course ran that lamina ran at once.


def test_variables_assigned_in_build_are_trained_weights():
    """Week 3 assignment: `tf.Variable(initial_value=...)` in `build` becomes
    `keras.Variable(value)`; Keras 3 tracks it as a weight of the layer, and so does lamina."""

    class Quadratic(layers.Layer):
        def build(self, input_shape):
            init = lamina.initializers.RandomNormal(seed=0)
            self.a = lamina.Variable(init(shape=(input_shape[-1], 2), dtype="float32"))
            self.c = lamina.Variable(np.zeros(2, "float32"), trainable=True)

        def call(self, inputs):
            return ops.matmul(ops.square(inputs), self.a) + self.c

    model = lamina.Sequential([lamina.Input((3,)), Quadratic(), layers.Dense(1)])
    assert [tuple(w.shape) for w in model.trainable_weights][:2] == [(3, 2), (2,)]
    before = ops.convert_to_numpy(model.layers[0].a).copy()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(ops.convert_to_numpy(model.layers[0].a), before)


def test_layers_stored_through_vars_are_not_tracked_as_in_keras():
    """Week 4 assignment (VGG `Block`): `vars(self)[f"conv2D_{i}"] = Conv2D(...)` skips
    attribute tracking; Keras 3 then lists no weight of those layers, and neither does lamina."""

    def block_weights(module):
        class Block(module.Model):
            def __init__(self):
                super().__init__()
                vars(self)["conv2D_0"] = module.layers.Conv2D(2, 3, padding="same")
                self.max_pool = module.layers.MaxPool2D(2, strides=2)

            def call(self, inputs):
                return self.max_pool(self.conv2D_0(inputs))

        block = Block()
        out = block(np.zeros((1, 4, 4, 3), "float32"))
        return tuple(out.shape), len(block.trainable_weights)

    assert block_weights(lamina) == block_weights(keras) == ((1, 2, 2, 2), 0)


def test_two_output_evaluate_lists_losses_then_metrics_per_output():
    """Week 1 (multi-output labs): `loss, y1_loss, y2_loss, y1_rmse, y2_rmse = evaluate(...)`
    with dict losses and dict metrics keyed by output name."""
    inputs = lamina.Input((3,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    model = lamina.Model(
        inputs, [layers.Dense(1, name="y1")(hidden), layers.Dense(1, name="y2")(hidden)]
    )
    model.compile(
        optimizer="sgd",
        loss={"y1": "mse", "y2": "mse"},
        metrics={"y1": lamina.metrics.RootMeanSquaredError(), "y2": "mae"},
    )
    rng = np.random.default_rng(0)
    x = rng.random((8, 3)).astype("float32")
    y1, y2 = rng.random((8, 1)).astype("float32"), rng.random((8, 1)).astype("float32")
    loss, y1_loss, y2_loss, y1_rmse, y2_mae = model.evaluate(x, (y1, y2), verbose=0)
    p1, p2 = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        [y1_loss, y2_loss], [np.mean((p1 - y1) ** 2), np.mean((p2 - y2) ** 2)], rtol=1e-5
    )
    np.testing.assert_allclose(
        [y1_rmse, y2_mae], [np.sqrt(y1_loss), np.mean(np.abs(p2 - y2))], rtol=1e-5
    )
    np.testing.assert_allclose(loss, y1_loss + y2_loss, rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# Week 3 (custom dense layer): `print(my_dense.variables)` shows each weight as Keras prints it,
# `<Variable path=..., shape=..., dtype=..., value=...>`, trainable or not.


def test_weights_print_as_keras_variables():
    def printed(module):
        # Named: auto-names count each framework's earlier layers, which differ by test order.
        layer = module.layers.BatchNormalization(name="norm")
        layer.build((None, 2))
        return [repr(v) for v in layer.variables]

    assert printed(lamina) == printed(keras)
    assert printed(lamina)[0].startswith("<Variable path=norm/gamma")
