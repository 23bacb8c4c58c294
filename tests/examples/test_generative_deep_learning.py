"""Gaps found by porting David Foster's "Generative Deep Learning" (2nd ed.) notebooks to lamina.

Each test is a small reproduction of our own of what a ported program met. Where Keras on torch
gives the same numbers, they are checked against it (tests/parity/reference.py); where Keras on
torch fails where Keras on TensorFlow runs, against the formula Keras documents.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import losses, metrics, ops
from tests.parity import reference


def _bce_formula(y_true, y_pred, eps=1e-7):
    p = np.clip(y_pred, eps, 1 - eps)
    return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))


def test_binary_crossentropy_takes_noisy_labels_outside_zero_one():
    # A GAN's discriminator trained on labels `1 + 0.1 * u` and `0 - 0.1 * u`: torch's
    # binary_cross_entropy refused them ("all elements of target should be between 0 and 1").
    y_true = np.array([[1.05], [1.1], [-0.03], [-0.1]], dtype="float32")
    y_pred = np.array([[0.9], [0.6], [0.2], [0.01]], dtype="float32")
    expected = _bce_formula(y_true, y_pred).mean()

    loss = losses.BinaryCrossentropy()(y_true, y_pred)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    per_sample = ops.binary_crossentropy(y_true, y_pred)
    np.testing.assert_allclose(per_sample.numpy(), _bce_formula(y_true, y_pred), rtol=1e-5)


def test_binary_crossentropy_of_probabilities_matches_keras_values_and_gradients():
    # The logits route gives Keras's numbers for targets in [0, 1], saturated ones included.
    y_true = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 1.0]], dtype="float32")
    y_pred = np.array([[0.999, 0.001, 0.5], [1.0, 0.0, 0.7]], dtype="float32")
    keras = reference.keras
    p_keras = torch.tensor(y_pred, requires_grad=True)
    expected = keras.losses.BinaryCrossentropy()(torch.tensor(y_true), p_keras)
    expected.backward()
    p_lamina = torch.tensor(y_pred, requires_grad=True)
    loss = losses.BinaryCrossentropy()(torch.tensor(y_true), p_lamina)
    loss.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    np.testing.assert_allclose(p_lamina.grad.numpy(), p_keras.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_metric_update_state_stacks_lists_of_tensors_as_keras():
    # `d_acc.update_state([real_labels, fake_labels], [real_preds, fake_preds])`.
    real_labels, fake_labels = torch.ones(4, 1), torch.zeros(4, 1)
    real_preds = torch.tensor([[0.9], [0.2], [0.7], [0.6]])
    fake_preds = torch.tensor([[0.1], [0.8], [0.3], [0.4]])
    acc = metrics.BinaryAccuracy(name="d_acc")
    acc.update_state([real_labels, fake_labels], [real_preds, fake_preds])
    keras_acc = reference.keras.metrics.BinaryAccuracy(name="d_acc")
    keras_acc.update_state([real_labels, fake_labels], [real_preds, fake_preds])
    assert float(acc.result()) == pytest.approx(float(keras_acc.result()))
    assert float(acc.result()) == pytest.approx(6 / 8)


def test_weight_get_shape_is_keras_shape_for_a_masked_convolution():
    # tf.Variable's `get_shape()` builds a PixelCNN mask in build(); Keras 3 dropped the name.
    class CausalConv(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__()
            self.conv = lamina.layers.Conv2D(**kwargs)

        def build(self, input_shape):
            self.conv.build(input_shape)
            kernel_shape = self.conv.kernel.get_shape()
            self.mask = np.zeros(shape=kernel_shape)
            self.mask[: kernel_shape[0] // 2, ...] = 1.0

        def call(self, inputs):
            self.conv.kernel.assign(self.conv.kernel * self.mask)
            return self.conv(inputs)

    layer = CausalConv(filters=2, kernel_size=3, padding="same")
    out = layer(np.ones((1, 4, 4, 1), dtype="float32"))
    keras_conv = reference.keras.layers.Conv2D(2, 3)
    keras_conv.build((None, 4, 4, 1))
    assert tuple(layer.conv.kernel.get_shape()) == tuple(keras_conv.kernel.shape) == (3, 3, 1, 2)
    # Only the kernel rows above the centre survive: the top output row sees only padding.
    assert np.all(layer.conv.kernel.numpy()[1:] == 0)
    np.testing.assert_allclose(
        out.detach().numpy()[0, 0], layer.conv.bias.numpy()[None].repeat(4, 0)
    )


def _small_model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, activation="tanh")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_epoch_hooks_see_tensors_without_a_graph_as_tensorflow():
    # tf.keras image-sampling callbacks: `self.model.generator(z).numpy()` in on_epoch_end.
    # torch refuses .numpy() on a tensor that recorded a graph; no tape watches a TF callback.
    seen = []

    class Sampler(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            images = self.model(lamina.random.normal((4, 3)))
            seen.append(images.numpy() * 127.5 + 127.5)

    model = _small_model()
    x = np.ones((8, 3), "float32")
    model.fit(x, np.zeros((8, 2), "float32"), epochs=2, verbose=0, callbacks=[Sampler()])
    assert [s.shape for s in seen] == [(4, 2), (4, 2)]
    # Outside a hook the model still records a graph.
    assert model(x).requires_grad


def test_fit_started_from_an_epoch_hook_still_trains():
    inner = _small_model()
    x, y = np.ones((8, 3), "float32"), np.full((8, 2), 0.5, "float32")
    before = inner.get_weights()[0].copy()

    class FineTune(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            inner.fit(x, y, epochs=1, verbose=0)

    _small_model().fit(x, y, epochs=1, verbose=0, callbacks=[FineTune()])
    assert not np.allclose(inner.get_weights()[0], before)


def test_train_on_batch_from_an_epoch_hook_still_trains():
    # It raised "a loss with no gradient" under the hook's no_grad.
    inner = _small_model()
    x, y = np.ones((8, 3), "float32"), np.full((8, 2), 0.5, "float32")
    before = inner.get_weights()[0].copy()

    class StepOnce(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            inner.train_on_batch(x, y)

    _small_model().fit(x, y, epochs=1, verbose=0, callbacks=[StepOnce()])
    assert not np.allclose(inner.get_weights()[0], before)


def test_optimizers_experimental_names_its_keras_3_replacement():
    # The diffusion notebook compiles with tf.keras 2.10's optimizers.experimental.AdamW.
    with pytest.raises(AttributeError, match=r"optimizers.AdamW\(") as caught:
        lamina.optimizers.experimental.AdamW  # noqa: B018
    assert "has no attribute 'experimental'" in str(caught.value)
    assert not hasattr(lamina.optimizers, "experimental")
    assert not hasattr(reference.keras.optimizers, "experimental")


def test_an_epoch_hook_takes_input_gradients_under_enable_grad():
    # An energy-based model's Langevin sampler in on_epoch_end: d score / d input.
    grads = []

    class Langevin(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with torch.enable_grad():
                x = torch.zeros(2, 3, requires_grad=True)
                grads.append(torch.autograd.grad(self.model(x).sum(), x)[0])

    model = _small_model()
    x = np.ones((4, 3), "float32")
    model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0, callbacks=[Langevin()])
    dense = model.layers[0]
    slope = 1 - torch.tanh(dense.bias.detach()) ** 2  # tanh' at x = 0
    expected = (dense.kernel.detach() @ slope).expand(2, 3)
    np.testing.assert_allclose(grads[0].numpy(), expected.numpy(), rtol=1e-5)
