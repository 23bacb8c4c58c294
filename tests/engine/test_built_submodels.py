"""Subclassed models over sub-models built beforehand (Keras's VAE, GAN and distillation
patterns) with a `call`: the first `fit` builds them by a meta-device probe, which must leave
the real weights in place even where a layer is reachable by two paths (a feature model over
the encoder's layers); then they train, as Keras's do."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine.weight import TrainableWeight
from tests.parity import reference


def _encoder(layers_module, models):
    inputs = layers_module.Input((4,))
    hidden = layers_module.Dense(6, activation="tanh", name="hidden")(inputs)
    return models.Model(inputs, layers_module.Dense(3, name="code")(hidden), name="encoder")


def _with_features(layers_module, models):
    """A subclass holding a built encoder, a feature model sharing its layers, and a head."""

    class WithFeatures(models.Model):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.features = models.Model(encoder.input, encoder.get_layer("hidden").output)
            self.head = models.Sequential([layers_module.Input((9,)), layers_module.Dense(2)])

        def call(self, inputs):
            both = models.ops.concatenate([self.encoder(inputs), self.features(inputs)], axis=-1)
            return self.head(both)

    return WithFeatures(_encoder(layers_module, models))


def _real_weights(model):
    return all(not w.is_meta for w in model.weights)


def test_a_build_probe_leaves_shared_sub_model_weights_real():
    model = _with_features(layers, lamina)
    before = [w for w in model.weights]
    model.build((None, 4))
    assert model.built
    assert _real_weights(model)
    assert all(a is b for a, b in zip(before, model.weights, strict=True))
    assert model(torch.ones(2, 4)).shape == (2, 2)


def test_default_train_step_over_built_sub_models_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.normal(size=(24, 2)).astype("float32")
    shapes = [(4, 6), (6,), (6, 3), (3,), (9, 2), (2,)]
    weights = [rng.normal(size=s).astype("float32") * 0.5 for s in shapes]
    theirs = reference.keras_sgd_fit_run(
        _with_features, weights, x, y, loss="mse", learning_rate=0.1, batch_size=8
    )
    model = _with_features(layers, lamina)
    model.set_weights(weights)
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], theirs["history"]["loss"], rtol=1e-5, atol=1e-6)
    for ours, keras_weight in zip(model.get_weights(), theirs["weights"], strict=True):
        np.testing.assert_allclose(ours, keras_weight, atol=1e-5)


class Sampling(layers.Layer):
    def call(self, inputs):
        mean, log_var = inputs
        return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


class VAE(lamina.Model):
    """Keras's VAE example in small, with a `call` and the whole autoencoder held too."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.autoencoder = lamina.Model(encoder.input, decoder(encoder.output[2]))
        self.total = lamina.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total]

    def call(self, inputs):
        return self.autoencoder(inputs)

    def train_step(self, data):
        mean, log_var, z = self.encoder(data)
        reconstruction = self.decoder(z)
        squared = lamina.ops.sum(lamina.ops.square(data - reconstruction), axis=1)
        kl = -0.5 * lamina.ops.sum(1 + log_var - mean**2 - lamina.ops.exp(log_var), axis=1)
        loss = lamina.ops.mean(squared) + lamina.ops.mean(kl)
        grads = torch.autograd.grad(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        self.total.update_state(loss.detach())
        return {"loss": self.total.result()}


def test_vae_with_a_call_and_built_sub_models_trains():
    inputs = layers.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    mean, log_var = layers.Dense(2)(hidden), layers.Dense(2)(hidden)
    encoder = lamina.Model(inputs, [mean, log_var, Sampling()([mean, log_var])])
    code = layers.Input((2,))
    decoder = lamina.Model(code, layers.Dense(6)(layers.Dense(8, activation="relu")(code)))
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=lamina.optimizers.Adam(1e-2))
    data = np.random.default_rng(2).normal(size=(256, 6)).astype("float32") * [3, 3, 1, 1, 0.1, 0.1]
    history = vae.fit(data, epochs=8, batch_size=64, verbose=0).history
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert _real_weights(vae)
    assert vae.predict(data[:5], verbose=0).shape == (5, 6)


class GAN(lamina.Model):
    """Keras's GAN example: `compile(d_optimizer=, g_optimizer=)` overridden, a `call`."""

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def call(self, inputs):
        return self.discriminator(inputs)

    def train_step(self, real):
        batch = real.shape[0]
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        noise = lamina.random.normal((batch, 2))
        scores = self.discriminator(lamina.ops.concatenate([self.generator(noise).detach(), real]))
        labels = torch.cat([torch.ones(batch, 1), torch.zeros(batch, 1)]).to(real.device)
        d_loss = bce(scores, labels)
        d_weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(torch.autograd.grad(d_loss, d_weights), d_weights)
        fooled = self.discriminator(self.generator(lamina.random.normal((batch, 2))))
        g_loss = bce(fooled, torch.zeros(batch, 1, device=real.device))
        g_weights = self.generator.trainable_weights
        self.g_optimizer.apply(torch.autograd.grad(g_loss, g_weights), g_weights)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def test_gan_with_two_optimizers_and_a_call_fits():
    generator = lamina.Sequential([layers.Input((2,)), layers.Dense(2)])
    discriminator = lamina.Sequential(
        [layers.Input((2,)), layers.Dense(4, activation="relu"), layers.Dense(1)]
    )
    gan = GAN(generator, discriminator)
    gan.compile(d_optimizer=lamina.optimizers.Adam(1e-3), g_optimizer=lamina.optimizers.Adam(1e-3))
    g_before = [w.detach().clone() for w in generator.weights]
    d_before = [w.detach().clone() for w in discriminator.weights]
    real = np.random.default_rng(3).normal(size=(64, 2)).astype("float32") + 4
    history = gan.fit(real, epochs=2, batch_size=32, verbose=0).history
    assert set(history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(history["d_loss"])) and all(np.isfinite(history["g_loss"]))
    assert _real_weights(gan)
    assert all(not torch.equal(a, b) for a, b in zip(g_before, generator.weights, strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, discriminator.weights, strict=True))


@pytest.mark.slow
def test_captured_step_over_a_shared_sub_layer_matches_the_eager_step():
    """jit_compile=True captures the step (a skip would warn, an error here) without leaving a
    traced tensor in the real model where the feature model shares the encoder's layers."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.normal(size=(24, 2)).astype("float32")
    trained = []
    for jit_compile in (False, True):
        model = _with_features(layers, lamina)
        model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
        model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        assert all(type(w) is TrainableWeight for w in model.trainable_weights)
        trained.append(model.get_weights())
    for eager, captured in zip(*trained, strict=True):
        np.testing.assert_allclose(captured, eager, atol=1e-6)
