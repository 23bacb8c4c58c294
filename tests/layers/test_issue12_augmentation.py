"""MixUp, CutMix, RandomGaussianBlur, RandomErasing: by distribution, seed reproducibility,
inference identity and hand-checkable properties (their draws are random by design)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers


def _batch(count=6, size=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, size, size, 3, generator=generator) * 255


@pytest.mark.parametrize(
    "name, config",
    [
        ("MixUp", {}),
        ("CutMix", {}),
        ("RandomGaussianBlur", {"factor": 0.8}),
        ("RandomErasing", {"factor": 0.8}),
    ],
)
def test_identity_in_inference_and_seeded_draws_repeat(name, config):
    x = _batch()
    layer = getattr(layers, name)(**config, seed=5)
    assert torch.equal(layer(x, training=False), x)
    first = layer(x, training=True)
    torch.testing.assert_close(getattr(layers, name)(**config, seed=5)(x, training=True), first)
    assert not torch.equal(first, x)
    clone = type(layer).from_config(layer.get_config())
    torch.testing.assert_close(clone(x, training=True), first)


def test_mixup_mixes_images_and_labels_with_one_beta_weight():
    x, labels = _batch(), torch.eye(6)
    out = layers.MixUp(alpha=0.4, seed=2)({"images": x, "labels": labels}, training=True)
    mixed, checked = out["labels"], 0
    for i in range(6):
        others = [j for j in torch.nonzero(mixed[i]).flatten().tolist() if j != i]
        if not others:  # paired with itself
            torch.testing.assert_close(out["images"][i], x[i])
            continue
        w = mixed[i, i]
        torch.testing.assert_close(out["images"][i], w * x[i] + (1 - w) * x[others[0]])
        checked += 1
    assert checked >= 3


def test_mixup_weights_follow_beta():
    layer = layers.MixUp(alpha=0.2, seed=0)
    weights = torch.cat([layer._beta(2000, 0.2, torch.zeros(1)) for _ in range(2)])
    assert abs(weights.mean().item() - 0.5) < 0.03
    assert abs(weights.var().item() - 1 / (4 * 1.4)) < 0.02  # Beta(a, a): 1 / (4 (2a + 1))


def test_cutmix_pastes_a_box_and_weights_labels_by_area():
    x, labels = _batch(count=8, size=32), torch.eye(8)
    out = layers.CutMix(seed=3)({"images": x, "labels": labels}, training=True)
    for i in range(8):
        own = out["labels"][i, i].item()
        kept = (out["images"][i] == x[i]).all(dim=-1).float().mean().item()
        assert abs(kept - own) < 0.1  # continuous box area against the pixel grid


def test_gaussian_blur_keeps_a_flat_image_inside_and_smooths_noise():
    flat = torch.full((1, 9, 9, 3), 100.0)
    out = layers.RandomGaussianBlur(factor=(1.0, 1.0), seed=0)(flat, training=True)
    torch.testing.assert_close(out[:, 2:-2, 2:-2], flat[:, 2:-2, 2:-2])
    noise = _batch(count=2, size=16)
    blurred = layers.RandomGaussianBlur(factor=(1.0, 1.0), sigma=(2.0, 2.0), seed=0)(
        noise, training=True
    )
    assert blurred.std().item() < noise.std().item()


def test_random_erasing_box_sizes_follow_scale():
    x = torch.full((400, 20, 20, 1), 50.0)
    out = layers.RandomErasing(factor=(1.0, 1.0), scale=(0.1, 0.1), fill_value=0.0, seed=0)(
        x, training=True
    )
    erased = (out == 0).float().mean(dim=(1, 2, 3))
    # each side is sqrt(0.1) of the image: about 10% of the area (pixel-grid rounding aside)
    assert abs(erased.mean().item() - 0.1) < 0.02
    probability = layers.RandomErasing(factor=(0.3, 0.3), fill_value=0.0, seed=1)(x, training=True)
    applied = (probability == 0).flatten(1).any(dim=1).float().mean().item()
    assert abs(applied - 0.3) < 0.07
    with pytest.raises(ValueError, match="fill_value as a number or an RGB triple"):
        layers.RandomErasing(fill_value=(1, 2))


def test_gaussian_blur_kernel_is_normalised_and_separable():
    from lamina.layers.preprocessing.filtering import gaussian_blur

    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 1.0
    kernel = gaussian_blur(impulse, (5, 5), torch.tensor([1.0, 2.0]))[0, 0, 1:6, 1:6]
    assert kernel.sum().item() == pytest.approx(1.0, abs=1e-6)
    x = np.arange(5) - 2.0
    want = np.outer(np.exp(-0.5 * (x / 2.0) ** 2), np.exp(-0.5 * x**2))
    np.testing.assert_allclose(kernel.numpy(), want / want.sum(), rtol=1e-5)
