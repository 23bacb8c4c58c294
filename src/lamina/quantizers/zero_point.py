"""Unsigned quantization with a zero point, the arithmetic GPTQ and AWQ share (Keras's).

A float `w` becomes `q = clip(round(w / scale + zero), 0, 2**bits - 1)` and comes back as
`(q - zero) * scale`; the scale and zero point cover an output column's range (per channel), a
group of its input rows, or the whole slice. The matrices are `(columns, rows)`: outputs first.
"""

from __future__ import annotations

import torch


def parameters(weights: torch.Tensor, bits: int, symmetric=False, per_channel=True, group_size=-1):
    """`(scale, zero, maxq)` for the `(columns, rows)` matrix `weights`: one (scale, zero) per
    output column and group of `group_size` rows (per channel, -1: one group), or one for the
    whole matrix; `scale` float32 and `zero` uint8, shaped `(columns, groups)`.

    Args:
        weights: the float32 matrix, outputs first.
        bits: bits per weight; the integers run over `[0, 2**bits - 1]`.
        symmetric: a range symmetric around zero, the zero point at its middle.
        per_channel: one scale per output column rather than one for the matrix.
        group_size: rows sharing a scale along each column (per channel only); the last group is
            padded with zeros, as Keras pads it.

    Example:
        >>> scale, zero, maxq = parameters(torch.tensor([[-1.0, 14.0]]), 4)
        >>> scale.tolist(), zero.tolist(), float(maxq)
        ([[1.0]], [[1]], 15.0)
    """
    columns, rows = weights.shape
    groups = -(-rows // group_size) if per_channel and group_size > 0 else 1
    if groups > 1:
        padded = torch.nn.functional.pad(weights, (0, groups * group_size - rows))
        grouped = padded.reshape(columns, groups, group_size)
        low, high = grouped.amin(dim=2), grouped.amax(dim=2)
    else:
        flat = weights.reshape(columns if per_channel else 1, -1)
        low, high = flat.amin(dim=1), flat.amax(dim=1)
    if symmetric:
        high = torch.maximum(low.abs(), high)
        low = torch.where(low < 0, -high, low)
    flat_range = low == high  # a constant slice still needs a non-zero step
    low = torch.where(flat_range, low - 1, low)
    high = torch.where(flat_range, high + 1, high)
    maxq = torch.tensor(float(2**bits - 1), device=weights.device)
    scale = (high - low) / maxq
    scale = torch.where(scale <= 0, scale.new_tensor(1e-8), scale)
    middle = float((maxq + 1) / 2)
    zero = torch.full_like(scale, middle) if symmetric else torch.round(-low / scale)
    if groups == 1:
        scale, zero = scale.reshape(-1, 1), zero.reshape(-1, 1)
        if not per_channel:
            scale, zero = scale.expand(columns, 1), zero.expand(columns, 1)
    # An all-positive slice gives a negative zero point: it wraps in uint8 as Keras's cast does.
    return scale, zero.to(torch.uint8), maxq


def quantize(weights: torch.Tensor, scale, zero, maxq) -> torch.Tensor:
    """`clip(round(weights / scale + zero), 0, maxq)`, as floats."""
    safe = torch.where(scale == 0, scale.new_tensor(1e-8), scale)
    return torch.clip(torch.round(weights / safe + zero.to(scale.dtype)), 0, maxq)


def dequantize(quantized: torch.Tensor, scale, zero) -> torch.Tensor:
    """`scale * (quantized - zero)`."""
    return scale * (quantized - zero.to(scale.dtype))


def per_row(values: torch.Tensor, g_idx: torch.Tensor) -> torch.Tensor:
    """A `(columns, groups)` scale or zero point spread to `(columns, rows)`: each row takes its
    group's (`g_idx` holds the group, or `row / group_size`, floored here)."""
    return values[:, g_idx.to(torch.int64)]
