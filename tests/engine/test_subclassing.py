"""Subclassed models (`class MyModel(lamina.Model)`): fit, summary after a build, weights
saved and loaded; custom `train_step` / `test_step` in the VAE and GAN patterns
(docs/custom_training.md)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.parity import reference


class Classifier(lamina.Model):
    def __init__(self, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(16, activation="relu")
        self.dropout = layers.Dropout(0.2)
        self.classify = layers.Dense(classes, activation="softmax")

    def call(self, inputs, training=None):
        return self.classify(self.dropout(self.hidden(inputs), training=training))


def blobs(n=96):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, 5)) * 0.3 + np.eye(3, 5)[y] * 3).astype("float32")
    return x, y


def test_subclassed_model_fits_and_reports_its_layers():
    model = Classifier(name="classifier")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = blobs()
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Judged without dropout: the training logs see a fifth of the hidden units dropped.
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]
    assert model.count_params() == 5 * 16 + 16 + 16 * 3 + 3


def test_summary_after_build_shows_multiple_as_keras_2_does():
    model = Classifier(name="classifier")
    model.build((None, 5))
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[3] == " dense (Dense)               multiple                  96        "
    assert "Total params: 147 (588.00 Byte)" in lines


def test_save_weights_and_load_into_a_fresh_instance(tmp_path):
    model = Classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = blobs()
    model.fit(x, y, epochs=2, verbose=0)
    path = str(tmp_path / "classifier.weights.h5")
    model.save_weights(path)
    fresh = Classifier()
    fresh.build((None, 5))
    assert not np.allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_subclassed_model_without_call_says_what_to_write():
    with pytest.raises(NotImplementedError, match=r"has no graph and no call\(\)"):
        lamina.Model()(torch.ones(1, 2))


class Regressor(lamina.Model):
    """Custom steps with plain torch autograd; x, y = data as in Keras's guide."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.loss_tracker = lamina.metrics.Mean(name="loss")
        self.mae = lamina.metrics.MeanAbsoluteError(name="mae")

    def call(self, inputs):
        return self.dense(inputs)

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae]

    def train_step(self, data):
        x, y = data
        prediction = self(x, training=True)
        loss = torch.mean((prediction - y) ** 2)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.loss_tracker.update_state(loss.detach())
        self.mae.update_state(y, prediction.detach())
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        prediction = self(x, training=False)
        self.loss_tracker.update_state(torch.mean((prediction - y) ** 2))
        self.mae.update_state(y, prediction)
        return {m.name: m.result() for m in self.metrics}


def test_custom_train_step_with_torch_autograd_learns_and_logs_its_metrics():
    rng = np.random.default_rng(1)
    x = rng.random((128, 2), dtype=np.float32)
    y = x @ np.array([[1.0], [-2.0]], dtype=np.float32) + 0.5
    model = Regressor()
    model.compile(optimizer=lamina.optimizers.SGD(0.2))
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0, validation_data=(x, y))
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history.history["loss"][-1] < 0.01 < history.history["loss"][0]
    np.testing.assert_allclose(model.get_weights()[0], [[1.0], [-2.0]], atol=0.15)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(
        float(np.mean((model.predict(x, verbose=0) - y) ** 2)), rel=1e-4
    )


class Sampling(layers.Layer):
    def call(self, inputs):
        mean, log_var = inputs
        return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


class VAE(lamina.Model):
    """Keras's VAE pattern: unlabelled data, `self.encoder(data)`, apply_gradients."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.total = lamina.metrics.Mean(name="loss")
        self.kl = lamina.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total, self.kl]

    def train_step(self, data):
        mean, log_var, z = self.encoder(data)
        reconstruction = self.decoder(z)
        reconstruction_loss = torch.mean(torch.sum((data - reconstruction) ** 2, dim=1))
        kl = torch.mean(-0.5 * torch.sum(1 + log_var - mean**2 - torch.exp(log_var), dim=1))
        loss = reconstruction_loss + kl
        grads = torch.autograd.grad(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.total.update_state(loss.detach())
        self.kl.update_state(kl.detach())
        return {"loss": self.total.result(), "kl_loss": self.kl.result()}


def test_vae_pattern_trains_on_unlabelled_data():
    inputs = layers.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    mean, log_var = layers.Dense(2)(hidden), layers.Dense(2)(hidden)
    encoder = lamina.Model(inputs, [mean, log_var, Sampling()([mean, log_var])], name="encoder")
    code = layers.Input((2,))
    decoder = lamina.Model(
        code, layers.Dense(6)(layers.Dense(8, activation="relu")(code)), name="decoder"
    )
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=lamina.optimizers.Adam(1e-2))
    data = np.random.default_rng(2).normal(size=(256, 6)).astype("float32") * [3, 3, 1, 1, 0.1, 0.1]
    history = vae.fit(data, epochs=8, batch_size=64, verbose=0)
    assert set(history.history) == {"loss", "kl_loss"}
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    assert len(vae.trainable_weights) == len(encoder.trainable_weights) + len(
        decoder.trainable_weights
    )


class GAN(lamina.Model):
    """Keras's GAN pattern: two optimizers, each stepping its own sub-model's weights."""

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, real):
        batch = real.shape[0]
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        fake = self.generator(torch.randn(batch, 2, device=real.device))
        scores = self.discriminator(torch.cat([fake.detach(), real]))
        labels = torch.cat([torch.ones(batch, 1), torch.zeros(batch, 1)]).to(real.device)
        d_loss = bce(scores, labels)
        grads = torch.autograd.grad(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(
            zip(grads, self.discriminator.trainable_weights, strict=True)
        )
        g_loss = bce(
            self.discriminator(self.generator(torch.randn(batch, 2, device=real.device))),
            torch.zeros(batch, 1, device=real.device),
        )
        grads = torch.autograd.grad(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def test_gan_pattern_steps_each_sub_model_with_its_own_optimizer():
    generator = lamina.Sequential([layers.Input((2,)), layers.Dense(2)])
    discriminator = lamina.Sequential(
        [layers.Input((2,)), layers.Dense(4, activation="relu"), layers.Dense(1)]
    )
    gan = GAN(generator, discriminator)
    gan.compile(lamina.optimizers.Adam(1e-3), lamina.optimizers.Adam(1e-3))
    g_before = [w.detach().clone() for w in generator.weights]
    d_before = [w.detach().clone() for w in discriminator.weights]
    real = np.random.default_rng(3).normal(size=(64, 2)).astype("float32") + 4
    history = gan.fit(real, epochs=2, batch_size=32, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(history.history["d_loss"]))
    assert all(not torch.equal(a, b) for a, b in zip(g_before, generator.weights, strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, discriminator.weights, strict=True))


class MixedList(lamina.Model):
    """Holds its layers in a list that starts with an Input, as Keras examples do."""

    def __init__(self):
        super().__init__()
        self.stack = [lamina.Input((3,))]
        self.stack += [layers.Dense(4)]
        self.stack += [layers.Dense(2)]

    def call(self, inputs):
        for layer in self.stack[1:]:
            inputs = layer(inputs)
        return inputs


def test_layers_in_a_list_that_holds_other_things_are_tracked_as_in_keras():
    model = MixedList()
    model(np.zeros((1, 3), "float32"))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert len(model.trainable_weights) == 4 and model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    assert isinstance(model.stack, list) and len(model.stack) == 3  # the user's list, unchanged


class FeaturesAndIds(lamina.Model):
    """call() of two tensors, one of integer ids, and a plain keyword: Keras builds such a model
    by one symbolic call on the first call's own arguments."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(3)
        self.embed = layers.Embedding(10, 3)
        self.seen = []

    def call(self, features, ids, scale=1.0):
        self.seen.append((features.device.type, ids.dtype, scale))
        return self.dense(features) * scale + lamina.ops.sum(self.embed(ids), axis=1)


def test_first_call_builds_on_every_argument_once_as_keras(recwarn):
    model = FeaturesAndIds()
    features, ids = np.ones((5, 4), "float32"), np.ones((5, 2), "int32")
    out = model(features, ids, scale=2.0)
    assert tuple(out.shape) == (5, 3)
    assert not [w for w in recwarn if "could not run call()" in str(w.message)]
    # One symbolic call on the ids as integers (they were probed as floats, and a call of two
    # tensors could not be built at all), then the call on data: two calls, as in Keras.
    assert model.seen == [("meta", torch.int32, 2.0), ("cpu", torch.int32, 2.0)]
    assert [tuple(w.shape) for w in model.weights] == [(4, 3), (3,), (10, 3)]
    model.seen.clear()
    model(features, ids)
    assert model.seen == [("cpu", torch.int32, 1.0)]


@pytest.mark.parametrize("framework", ["lamina", "keras"])
def test_a_first_fit_calls_call_three_times_as_keras(framework):
    # The symbolic build, the outputs the compiled loss and metrics are built from, one step:
    # programs that print or count in call() (Hands-On ML's "Tracing...") see what Keras shows.
    # lamina ran a second meta call for the compiled loss, four in all.
    module = lamina if framework == "lamina" else reference.keras
    calls = []

    class Counting(module.Model):
        def __init__(self):
            super().__init__()
            self.dense = module.layers.Dense(1)

        def call(self, x):
            calls.append(tuple(x.shape))
            return self.dense(x)

    model = Counting()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, batch_size=8, verbose=0)
    assert len(calls) == 3
    model.fit(x, y, batch_size=8, verbose=0)
    assert len(calls) == 4


class TextIds(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lookup = layers.StringLookup(vocabulary=["a", "b"])
        self.embed = layers.Embedding(3, 2)

    def call(self, text):
        return self.embed(self.lookup(text))


def test_a_model_first_called_on_text_builds_as_it_runs(recwarn):
    # Text cannot go through shape inference: the layers build on the call itself, without the
    # "could not run call()" warning a symbolic build of a string input gave.
    model = TextIds()
    text = np.array([["a", "b"], ["b", "c"]])
    assert tuple(model(text).shape) == (2, 2, 2)
    assert not [w for w in recwarn if "could not run call()" in str(w.message)]
    assert model._build_input_shape == (None, 2)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(text, np.zeros((2, 2, 2), "float32"), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
