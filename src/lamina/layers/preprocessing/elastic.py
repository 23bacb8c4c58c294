"""RandomElasticTransform: images resampled through a smooth random displacement field."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.base import (
    RandomImageLayer,
    on_device,
    per_image,
    value_range_pair,
)
from lamina.layers.preprocessing.color_augmentation import keras_factor
from lamina.layers.preprocessing.filtering import gaussian_blur


def displacement_sample(images, dx, dy, fill_mode="reflect", fill_value=0.0, mode="bilinear"):
    """Output pixel (x, y) (indices) takes the input at (x + dx, y + dy), per image; outside
    points filled as Keras's fill modes (image_ops' grid_sample conventions)."""
    _, _, height, width = images.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=images.dtype, device=images.device),
        torch.arange(width, dtype=images.dtype, device=images.device),
        indexing="ij",
    )
    # Pixel index i is the centre of [i, i + 1): grid_sample's -1 + (2 i + 1) / n.
    grid = torch.stack([(2 * (xs + dx) + 1) / width - 1, (2 * (ys + dy) + 1) / height - 1], dim=-1)
    if fill_mode == "wrap":
        grid = torch.remainder(grid + 1.0, 2.0) - 1.0
    padding = image_ops._PADDING[fill_mode]
    offset = fill_value if fill_mode == "constant" else 0.0
    sampled = F.grid_sample(
        images - offset, grid, mode=mode, padding_mode=padding, align_corners=False
    )
    return sampled + offset


class RandomElasticTransform(RandomImageLayer):
    """Elastic distortion (Simard et al., 2003): Gaussian noise displacements, smoothed by a
    Gaussian of width `sigma` and scaled by `alpha`, move each pixel's sampling point.

    `alpha = 0.1 * s * max(H, W)` and `sigma = 0.05 * s * min(H, W)`, with the strength `s`
    drawn once per batch from `scale`; each image is distorted with a probability drawn from
    `factor`.

    Args:
        factor: the probability of distorting an image (a number p: drawn in [0, p]).
        scale: the strength's range, in [0, 1] (a number s: [0, s]).
        interpolation: "bilinear" (default) or "nearest".
        fill_mode, fill_value: for points outside the image (as RandomRotation).
        value_range: the pixels' range; the output is clipped to it.

    Example:
        >>> layer = RandomElasticTransform(seed=0)
        >>> tuple(layer(torch.rand(2, 16, 16, 3) * 255, training=True).shape)
        (2, 16, 16, 3)
    """

    moves_pixels = True

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        value_range=(0, 255),
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        self.scale = keras_factor(scale, self, (0.0, 1.0), "scale")
        if interpolation not in ("bilinear", "nearest"):
            raise errors.value_error(self, "interpolation 'bilinear' or 'nearest'", interpolation)
        if fill_mode not in image_ops.FILL_MODES:
            raise errors.value_error(self, f"fill_mode in {image_ops.FILL_MODES}", fill_mode)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.value_range = value_range_pair(value_range, self)

    def draw_transformation(self, images):
        count, _, height, width = images.shape
        if self.scale[1] == 0 or self.factor[1] == 0:  # nothing can move: draw nothing
            never = torch.zeros(count, dtype=torch.bool, device=images.device)
            return {"apply_transform": never, "distortion_factor": torch.zeros((), device="cpu")}
        probability = self.uniform((count,), *self.factor, images)
        apply = self.uniform((count,), 0.0, 1.0, images) < probability
        strength = float(self.uniform((), *self.scale, images))
        # Keras's keys; where Keras keeps a seed to draw the noise at each transform, lamina
        # draws the displacement here, once, for images and masks alike.
        return {
            "apply_transform": apply,
            # A host tensor, as Keras's 0-d one: read back without waiting on the device.
            "distortion_factor": torch.tensor(strength, device="cpu"),
            "displacement": self._displacement(images, strength),
        }

    def _displacement(self, images, strength):
        """(N, 2, H, W) smooth random (dx, dy) fields, in pixels, at distortion `strength`."""
        count, _, height, width = images.shape
        alpha, sigma = self.get_elastic_transform_params(height, width, strength)
        sigma = max(sigma, 1e-6)
        size = int(6 * sigma) | 1
        generator = self._generator(images.device)
        fields = []
        for _ in range(2):
            noise = torch.randn(
                (count, 1, height, width), generator=generator, device=images.device
            )
            fields.append(gaussian_blur(noise * sigma, (size, size), (sigma, sigma))[:, 0])
        return alpha * torch.stack(fields, dim=1)

    def apply_transformation(self, images, transformation, interpolation=None):
        strength = float(transformation["distortion_factor"])
        if strength == 0:
            return images
        displacement = transformation.get("displacement")
        if displacement is None:  # Keras's transformation: its noise is drawn at transform time
            displacement = self._displacement(images, strength)
        displacement = on_device(displacement, images).to(images.dtype)
        warped = displacement_sample(
            images,
            displacement[:, 0],
            displacement[:, 1],
            self.fill_mode,
            self.fill_value,
            interpolation or self.interpolation,
        )
        out = torch.where(
            per_image(transformation["apply_transform"], images).bool(), warped, images
        )
        return out if interpolation else out.clamp(*self.value_range)  # masks keep their ids

    def get_elastic_transform_params(self, height, width, factor):
        """The displacement's strength `alpha` and smoothness `sigma` (pixels) for an image of
        `height` x `width` at distortion `factor`, Keras's rule.

        Args:
            height, width: the image's size.
            factor: the distortion strength, in [0, 1].

        Example:
            >>> RandomElasticTransform().get_elastic_transform_params(100, 200, 0.5)
            (10.0, 2.5)
        """
        return max(height, width) * 0.1 * factor, min(height, width) * 0.05 * factor

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
        }
