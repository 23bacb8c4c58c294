"""Image colour-space ops (Keras's `ops.image`): RGB <-> HSV and RGB -> grayscale.

The formulas are TensorFlow's (hue, saturation and value in [0, 1]); channels last unless
`data_format="channels_first"`.
"""

from __future__ import annotations

import torch

from lamina import backend
from lamina.ops.core import floating, symbolic_op, tensor


def _channel_axis(data_format):
    return -1 if backend.standardize_data_format(data_format) == "channels_last" else -3


@symbolic_op("rgb_to_grayscale")
def rgb_to_grayscale(images, data_format=None):
    """Luma `0.2989 R + 0.5870 G + 0.1140 B`, keeping a channel axis of size 1.

    Args:
        images: `(..., height, width, 3)` (or channels first) RGB images.
        data_format: "channels_last" or "channels_first".
    """
    x = tensor(images)
    axis = _channel_axis(data_format)
    weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=floating(x).dtype, device=x.device)
    shape = [1] * x.dim()
    shape[axis] = 3
    gray = (floating(x) * weights.reshape(shape)).sum(dim=axis, keepdim=True)
    return gray if x.is_floating_point() else gray.to(x.dtype)


@symbolic_op("rgb_to_hsv")
def rgb_to_hsv(images, data_format=None):
    """RGB images (float, values in [0, 1]) to hue, saturation, value in [0, 1].

    Args:
        images: `(..., height, width, 3)` (or channels first).
        data_format: "channels_last" or "channels_first".
    """
    x = floating(tensor(images))
    axis = _channel_axis(data_format)
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
    """The inverse of `rgb_to_hsv`.

    Args:
        images: `(..., height, width, 3)` HSV (or channels first), values in [0, 1].
        data_format: "channels_last" or "channels_first".
    """
    x = floating(tensor(images))
    axis = _channel_axis(data_format)
    h, s, v = x.unbind(axis)
    sector = h * 6.0
    red = torch.clamp(torch.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - torch.abs(sector - 2.0), 0.0, 1.0)
    blue = torch.clamp(2.0 - torch.abs(sector - 4.0), 0.0, 1.0)
    rgb = torch.stack([red, green, blue], dim=axis)
    s, v = s.unsqueeze(axis), v.unsqueeze(axis)
    return v * (1.0 - s + s * rgb)
