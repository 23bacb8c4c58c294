"""The colour augmentations against Keras 3: the same per-image parameters (Keras's
`transform_images` given a transformation, lamina's `color_ops` given the same numbers) give the
same images; deterministic layers are compared end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing import color_ops
from lamina.layers.preprocessing.color_augmentation import scale_saturation, shift_hue
from tests.parity.reference import keras

pytestmark = pytest.mark.parity


def _images(value_range=(0, 255), shape=(3, 6, 5, 3), seed=0):
    rng = np.random.default_rng(seed)
    low, high = value_range
    return (rng.random(shape) * (high - low) + low).astype("float32")


def _nchw(x):
    return torch.tensor(x).permute(0, 3, 1, 2)


def _nhwc(y):
    return y.permute(0, 2, 3, 1).numpy()


def _close(got, want, atol=1e-4):
    np.testing.assert_allclose(got, np.asarray(want), atol=atol, rtol=1e-5)


# Keras's Equalization on torch warns from inside its own code (a 0-d Tensor.T).
@pytest.mark.filterwarnings("ignore:(?s).*Tensor.T is deprecated:UserWarning")
@pytest.mark.parametrize("value_range", [(0, 255), (0, 1)])
def test_deterministic_color_layers_match_keras(value_range):
    x = _images(value_range)
    x[1] = x[1] * 0.5 + value_range[1] * 0.25  # an image that does not span the range
    for name, config in [
        ("AutoContrast", {}),
        ("Equalization", {}),
        ("RandomGrayscale", {"factor": 1.0}),
        ("RandomPosterization", {"factor": (3, 3)}),
    ]:
        config = dict(config)
        if name != "RandomGrayscale":
            config["value_range"] = value_range
        want = getattr(keras.layers, name)(**config)(x, training=True)
        got = getattr(layers, name)(**config)(torch.tensor(x), training=True)
        _close(got.numpy(), want, atol=1e-4 * value_range[1])


def test_invert_solarize_degenerate_sharpen_match_keras():
    x = _images()
    flags = torch.tensor([True, False, True])
    want = keras.layers.RandomInvert().transform_images(
        torch.tensor(x), {"apply_inversion": flags}, training=True
    )
    got = torch.where(flags.reshape(-1, 1, 1, 1), 255 - _nchw(x), _nchw(x))
    _close(_nhwc(got), want)

    additions = torch.tensor([0.0, 40.0, 90.0]).reshape(3, 1, 1, 1)
    thresholds = torch.tensor([128.0, 60.0, 250.0]).reshape(3, 1, 1, 1)
    want = keras.layers.Solarization().transform_images(
        torch.tensor(x), {"additions": additions, "thresholds": thresholds}, training=True
    )
    _close(_nhwc(color_ops.solarize(_nchw(x), additions, thresholds, (0, 255))), want)

    amounts = torch.tensor([-0.5, 0.3, 1.0]).reshape(3, 1, 1, 1)
    want = keras.layers.RandomColorDegeneration(0.5).transform_images(
        torch.tensor(x), {"factor": amounts}, training=True
    )
    grey = color_ops.grayscale(_nchw(x))
    _close(_nhwc((_nchw(x) + amounts * (grey - _nchw(x))).clamp(0, 255)), want)

    factors = torch.tensor([0.0, 0.5, 0.9])
    want = keras.layers.RandomSharpness(0.5).transform_images(
        torch.tensor(x), {"factor": factors}, training=True
    )
    _close(_nhwc(color_ops.sharpen(_nchw(x), factors, (0, 255))), want)


def test_hue_and_saturation_match_keras():
    x = _images()
    shifts = torch.tensor([-0.4, 0.1, 0.5])
    want = keras.layers.RandomHue(0.5).transform_images(
        torch.tensor(x), {"factor": shifts}, training=True
    )
    _close(_nhwc(shift_hue(_nchw(x), shifts, (0, 255))), want, atol=1e-3)
    scales = torch.tensor([0.0, 0.5, 3.0])
    want = keras.layers.RandomSaturation(0.5).transform_images(
        torch.tensor(x), {"factor": scales}, training=True
    )
    _close(_nhwc(scale_saturation(_nchw(x), scales, (0, 255))), want, atol=1e-3)


COLOR_LAYERS = [
    ("RandomGrayscale", {"factor": 0.5}),
    ("RandomInvert", {}),
    ("RandomPosterization", {"factor": 4}),
    ("Solarization", {"addition_factor": 0.2, "threshold_factor": 0.5}),
    ("RandomColorDegeneration", {"factor": 0.5}),
    ("RandomSharpness", {"factor": 0.5}),
    ("RandomHue", {"factor": 0.5}),
    ("RandomSaturation", {"factor": 0.5}),
    ("RandomColorJitter", {"brightness_factor": 0.2, "saturation_factor": 0.5}),
]


@pytest.mark.parametrize("name, config", COLOR_LAYERS, ids=[c[0] for c in COLOR_LAYERS])
def test_random_color_layers_seed_inference_and_config(name, config):
    x = torch.tensor(_images(shape=(8, 6, 5, 3)))
    layer = getattr(layers, name)(**config, seed=3)
    assert torch.equal(layer(x, training=False), x)  # inference: identity
    first = layer(x, training=True)
    again = getattr(layers, name)(**config, seed=3)(x, training=True)
    torch.testing.assert_close(first, again)  # same seed, same draws
    assert first.shape == x.shape
    assert float(first.min()) >= -1e-3 and float(first.max()) <= 255 + 1e-3
    keys = set(getattr(keras.layers, name)(**config).get_config()) - {"dtype"}
    assert keys <= set(layer.get_config())
    clone = type(layer).from_config(layer.get_config())
    torch.testing.assert_close(clone(x, training=True), first)


def test_random_grayscale_applies_with_its_probability():
    x = torch.tensor(_images(shape=(4000, 2, 2, 3)))
    out = layers.RandomGrayscale(factor=0.3, seed=1)(x, training=True)
    grey = (out[..., 0] == out[..., 1]).all(dim=(1, 2)) & (out[..., 1] == out[..., 2]).all(
        dim=(1, 2)
    )
    assert abs(grey.float().mean().item() - 0.3) < 0.03


def test_gaussian_blur_matches_keras_op():
    from lamina.layers.preprocessing.filtering import gaussian_blur

    x = _images()
    want = keras.ops.image.gaussian_blur(
        torch.tensor(x), kernel_size=(5, 5), sigma=(0.7, 1.6), data_format="channels_last"
    )
    got = gaussian_blur(_nchw(x), (5, 5), torch.tensor([0.7, 1.6]))
    _close(_nhwc(got), want)


@pytest.mark.parametrize("name", ["MixUp", "CutMix", "RandomGaussianBlur", "RandomErasing"])
def test_mixing_and_filtering_configs_carry_keras_keys(name):
    keys = set(getattr(keras.layers, name)().get_config()) - {"dtype"}
    assert keys <= set(getattr(layers, name)().get_config())
