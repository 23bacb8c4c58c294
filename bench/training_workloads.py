"""The workloads of bench_training.py: their data, sizes and models, in Keras-API code (which
lamina and Keras both run) and in plain torch (the hand-written loop's twin of each model).

  cnn / predict  the seeds' CIFAR-style CNN; resnet  a CIFAR ResNet (3 stages x 2 basic blocks,
  64-128-256 channels); lstm  LSTM(128) -> Dense(1); mlp  the seeds' make_moons MLP.
Every stack's child asserts that its model has the trainable parameters PARAMETERS counts by hand.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

# (n, batch) per size and workload.
SIZES = {
    "cpu": {
        "cnn": (4096, 64),
        "resnet": (256, 64),
        "lstm": (2048, 128),
        "mlp": (800, 32),
        "predict": (4096, 256),
    },
    "gpu": {
        "cnn": (50000, 128),
        "resnet": (20000, 128),
        "lstm": (20000, 128),
        "mlp": (800, 32),
        "predict": (50000, 1024),
    },
    "tiny": {
        "cnn": (256, 64),
        "resnet": (32, 16),
        "lstm": (256, 64),
        "mlp": (256, 32),
        "predict": (256, 64),
    },
}
WORKLOADS = tuple(SIZES["cpu"])
# Trainable parameters, counted by hand; every stack's child asserts its model has them.
PARAMETERS = {"cnn": 545290, "predict": 545290, "resnet": 2777674, "lstm": 82561, "mlp": 193}
# The (stage output channels, first stride) of the ResNet's six basic blocks.
RESNET_BLOCKS = ((64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


@dataclass(frozen=True)
class Widths:
    """The sizes of the image and sequence models: bench_training's by default; narrower ones
    keep the same layer graphs (bench_host_overhead.py runs them at tiny widths)."""

    side: int = 32  # image height and width
    cnn: tuple = (32, 64, 128)  # the CNN's two convolutions' filters and its hidden Dense's units
    resnet_stem: int = 64
    resnet_blocks: tuple = RESNET_BLOCKS
    lstm: tuple = (50, 32, 128)  # steps, features, units


FULL = Widths()


def make_data(workload: str, n: int):
    """NumPy (x, y) of a workload: learnable synthetic images, sequences or moons."""
    if workload in ("cnn", "resnet", "predict"):
        rng = np.random.default_rng(1234)
        y = rng.integers(0, 10, size=n)
        templates = rng.standard_normal((10, 4, 4, 3), dtype=np.float32)
        templates = np.repeat(np.repeat(templates, 8, axis=1), 8, axis=2)
        x = rng.standard_normal((n, 32, 32, 3), dtype=np.float32)
        x += 0.3 * templates[y]
        return x, y.astype(np.int64)
    if workload == "lstm":
        rng = np.random.default_rng(1234)
        y = rng.integers(0, 2, size=n).astype(np.float32)
        x = rng.standard_normal((n, 50, 32), dtype=np.float32)
        x[:, :, 0] += 0.5 * (2 * y - 1)[:, None]
        return x, y.reshape(-1, 1)
    rng = np.random.RandomState(42)
    half = n // 2
    t = np.linspace(0, np.pi, half)
    x = np.vstack(
        [np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)]
    )
    y = np.hstack([np.zeros(half), np.ones(half)])
    order = rng.permutation(2 * half)
    x = x[order] + rng.normal(scale=0.1, size=(2 * half, 2))
    return x.astype(np.float32), y[order].astype(np.float32).reshape(-1, 1)


def keras_resnet(L, M, widths=FULL):
    def conv_bn(x, filters, kernel, stride=1, relu=False):
        x = L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        return L.Activation("relu")(x) if relu else x

    inputs = L.Input((widths.side, widths.side, 3))
    x = conv_bn(inputs, widths.resnet_stem, 3, relu=True)
    for filters, stride in widths.resnet_blocks:
        body = conv_bn(conv_bn(x, filters, 3, stride, relu=True), filters, 3)
        changes = stride != 1 or x.shape[-1] != filters
        shortcut = conv_bn(x, filters, 1, stride) if changes else x
        x = L.Activation("relu")(L.Add()([body, shortcut]))
    x = L.GlobalAveragePooling2D()(x)
    return M.Model(inputs, L.Dense(10, activation="softmax")(x))


def seeds_cnn_body(L, widths=FULL) -> list:
    """The seeds' CIFAR CNN (shared/seeds/000_*) up to its classifier: Conv32-BN-Pool-Dropout,
    Conv64-BN-Pool-Dropout, Flatten, Dense128, Dropout; `L` is lamina's or Keras's `layers`."""
    first, second, units = widths.cnn
    return [
        L.Conv2D(first, (3, 3), padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 2)),
        L.Dropout(0.25),
        L.Conv2D(second, (3, 3), padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 2)),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(units, activation="relu"),
        L.Dropout(0.5),
    ]


def keras_like_model(L, M, workload, widths=FULL):
    if workload in ("cnn", "predict"):
        return M.Sequential(
            [
                L.Input((widths.side, widths.side, 3)),
                *seeds_cnn_body(L, widths),
                L.Dense(10, activation="softmax"),
            ]
        )
    if workload == "resnet":
        return keras_resnet(L, M, widths)
    if workload == "lstm":
        steps, features, units = widths.lstm
        return M.Sequential(
            [L.Input((steps, features)), L.LSTM(units), L.Dense(1, activation="sigmoid")]
        )
    return M.Sequential(
        [
            L.Dense(16, activation="relu", input_shape=(2,)),
            L.Dense(8, activation="relu"),
            L.Dense(1, activation="sigmoid"),
        ]
    )


def torch_model(workload: str, widths=FULL):
    """The torch twin of `keras_like_model` (BatchNorm with Keras's epsilon and momentum)."""
    from torch import nn

    def bn(channels):
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)

    if workload in ("cnn", "predict"):
        first, second, units = widths.cnn
        return nn.Sequential(
            nn.Conv2d(3, first, 3, padding=1),
            nn.ReLU(),
            bn(first),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Conv2d(first, second, 3, padding=1),
            nn.ReLU(),
            bn(second),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Flatten(),
            nn.Linear(second * (widths.side // 4) ** 2, units),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(units, 10),
        )
    if workload == "lstm":
        _, features, units = widths.lstm

        class SequenceClassifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(features, units, batch_first=True)
                self.head = nn.Linear(units, 1)

            def forward(self, x):
                _, (hidden, _) = self.lstm(x)
                return self.head(hidden[-1])

        return SequenceClassifier()
    if workload == "resnet":

        class BasicBlock(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.body = nn.Sequential(
                    nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                    bn(cout),
                    nn.ReLU(),
                    nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                    bn(cout),
                )
                changes = stride != 1 or cin != cout
                self.shortcut = (
                    nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))
                    if changes
                    else nn.Identity()
                )

            def forward(self, x):
                return (self.body(x) + self.shortcut(x)).relu()

        stem = widths.resnet_stem
        layers, cin = [nn.Conv2d(3, stem, 3, 1, 1, bias=False), bn(stem), nn.ReLU()], stem
        for cout, stride in widths.resnet_blocks:
            layers.append(BasicBlock(cin, cout, stride))
            cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))


def torch_parameter_count(model) -> int:
    """Trainable parameters as Keras counts them: nn.LSTM keeps two bias vectors whose sum is the
    one bias Keras's LSTM has, so its `bias_hh` is not counted."""
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if p.requires_grad and "bias_hh" not in name
    )


def torch_train_epoch(model, optimizer, loss_fn, x, y, batch: int, binary: bool, bf16=False):
    """One epoch of the hand-written loop, as a PyTorch user writes it: randperm, a step per
    batch, the loss and the correct predictions summed on the device (the caller reads them once
    per epoch, as a progress bar would). `bf16`: the forward under bfloat16 autocast, the loss on
    float32 logits; the float32 loop enters no autocast context (one per batch costs a few us).

    Returns:
        (summed loss, number correct), 0-d tensors on `x`'s device.
    """
    import torch

    precision = torch.autocast(x.device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    model.train()
    permutation = torch.randperm(len(x), device=x.device)
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device)
    for first in range(0, len(x), batch):
        index = permutation[first : first + batch]
        xb, yb = x[index], y[index]
        optimizer.zero_grad(set_to_none=True)
        with precision:
            out = model(xb)
        loss = loss_fn(out.float() if bf16 else out, yb)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            total_loss += loss.detach() * len(index)
            predicted = (out > 0).float() if binary else out.argmax(1)
            correct += (predicted == yb).sum()
    return total_loss, correct


def torch_predict(model, x, batch: int, bf16=False):
    """The hand-written predict: softmax of each batch's logits (in float32), as NumPy."""
    import torch

    precision = torch.autocast(x.device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    model.eval()
    with torch.no_grad(), precision:
        outputs = [
            torch.softmax(model(x[first : first + batch]).float(), -1)
            for first in range(0, len(x), batch)
        ]
    return torch.cat(outputs).cpu().numpy()
