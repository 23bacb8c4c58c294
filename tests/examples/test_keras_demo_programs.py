"""What keras-team/keras's own demo programs and its backend-agnostic keras.io ports rely on.

Each test is a small reproduction of our own of a pattern those programs use (a Keras model
inside a raw torch loop or an `nn.Module`, a torch module wrapped as a layer and fed by a torch
DataLoader, a layer that rewrites a sub-layer's kernel in `call`, confusion-count metrics in
`fit` logs), pinned so a later change cannot quietly break the ports.
"""

import numpy as np
import torch

import lamina
from lamina import layers


def _small_convnet(num_classes=4):
    return lamina.Sequential(
        [
            layers.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(num_classes),
        ]
    )


def test_a_model_trains_in_a_raw_torch_loop_and_inside_an_nn_module():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((32, 8, 8, 1)).astype("float32"))
    labels = torch.from_numpy(rng.integers(0, 4, (32,)).astype("uint8")).long()

    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = _small_convnet()

        def forward(self, x):
            return self.model(x)

    for module in (_small_convnet(), Holder()):
        parameters = list(module.parameters())
        # The torch optimizer must see every trainable weight, nested or not.
        assert len(parameters) == 4
        optimizer = torch.optim.Adam(parameters, lr=0.05)
        before = [p.detach().clone() for p in parameters]
        losses = []
        for _ in range(5):
            loss = torch.nn.functional.cross_entropy(module(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert losses[-1] < losses[0]
        assert all(not torch.equal(a, b.detach()) for a, b in zip(before, parameters, strict=True))


def test_a_wrapped_torch_module_builds_symbolically_trains_from_a_dataloader_and_reloads(
    tmp_path,
):
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 6),
    )
    inputs = lamina.Input(shape=(3, 8, 8))
    x = layers.TorchModuleWrapper(backbone)(inputs)
    outputs = lamina.activations.softmax(layers.Dense(3)(x), axis=1)
    model = lamina.Model(inputs, outputs)
    assert model.output_shape == (None, 3)
    trainable = sum(p.numel() for p in backbone.parameters()) + 6 * 3 + 3
    buffers = sum(b.numel() for b in backbone.buffers())
    assert model.count_params() == trainable + buffers
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable

    rng = np.random.default_rng(0)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(rng.normal(size=(32, 3, 8, 8)).astype("float32")),
        torch.from_numpy(rng.integers(0, 3, (32,)).astype("int64")),
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=lamina.optimizers.Adam(
            lamina.optimizers.schedules.ExponentialDecay(1e-2, 4, 0.1)
        ),
        metrics=["accuracy"],
    )
    path = str(tmp_path / "model.weights.h5")
    checkpoint = lamina.callbacks.ModelCheckpoint(
        path, monitor="val_loss", save_best_only=True, save_weights_only=True
    )
    history = model.fit(loader, validation_data=loader, epochs=2, verbose=0, callbacks=[checkpoint])
    assert set(history.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}
    best = min(history.history["val_loss"])
    expected = model.predict(loader, verbose=0)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(path)
    assert np.isclose(model.evaluate(loader, verbose=0)[0], best, atol=1e-5)
    if best == history.history["val_loss"][-1]:
        np.testing.assert_allclose(model.predict(loader, verbose=0), expected, atol=1e-5)


class _MaskedConv(layers.Layer):
    """Zeroes the kernel's lower half in `call`, the way a masked PixelCNN conv does."""

    def __init__(self, **kwargs):
        super().__init__()
        self.conv = layers.Conv2D(**kwargs)

    def build(self, input_shape):
        self.conv.build(input_shape)
        shape = lamina.ops.shape(self.conv.kernel)
        self.mask = np.zeros(shape=shape)
        self.mask[: shape[0] // 2, ...] = 1.0

    def call(self, inputs):
        self.conv.kernel.assign(self.conv.kernel * self.mask)
        return self.conv(inputs)


def test_a_layer_that_assigns_its_sub_layer_kernel_in_call_trains_with_the_mask_kept():
    inputs = lamina.Input(shape=(6, 6, 1))
    masked = _MaskedConv(filters=2, kernel_size=3, padding="same", activation="relu")
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(masked(inputs))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="binary_crossentropy")
    data = (np.random.default_rng(0).random((16, 6, 6, 1)) > 0.5).astype("float32")
    history = model.fit(data, data, batch_size=8, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # The step after the last assign moved the masked half; the next call masks it again.
    model.predict(data[:2], verbose=0)
    kernel = lamina.ops.convert_to_numpy(masked.conv.kernel)
    assert np.all(kernel[1:] == 0) and np.any(kernel[:1] != 0)


def test_confusion_counts_in_fit_logs_count_the_training_data_not_the_validation_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = (rng.random((96, 1)) < 0.3).astype("uint8")
    model = lamina.Sequential([layers.Input(shape=(5,)), layers.Dense(1, activation="sigmoid")])
    counts = ["fn", "fp", "tn", "tp"]
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[
            lamina.metrics.FalseNegatives(name="fn"),
            lamina.metrics.FalsePositives(name="fp"),
            lamina.metrics.TrueNegatives(name="tn"),
            lamina.metrics.TruePositives(name="tp"),
        ],
    )
    history = model.fit(
        x[:64], y[:64], batch_size=32, epochs=2, verbose=0, validation_data=(x[64:], y[64:])
    ).history
    for epoch in range(2):
        assert sum(history[name][epoch] for name in counts) == 64
        assert sum(history["val_" + name][epoch] for name in counts) == 32


def test_a_constant_built_in_build_adds_to_a_functional_models_inputs_like_keras():
    class AddSinusoid(layers.Layer):
        def build(self, input_shape):
            position = lamina.ops.expand_dims(lamina.ops.arange(0, 12, dtype="float32"), 1)
            self.table = lamina.ops.expand_dims(lamina.ops.sin(position / 3.0), 0)

        def call(self, inputs):
            return inputs + self.table[:, : lamina.ops.shape(inputs)[1], :]

    feed = np.random.default_rng(0).random((2, 5, 1)).astype("float32")
    inputs = lamina.Input(shape=(5, 1))
    model = lamina.Model(inputs, AddSinusoid()(inputs))
    assert model.output_shape == (None, 5, 1)
    assert model.count_params() == 0
    expected = feed + np.sin(np.arange(5, dtype="float32") / 3.0)[None, :, None]
    np.testing.assert_allclose(model.predict(feed, verbose=0), expected, atol=1e-6)
