"""Colour augmentation: RandomBrightness and RandomContrast (one random factor per image)."""

from __future__ import annotations

import torch

from lamina.engine import errors
from lamina.layers.preprocessing.base import (
    RandomImageLayer,
    per_image,
    symmetric_range,
    value_range_pair,
)


class RandomBrightness(RandomImageLayer):
    """Adds a random brightness offset to each image during training, then clips to `value_range`.

    Args:
        factor: a fraction of the value range: `0.2` adds offsets in [-20%, +20%] of
            `value_range[1] - value_range[0]`; a pair `(lower, upper)` in [-1, 1] gives the range
            (-1 turns an image black, +1 white).
        value_range: the range of the input pixels, (0, 255) by default: images scaled to [0, 1]
            need `value_range=(0, 1)`.
        seed: makes the offsets reproducible (default None: torch's global generator).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomBrightness(factor=(0.5, 0.5), value_range=(0, 1))
        >>> images = torch.full((1, 2, 2, 1), 0.25)
        >>> layer(images, training=True).flatten().tolist()  # + 0.5 * (1 - 0)
        [0.75, 0.75, 0.75, 0.75]
        >>> layer(images, training=False).flatten().tolist()  # inference: unchanged
        [0.25, 0.25, 0.25, 0.25]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = symmetric_range(factor, "factor", self)
        self.value_range = value_range_pair(value_range, self)

    def draw_transformation(self, images):
        low, high = self.value_range
        delta = self.uniform((images.shape[0], 1, 1, 1), *self.factor, images) * (high - low)
        return {"rgb_delta": delta}

    def apply_transformation(self, images, transformation, interpolation=None):
        delta = per_image(transformation["rgb_delta"], images)
        return (images + delta).clamp(*self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomContrast(RandomImageLayer):
    """Scales each image's deviation from its per-channel mean by a random factor during training.

    `output = (x - mean) * c + mean`, clipped to `value_range`, with `c` drawn per image from
    `[1 - lower, 1 + upper]`.

    Args:
        factor: `0.2` draws `c` in [0.8, 1.2]; a pair `(lower, upper)` draws it in
            [1 - lower, 1 + upper]. (TensorFlow's documented meaning; Keras 3 draws only the
            upper half, [1, 1 + factor], for a single float.)
        value_range: the range of the input pixels, (0, 255) by default.
        seed: makes the factors reproducible (default None: torch's global generator).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomContrast(0.5, value_range=(0, 1), seed=7)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomContrast(0.5, value_range=(0, 1), seed=7)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (tuple, list)) and len(factor) == 2:
            lower, upper = float(factor[0]), float(factor[1])
        else:
            lower = upper = symmetric_range(factor, "factor", self, bounds=(-1.0, 1.0))[1]
        if not (0.0 <= lower <= 1.0 and upper >= 0.0):
            raise errors.value_error(
                self,
                "`factor` in [0, 1] (or a pair with lower in [0, 1] and upper >= 0)",
                f"factor={factor!r}",
            )
        self.factor = (lower, upper)
        self.value_range = value_range_pair(value_range, self)

    def draw_transformation(self, images):
        lower, upper = self.factor
        contrast = self.uniform((images.shape[0], 1, 1, 1), 1.0 - lower, 1.0 + upper, images)
        return {"contrast_factor": contrast}

    def apply_transformation(self, images, transformation, interpolation=None):
        contrast = per_image(transformation["contrast_factor"], images)
        mean = images.mean(dim=(-2, -1), keepdim=True)
        # (x - mean) * c + mean as x * c + mean * (1 - c): the second term is per image and
        # channel, so the whole image is read and written once before the clamp.
        out = torch.addcmul(mean * (1.0 - contrast), images, contrast)
        return out.clamp(*self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
