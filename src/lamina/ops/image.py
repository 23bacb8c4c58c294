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
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise ValueError(
            "resize() supports crop_to_aspect_ratio=False and pad_to_aspect_ratio=False only; "
            "received True. Hint: crop or pad the images first, then resize."
        )
    if len(tuple(size)) != 2:
        raise ValueError(f"resize() expects size=(height, width); received size={size!r}.")
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
    if not x.is_floating_point():
        x = x.to(torch.float32)
    mode = _MODES[interpolation]
    kwargs = {} if mode == "nearest-exact" else {"align_corners": False, "antialias": antialias}
    y = F.interpolate(x, size=(int(size[0]), int(size[1])), mode=mode, **kwargs)
    if not original_dtype.is_floating_point:
        info = torch.iinfo(original_dtype)
        y = y.round().clamp(info.min, info.max).to(original_dtype)
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
