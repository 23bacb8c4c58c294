"""Patterns of DeepLearning.AI's "TensorFlow: Advanced Techniques" courses 3 and 4 (computer
vision, generative deep learning; tf.keras 2 labs), each reproduced in a few lines of our own.
The labs themselves are not copied here; each test's comment names the pattern it stands for.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops
from tests.parity.reference import assert_call_matches_keras, keras

# --------------------------------------------------------------------------------------------------
# C3 W1 (object localization): the bounding-box head was written Dense(units='4'). tf.keras 2's
# Dense ran int(units); Keras 3 refuses the string. A digit string can mean only one size.


def test_dense_takes_a_digit_string_for_units_as_tf_keras_2_did():
    ours = layers.Dense(units="4", name="bounding_box")
    reference = keras.layers.Dense(units=4, name="bounding_box")
    x = np.random.default_rng(0).standard_normal((3, 5)).astype("float32")
    ours(x)
    reference(x)
    assert_call_matches_keras(reference, ours, [x])
    assert ours.get_config()["units"] == 4
    assert isinstance(ours.units, int)


@pytest.mark.parametrize("units", ["four", "-4", "4.0", "0"])
def test_dense_still_refuses_a_string_that_is_no_size(units):
    with pytest.raises(ValueError, match="`units` to be a positive integer"):
        layers.Dense(units=units)


# --------------------------------------------------------------------------------------------------
# C3 W4 (class activation maps): a Sequential whose first Conv2D takes input_shape=, trained, then
# Model(inputs=model.input, outputs=(model.layers[-3].output, model.layers[-1].output)) gives the
# last conv features and the probabilities; the CAM is features . Dense kernel from get_weights().
# (Keras 3 on torch raises AttributeError on `model.input` for this Sequential.)


def test_class_activation_map_model_from_a_trained_sequential():
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential()
    with pytest.warns(UserWarning, match="input_shape"):
        model.add(layers.Conv2D(4, input_shape=(8, 8, 1), kernel_size=3, padding="same"))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Conv2D(6, kernel_size=3, activation="relu", padding="same"))
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(3, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"], optimizer="adam")
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1))  # float64, as the lab's astype('float') gives
    model.fit(x, rng.integers(0, 3, 16), batch_size=8, epochs=1, verbose=0)

    cam_model = lamina.Model(
        inputs=model.input, outputs=(model.layers[-3].output, model.layers[-1].output)
    )
    features, results = cam_model.predict(x, verbose=0)
    assert features.shape == (16, 4, 4, 6) and results.shape == (16, 3)
    kernel, bias = model.layers[-1].get_weights()
    assert kernel.shape == (6, 3) and bias.shape == (3,)
    logits = features.mean(axis=(1, 2)) @ kernel + bias
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(results, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results, model.predict(x, verbose=0), rtol=1e-6)
    cam = np.dot(features[0], kernel[:, int(np.argmax(results[0]))])
    assert cam.shape == (4, 4)


# --------------------------------------------------------------------------------------------------
# C4 W3 (VAE): a Sampling layer (ops.shape + keras.random.normal), the KL term added with
# add_loss, and the lab's GradientTape loop in Keras 3's torch form: zero_grad, backward,
# optimizer.apply on `[v.value.grad for v in trainable_weights]`, with vae.losses summed in.


class _Sampling(layers.Layer):
    def call(self, inputs):
        mu, sigma = inputs
        batch, dim = ops.shape(mu)[0], ops.shape(mu)[1]
        return mu + ops.exp(0.5 * sigma) * lamina.random.normal(shape=(batch, dim))


class _KLDivergence(layers.Layer):
    def call(self, inputs):
        reconstructed, mu, sigma = inputs
        self.add_loss(-0.5 * ops.mean(1 + sigma - ops.square(mu) - ops.exp(sigma)))
        return reconstructed


def _vae():
    inputs = lamina.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    hidden = layers.BatchNormalization()(hidden)
    mu, sigma = layers.Dense(2)(hidden), layers.Dense(2)(hidden)
    z = _Sampling()((mu, sigma))
    reconstructed = layers.Dense(6, activation="sigmoid")(layers.Dense(8, activation="relu")(z))
    return lamina.Model(inputs, _KLDivergence()([reconstructed, mu, sigma]))


def test_vae_trains_in_the_torch_form_of_the_tape_loop():
    lamina.utils.set_random_seed(0)
    vae = _vae()
    optimizer = lamina.optimizers.Adam(learning_rate=0.01)
    bce = lamina.losses.BinaryCrossentropy()
    loss_metric = lamina.metrics.Mean()
    batch = np.random.default_rng(0).random((32, 6)).astype("float32")
    losses = []
    for _ in range(30):
        reconstructed = vae(batch)
        loss = bce(ops.reshape(batch, [-1]), ops.reshape(reconstructed, [-1])) * 6
        assert len(vae.losses) == 1  # this call's KL term only, not every call's
        loss += sum(vae.losses)
        vae.zero_grad()
        loss.backward()
        weights = list(vae.trainable_weights)
        with torch.no_grad():
            optimizer.apply([v.value.grad for v in weights], weights)
        loss_metric(loss)
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert np.isfinite(float(loss_metric.result()))


def test_graph_add_loss_names_the_keras_3_way():
    """The lab's model.add_loss(kl) on Input-derived tensors: Keras 3 raises a bare
    NotImplementedError; ours says where the loss goes instead."""
    inputs = lamina.Input((4,))
    mu = layers.Dense(2)(inputs)
    model = lamina.Model(inputs, layers.Dense(4)(mu))
    with pytest.raises(ValueError, match="add it from a layer's call"):
        model.add_loss(ops.mean(ops.square(mu)))


# --------------------------------------------------------------------------------------------------
# C3 W3 (U-Net): Conv2DTranspose(strides=2, padding='same') concatenated with the encoder's
# features, Dropout, then convolutions, trained with sparse labels per pixel. (Keras 3 on torch
# fails in backward here: "grad_input must be contiguous".)


def test_unet_decoder_block_trains_and_matches_keras_forward():
    def build(layers_module, models):
        inputs = layers_module.Input((8, 8, 3))
        skip = layers_module.Conv2D(4, 3, padding="same", activation="relu")(inputs)
        pooled = layers_module.MaxPooling2D()(skip)
        up = layers_module.Conv2DTranspose(4, (3, 3), strides=(2, 2), padding="same")(pooled)
        merged = layers_module.Dropout(0.3)(layers_module.concatenate([up, skip]))
        outputs = layers_module.Conv2D(3, (1, 1), activation="softmax")(merged)
        return models.Model(inputs, outputs)

    lamina.utils.set_random_seed(0)
    ours, reference = build(layers, lamina), build(keras.layers, keras)
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 3)).astype("float32")
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    ours.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in ours.get_weights()]
    history = ours.fit(x, rng.integers(0, 3, (4, 8, 8, 1)), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.array_equal(a, b) for a, b in zip(before, ours.get_weights(), strict=True))
