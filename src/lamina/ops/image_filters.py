"""Image filters and patches (Keras's `ops.image`): cropping and padding to a box, patches,
Gaussian blur, Sobel edges and SSIM, on torch convolutions over channels-first views.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.ops.core import floating, symbolic_op, tensor


def _to_nchw(images, data_format, rank=4):
    """(batched channels-first view, channels_last?, was unbatched?)."""
    x = tensor(images)
    single = x.dim() == rank - 1
    x = x.unsqueeze(0) if single else x
    last = backend.standardize_data_format(data_format) == "channels_last"
    return (x.movedim(-1, 1) if last else x), last, single


def _from_nchw(y, last, single):
    y = y.movedim(1, -1) if last else y
    return y.squeeze(0) if single else y


def _box(size, start, end, target, who, what):
    """(start, length) of a crop or pad on one axis from Keras's four ways of saying it."""
    if start is not None and end is not None and target is not None:
        raise ValueError(f"{who}() takes at most two of {what}; received all three.")
    if target is None:
        return start or 0, size - (start or 0) - (end or 0)
    if start is None and end is not None:
        start = size - target - end
    return start or 0, target


@symbolic_op("crop_images")
def crop_images(
    images,
    top_cropping=None,
    left_cropping=None,
    bottom_cropping=None,
    right_cropping=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Crop images to a box given by its offsets and/or target size.

    Args:
        images: `(batch, height, width, channels)` or one image (or channels first).
        top_cropping, bottom_cropping, target_height: two of them fix the rows kept.
        left_cropping, right_cropping, target_width: two of them fix the columns kept.
        data_format: "channels_last" or "channels_first".
    """
    x, last, single = _to_nchw(images, data_format)
    h, w = x.shape[-2:]
    top, height = _box(h, top_cropping, bottom_cropping, target_height, "crop_images", "rows")
    left, width = _box(w, left_cropping, right_cropping, target_width, "crop_images", "cols")
    return _from_nchw(x[..., top : top + height, left : left + width], last, single)


@symbolic_op("pad_images")
def pad_images(
    images,
    top_padding=None,
    left_padding=None,
    bottom_padding=None,
    right_padding=None,
    target_height=None,
    target_width=None,
    data_format=None,
):
    """Pad images with zeros to a box given by offsets and/or target size (see `crop_images`)."""
    x, last, single = _to_nchw(images, data_format)
    h, w = x.shape[-2:]
    top = top_padding or 0
    left = left_padding or 0
    bottom = bottom_padding if target_height is None else target_height - h - top
    right = right_padding if target_width is None else target_width - w - left
    if target_height is not None and top_padding is None and bottom_padding is not None:
        top, bottom = target_height - h - bottom_padding, bottom_padding
    if target_width is not None and left_padding is None and right_padding is not None:
        left, right = target_width - w - right_padding, right_padding
    y = F.pad(x, (left, right or 0, top, bottom or 0))
    return _from_nchw(y, last, single)


def _pair(value, rank=2):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * rank


def _patches(images, size, strides, dilation_rate, padding, data_format, rank):
    x, last, single = _to_nchw(images, data_format, rank + 2)
    size, dilation = _pair(size, rank), _pair(dilation_rate, rank)
    strides = size if strides is None else _pair(strides, rank)
    if padding == "same":
        widths = []
        for n, k, s, d in zip(x.shape[2:], size, strides, dilation, strict=True):
            total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            widths.append((total // 2, total - total // 2))
        x = F.pad(x, [v for pair in reversed(widths) for v in pair])
    blocks = x
    for axis, (k, s, d) in enumerate(zip(size, strides, dilation, strict=True)):
        span = (k - 1) * d + 1
        blocks = blocks.unfold(2 + axis, span, s)[..., ::d]  # window axis appended at the end
    # blocks: (N, C, *out, *size) -> (N, *out, *size, C) -> flatten (size..., C) per patch
    out_rank = rank
    order = [0, *range(2, 2 + out_rank), *range(2 + out_rank, 2 + 2 * out_rank), 1]
    patches = blocks.permute(order)
    patches = patches.reshape(*patches.shape[: 1 + out_rank], -1)
    if not last:
        patches = patches.movedim(-1, 1)
    return patches.squeeze(0) if single else patches


@symbolic_op("extract_patches")
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Image patches as channels: `(batch, rows, cols, size_h * size_w * channels)`.

    Args:
        images: `(batch, height, width, channels)` or one image (or channels first).
        size: the patch's `(height, width)` (an int for square patches).
        strides: the step between patches (default: `size`, no overlap).
        dilation_rate: spacing of the pixels inside a patch.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first".
    """
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2)


@symbolic_op("extract_patches_3d")
def extract_patches_3d(
    volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None
):
    """Volume patches as channels: `(batch, d, h, w, size_d * size_h * size_w * channels)`."""
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3)


def _gaussian(size, sigma, dtype, device):
    positions = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-(positions**2) / (2 * sigma**2))
    return kernel / kernel.sum()


@symbolic_op("gaussian_blur")
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel with a Gaussian kernel (zero padding keeps the size).

    Args:
        images: `(batch, height, width, channels)` or one image (or channels first).
        kernel_size: `(height, width)` of the kernel.
        sigma: its standard deviations `(y, x)`.
        data_format: "channels_last" or "channels_first".
    """
    x, last, single = _to_nchw(images, data_format)
    x = floating(x)
    kh, kw = _pair(kernel_size)
    sy, sx = _pair(sigma)
    kernel = torch.outer(
        _gaussian(kh, float(sy), x.dtype, x.device), _gaussian(kw, float(sx), x.dtype, x.device)
    )
    channels = x.shape[1]
    weight = kernel.expand(channels, 1, kh, kw)
    x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    return _from_nchw(F.conv2d(x, weight, groups=channels), last, single)


@symbolic_op("sobel_edges")
def sobel_edges(images, data_format=None):
    """Sobel gradients `(dy, dx)` stacked on a new last axis (zero-padded, as Keras on torch).

    Returns: `(batch, height, width, channels, 2)`.
    """
    x, last, single = _to_nchw(images, data_format)
    x = floating(x)
    dy = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=x.dtype, device=x.device)
    kernels = torch.stack([dy, dy.T]).unsqueeze(1)  # (2, 1, 3, 3)
    channels = x.shape[1]
    out = F.conv2d(x, kernels.repeat(channels, 1, 1, 1), padding=1, groups=channels)
    out = out.reshape(x.shape[0], channels, 2, *x.shape[2:])  # (N, C, 2, H, W)
    out = out.permute(0, 3, 4, 1, 2) if last else out.permute(0, 1, 3, 4, 2)
    return out.squeeze(0) if single else out


@symbolic_op("ssim")
def ssim(
    image1,
    image2,
    max_val=1.0,
    filter_size=11,
    filter_sigma=1.5,
    k1=0.01,
    k2=0.03,
    data_format=None,
):
    """Structural similarity per image (TensorFlow's: Gaussian window, valid convolution).

    Returns: `(batch,)` SSIM values (a scalar for one image).
    """
    a, last, single = _to_nchw(image1, data_format)
    b, _, _ = _to_nchw(image2, data_format)
    a, b = floating(a), floating(b).to(floating(a).dtype)
    g = _gaussian(filter_size, float(filter_sigma), a.dtype, a.device)
    channels = a.shape[1]
    weight = torch.outer(g, g).expand(channels, 1, filter_size, filter_size)

    def blur(v):
        return F.conv2d(v, weight, groups=channels)

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    structure = (2 * cov + c2) / (var_a + var_b + c2)
    out = (luminance * structure).mean(dim=(1, 2, 3))
    return out.squeeze(0) if single else out
