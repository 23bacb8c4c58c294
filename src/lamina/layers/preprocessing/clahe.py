"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE): histogram equalization per tile, with
each tile's histogram clipped, and the tiles' mappings blended bilinearly."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.layers.preprocessing import color_ops
from lamina.layers.preprocessing.base import NO_FACTOR, ImageLayer, value_range_pair


def _pad_symmetric(x, pad, dim):
    """Extend `dim` by `pad` values mirrored about its end (NumPy's 'symmetric')."""
    if pad == 0:
        return x
    return torch.cat([x, x.flip(dim).narrow(dim, 0, pad)], dim=dim)


def clahe(images, clip_limit, grid):
    """CLAHE of (N, C, H, W) images on the 0-255 scale, `grid` = (tiles down, tiles across)."""
    batch, channels, height, width = images.shape
    grid_h, grid_w = grid
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    padded = _pad_symmetric(images, tile_h * grid_h - height, 2)
    padded = _pad_symmetric(padded, tile_w * grid_w - width, 3)
    pixels = padded.clamp(0, 255).to(torch.int64)
    tiles = pixels.reshape(batch, channels, grid_h, tile_h, grid_w, tile_w)
    tiles = tiles.permute(0, 1, 2, 4, 3, 5).reshape(batch, channels, grid_h, grid_w, -1)
    histograms = F.one_hot(tiles, 256).sum(dim=-2).to(torch.float32)
    if clip_limit > 0:  # clip each bin, spread the excess over all bins
        # Keras's histograms are integer counts, so the limit is truncated to an integer.
        limit = float(int(clip_limit * tile_h * tile_w / 256.0))
        clipped = histograms.clamp(max=limit)
        histograms = clipped + (histograms - clipped).sum(-1, keepdim=True) / 256.0
    cdf = histograms.cumsum(-1)
    cdf_min = cdf.amin(-1, keepdim=True)
    spread = tile_h * tile_w - cdf_min
    spread = torch.where(spread == 0, torch.ones_like(spread), spread)
    mapping = ((cdf - cdf_min) * 255.0 / spread).clamp(0, 255)
    # One tile of border on each side repeats the edge tiles: (N, C, gh + 2, gw + 2, 256).
    mapping = torch.cat([mapping[:, :, :1], mapping, mapping[:, :, -1:]], dim=2)
    mapping = torch.cat([mapping[:, :, :, :1], mapping, mapping[:, :, :, -1:]], dim=3)

    def coordinates(length, tile, tiles):
        position = (torch.arange(length, dtype=torch.float32) - tile / 2.0) / tile + 1.0
        low = position.floor()
        weight = position - low
        low_index = low.clamp(0, tiles + 1).to(torch.int64)
        high_index = (low + 1).clamp(0, tiles + 1).to(torch.int64)
        return low_index, high_index, weight

    y0, y1, wy = coordinates(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = coordinates(tile_w * grid_w, tile_w, grid_w)
    device = images.device
    b = torch.arange(batch, device=device).reshape(-1, 1, 1, 1)
    c = torch.arange(channels, device=device).reshape(1, -1, 1, 1)
    y0, y1, wy = (t.to(device).reshape(1, 1, -1, 1) for t in (y0, y1, wy))
    x0, x1, wx = (t.to(device).reshape(1, 1, 1, -1) for t in (x0, x1, wx))
    top = mapping[b, c, y0, x0, pixels] * (1 - wx) + mapping[b, c, y0, x1, pixels] * wx
    bottom = mapping[b, c, y1, x0, pixels] * (1 - wx) + mapping[b, c, y1, x1, pixels] * wx
    result = top * (1 - wy) + bottom * wy
    return result[:, :, :height, :width]


class ContrastLimitedAdaptiveHistogramEqualization(ImageLayer):
    """CLAHE: equalizes contrast locally, tile by tile, limiting how much any intensity's
    count may grow (`clip_limit`), then blends neighbouring tiles' mappings.

    Args:
        value_range: the pixels' range, (0, 255) by default.
        clip_limit: the histogram clip, as a multiple of a uniform tile histogram's bin (4.0);
            0 disables clipping.
        tile_grid_size: (tiles down, tiles across), (8, 8) by default.

    Example:
        >>> layer = ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
        >>> tuple(layer(torch.rand(1, 16, 16, 3) * 255).shape)
        (1, 16, 16, 3)
    """

    factor = NO_FACTOR

    def __init__(
        self,
        value_range=(0, 255),
        clip_limit=4.0,
        tile_grid_size=(8, 8),
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_pair(value_range, self)
        self.clip_limit = float(clip_limit)
        self.tile_grid_size = tuple(int(t) for t in tile_grid_size)
        self._build_at_init(ContrastLimitedAdaptiveHistogramEqualization)

    def transform(self, images, training: bool):
        pixels = color_ops.to_range(images, self.value_range, (0, 255))
        equalized = clahe(pixels, self.clip_limit, self.tile_grid_size)
        return color_ops.to_range(equalized, (0, 255), self.value_range).to(images.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "clip_limit": self.clip_limit,
            "tile_grid_size": self.tile_grid_size,
        }
