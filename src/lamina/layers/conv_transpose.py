"""Transposed convolutions: Conv1DTranspose / Conv2DTranspose / Conv3DTranspose.

TensorFlow's meaning: the gradient of the forward convolution with the same kernel, strides and
padding. `padding_rules.transpose_torch_arguments` turns that into torch's `padding` and
`output_padding`; only the odd 'same' case (span - stride odd, e.g. kernel 3 with stride 2) needs
one position cut at the end, which torch cannot express, and costs one copy of the output.

The kernel has Keras's shape, (*kernel, filters, in_channels), over the memory of the
(in_channels, filters, *kernel) torch's conv_transpose wants: the Conv layout converter, applied
as is, views one as the other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import backend, constraints, initializers, regularizers
from lamina.engine import errors
from lamina.layers import argument_checks as check
from lamina.layers import padding_rules, spatial
from lamina.layers.convolutional import _ConvBase

_TRANSPOSE_FUNCTIONS = {1: F.conv_transpose2d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class _ConvTranspose(_ConvBase):
    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.filters = check.positive_int(filters, "filters", self)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = check.int_tuple(
                output_padding, self.rank, "output_padding", self, allow_zero=True
            )
            if any(p >= s for p, s in zip(self.output_padding, self.strides, strict=False)):
                raise errors.value_error(
                    self,
                    "every output_padding entry smaller than its stride",
                    f"output_padding={self.output_padding}, strides={self.strides}",
                    "output_padding only picks among the stride's possible output sizes.",
                )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        per_axis = [
            padding_rules.transpose_torch_arguments(k, s, self.padding, p, d)
            for k, s, p, d in zip(
                self.kernel_size,
                self.strides,
                self.output_padding or (None,) * self.rank,
                self.dilation_rate,
                strict=False,
            )
        ]
        self._torch_padding = spatial.lift(tuple(a[0] for a in per_axis), 0)
        self._torch_output_padding = spatial.lift(tuple(a[1] for a in per_axis), 0)
        self._crop_at_end = spatial.lift(tuple(a[2] for a in per_axis), 0)

    def _check_fits(self, input_shape) -> None:
        """A transposed convolution never shrinks its input: every size fits."""

    def build(self, input_shape):
        in_channels = self._check_input(input_shape)
        # Keras (*k, filters, in) -> torch (in, filters, *k): the Conv converter's permutation.
        self.kernel = self._kernel_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, in_channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            layout=(backend.conv_kernel_to_keras, backend.conv_kernel_from_keras),
        )
        self._bias_weight(self.filters)
        self.input_spec = self._spec(in_channels)

    def _convolve(self, x):
        kernel = backend.conv_kernel_from_keras(self.kernel)  # a view: no copy
        kernel = kernel.unsqueeze(-1) if self.rank == 1 else kernel
        y = _TRANSPOSE_FUNCTIONS[self.rank](
            x,
            kernel,
            self.bias,
            self._torch_strides,
            self._torch_padding,
            self._torch_output_padding,
            1,
            self._torch_dilation,
        )
        if any(self._crop_at_end):
            for axis, crop in enumerate(self._crop_at_end):
                if crop:
                    y = y.narrow(axis + 2, 0, y.shape[axis + 2] - crop)
            # One copy, back to the memory format the next layer wants (channels_last or not).
            y = y.contiguous(memory_format=_memory_format(y, self.data_format))
        return y

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": self.output_padding,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }


def _memory_format(y: torch.Tensor, data_format: str) -> torch.memory_format:
    if data_format != "channels_last":
        return torch.contiguous_format
    return torch.channels_last if y.dim() == 4 else torch.channels_last_3d


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution ("deconvolution"): upsamples (batch, steps, channels).

    Args:
        filters: number of output channels.
        kernel_size: int, the length of the window.
        strides: int, the upsampling step (default 1).
        padding: 'valid' (default) or 'same' ('same' with output_padding None gives
            steps * strides).
        output_padding: None (Keras's default sizes) or the extra length added at the end, smaller
            than the stride.
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int, the spacing between kernel taps (default 1).
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer, bias_initializer: initializers (defaults: glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss
            (default None).
        kernel_constraint, bias_constraint: projections applied after each optimizer step
            (default None).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, filters), with new_steps as Conv2DTranspose's sizes.

    Example:
        >>> tuple(Conv1DTranspose(4, 3, strides=2, padding="same")(torch.zeros(1, 5, 2)).shape)
        (1, 10, 4)
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution: the gradient of Conv2D, used to upsample feature maps.

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: int or (height, width).
        padding: 'valid' or 'same' ('same' with output_padding None gives n * stride).
        output_padding: None (Keras's default sizes) or the extra size added at the end of each
            axis, each entry smaller than its stride.
        data_format, activation, use_bias, initializers, regularizers, constraints: as Conv2D.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters), new = n * s for 'same' and
    n * s + max(k - s, 0) for 'valid' when output_padding is None, else
    (n - 1) * s + k - 2 * pad + output_padding with pad = k // 2 for 'same' and 0 for 'valid'.

    Example:
        >>> tuple(Conv2DTranspose(8, 3, strides=2)(torch.zeros(1, 4, 4, 2)).shape)
        (1, 9, 9, 8)
    """

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution over (batch, depth, height, width, channels).

    Args:
        filters: number of output channels.
        kernel_size: int or (depth, height, width).
        strides: int or (depth, height, width), the upsampling step (default 1).
        padding: 'valid' (default) or 'same' ('same' with output_padding None gives n * stride).
        output_padding: None (Keras's default sizes) or the extra size added at the end of each
            axis, each entry smaller than its stride.
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int or (depth, height, width), default 1.
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer, bias_initializer: initializers (defaults: glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss
            (default None).
        kernel_constraint, bias_constraint: projections applied after each optimizer step
            (default None).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, new_depth, new_height, new_width, filters), the sizes as
    Conv2DTranspose's.

    Example:
        >>> tuple(Conv3DTranspose(2, 2, strides=2)(torch.zeros(1, 2, 3, 4, 1)).shape)
        (1, 4, 6, 8, 2)
    """

    rank = 3
