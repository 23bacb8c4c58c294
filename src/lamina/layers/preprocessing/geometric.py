"""Geometric augmentation: RandomFlip, RandomRotation, RandomZoom, RandomTranslation.

Rotation, zoom and translation each draw one affine map per image and resample the whole batch with
one `grid_sample` call (image_ops.affine_sample) on the images' device.
"""

from __future__ import annotations

import math

import torch

from lamina.layers import argument_checks as checks
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.base import RandomImageLayer, symmetric_range


class RandomFlip(RandomImageLayer):
    """Flips each image left-right and / or up-down with probability 1/2, during training.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (default).
        seed: makes the flips reproducible (default None: torch's global generator).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomFlip("horizontal", seed=1)
        >>> image = torch.tensor([[[[1.0], [2.0]]]])  # one 1 x 2 image
        >>> sorted({tuple(layer(image, training=True).flatten().tolist()) for _ in range(20)})
        [(1.0, 2.0), (2.0, 1.0)]
        >>> layer(image, training=False).flatten().tolist()  # inference: unchanged
        [1.0, 2.0]
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = checks.choice(mode, self.MODES, "mode", self)

    def augment(self, images):
        batch = images.shape[0]
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = self.uniform((batch, 1, 1, 1), 0.0, 1.0, images) < 0.5
            images = torch.where(flip, images.flip(-1), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = self.uniform((batch, 1, 1, 1), 0.0, 1.0, images) < 0.5
            images = torch.where(flip, images.flip(-2), images)
        return images

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(RandomImageLayer):
    """Shared arguments and resampling of the three affine augmentations."""

    def __init__(
        self,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = checks.choice(fill_mode, image_ops.FILL_MODES, "fill_mode", self)
        self.interpolation = checks.choice(
            interpolation, image_ops.INTERPOLATIONS, "interpolation", self
        )
        self.fill_value = float(fill_value)

    def augment(self, images):
        batch, _, height, width = images.shape
        linear, shift = self.draw_maps(batch, height, width, images)
        matrices = torch.cat([linear, shift[:, :, None]], dim=2)
        return image_ops.affine_sample(
            images, matrices, self.fill_mode, self.fill_value, self.interpolation
        )

    def draw_maps(self, batch, height, width, like):
        """(N, 2, 2) linear parts and (N, 2) shifts in pixels, output -> input coordinates."""
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle during training.

    Args:
        factor: a fraction of a full turn: `0.1` draws angles in [-36, 36] degrees; a pair
            `(lower, upper)` gives the range. Positive angles turn counter-clockwise.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest": how the corners that
            come from outside the image are filled.
        interpolation: "bilinear" (default), "nearest" or "bicubic".
        seed: makes the rotations reproducible (default None: torch's global generator).
        fill_value: the value of the "constant" fill (default 0.0).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomRotation(0.1, seed=3)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomRotation(0.1, seed=3)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = symmetric_range(factor, "factor", self, bounds=(-math.inf, math.inf))

    def draw_maps(self, batch, height, width, like):
        lower, upper = self.factor
        angles = self.uniform((batch,), lower * 2 * math.pi, upper * 2 * math.pi, like)
        return image_ops.rotation_matrices(angles), torch.zeros(batch, 2, device=like.device)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms each image in or out by a random amount during training.

    Args:
        height_factor: a fraction: `0.2` draws vertical zooms in [-20%, +20%]; a pair gives the
            range. Positive values zoom out (the image shrinks), negative values zoom in.
        width_factor: the same for the horizontal axis; None (default) zooms both axes by the same
            amount, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomZoom(0.2, seed=5)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomZoom(0.2, seed=5)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = symmetric_range(
            height_factor, "height_factor", self, bounds=(-1.0, math.inf)
        )
        self.width_factor = (
            None
            if width_factor is None
            else symmetric_range(width_factor, "width_factor", self, bounds=(-1.0, math.inf))
        )

    def draw_maps(self, batch, height, width, like):
        zoom_y = 1.0 + self.uniform((batch,), *self.height_factor, like)
        zoom_x = (
            zoom_y
            if self.width_factor is None
            else 1.0 + self.uniform((batch,), *self.width_factor, like)
        )
        zeros = torch.zeros_like(zoom_x)
        linear = torch.stack(
            [torch.stack([zoom_x, zeros], -1), torch.stack([zeros, zoom_y], -1)], -2
        )
        return linear, torch.zeros(batch, 2, device=like.device)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random offset during training.

    Args:
        height_factor: a fraction of the height: `0.1` shifts by up to 10% up or down; a pair
            gives the range. Positive values shift down.
        width_factor: the same for the width; positive values shift right.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomTranslation(0.1, 0.1, seed=2)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomTranslation(0.1, 0.1, seed=2)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = symmetric_range(height_factor, "height_factor", self)
        self.width_factor = symmetric_range(width_factor, "width_factor", self)

    def draw_maps(self, batch, height, width, like):
        shift_y = self.uniform((batch,), *self.height_factor, like) * height
        shift_x = self.uniform((batch,), *self.width_factor, like) * width
        identity = torch.eye(2, device=like.device).expand(batch, 2, 2)
        # Content moves by +shift, so the output at p reads the input at p - shift.
        return identity, -torch.stack([shift_x, shift_y], -1)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }
