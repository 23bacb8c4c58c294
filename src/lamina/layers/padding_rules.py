"""TensorFlow's padding rules, shared by convolutions and pooling.

`same` pads so that the output has ceil(n / stride) positions; when the total padding is odd the
extra row or column goes at the bottom/right (torch's symmetric padding cannot express that).
"""

from __future__ import annotations

import math

import torch.nn.functional as F


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of one spatial axis under TF's `same` rule."""
    effective_kernel = (kernel - 1) * dilation + 1
    output = math.ceil(size / stride)
    total = max((output - 1) * stride + effective_kernel - size, 0)
    return total // 2, total - total // 2


def output_length(size, kernel: int, stride: int, padding: str, dilation: int = 1):
    """Keras's conv/pool output length: floor((n + p - d(k-1) - 1) / s) + 1; `same` gives ceil(n / s)."""
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    effective_kernel = (kernel - 1) * dilation + 1
    if padding == "causal":
        return math.ceil(size / stride)
    return (size - effective_kernel) // stride + 1


def paddings_for(spatial_shape, kernels, strides, dilations) -> list[tuple[int, int]]:
    return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial_shape, kernels, strides, dilations)]


def symmetric_or_none(pads: list[tuple[int, int]]):
    """Per-axis ints when every axis pads the same on both sides (torch can do it inside the op)."""
    if all(before == after for before, after in pads):
        return tuple(before for before, _ in pads)
    return None


def pad_channels_first(x, pads: list[tuple[int, int]], value: float = 0.0):
    """Pad the spatial axes of an (N, C, *spatial) tensor; F.pad lists the last axis first."""
    flat = []
    for before, after in reversed(pads):
        flat.extend((before, after))
    return F.pad(x, flat, value=value)
