"""Image colour-space ops (Keras's `ops.image`): RGB <-> HSV and RGB -> grayscale.

The formulas are TensorFlow's (hue, saturation and value in [0, 1]); channels last unless
`data_format="channels_first"`.
"""

from __future__ import annotations

import torch

from lamina import backend
from lamina.engine import errors
from lamina.ops.core import floating, symbolic_op, tensor


def _three_channels(images, data_format, who):
    """(images as a tensor, channel axis), checked to be one image or a batch of 3 channels."""
    x = tensor(images)
    axis = -1 if backend.standardize_data_format(data_format) == "channels_last" else -3
    if x.dim() not in (3, 4) or x.shape[axis] != 3:
        raise errors.value_error(
            f"{who}() argument `images`",
            "one image (rank 3) or a batch (rank 4) with 3 channels",
            f"shape {tuple(x.shape)}",
        )
    return x, axis


@symbolic_op("rgb_to_grayscale")
def rgb_to_grayscale(images, data_format=None):
    """Convert RGB images to grayscale, keeping a channel axis of size 1.

    The gray level is the luma `0.2989 R + 0.5870 G + 0.1140 B`; integer images are computed in
    float32 and cast back.

    Args:
        images: `(..., height, width, 3)` RGB images (channels first with
            `data_format="channels_first"`).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A tensor with 1 channel, of `images`' dtype.

    Example:
        >>> pixels = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
        >>> lamina.ops.image.rgb_to_grayscale(pixels)
        tensor([[[0.2989],
                 [0.9999]]])
    """
    x, axis = _three_channels(images, data_format, "rgb_to_grayscale")
    weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=floating(x).dtype, device=x.device)
    shape = [1] * x.dim()
    shape[axis] = 3
    gray = (floating(x) * weights.reshape(shape)).sum(dim=axis, keepdim=True)
    return gray if x.is_floating_point() else gray.to(x.dtype)


@symbolic_op("rgb_to_hsv")
def rgb_to_hsv(images, data_format=None):
    """Convert RGB images to hue, saturation and value, all in `[0, 1]` (TensorFlow's formulas).

    Integer inputs are computed in float32; RGB values are expected in `[0, 1]`.

    Args:
        images: `(..., height, width, 3)` RGB images (channels first with
            `data_format="channels_first"`).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A floating tensor shaped like `images`, holding (hue, saturation, value).

    Example:
        >>> pixels = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]])
        >>> lamina.ops.image.rgb_to_hsv(pixels)
        tensor([[[0.0000, 1.0000, 1.0000],
                 [0.5000, 1.0000, 0.5000]]])
    """
    x, axis = _three_channels(images, data_format, "rgb_to_hsv")
    x = floating(x)
    r, g, b = x.unbind(axis)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1), 0.0)
    safe = torch.where(spread > 0, spread, 1)
    hue = torch.where(
        value == r,
        (g - b) / safe,
        torch.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = torch.where(spread > 0, hue / 6.0, 0.0)
    hue = torch.where(hue < 0, hue + 1.0, hue)
    return torch.stack([hue, saturation, value], dim=axis)


@symbolic_op("hsv_to_rgb")
def hsv_to_rgb(images, data_format=None):
    """Convert hue, saturation and value (all in `[0, 1]`) back to RGB: the inverse of `rgb_to_hsv`.

    Args:
        images: `(..., height, width, 3)` HSV images (channels first with
            `data_format="channels_first"`).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A floating tensor of RGB values, shaped like `images`.

    Example:
        >>> pixels = torch.tensor([[[0.0, 1.0, 1.0], [0.5, 1.0, 0.5]]])
        >>> lamina.ops.image.hsv_to_rgb(pixels)
        tensor([[[1.0000, 0.0000, 0.0000],
                 [0.0000, 0.5000, 0.5000]]])
    """
    x, axis = _three_channels(images, data_format, "hsv_to_rgb")
    x = floating(x)
    h, s, v = x.unbind(axis)
    sector = h * 6.0
    red = torch.clamp(torch.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - torch.abs(sector - 2.0), 0.0, 1.0)
    blue = torch.clamp(2.0 - torch.abs(sector - 4.0), 0.0, 1.0)
    rgb = torch.stack([red, green, blue], dim=axis)
    s, v = s.unsqueeze(axis), v.unsqueeze(axis)
    return v * (1.0 - s + s * rgb)
