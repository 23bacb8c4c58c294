"""Convolution and pooling ops (Keras's `ops.nn`): conv, conv_transpose, depthwise and separable
convolutions, max/average pooling and their adaptive forms.

Kernels come in Keras's layout (spatial axes first: `(*kernel_size, in_channels, out_channels)`)
and inputs in `data_format` (channels last by default); torch's `F.conv*d` / pooling kernels do the
work on channels-first views. `padding="same"` follows TensorFlow: the odd extra row or column of
padding goes at the end.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
from lamina.ops.core import floating, symbolic_op, tensor

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _tuple(value, rank):
    return (
        tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * rank
    )


def _channels_first(x, data_format):
    """(channels-first view, whether the input was channels last)."""
    last = backend.standardize_data_format(data_format) == "channels_last"
    return (x.movedim(-1, 1) if last else x), last


def _restore(y, last):
    return y.movedim(1, -1) if last else y


def _check_padding(padding, who):
    """`padding` in lower case (Keras takes "SAME" and "VALID" too), checked."""
    lowered = padding.lower() if isinstance(padding, str) else padding
    if lowered not in ("valid", "same"):
        raise ValueError(f"{who}() expects padding in ['valid', 'same']; received {padding!r}.")
    return lowered


def _same_pad(x, kernel, strides, dilation, value=0.0):
    """Pad the spatial axes of a channels-first `x` by TensorFlow's `same` rule."""
    widths = []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilation, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        widths.append((total // 2, total - total // 2))
    flat = [w for pair in reversed(widths) for w in pair]
    return F.pad(x, flat, value=value)


@symbolic_op("conv")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (N = 1, 2, 3) of `inputs` with a Keras-layout `kernel`.

    Args:
        inputs: `(batch, *spatial, channels)` (or channels first).
        kernel: `(*kernel_size, in_channels / groups, out_channels)`.
        strides, dilation_rate: an int or one per spatial axis.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first" (default: the config's).

    Examples:
        >>> conv(torch.ones(1, 5, 5, 2), torch.ones(3, 3, 2, 4)).shape
        torch.Size([1, 3, 3, 4])
    """
    padding = _check_padding(padding, "conv")
    x, last = _channels_first(floating(tensor(inputs)), data_format)
    kernel = tensor(kernel).to(x.dtype)
    rank = x.dim() - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    weight = kernel.permute(rank + 1, rank, *range(rank))  # (out, in/groups, *kernel)
    groups = x.shape[1] // kernel.shape[-2]
    if padding == "same":
        x = _same_pad(x, kernel.shape[:rank], strides, dilation)
    return _restore(_CONV[rank](x, weight, None, strides, 0, dilation, groups), last)


@symbolic_op("depthwise_conv")
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel is convolved with its own `multiplier` filters.

    Output channel `c * multiplier + m` is input channel `c` convolved with filter `m`. Integer
    inputs are computed in float32.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        kernel: `(*kernel_size, in_channels, multiplier)`.
        strides: the step of the window, an int or one per spatial axis (default 1).
        padding: `"valid"` (default: no padding) or `"same"` (pad so that the output size is the
            input size divided by the stride, rounded up; the odd extra goes at the end).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).
        dilation_rate: the spacing between kernel taps, an int or one per spatial axis (default 1).

    Returns:
        A tensor with `in_channels * multiplier` channels, in `data_format`.

    Example:
        >>> x = torch.ones((1, 4, 4, 2))
        >>> kernel = torch.ones((3, 3, 2, 2))
        >>> lamina.ops.shape(lamina.ops.depthwise_conv(x, kernel, padding="same"))
        (1, 4, 4, 4)
    """
    kernel = tensor(kernel)
    rank = kernel.dim() - 2
    in_channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    as_conv = kernel.reshape(*kernel.shape[:rank], 1, in_channels * multiplier)
    return conv(inputs, as_conv, strides, padding, data_format, dilation_rate)


@symbolic_op("separable_conv")
def separable_conv(
    inputs,
    depthwise_kernel,
    pointwise_kernel,
    strides=1,
    padding="valid",
    data_format=None,
    dilation_rate=1,
):
    """Separable convolution: a depthwise convolution, then a 1x1 (pointwise) convolution.

    Integer inputs are computed in float32.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        depthwise_kernel: `(*kernel_size, in_channels, multiplier)`.
        pointwise_kernel: `(*ones, in_channels * multiplier, out_channels)`.
        strides: the step of the depthwise window, an int or one per spatial axis (default 1).
        padding: `"valid"` (default: no padding) or `"same"` (pad so that the output size is the
            input size divided by the stride, rounded up; the odd extra goes at the end).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).
        dilation_rate: the spacing between kernel taps, an int or one per spatial axis (default 1).

    Returns:
        A tensor with `out_channels` channels, in `data_format`.

    Example:
        >>> x = torch.ones((1, 5, 5, 2))
        >>> depthwise, pointwise = torch.ones((3, 3, 2, 1)), torch.ones((1, 1, 2, 4))
        >>> lamina.ops.separable_conv(x, depthwise, pointwise)[0, 0, 0]
        tensor([18., 18., 18., 18.])
    """
    depthwise = depthwise_conv(
        inputs, depthwise_kernel, strides, padding, data_format, dilation_rate
    )
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


@symbolic_op("conv_transpose")
def conv_transpose(
    inputs,
    kernel,
    strides=1,
    padding="valid",
    output_padding=None,
    data_format=None,
    dilation_rate=1,
):
    """Transposed convolution: the gradient of `conv` with respect to its input.

    Output sizes follow Keras's rules. Integer inputs are computed in float32.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        kernel: `(*kernel_size, out_channels, in_channels)`.
        strides: the step of the window, an int or one per spatial axis (default 1).
        padding: `"valid"` (default) or `"same"` (the output size is the input size times the
            stride).
        output_padding: extra size added at the end of each spatial axis of the output, an int or
            one per axis (default None: the size Keras infers).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).
        dilation_rate: the spacing between kernel taps, an int or one per spatial axis (default 1).

    Returns:
        A tensor with `out_channels` channels, in `data_format`.

    Example:
        >>> x = torch.ones((1, 3, 3, 1))
        >>> kernel = torch.ones((2, 2, 4, 1))
        >>> lamina.ops.shape(lamina.ops.conv_transpose(x, kernel, strides=2))
        (1, 6, 6, 4)
    """
    from lamina.layers import padding_rules  # a pure helper; lazily, as layers import ops

    padding = _check_padding(padding, "conv_transpose")
    x, last = _channels_first(floating(tensor(inputs)), data_format)
    kernel = tensor(kernel).to(x.dtype)
    rank = x.dim() - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    out_pad = [None] * rank if output_padding is None else _tuple(output_padding, rank)
    args = [
        padding_rules.transpose_torch_arguments(k, s, padding, p, d)
        for k, s, p, d in zip(kernel.shape[:rank], strides, out_pad, dilation, strict=True)
    ]
    weight = kernel.permute(rank + 1, rank, *range(rank))  # (in, out, *kernel)
    y = _CONV_T[rank](
        x,
        weight,
        None,
        strides,
        tuple(a[0] for a in args),
        tuple(a[1] for a in args),
        1,
        dilation,
    )
    crop = tuple(slice(0, y.shape[2 + i] - a[2]) for i, a in enumerate(args))
    return _restore(y[(slice(None), slice(None), *crop)], last)


def _pool(inputs, pool_size, strides, padding, data_format, kind):
    padding = _check_padding(padding, f"{kind}_pool")
    x, last = _channels_first(tensor(inputs), data_format)
    rank = x.dim() - 2
    pool_size = _tuple(pool_size, rank)
    strides = pool_size if strides is None else _tuple(strides, rank)
    ones = (1,) * rank
    if kind == "max":
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
        if padding == "same":
            x = _same_pad(x, pool_size, strides, ones, value=-math.inf)
        return _restore(pool(x, pool_size, strides), last)
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    x = floating(x)
    if padding == "valid":
        return _restore(pool(x, pool_size, strides), last)
    # TensorFlow averages over the window's real elements only: divide by the pooled mask.
    mask = _same_pad(torch.ones_like(x[:1, :1]), pool_size, strides, ones)
    summed = pool(_same_pad(x, pool_size, strides, ones), pool_size, strides)
    return _restore(summed / pool(mask, pool_size, strides), last)


@symbolic_op("max_pool")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1 to 3 spatial axes: the largest value in each window.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        pool_size: the window size, an int or one per spatial axis.
        strides: the step of the window, an int or one per spatial axis (default None:
            `pool_size`).
        padding: `"valid"` (default: no padding) or `"same"` (pad so that the output size is the
            input size divided by the stride, rounded up; the odd extra goes at the end).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The pooled tensor, in `data_format`.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> lamina.ops.max_pool(x, 2)[0, :, :, 0]
        tensor([[ 5.,  7.],
                [13., 15.]])
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


@symbolic_op("average_pool")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over 1 to 3 spatial axes: the mean of each window.

    With `"same"` padding, windows at the border average their real elements only (TensorFlow's
    rule).
    Integer inputs are computed in float32.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        pool_size: the window size, an int or one per spatial axis.
        strides: the step of the window, an int or one per spatial axis (default None:
            `pool_size`).
        padding: `"valid"` (default: no padding) or `"same"` (pad so that the output size is the
            input size divided by the stride, rounded up; the odd extra goes at the end).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The pooled tensor, in `data_format`.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> lamina.ops.average_pool(x, 2)[0, :, :, 0]
        tensor([[ 2.5000,  4.5000],
                [10.5000, 12.5000]])
        >>> sequence = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1)
        >>> lamina.ops.average_pool(sequence, 2, padding="same")[0, :, 0]
        tensor([1.5000, 3.0000])
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "avg")


def _adaptive(inputs, output_size, data_format, kind):
    x, last = _channels_first(tensor(inputs), data_format)
    rank = x.dim() - 2
    size = _tuple(output_size, rank)
    fns = {
        "avg": {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d},
        "max": {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d},
    }
    x = floating(x) if kind == "avg" else x
    return _restore(fns[kind][rank](x, size), last)


@symbolic_op("adaptive_average_pool")
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed output size; the windows are chosen from the input's size.

    Integer inputs are computed in float32.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        output_size: the spatial size of the result, an int or one per spatial axis.
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A tensor with spatial size `output_size`, in `data_format`.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> lamina.ops.adaptive_average_pool(x, 2)[0, :, :, 0]
        tensor([[ 2.5000,  4.5000],
                [10.5000, 12.5000]])
    """
    return _adaptive(inputs, output_size, data_format, "avg")


@symbolic_op("adaptive_max_pool")
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed output size; the windows are chosen from the input's size.

    Args:
        inputs: `(batch, *spatial, channels)` for channels last (or channels first), 1-3 spatial
            axes.
        output_size: the spatial size of the result, an int or one per spatial axis.
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        A tensor with spatial size `output_size`, in `data_format`.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> lamina.ops.adaptive_max_pool(x, (1, 2))[0, :, :, 0]
        tensor([[13., 15.]])
    """
    return _adaptive(inputs, output_size, data_format, "max")


@symbolic_op("unfold")
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks of a channels-first image batch as columns (torch's `unfold`).

    Args:
        x: `(N, C, H, W)` images, channels first.
        kernel_size: the block size, an int or a pair.
        dilation: the spacing between block elements, an int or a pair (default 1).
        padding: zero padding on both sides of each spatial axis, an int or a pair (default 0).
        stride: the step between blocks, an int or a pair (default 1).

    Returns:
        A `(N, C * kh * kw, L)` tensor, one column per block position.

    Example:
        >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
        >>> lamina.ops.unfold(x, 2)
        tensor([[[0., 1., 3., 4.],
                 [1., 2., 4., 5.],
                 [3., 4., 6., 7.],
                 [4., 5., 7., 8.]]])
    """
    return F.unfold(tensor(x), kernel_size, dilation=dilation, padding=padding, stride=stride)


@symbolic_op("fold")
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns of sliding blocks back into channels-first images: the inverse of `unfold`.

    Overlapping blocks add up.

    Args:
        x: `(N, C * kh * kw, L)` columns.
        output_size: `(height, width)` of the result.
        kernel_size: the block size, an int or a pair.
        dilation: the spacing between block elements, an int or a pair (default 1).
        padding: zero padding on both sides of each spatial axis, an int or a pair (default 0).
        stride: the step between blocks, an int or a pair (default 1).

    Returns:
        A `(N, C, height, width)` tensor.

    Example:
        >>> columns = lamina.ops.unfold(torch.ones((1, 1, 3, 3)), 2)
        >>> lamina.ops.fold(columns, (3, 3), 2)
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    x = tensor(x)
    if x.dim() != 3:
        raise errors.value_error(
            "fold() argument `x`",
            "a 3D (N, C * kernel area, blocks) tensor",
            f"shape {tuple(x.shape)}",
        )
    return F.fold(x, output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)
