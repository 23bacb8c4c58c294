"""Gaps found by porting Raschka & Mirjalili's "Python Machine Learning" (3rd ed.), chapters 13-17.

Each test is a small reproduction of our own of what a ported program met. Where numbers are
involved they are checked against Keras on torch (tests/parity/reference.py).
"""

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops
from tests.parity import reference


def _critic(keras):
    # A WGAN critic declared for images, as a DCGAN discriminator is. No bias before the
    # BatchNormalization: its gradient is float noise around 0, which Adam scales to full steps.
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


def _generator(keras):
    return keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(16, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((4, 4, 1)),
            keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
        ]
    )


def test_build_with_another_shape_keeps_the_declared_input_and_warns():
    # The book builds a critic declared with Input((28, 28, 1)) as build((None, 784)): tf.keras
    # kept the Input's shape; lamina traced the new one and failed inside Conv2D.
    critic = _critic(lamina)
    before = critic.count_params()
    with pytest.warns(UserWarning, match=r"declared with input shape \(None, 8, 8, 1\)"):
        critic.build(input_shape=(None, 64))
    assert critic.input_shape == (None, 8, 8, 1)
    assert critic.count_params() == before
    assert tuple(critic(np.zeros((2, 8, 8, 1), "float32")).shape) == (2, 1)


def test_build_with_the_declared_shape_stays_silent():
    generator = _generator(lamina)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generator.build(input_shape=(None, 3))
    assert generator.output_shape == (None, 8, 8, 1)


def _wgan_gp_step(keras, gen, critic, g_opt, d_opt, z, real, alpha, lambda_gp=10.0):
    # One step of the book's WGAN-GP loop in Keras 3's torch form: the penalty's gradient with
    # create_graph, both models' gradients taken before either optimizer writes.
    ops = keras.ops
    fake = gen(z, training=True)
    g_loss = -ops.mean(critic(fake, training=True))
    d_loss = -ops.mean(critic(real, training=True)) - g_loss
    interpolated = alpha * real + (1 - alpha) * fake
    grads = torch.autograd.grad(critic(interpolated).sum(), [interpolated], create_graph=True)[0]
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=[1, 2, 3]))
    d_loss = d_loss + lambda_gp * ops.mean(ops.square(norms - 1.0))
    d_vars, g_vars = critic.trainable_variables, gen.trainable_variables
    d_grads = torch.autograd.grad(d_loss, [v.value for v in d_vars], retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, [v.value for v in g_vars])
    with torch.no_grad():
        d_opt.apply(d_grads, d_vars)
        g_opt.apply(g_grads, g_vars)
    return float(g_loss.detach()), float(d_loss.detach())


def test_wgan_gp_torch_loop_matches_keras():
    keras = reference.keras
    rng = np.random.default_rng(0)
    k_gen, k_critic = _generator(keras), _critic(keras)
    l_gen, l_critic = _generator(lamina), _critic(lamina)
    l_gen.set_weights(k_gen.get_weights())
    l_critic.set_weights(k_critic.get_weights())
    k_opts = keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4)
    l_opts = lamina.optimizers.Adam(2e-4), lamina.optimizers.Adam(2e-4)
    for _ in range(2):
        z = rng.uniform(-1, 1, (4, 3)).astype("float32")
        real = rng.uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
        alpha = torch.tensor(rng.uniform(0, 1, (4, 1, 1, 1)).astype("float32"))
        expected = _wgan_gp_step(
            keras, k_gen, k_critic, *k_opts, torch.tensor(z), torch.tensor(real), alpha
        )
        got = _wgan_gp_step(
            lamina, l_gen, l_critic, *l_opts, torch.tensor(z), torch.tensor(real), alpha
        )
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    for k_weight, l_weight in zip(k_critic.get_weights(), l_critic.get_weights(), strict=True):
        np.testing.assert_allclose(l_weight, k_weight, rtol=1e-4, atol=1e-6)


def test_noisy_linear_add_weight_and_training_flag_round_trip():
    # The book's custom layer: add_weight(name=..., shape=(input_shape[1], n)), noise only
    # while training, and a config that rebuilds it.
    class Noisy(layers.Layer):
        def __init__(self, units, stddev=0.5, **kwargs):
            self.units, self.stddev = units, stddev
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.w = self.add_weight(name="weights", shape=(input_shape[1], self.units))
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs, training=False):
            if training:
                shape = (ops.shape(inputs)[0], ops.shape(inputs)[1])
                inputs = inputs + lamina.random.normal(shape=shape, stddev=self.stddev)
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {**super().get_config(), "units": self.units, "stddev": self.stddev}

    layer = Noisy(3)
    layer.build(input_shape=(None, 4))
    x = np.zeros((2, 4), "float32")
    assert np.abs(ops.convert_to_numpy(layer(x))).max() == 0.0
    assert np.abs(ops.convert_to_numpy(layer(x, training=True))).max() > 0.0
    clone = Noisy.from_config(layer.get_config())
    assert (clone.units, clone.stddev) == (3, 0.5)


def test_categorical_crossentropy_takes_one_label_without_its_batch_axis():
    # The book's loss demo: `cce(y_true=[0, 0, 1], y_pred=probas)` with probas of shape (1, 3);
    # tf.keras broadcast the label (the book prints 0.5996), lamina refused the shapes.
    logits = np.array([[1.5, 0.8, 2.1]], "float32")
    probas = ops.softmax(logits)
    expected = float(-np.log(ops.convert_to_numpy(probas)[0, 2]))
    probas_loss = lamina.losses.CategoricalCrossentropy()(y_true=[0, 0, 1], y_pred=probas)
    logits_loss = lamina.losses.CategoricalCrossentropy(from_logits=True)(
        y_true=[0, 0, 1], y_pred=logits
    )
    assert float(probas_loss) == pytest.approx(expected, rel=1e-5)
    assert float(logits_loss) == pytest.approx(expected, rel=1e-5)
    # Class ids against a batch of scores stay a mistake it names.
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        lamina.losses.categorical_crossentropy(np.array([2, 0]), np.full((2, 3), 1 / 3))
