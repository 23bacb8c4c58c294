"""Image ops (Keras's `ops.image`): `resize`.

Resizing samples pixel centres (TensorFlow's half-pixel rule, torch's `align_corners=False`);
`nearest` picks the pixel whose centre is nearest (torch's `nearest-exact`, not its legacy
`nearest`). Integer images are resized in float32 and rounded back to their dtype, so uint8 in
gives uint8 out, as in Keras 3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.ops.core import symbolic_op, tensor

_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _to_aspect(x, size, crop, fill_value):
    """NCHW images cropped (centred) or padded with `fill_value` to `size`'s aspect ratio."""
    from lamina.layers.preprocessing import image_ops  # shared with Resizing; layers import ops

    height, width = int(size[0]), int(size[1])
    if not crop:
        return image_ops.pad_to_aspect(x, height, width, fill_value)
    top, left, crop_height, crop_width = image_ops.crop_box_for_aspect(
        x.shape[-2], x.shape[-1], height, width
    )
    return x[..., top : top + crop_height, left : left + crop_width]


@symbolic_op("resize")
def resize(
    images,
    size,
    interpolation="bilinear",
    antialias=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    fill_mode="constant",
    fill_value=0.0,
    data_format=None,
):
    """Resize a batch `(batch, height, width, channels)` or one image `(height, width, channels)`.

    Args:
        images: tensor, NumPy array; channels last unless `data_format="channels_first"`.
        size: `(height, width)` of the output.
        interpolation: "bilinear" (default), "nearest" or "bicubic".
        antialias: low-pass filter when shrinking (bilinear and bicubic only).
        crop_to_aspect_ratio: first crop the largest centred window with the aspect ratio of
            `size` (default False).
        pad_to_aspect_ratio: first pad the images, centred, to the aspect ratio of `size`
            (default False); at most one of the two.
        fill_mode: how the padding is filled; "constant" (the only mode, as in Keras).
        fill_value: the value of the padding (default 0).
        data_format: "channels_last" or "channels_first" (default: the config's).

    Returns: the resized images, same rank and dtype as `images`.

    Examples:
        >>> resize(torch.zeros(2, 8, 8, 3), (4, 4)).shape
        torch.Size([2, 4, 4, 3])
    """
    if interpolation not in _MODES:
        raise ValueError(
            f"resize() expects interpolation in {sorted(_MODES)}; received "
            f"interpolation={interpolation!r}."
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "resize() expects at most one of crop_to_aspect_ratio and pad_to_aspect_ratio; "
            "received both True."
        )
    if len(tuple(size)) != 2 or min(int(s) for s in size) <= 0:
        raise ValueError(
            f"resize() expects size=(height, width), both positive; received size={size!r}."
        )
    images = tensor(images)
    if images.dim() not in (3, 4):
        raise ValueError(
            "resize() expects images of rank 3 (height, width, channels) or 4 (batch, height, "
            f"width, channels); received shape {tuple(images.shape)}."
        )
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    channels_last = backend.standardize_data_format(data_format) == "channels_last"
    if channels_last:
        x = backend.channels_first_view(x)
    original_dtype = x.dtype
    half_on_cpu = x.dtype in (torch.float16, torch.bfloat16) and x.device.type == "cpu"
    if not x.is_floating_point() or (antialias and half_on_cpu):
        x = x.to(torch.float32)  # torch's CPU antialiasing has no half-precision kernel
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        x = _to_aspect(x, size, crop_to_aspect_ratio, fill_value)
    mode = _MODES[interpolation]
    kwargs = {} if mode == "nearest-exact" else {"align_corners": False, "antialias": antialias}
    y = F.interpolate(x, size=(int(size[0]), int(size[1])), mode=mode, **kwargs)
    if not original_dtype.is_floating_point:
        info = torch.iinfo(original_dtype)
        y = y.round().clamp(info.min, info.max).to(original_dtype)
    y = y.to(original_dtype)
    if channels_last:
        y = backend.channels_last_view(y)
    return y.squeeze(0) if single else y


# --------------------------------------------------------------------------------------------------
# Keras's `ops.image` namespace also holds the ops implemented in sibling modules.

from lamina.ops.image_color import (  # noqa: E402, F401
    hsv_to_rgb,
    rgb_to_grayscale,
    rgb_to_hsv,
)
from lamina.ops.image_filters import (  # noqa: E402, F401
    crop_images,
    extract_patches,
    extract_patches_3d,
    gaussian_blur,
    pad_images,
    sobel_edges,
    ssim,
)
from lamina.ops.image_geometry import (  # noqa: E402, F401
    affine_transform,
    elastic_transform,
    map_coordinates,
    perspective_transform,
    scale_and_translate,
)
