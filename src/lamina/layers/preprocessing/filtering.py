"""RandomGaussianBlur and RandomErasing: augmentations that blur an image or blank a box of it,
each applied to an image with a probability drawn from `factor`, when training (or called with
no `training` outside predict/evaluate, as in Keras)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors
from lamina.layers.preprocessing.base import (
    RandomImageLayer,
    on_device,
    per_image,
    value_range_pair,
)
from lamina.layers.preprocessing.color_augmentation import keras_factor


def gaussian_blur(images, kernel_size, sigma):
    """Blur (N, C, H, W) images with a separable Gaussian (`sigma` = (along W, along H)),
    zero-padded to keep the size."""

    def kernel1d(size, s):
        x = torch.arange(size, dtype=images.dtype, device=images.device) - (size - 1) / 2
        k = torch.exp(-0.5 * (x / s) ** 2)
        return k / k.sum()

    kernel = torch.outer(kernel1d(kernel_size[1], sigma[1]), kernel1d(kernel_size[0], sigma[0]))
    channels = images.shape[1]
    kernel = kernel.reshape(1, 1, *kernel.shape).expand(channels, 1, *kernel.shape)
    return F.conv2d(images, kernel, padding=kernel_size[0] // 2, groups=channels)


class _ProbabilityLayer(RandomImageLayer):
    def applies(self, images):
        """Per image: whether to act, with probability drawn from `factor`."""
        probability = self.uniform((images.shape[0],), *self.factor, images)
        return self.uniform((images.shape[0],), 0.0, 1.0, images) < probability


class RandomGaussianBlur(_ProbabilityLayer):
    """Blurs images with a Gaussian of random width while training.

    Args:
        factor: the probability of blurring an image (a number p: drawn in [0, p]).
        kernel_size: the kernel's size (an odd int, or a pair).
        sigma: the Gaussian's standard deviation range (a number s: [0, s]); one draw per
            batch for each image axis.
        value_range: the pixels' range; the output is clipped to it.

    Example:
        >>> layer = RandomGaussianBlur(factor=(1.0, 1.0), seed=0)
        >>> tuple(layer(torch.rand(2, 8, 8, 3), training=True).shape)
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        factor=1.0,
        kernel_size=3,
        sigma=1.0,
        value_range=(0, 255),
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        if len(kernel_size) != 2 or any(k < 1 for k in kernel_size):
            raise errors.value_error(self, "kernel_size as an int or a pair", f"{kernel_size!r}")
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.sigma = keras_factor(sigma, self, (0.0, float("inf")), "sigma")
        self.value_range = value_range_pair(value_range, self)

    def draw_transformation(self, images):
        apply = self.applies(images)
        sigma = self.uniform((2,), *self.sigma, images) + 1e-6
        return {"should_apply_blur": apply, "blur_factor": sigma}

    def apply_transformation(self, images, transformation, interpolation=None):
        sigma = on_device(transformation["blur_factor"], images)
        blurred = gaussian_blur(images, self.kernel_size, sigma)
        apply = per_image(transformation["should_apply_blur"], images).bool()
        return torch.where(apply, blurred, images).clamp(*self.value_range)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "kernel_size": self.kernel_size,
            "sigma": self.sigma,
            "value_range": self.value_range,
        }


class RandomErasing(_ProbabilityLayer):
    """Blanks a random box of an image (Zhong et al., 2020) while training.

    Args:
        factor: the probability of erasing in an image (a number p: drawn in [0, p]).
        scale: the range of the box's side fractions squared (each side's fraction is the
            square root of a draw in it), default (0.02, 0.33).
        fill_value: the box's value (a number or an RGB triple); None: Gaussian noise scaled
            by `value_range[1]`, clipped.
        value_range: the pixels' range.

    Example:
        >>> layer = RandomErasing(factor=(1.0, 1.0), fill_value=0.0, seed=0)
        >>> bool((layer(torch.full((1, 16, 16, 3), 9.0), training=True) == 0).any())
        True
    """

    def __init__(
        self,
        factor=1.0,
        scale=(0.02, 0.33),
        fill_value=None,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        self.scale = keras_factor(scale, self, (0.0, 1.0), "scale")
        if isinstance(fill_value, (tuple, list)) and len(fill_value) != 3:
            raise errors.value_error(self, "fill_value as a number or an RGB triple", "a list")
        self.fill_value = fill_value
        self.value_range = value_range_pair(value_range, self)

    def draw_transformation(self, images):
        count, channels, height, width = images.shape
        sides = torch.sqrt(self.uniform((count, 2), *self.scale, images))
        boxes = []
        for length, side in ((width, sides[:, 0]), (height, sides[:, 1])):
            size = side * length
            start = self.uniform((count,), 0.0, 1.0, images) * (length - size)
            boxes.append((start, start + size))
        (x0, x1), (y0, y1) = boxes
        rows = torch.arange(height, device=images.device, dtype=torch.float32).reshape(1, 1, -1, 1)
        cols = torch.arange(width, device=images.device, dtype=torch.float32).reshape(1, 1, 1, -1)
        box = (
            (cols >= x0.reshape(-1, 1, 1, 1))
            & (cols < x1.reshape(-1, 1, 1, 1))
            & (rows >= y0.reshape(-1, 1, 1, 1))
            & (rows < y1.reshape(-1, 1, 1, 1))
        )
        apply = self.applies(images)
        if self.fill_value is None:
            noise = torch.randn(
                images.shape, generator=self._generator(images.device), device=images.device
            )
            fill = noise.to(images.dtype) * self.value_range[1]
        else:
            fill = torch.as_tensor(self.fill_value, dtype=images.dtype, device=images.device)
            fill = fill.reshape(1, -1, 1, 1).expand_as(images)
        fill = fill.clamp(*self.value_range)
        # Keras's keys, the box and the fill in the layer's data format (views, no copies).
        box = box.expand(count, channels, height, width)
        if self.data_format == "channels_last":
            box, fill = box.movedim(1, -1), fill.movedim(1, -1)
        return {"apply_erasing": apply, "batch_masks": box, "fill_value": fill}

    def apply_transformation(self, images, transformation, interpolation=None):
        box, fill = (on_device(transformation[k], images) for k in ("batch_masks", "fill_value"))
        if self.data_format == "channels_last":
            box, fill = box.movedim(-1, 1), fill.movedim(-1, 1)
        apply = per_image(transformation["apply_erasing"], images).bool()
        return torch.where(box & apply, fill.to(images.dtype), images)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
        }
