"""TensorFlow's padding and output-size rules, shared by convolutions, transposed convolutions and
pooling.

`same` pads so that the output has ceil(n / stride) positions; when the total padding is odd the
extra row or column goes at the bottom/right (torch's symmetric padding cannot express that, so the
input is padded explicitly then).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """The span of a dilated kernel: d * (k - 1) + 1."""
    return (kernel - 1) * dilation + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of one spatial axis under TF's `same` rule."""
    output = math.ceil(size / stride)
    total = max((output - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def output_length(size, kernel: int, stride: int, padding: str, dilation: int = 1):
    """Keras's conv/pool output length: floor((n - d(k-1) - 1) / s) + 1, or ceil(n / s) for
    `same` and `causal`.

    May be zero or negative for `valid` when the kernel is larger than the input: callers check.
    """
    if size is None:
        return None
    if padding in ("same", "causal"):
        return math.ceil(size / stride)
    return (size - effective_kernel(kernel, dilation)) // stride + 1


def transpose_output_length(size, kernel, stride, padding, output_padding=None, dilation=1):
    """Keras's output length of a transposed convolution (the inverse of `output_length`)."""
    if size is None:
        return None
    span = effective_kernel(kernel, dilation)
    if output_padding is None:
        if padding == "same":
            return size * stride
        return size * stride + max(span - stride, 0)
    crop = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * crop + output_padding


def transpose_torch_arguments(kernel, stride, padding, output_padding=None, dilation=1):
    """(padding, output_padding, crop_at_end) for torch's conv_transpose on one axis.

    TensorFlow defines a transposed convolution as the gradient of the forward convolution whose
    input has the transposed output's size: the full output ((n - 1) * s + span positions) loses
    `before` positions at the start, where `before` is that forward convolution's `same` padding,
    and is cut or zero-extended at the end to Keras's length. torch crops `padding` from both ends
    and adds `output_padding` at the end, so the odd case (k=3, s=2, 'same') needs one extra
    position cut at the end, done after the kernel. None of this depends on the input size.
    """
    span = effective_kernel(kernel, dilation)
    # (full length) - (Keras's length); the input size n cancels out of the difference.
    if output_padding is not None:
        full_minus_target = 2 * (span // 2 if padding == "same" else 0) - output_padding
    elif padding == "same":
        full_minus_target = span - stride
    else:
        full_minus_target = min(span - stride, 0)
    before = max(full_minus_target, 0) // 2 if padding == "same" else 0
    extra = 2 * before - full_minus_target  # positions torch must add (>0) or we must cut (<0)
    return before, max(extra, 0), max(-extra, 0)


def paddings_for(spatial_shape, kernels, strides, dilations) -> list[tuple[int, int]]:
    return [
        same_padding(n, k, s, d)
        for n, k, s, d in zip(spatial_shape, kernels, strides, dilations, strict=False)
    ]


def symmetric_or_none(pads: list[tuple[int, int]]):
    """Per-axis ints when every axis pads the same on both sides (torch can do it inside the op)."""
    if all(before == after for before, after in pads):
        return tuple(before for before, _ in pads)
    return None


def pad_channels_first(x, pads: list[tuple[int, int]], value: float = 0.0):
    """Pad the spatial axes of an (N, C, *spatial) tensor; F.pad lists the last axis first.

    On a channels_last view the padded result is channels_last too (checked), so no layout copy.
    """
    flat = []
    for before, after in reversed(pads):
        flat.extend((before, after))
    return F.pad(x, flat, value=value)


def apply(x, padding: str, kernels, strides, dilations, value: float = 0.0):
    """(input, padding for the torch op) for an (N, C, *spatial) view under Keras's `padding`.

    `same` pads inside the torch op when symmetric, explicitly otherwise; `causal` pads the first
    spatial axis on the left only (the 1-D case; lifted axes have kernel 1).
    """
    if padding == "valid":
        return x, 0
    if padding == "causal":
        left = effective_kernel(kernels[0], dilations[0]) - 1
        pads = [(left, 0)] + [(0, 0)] * (len(kernels) - 1)
        return pad_channels_first(x, pads, value), 0
    if torch.compiler.is_compiling():  # sizes may be symbolic there: no cache
        pads = paddings_for(x.shape[2:], kernels, strides, dilations)
        symmetric = symmetric_or_none(pads)
    else:
        pads, symmetric = _same_plan(
            tuple(x.shape[2:]), tuple(kernels), tuple(strides), tuple(dilations)
        )
    if symmetric is not None:
        return x, symmetric
    return pad_channels_first(x, pads, value), 0


@functools.lru_cache(maxsize=1024)
def _same_plan(spatial_shape, kernels, strides, dilations):
    """(per-axis pads, the symmetric ints or None) of `same` for one input size: computed once
    per size, since every layer call of a training step asks again (host time on a GPU)."""
    pads = tuple(paddings_for(spatial_shape, kernels, strides, dilations))
    return pads, symmetric_or_none(pads)
