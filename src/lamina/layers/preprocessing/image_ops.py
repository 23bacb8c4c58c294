"""Batched image operations shared by the preprocessing layers and ImageDataGenerator.

All of them take NCHW tensors (a channels-first *view* of the user's NHWC images: no copy) and run
on the images' device as a handful of fused kernels: one `affine_grid` + one `grid_sample` for any
mix of rotation, zoom, shift and shear; one `interpolate` for a resize.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic")

# grid_sample's padding modes for Keras's fill modes. With align_corners=False grid_sample reflects
# about the outer pixel edges, which is Keras's "reflect" (d c b a | a b c d | d c b a).
_PADDING = {"reflect": "reflection", "nearest": "border", "constant": "zeros", "wrap": "zeros"}


def affine_sample(images, matrices, fill_mode="reflect", fill_value=0.0, interpolation="bilinear"):
    """Resample each image through its own affine map.

    Args:
        images: (N, C, H, W) floating tensor.
        matrices: (N, 2, 3) maps in pixel units about the image centre, x to the right and y down:
            the output pixel at `p` takes the input at `matrices[:, :, :2] @ p + matrices[:, :, 2]`.
        fill_mode: how points outside the input are filled: "reflect", "wrap", "constant" (with
            `fill_value`) or "nearest".
        interpolation: "bilinear", "nearest" or "bicubic".

    Returns:
        (N, C, H, W) tensor.
    """
    batch, _, height, width = images.shape
    # grid_sample speaks normalised coordinates (-1..1 across each axis): theta = S^-1 A S, t / S.
    # The half sizes stay Python numbers: a tensor made of them would be copied from the host at
    # every batch. linear[r, c] = m[r, c] * half[c] / half[r]; shift[r] = m[r, 2] / half[r].
    half = (width / 2.0, height / 2.0)
    columns = torch.stack([matrices[:, :, 0] * half[0], matrices[:, :, 1] * half[1]], dim=2)
    linear = torch.stack([columns[:, 0] / half[0], columns[:, 1] / half[1]], dim=1)
    shift = torch.stack([matrices[:, 0, 2] / half[0], matrices[:, 1, 2] / half[1]], dim=1)
    theta = torch.cat([linear, shift[:, :, None]], dim=2).to(images.dtype)
    grid = affine_grid(theta, height, width)
    if fill_mode == "wrap":
        grid = torch.remainder(grid + 1.0, 2.0) - 1.0
    padding = _PADDING[fill_mode]
    if fill_mode == "constant" and fill_value != 0.0:
        # Sampling is linear in the image, so sampling (x - v) with zero padding and adding v
        # back is sampling x with padding v: one grid_sample instead of two.
        shifted = F.grid_sample(
            images - fill_value, grid, mode=interpolation, padding_mode="zeros", align_corners=False
        )
        return shifted + fill_value
    return F.grid_sample(
        images, grid, mode=interpolation, padding_mode=padding, align_corners=False
    )


def affine_grid(theta, height, width):
    """F.affine_grid(theta, (N, 1, height, width), align_corners=False), computed separably.

    torch's version fills an (N, H, W, 3) base grid and runs a batched matmul with an inner size
    of 3: on CPU 440 us for 64 images of 32x32. Each output coordinate is a column term plus a row
    term, so one broadcast add of an (N, 1, W, 2) and an (N, H, 1, 2) tensor makes the grid
    (about 160 us), and stays free of `out=` writes, which torch.func.vmap cannot batch.
    """
    options = {"dtype": theta.dtype, "device": theta.device}
    # Pixel centres in normalised coordinates, -1 and 1 being the outer edges.
    xs = (torch.arange(width, **options) * 2 + 1) / width - 1
    ys = (torch.arange(height, **options) * 2 + 1) / height - 1
    columns = theta[:, None, :, 0] * xs[None, :, None]  # (N, W, 2)
    rows = theta[:, None, :, 1] * ys[None, :, None] + theta[:, None, :, 2]  # (N, H, 2)
    return rows[:, :, None, :] + columns[:, None, :, :]


def rotation_matrices(angles):
    """(N,) angles in radians, positive counter-clockwise on screen -> (N, 2, 2) output->input."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    # y points down on screen, so a counter-clockwise turn maps input q to output
    # [[c, s], [-s, c]] q; sampling needs the inverse, [[c, -s], [s, c]].
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def resize(images, height, width, interpolation="bilinear", antialias=False):
    """(N, C, H, W) -> (N, C, height, width) with TensorFlow's half-pixel sampling."""
    if interpolation == "area":
        return F.adaptive_avg_pool2d(images, (height, width))
    # TensorFlow's half-pixel "nearest" is torch's "nearest-exact" (torch's "nearest" floors).
    mode = "nearest-exact" if interpolation == "nearest" else interpolation
    kwargs = {} if mode == "nearest-exact" else {"align_corners": False, "antialias": antialias}
    return F.interpolate(images, size=(height, width), mode=mode, **kwargs)


def crop_box_for_aspect(in_height, in_width, height, width):
    """The largest centred (top, left, crop_h, crop_w) window with the aspect ratio width/height."""
    crop_height = max(min(in_height, int(in_width * height / width)), 1)
    crop_width = max(min(in_width, int(in_height * width / height)), 1)
    return (in_height - crop_height) // 2, (in_width - crop_width) // 2, crop_height, crop_width


def smart_resize(images, height, width, interpolation="bilinear"):
    """Centre-crop to the target aspect ratio, then resize (Keras's smart_resize), NCHW."""
    top, left, crop_h, crop_w = crop_box_for_aspect(
        images.shape[-2], images.shape[-1], height, width
    )
    images = images[..., top : top + crop_h, left : left + crop_w]
    return resize(images, height, width, interpolation)


def pad_to_aspect(images, height, width, fill_value=0.0):
    """Pad (centred) towards the target aspect ratio with `fill_value`, NCHW.

    As Keras, each side gets half the missing rows (columns), rounded down: an odd shortfall
    leaves the result one row (column) short of the exact ratio rather than off centre."""
    in_height, in_width = images.shape[-2], images.shape[-1]
    pad_rows = max(int(in_width * height / width) - in_height, 0) // 2
    pad_columns = max(int(in_height * width / height) - in_width, 0) // 2
    if pad_rows == 0 and pad_columns == 0:
        return images
    return F.pad(images, (pad_columns, pad_columns, pad_rows, pad_rows), value=fill_value)
