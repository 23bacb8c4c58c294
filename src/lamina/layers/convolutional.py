"""Convolutions: one `_Conv` base for Conv1D / Conv2D / Conv3D, on torch's kernels.

Inputs are channels-last by default. The convolution runs on a channels-first *view* (a permute,
no copy): an NHWC-contiguous tensor seen as NCHW is torch's channels_last memory format, which the
kernels take directly and return in the same format, so the view back is contiguous NHWC again.
Kernels are stored as torch wants them, (out, in/groups, *kernel); get/set_weights speak Keras's
(*kernel, in/groups, out).
"""

from __future__ import annotations

import torch.nn.functional as F

from lamina import activations, backend, initializers, regularizers
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import padding_rules

_CONV_FUNCTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_LAYOUTS = {
    1: "(batch, steps, channels)",
    2: "(batch, height, width, channels)",
    3: "(batch, depth, height, width, channels)",
}


class _Conv(Layer):
    rank: int = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
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
        super().__init__(**kwargs)
        self.filters = check.positive_int(filters, "filters", self)
        self.kernel_size = check.int_tuple(kernel_size, self.rank, "kernel_size", self)
        self.strides = check.int_tuple(strides, self.rank, "strides", self)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.padding = check.choice(padding, allowed, "padding", self)
        self.data_format = backend.standardize_data_format(data_format)
        self.dilation_rate = check.int_tuple(dilation_rate, self.rank, "dilation_rate", self)
        self.groups = check.positive_int(groups, "groups", self)
        if self.filters % self.groups:
            raise errors.value_error(
                self, f"`filters` divisible by groups={self.groups}", f"filters={self.filters}"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.expected_layout = _LAYOUTS[self.rank] if self.data_format == "channels_last" else None
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._conv = _CONV_FUNCTIONS[self.rank]

    @property
    def channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        in_channels = input_shape[self.channel_axis]
        if in_channels is None:
            raise errors.value_error(self, "a known number of input channels", f"shape {input_shape}")
        if in_channels % self.groups:
            raise errors.value_error(
                self, f"input channels divisible by groups={self.groups}", f"{in_channels} channels"
            )
        self._check_fits(input_shape)
        kernel_shape = (*self.kernel_size, in_channels // self.groups, self.filters)
        self.kernel = self.add_weight(
            "kernel", kernel_shape, self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            layout=(backend.conv_kernel_to_keras, backend.conv_kernel_from_keras),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.filters,), self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self.channel_axis: in_channels})

    def _spatial(self, shape):
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def _check_fits(self, input_shape) -> None:
        if self.padding != "valid":
            return
        for size, kernel, dilation in zip(self._spatial(input_shape), self.kernel_size, self.dilation_rate):
            effective = (kernel - 1) * dilation + 1
            if size is not None and size < effective:
                raise errors.value_error(
                    self,
                    f"spatial size >= its (dilated) kernel size {effective} with padding='valid'",
                    f"input shape {errors.format_shape(input_shape)}",
                    "use padding='same', a smaller kernel_size, or fewer pooling layers before it.",
                )

    def call(self, inputs):
        x = backend.channels_first_view(inputs) if self.data_format == "channels_last" else inputs
        if not x.is_floating_point():
            x = x.to(self.kernel.dtype)
        padding = 0
        if self.padding == "same":
            pads = padding_rules.paddings_for(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)
            symmetric = padding_rules.symmetric_or_none(pads)
            if symmetric is None:
                x = padding_rules.pad_channels_first(x, pads)
            else:
                padding = symmetric
        elif self.padding == "causal":
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            x = F.pad(x, (left, 0))
        elif self.padding == "valid":
            self._check_fits(tuple(inputs.shape))
        y = self._conv(x, self.kernel, self.bias, self.strides, padding, self.dilation_rate, self.groups)
        y = backend.channels_last_view(y) if self.data_format == "channels_last" else y
        outputs = self.activation(y)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(outputs) / outputs.shape[0])
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels). `padding="causal"` pads on the left only."""

    rank = 1


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels).

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width).
        strides: int or (height, width), default 1.
        padding: 'valid' (no padding) or 'same' (TensorFlow's rule: output = ceil(n / stride)).
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate, groups, activation, use_bias, initializers, regularizers, constraints: as Keras.

    Example:
        >>> conv = Conv2D(8, 3, padding="same")
        >>> tuple(conv(torch.zeros(2, 9, 9, 3)).shape)
        (2, 9, 9, 8)
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels)."""

    rank = 3
