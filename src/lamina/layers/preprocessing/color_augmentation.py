"""Colour augmentations: RandomGrayscale, RandomInvert, RandomPosterization, Solarization,
RandomColorDegeneration, RandomSharpness, RandomHue, RandomSaturation, RandomColorJitter, and
the deterministic AutoContrast and Equalization.

As in Keras, the random ones (and Equalization) act when training (or called with no `training`
outside predict/evaluate); each draws its parameters per image, then applies the pure operation
of `color_ops` with them.
"""

from __future__ import annotations

import torch

from lamina.engine import errors, hyperparameters
from lamina.layers.preprocessing import color_ops
from lamina.layers.preprocessing.base import (
    NO_FACTOR,
    ImageLayer,
    RandomImageLayer,
    per_image,
    value_range_pair,
)
from lamina.layers.preprocessing.color import RandomBrightness, RandomContrast


def keras_factor(factor, layer, bounds=(-1.0, 1.0), argument="factor") -> tuple[float, float]:
    """Keras's factor rule: `f` -> (max(-|f|, lower bound), |f|); a pair -> sorted."""
    message = f"`{argument}` as a number or a pair within [{bounds[0]}, {bounds[1]}]"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise errors.value_error(layer, message, f"{argument}={factor!r}")
        low, high = sorted(float(f) for f in factor)
        return low, high
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if not bounds[0] <= factor <= bounds[1]:
            raise errors.value_error(layer, message, f"{argument}={factor!r}")
        return max(-abs(float(factor)), bounds[0]), abs(float(factor))
    raise errors.value_error(layer, message, f"{argument}={factor!r}")


class _ColorLayer(RandomImageLayer):
    """A random colour layer with a `factor` and a `value_range`."""

    bounds = (-1.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, self.bounds)
        self.value_range = value_range_pair(value_range, self)

    def draw(self, images):
        return self.uniform((images.shape[0],), *self.factor, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomGrayscale(RandomImageLayer):
    """Turns each image grey (luma in every channel) with probability `factor` while training.

    Args:
        factor: the probability, in [0, 1] (default 0.5).
        data_format, seed: as in the other augmentations.

    Example:
        >>> layer = RandomGrayscale(factor=1.0)
        >>> out = layer(torch.rand(2, 4, 4, 3) * 255, training=True)
        >>> bool((out[..., 0] == out[..., 2]).all())
        True
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        hyperparameters.number(factor, "factor", errors.describe(self), 0, 1)
        self.factor = float(factor)

    def draw_transformation(self, images):
        # As Keras: the transformation is the (N, 1, 1, 1) boolean tensor itself.
        return self.uniform((images.shape[0], 1, 1, 1), 0.0, 1.0, images) < self.factor

    def apply_transformation(self, images, transformation, interpolation=None):
        apply = per_image(transformation, images).bool()
        return torch.where(apply, color_ops.grayscale(images).expand_as(images), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomInvert(_ColorLayer):
    """Inverts each image (`value_range[1] - x`) with a probability drawn from `factor`.

    Args:
        factor: the inversion probability (a number p: drawn in [0, p]; a pair: in it).
        value_range: the pixels' range, (0, 255) by default.

    Example:
        >>> layer = RandomInvert(factor=(1.0, 1.0), value_range=(0, 1))
        >>> layer(torch.zeros(1, 1, 1, 1), training=True).item()
        1.0
    """

    bounds = (0.0, 1.0)

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def draw_transformation(self, images):
        return {
            "apply_inversion": self.uniform((images.shape[0],), 0.0, 1.0, images)
            < self.draw(images)
        }

    def apply_transformation(self, images, transformation, interpolation=None):
        apply = per_image(transformation["apply_inversion"], images).bool()
        return torch.where(apply, self.value_range[1] - images, images)


class RandomPosterization(_ColorLayer):
    """Keeps only the top `bits` bits of each 8-bit colour value, `bits` drawn per image.

    Args:
        factor: the bits kept, in [1, 8]: a number b draws from [1, b), a pair (a, b) from
            [a, b) (a == b: always a).
        value_range: the pixels' range, (0, 255) by default.

    Example:
        >>> layer = RandomPosterization(factor=(1, 1))
        >>> layer(torch.tensor([[[[200.0]]]]), training=True).item()
        128.0
    """

    bounds = (1.0, 8.0)

    def draw_transformation(self, images):
        low, high = int(self.factor[0]), int(self.factor[1])
        if low == high:
            bits = torch.full((images.shape[0],), low, device=images.device)
        else:
            bits = torch.randint(
                low,
                high,
                (images.shape[0],),
                generator=self._generator(images.device),
                device=images.device,
            )
        return {"shift_factor": 8 - bits}  # Keras's: the low bits dropped

    def apply_transformation(self, images, transformation, interpolation=None):
        shift = torch.as_tensor(transformation["shift_factor"]).to(images.device, torch.int32)
        return color_ops.posterize(images, 8 - shift, self.value_range)


class Solarization(RandomImageLayer):
    """Adds a random brightness, then inverts the values above a random threshold (per image).

    Args:
        addition_factor: the added value's range as a fraction of 255 (a number a: [0, a]).
        threshold_factor: the threshold's range as a fraction of 255 (a number t: [0, t]).
        value_range: the pixels' range, (0, 255) by default.

    As Keras, each range's lower end is not scaled by 255 (only the upper one is).

    Example:
        >>> Solarization()(torch.tensor([[[[200.0]]]]), training=True).item()
        55.0
    """

    def __init__(
        self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._factor(addition_factor, "addition_factor")
        self.threshold_factor = self._factor(threshold_factor, "threshold_factor")
        self.value_range = value_range_pair(value_range, self)

    def _factor(self, factor, argument):
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            factor = (0.0, factor)
        low, high = keras_factor(factor, self, (0.0, 1.0), argument)
        return low, high

    def draw_transformation(self, images):
        shape = (images.shape[0], 1, 1, 1)
        additions = self.uniform(
            shape, self.addition_factor[0], self.addition_factor[1] * 255, images
        )
        thresholds = self.uniform(
            shape, self.threshold_factor[0], self.threshold_factor[1] * 255, images
        )
        return {"additions": additions, "thresholds": thresholds}

    def apply_transformation(self, images, transformation, interpolation=None):
        additions = per_image(transformation["additions"], images)
        thresholds = per_image(transformation["thresholds"], images)
        return color_ops.solarize(images, additions, thresholds, self.value_range)

    def get_config(self):
        return {
            **super().get_config(),
            "addition_factor": self.addition_factor,
            "threshold_factor": self.threshold_factor,
            "value_range": self.value_range,
        }


class RandomColorDegeneration(_ColorLayer):
    """Blends each image towards its greyscale copy by a random amount: `x + f (grey - x)`.

    Args:
        factor: the blend amount's range (a number f: [-f, f]; negative amounts saturate).
        value_range: the pixels' range; the output is clipped to it.

    Example:
        >>> layer = RandomColorDegeneration(factor=(1.0, 1.0))
        >>> out = layer(torch.rand(1, 2, 2, 3) * 255, training=True)
        >>> bool(torch.allclose(out[..., 0], out[..., 1]))
        True
    """

    def draw_transformation(self, images):
        return {"factor": self.draw(images).reshape(-1, 1, 1, 1)}

    def apply_transformation(self, images, transformation, interpolation=None):
        amount = per_image(transformation["factor"], images)
        grey = color_ops.grayscale(images)
        return (images + amount * (grey - images)).clamp(*self.value_range)


class RandomSharpness(_ColorLayer):
    """Sharpens or blurs each image by a random amount (against a 3x3 smoothed copy).

    Args:
        factor: in [0, 1] (a number f: [0, f]); 0.5 leaves the image, 0 blurs, 1 sharpens.
        value_range: the pixels' range; the output is clipped to it.

    Example:
        >>> layer = RandomSharpness(factor=(0.5, 0.5))
        >>> x = torch.rand(1, 5, 5, 3) * 255
        >>> bool(torch.allclose(layer(x, training=True), x))
        True
    """

    bounds = (0.0, 1.0)

    def draw_transformation(self, images):
        return {"factor": self.draw(images)}

    def apply_transformation(self, images, transformation, interpolation=None):
        factors = per_image(transformation["factor"], images)
        return color_ops.sharpen(images, factors, self.value_range)


class RandomHue(_ColorLayer):
    """Rotates each image's hue by a random amount, up to half the colour circle.

    Args:
        factor: in [0, 1] (a number f: [0, f]); the shift is +-factor / 2 of the circle, its
            sign drawn per image.
        value_range: the pixels' range.

    Example:
        >>> layer = RandomHue(factor=(1.0, 1.0), value_range=(0, 1))
        >>> layer(torch.tensor([[[[1.0, 0.0, 0.0]]]]), training=True).tolist()
        [[[[0.0, 1.0, 1.0]]]]
    """

    bounds = (0.0, 1.0)

    def draw_transformation(self, images):
        sign = torch.where(self.uniform((images.shape[0],), 0.0, 1.0, images) > 0.5, -1.0, 1.0)
        return {"factor": sign * self.draw(images) * 0.5}  # fractions of the colour circle

    def apply_transformation(self, images, transformation, interpolation=None):
        return shift_hue(images, per_image(transformation["factor"], images), self.value_range)


def shift_hue(images, shifts, value_range):
    """Add `shifts` (fractions of the circle, per image) to the hue of RGB images."""
    hsv = color_ops.rgb_to_hsv(color_ops.to_range(images, value_range, (0, 1)))
    hue = hsv[:, 0] + shifts.reshape(-1, 1, 1).to(images.dtype)
    hue = torch.where(hue > 1.0, hue - 1.0, hue)
    hue = torch.where(hue < 0.0, hue + 1.0, hue)
    rgb = color_ops.hsv_to_rgb(torch.stack([hue, hsv[:, 1], hsv[:, 2]], dim=1)).clamp(0, 1)
    return color_ops.to_range(rgb, (0, 1), value_range)


class RandomSaturation(_ColorLayer):
    """Scales each image's saturation by a random amount (`f / (1 - f)` for a draw f).

    Args:
        factor: the draw's range (a number f: [-f, f]); 0.5 keeps the saturation, 0 gives
            grey, values towards 1 saturate fully.
        value_range: the pixels' range.

    Example:
        >>> layer = RandomSaturation(factor=(0.0, 0.0))
        >>> out = layer(torch.tensor([[[[200.0, 100.0, 50.0]]]]), training=True)
        >>> out.tolist()
        [[[[200.0, 200.0, 200.0]]]]
    """

    def draw_transformation(self, images):
        draws = self.draw(images)
        return {"factor": draws / (1.0 - draws + 1e-7)}  # the saturation's scale

    def apply_transformation(self, images, transformation, interpolation=None):
        scales = per_image(transformation["factor"], images)
        return scale_saturation(images, scales, self.value_range)


def scale_saturation(images, scales, value_range):
    """Multiply the saturation of RGB images by `scales` (per image), as Keras computes it."""
    hsv = color_ops.rgb_to_hsv(images)
    saturation = (hsv[:, 1] * scales.reshape(-1, 1, 1).to(images.dtype)).clamp(*value_range)
    return color_ops.hsv_to_rgb(torch.stack([hsv[:, 0], saturation, hsv[:, 2]], dim=1))


class RandomColorJitter(RandomImageLayer):
    """Random brightness, contrast, saturation and hue, applied in that order (each only if
    its factor is given), as RandomBrightness, RandomContrast, RandomSaturation and RandomHue.

    Args:
        value_range: the pixels' range, (0, 255) by default.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: each layer's factor.

    Example:
        >>> layer = RandomColorJitter(brightness_factor=0.2, hue_factor=0.1)
        >>> tuple(layer(torch.rand(2, 4, 4, 3) * 255, training=True).shape)
        (2, 4, 4, 3)
    """

    factor = NO_FACTOR

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_pair(value_range, self)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        common = {"value_range": value_range, "seed": seed, "data_format": "channels_first"}
        steps = [
            (RandomBrightness, brightness_factor),
            (RandomContrast, contrast_factor),
            (RandomSaturation, saturation_factor),
            (RandomHue, hue_factor),
        ]
        self.steps = [cls(factor, **common) for cls, factor in steps if factor is not None]

    # Keras's names for the steps (None where the factor is not given).
    @property
    def random_brightness(self):
        return self._step(RandomBrightness)

    @property
    def random_contrast(self):
        return self._step(RandomContrast)

    @property
    def random_saturation(self):
        return self._step(RandomSaturation)

    @property
    def random_hue(self):
        return self._step(RandomHue)

    def _step(self, cls):
        return next((step for step in self.steps if type(step) is cls), None)

    def augment(self, images):
        for step in self.steps:
            images = step.augment(images)
        return images

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
        }


class AutoContrast(ImageLayer):
    """Stretches each image's channels to span `value_range` (min to low, max to high).

    Args:
        value_range: the pixels' range, (0, 255) by default.

    Example:
        >>> AutoContrast()(torch.tensor([[[[10.0], [20.0]]]])).flatten().tolist()
        [0.0, 255.0]
    """

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = value_range_pair(value_range, self)
        self._build_at_init(AutoContrast)

    def transform(self, images, training: bool):
        return color_ops.auto_contrast(images, self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class Equalization(ImageLayer):
    """Histogram equalization of each channel while training (Keras's rule: the histogram is
    taken over the whole batch).

    Args:
        value_range: the pixels' range, (0, 255) by default.
        bins: histogram bins (256).

    Example:
        >>> out = Equalization()(torch.tensor([[[[0.0], [10.0], [20.0]]]]), training=True)
        >>> out.flatten().tolist()
        [0.0, 128.0, 255.0]
    """

    factor = NO_FACTOR

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_pair(value_range, self)
        self.bins = int(bins)
        self._build_at_init(Equalization)

    def transform(self, images, training: bool):
        if not training:
            return images
        return color_ops.equalize(images, self.value_range, self.bins)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "bins": self.bins}
