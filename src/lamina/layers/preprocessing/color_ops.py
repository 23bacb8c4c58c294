"""Pure colour operations on (N, C, H, W) float images, shared by the colour augmentations:
value-range changes, greyscale, HSV, posterization, solarization, sharpening, auto-contrast and
histogram equalization. Each follows the formula of the Keras layer that uses it."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_range(images, source, target):
    """Map values linearly from the `source` (low, high) range to the `target` one."""
    if tuple(source) == tuple(target):
        return images
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return (images - source[0]) * scale + target[0]


def grayscale(images):
    """ITU-R 601 luma (0.2989, 0.587, 0.114) of RGB images, one channel; others pass through."""
    if images.shape[1] != 3:
        return images.clone()
    r, g, b = images.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def rgb_to_hsv(images):
    """RGB in [0, 1] -> HSV, each in [0, 1] (hue as a fraction of the circle)."""
    eps = torch.finfo(images.dtype).eps
    images = torch.where(images.abs() < eps, torch.zeros_like(images), images)
    r, g, b = images.unbind(1)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack([hue, saturation, value], dim=1)


def hsv_to_rgb(images):
    """The inverse of `rgb_to_hsv`."""
    hue, saturation, value = images.unbind(1)
    sector = (hue % 1.0) * 6.0
    red = torch.clamp((sector - 3.0).abs() - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - (sector - 2.0).abs(), 0.0, 1.0)
    blue = torch.clamp(2.0 - (sector - 4.0).abs(), 0.0, 1.0)
    grey = 1.0 - saturation
    return torch.stack([(grey + saturation * c) * value for c in (red, green, blue)], dim=1)


def posterize(images, bits, value_range):
    """Keep the top `bits[i]` bits of each 8-bit pixel value of image i."""
    pixels = to_range(images, value_range, (0, 255)).to(torch.uint8).to(torch.int32)
    shift = (8 - bits.to(torch.int32)).reshape(-1, 1, 1, 1)
    pixels = (pixels >> shift) << shift
    return to_range(pixels.to(images.dtype), (0, 255), value_range)


def solarize(images, additions, thresholds, value_range):
    """Add `additions` (on the 0-255 scale), then invert values at or above `thresholds`."""
    shifted = (to_range(images, value_range, (0, 255)) + additions).clamp(0, 255)
    solarized = torch.where(shifted < thresholds, shifted, 255 - shifted)
    return to_range(solarized, (0, 255), value_range)


def sharpen(images, factors, value_range):
    """Blend with a 3x3 smoothed copy: `x + (1 - 2 f) (smooth(x) - x)`, clipped (zero borders)."""
    channels = images.shape[1]
    kernel = torch.full((3, 3), 1.0 / 13.0, dtype=images.dtype, device=images.device)
    kernel[1, 1] = 5.0 / 13.0
    kernel = kernel.expand(channels, 1, 3, 3)
    smoothed = F.conv2d(images, kernel, padding=1, groups=channels)
    amount = (1.0 - 2.0 * factors).reshape(-1, 1, 1, 1).to(images.dtype)
    return (images + amount * (smoothed - images)).clamp(*value_range)


def auto_contrast(images, value_range):
    """Stretch each image's channels to the full range; flat channels stay as they are."""
    pixels = to_range(images, value_range, (0, 255))
    low = pixels.amin(dim=(2, 3), keepdim=True)
    high = pixels.amax(dim=(2, 3), keepdim=True)
    scale = 255.0 / (high - low)
    stretched = (pixels * scale - low * scale).clamp(0.0, 255.0)
    stretched = to_range(stretched, (0, 255), value_range)
    return torch.where(torch.isnan(stretched), images, stretched)


def equalize(images, value_range, bins=256):
    """Histogram equalization of each channel, its histogram taken over the whole batch.

    Everything stays on the device (no bincount, nonzero or branch on a value, which would each
    make the host wait): a channel of one level is kept by `torch.where`."""
    channels = []
    for channel in images.unbind(1):
        pixels = to_range(channel, value_range, (0, 255))
        index = (pixels * (bins - 1) / 255.0).to(torch.int64).clamp(0, bins - 1).reshape(-1)
        histogram = torch.zeros(bins, dtype=torch.int64, device=images.device)
        histogram.scatter_add_(0, index, torch.ones_like(index))
        flat = (histogram > 0).sum() <= 1
        cdf = histogram.cumsum(0).to(images.dtype)
        cdf_min = cdf[(cdf > 0).to(torch.int8).argmax()]  # the first non-zero entry
        spread = cdf[-1] - cdf_min
        spread = torch.where(spread == 0, torch.ones_like(spread), spread)
        table = torch.round((cdf - cdf_min) * 255.0 / spread).clamp(0, 255)
        lookup = (pixels / 255.0 * (bins - 1)).clamp(0, bins - 1).to(torch.int64)
        equalized = to_range(table[lookup], (0, 255), value_range)
        channels.append(torch.where(flat, channel, equalized))
    return torch.stack(channels, dim=1)
