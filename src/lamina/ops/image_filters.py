"""Image filters and patches (Keras's `ops.image`): cropping and padding to a box, patches,
Gaussian blur, Sobel edges and SSIM, on torch convolutions over channels-first views.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
from lamina.ops.core import floating, symbolic_op, tensor


def _to_nchw(images, data_format, rank=4):
    """(batched channels-first view, channels_last?, was unbatched?)."""
    x = tensor(images)
    if x.dim() not in (rank - 1, rank):
        raise errors.value_error(
            "images",
            f"one image (rank {rank - 1}) or a batch (rank {rank})",
            f"shape {tuple(x.shape)}",
        )
    single = x.dim() == rank - 1
    x = x.unsqueeze(0) if single else x
    last = backend.standardize_data_format(data_format) == "channels_last"
    return (x.movedim(-1, 1) if last else x), last, single


def _from_nchw(y, last, single):
    y = y.movedim(1, -1) if last else y
    return y.squeeze(0) if single else y


def _check_non_negative(who, **arguments):
    for name, value in arguments.items():
        if value is not None and value < 0:
            raise errors.value_error(f"{who}() argument `{name}`", "a value >= 0", str(value))


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
    """Crop images to a box given by offsets from the edges and/or a target size.

    For each axis, give at most two of the three numbers (for rows: `top_cropping`,
    `bottom_cropping`, `target_height`); the missing ones default to 0 or to the rest of the image.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        top_cropping: rows removed at the top (default None).
        left_cropping: columns removed at the left (default None).
        bottom_cropping: rows removed at the bottom (default None).
        right_cropping: columns removed at the right (default None).
        target_height: the number of rows kept (default None).
        target_width: the number of columns kept (default None).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The cropped images.

    Example:
        >>> image = np.arange(16).reshape(4, 4, 1)
        >>> lamina.ops.image.crop_images(image, top_cropping=1, left_cropping=1, target_height=2,
        ...                              target_width=2)[..., 0]
        tensor([[ 5,  6],
                [ 9, 10]])
    """
    _check_non_negative(
        "crop_images", top_cropping=top_cropping, left_cropping=left_cropping,
        bottom_cropping=bottom_cropping, right_cropping=right_cropping,
        target_height=target_height, target_width=target_width,
    )  # fmt: skip
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
    """Pad images with zeros to a box given by padding at the edges and/or a target size.

    For each axis, give at most two of the three numbers (for rows: `top_padding`,
    `bottom_padding`, `target_height`), as in `crop_images`.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        top_padding: rows added at the top (default None).
        left_padding: columns added at the left (default None).
        bottom_padding: rows added at the bottom (default None).
        right_padding: columns added at the right (default None).
        target_height: the number of rows of the result (default None).
        target_width: the number of columns of the result (default None).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The padded images.

    Example:
        >>> image = np.ones((2, 2, 1), dtype="int64")
        >>> lamina.ops.image.pad_images(image, top_padding=1, left_padding=1, target_height=4,
        ...                             target_width=3)[..., 0]
        tensor([[0, 0, 0],
                [0, 1, 1],
                [0, 1, 1],
                [0, 0, 0]])
    """
    _check_non_negative(
        "pad_images", top_padding=top_padding, left_padding=left_padding,
        bottom_padding=bottom_padding, right_padding=right_padding,
        target_height=target_height, target_width=target_width,
    )  # fmt: skip
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
    """One value per spatial axis, from a number or a sequence (list, tuple, array, tensor)."""
    if hasattr(value, "tolist"):  # a NumPy array or tensor, as Keras's tests pass sigma
        value = value.tolist()
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
    """Extract patches of images, each flattened into the channel axis.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`); volumes, batched or
            single, when `size` has three entries (see `extract_patches_3d`).
        size: the patch size `(height, width)`, or an int for square patches; a patch size
            `(depth, height, width)` extracts 3-D patches, as Keras does.
        strides: the step between patches (default None: `size`, so patches do not overlap).
        dilation_rate: the spacing of the pixels inside a patch (default 1).
        padding: `"valid"` (default: only whole patches) or `"same"` (zero-pad so that every stride
            position yields a patch).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        `(batch, rows, cols, size_h * size_w * channels)` for channels last (the patch axis first
        for channels first).

    Example:
        >>> image = np.arange(16).reshape(4, 4, 1)
        >>> patches = lamina.ops.image.extract_patches(image, 2)
        >>> lamina.ops.shape(patches), patches[0, 1]
        ((2, 2, 4), tensor([2, 3, 6, 7]))
    """
    rank = 3 if isinstance(size, (tuple, list)) and len(size) == 3 else 2  # Keras: 3 -> volumes
    return _patches(images, size, strides, dilation_rate, padding, data_format, rank)


@symbolic_op("extract_patches_3d")
def extract_patches_3d(
    volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None
):
    """Extract patches of volumes, each flattened into the channel axis.

    Args:
        volumes: `(batch, depth, height, width, channels)` volumes or a single volume (channels
            first
            with `data_format="channels_first"`).
        size: the patch size `(depth, height, width)`, or an int for cubic patches.
        strides: the step between patches (default None: `size`, so patches do not overlap).
        dilation_rate: the spacing of the voxels inside a patch (default 1).
        padding: `"valid"` (default) or `"same"`.
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        `(batch, d, h, w, size_d * size_h * size_w * channels)` for channels last.

    Example:
        >>> volume = np.zeros((1, 4, 4, 4, 2))
        >>> lamina.ops.shape(lamina.ops.image.extract_patches_3d(volume, 2))
        (1, 2, 2, 2, 16)
    """
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3)


def _gaussian(size, sigma, dtype, device):
    positions = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    kernel = torch.exp(-(positions**2) / (2 * sigma**2))
    return kernel / kernel.sum()


@symbolic_op("gaussian_blur")
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel of images with a Gaussian kernel; zero padding keeps the size.

    Integer inputs are computed in float32.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        kernel_size: the kernel's `(height, width)` (default (3, 3)).
        sigma: the kernel's standard deviations `(along x, along y)`, the order in which Keras
            applies them (its docstring says height and width) (default (1.0, 1.0)).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        Floating images shaped like `images`.

    Example:
        >>> image = torch.zeros(3, 3, 1)
        >>> image[1, 1] = 1.0
        >>> lamina.ops.image.gaussian_blur(image, sigma=(1.0, 1.0))[..., 0]
        tensor([[0.0751, 0.1238, 0.0751],
                [0.1238, 0.2042, 0.1238],
                [0.0751, 0.1238, 0.0751]])
    """
    x, last, single = _to_nchw(images, data_format)
    x = floating(x)
    kh, kw = _pair(kernel_size)
    sx, sy = _pair(sigma)  # Keras's order: every Keras backend applies sigma[0] along x
    kernel = torch.outer(
        _gaussian(kh, float(sy), x.dtype, x.device), _gaussian(kw, float(sx), x.dtype, x.device)
    )
    channels = x.shape[1]
    weight = kernel.expand(channels, 1, kh, kw)
    x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    return _from_nchw(F.conv2d(x, weight, groups=channels), last, single)


@symbolic_op("sobel_edges")
def sobel_edges(images, data_format=None):
    """The Sobel gradients of images, `(dy, dx)`, stacked on a new last axis.

    The borders are zero-padded, as Keras on torch. Integer inputs are computed in float32.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        `(batch, height, width, channels, 2)` for channels last, `dy` then `dx`.

    Example:
        >>> image = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 4).reshape(4, 4, 1)
        >>> lamina.ops.image.sobel_edges(image)[1, :, 0, 1]
        tensor([ 0.,  4.,  4., -4.])
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
    """The structural similarity (SSIM) index of two images or batches of images.

    TensorFlow's definition: local statistics under a Gaussian window, over the windows that fit
    wholly in the image, averaged over the image and channels.

    Args:
        image1: `(batch, height, width, channels)` images or a single image (channels first with
            `data_format="channels_first"`); each side at least `filter_size`.
        image2: images shaped like `image1`.
        max_val: the dynamic range of the pixel values (default 1.0).
        filter_size: the side of the Gaussian window (default 11).
        filter_sigma: the standard deviation of the Gaussian window (default 1.5).
        k1: the luminance stabilizing constant (default 0.01).
        k2: the contrast stabilizing constant (default 0.03).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A `(batch,)` tensor of SSIM values in `[-1, 1]` (a scalar for single images).

    Example:
        >>> image = torch.linspace(0.0, 1.0, 144).reshape(12, 12, 1)
        >>> lamina.ops.image.ssim(image, image)
        tensor(1.)
        >>> lamina.ops.image.ssim(image, 1.0 - image)
        tensor(-0.9317)
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
