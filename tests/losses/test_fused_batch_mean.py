"""The compiled cross-entropies averaged inside torch's kernel (`crossentropy.fused_batch_mean`)
give the loss and gradients of the per-sample values' mean, and step aside where they would not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers, losses, models
from lamina.losses import crossentropy

CASES = {
    "sparse_categorical_crossentropy": ("softmax", 5, lambda rng: rng.integers(0, 5, (6,))),
    "categorical_crossentropy": (
        "softmax",
        5,
        lambda rng: np.eye(5, dtype="float32")[rng.integers(0, 5, 6)],
    ),
    "binary_crossentropy": (
        "sigmoid",
        3,
        lambda rng: rng.integers(0, 2, (6, 3)).astype("float32"),
    ),
}


def model_and_batch(name):
    activation, units, labels = CASES[name]
    torch.manual_seed(0)
    model = models.Sequential([layers.Input((4,)), layers.Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss=name)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((6, 4)).astype("float32"))
    return model, x, torch.as_tensor(labels(rng))


def loss_and_grads(model, x, y, sample_weight=None):
    model.zero_grad()
    loss = model.compute_loss(x, y, model(x, training=True), sample_weight)
    loss.backward()
    return [loss.detach(), *[p.grad.clone() for p in model.parameters()]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fused_mean_equals_the_mean_of_the_values(name, monkeypatch):
    model, x, y = model_and_batch(name)
    fn = losses.get(name)
    assert crossentropy.fused_batch_mean(fn, y, model(x, training=True)) is not None
    fused = loss_and_grads(model, x, y)
    monkeypatch.setattr(crossentropy, "fused_batch_mean", lambda *args: None)
    per_sample = loss_and_grads(model, x, y)
    for a, b in zip(fused, per_sample, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_weights_masks_and_other_outputs_take_the_per_sample_path(monkeypatch):
    model, x, y = model_and_batch("sparse_categorical_crossentropy")
    weights = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.0, 1.0])
    asked = []
    real = crossentropy.fused_batch_mean
    monkeypatch.setattr(crossentropy, "fused_batch_mean", lambda *a: asked.append(1) or real(*a))
    model.compute_loss(x, y, model(x, training=True), weights)
    masked = model(x, training=True)
    masked._keras_mask = torch.tensor([True, True, False, True, True, True])
    model.compute_loss(x, y, masked)
    assert asked == []  # sample weights or a mask: the per-sample values are weighed
    fn = losses.get("sparse_categorical_crossentropy")
    probabilities = torch.softmax(torch.randn(6, 5), -1)  # no logits remembered
    assert real(fn, y, probabilities) is None
    assert real(losses.get("mse"), y, model(x)) is None
