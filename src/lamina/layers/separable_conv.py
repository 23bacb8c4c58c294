"""Depthwise and separable convolutions on torch's grouped convolution (no loop over channels).

DepthwiseConv1D/2D: one `(kernel, depth_multiplier)` filter bank per input channel, i.e. a grouped
convolution with groups = in_channels. SeparableConv1D/2D: that depthwise step followed by a
pointwise (1x1) convolution to `filters` channels, with the bias after the pointwise step.
The depthwise kernel has Keras's shape, (*kernel, in, multiplier), over the memory of torch's
(in * multiplier, 1, *kernel), which `backend.depthwise_kernel_from_keras` views it as; the
pointwise kernel is a Conv kernel. Keras names the depthwise kernel `kernel` in DepthwiseConv and
`depthwise_kernel` in SeparableConv, and so does lamina.
"""

from __future__ import annotations

from lamina import backend, constraints, initializers, regularizers
from lamina.layers import argument_checks as check
from lamina.layers.convolutional import CONV_FUNCTIONS, _ConvBase


class _DepthwiseBase(_ConvBase):
    """The depthwise step shared by DepthwiseConv and SeparableConv."""

    family_ranks = (1, 2)
    takes_strides_with_dilation = True  # as Keras's depthwise and separable convolutions
    depthwise_kernel_name: str  # Keras's attribute and weight name for the depthwise kernel

    def _init_depthwise(self, depth_multiplier, initializer, regularizer, constraint):
        self.depth_multiplier = check.positive_int(depth_multiplier, "depth_multiplier", self)
        self.depthwise_initializer = initializers.get(initializer)
        self.depthwise_regularizer = regularizers.get(regularizer)
        self.depthwise_constraint = constraints.get(constraint)

    def _build_depthwise(self, in_channels: int) -> None:
        # Registered as `self.<depthwise_kernel_name>` by add_weight.
        self._kernel_weight(
            name=self.depthwise_kernel_name,
            shape=(*self.kernel_size, in_channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            layout=backend.depthwise_kernel_layout(self.depth_multiplier),
        )
        self._in_channels = in_channels

    def _depthwise(self, x, bias):
        x, padding = self._pad(x)
        kernel = getattr(self, self.depthwise_kernel_name)
        kernel = backend.depthwise_kernel_from_keras(kernel)  # a view: no copy
        kernel = kernel.unsqueeze(-1) if self.rank == 1 else kernel
        return CONV_FUNCTIONS[self.rank](
            x, kernel, bias, self._torch_strides, padding, self._torch_dilation, self._in_channels
        )

    def _depthwise_config(self):
        return {
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        }


class _DepthwiseConv(_DepthwiseBase):
    depthwise_kernel_name = "kernel"

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
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
        self._init_depthwise(
            depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint
        )

    def build(self, input_shape):
        in_channels = self._check_input(input_shape)
        self._build_depthwise(in_channels)
        self._bias_weight(in_channels * self.depth_multiplier)
        self.input_spec = self._spec(in_channels)

    def _convolve(self, x):
        return self._depthwise(x, self.bias)

    def get_config(self):
        return {**super().get_config(), **self._depthwise_config()}


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: each input channel convolved with its own `depth_multiplier`
    kernels, over (batch, steps, channels).

    Args:
        kernel_size: int, the length of the window.
        strides: int, the step of the window (default 1).
        padding: 'valid' (default) or 'same'.
        depth_multiplier: output channels per input channel (default 1).
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int, the spacing between kernel taps (default 1).
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        depthwise_initializer, bias_initializer: initializers (defaults: glorot_uniform, zeros).
        depthwise_regularizer, bias_regularizer, activity_regularizer: penalties added to the
            loss (default None).
        depthwise_constraint, bias_constraint: projections applied after each optimizer step
            (default None).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, channels * depth_multiplier).

    Example:
        >>> tuple(DepthwiseConv1D(3, depth_multiplier=2)(torch.zeros(1, 8, 3)).shape)
        (1, 6, 6)
    """

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution (MobileNet's building block).

    Args:
        kernel_size, strides, dilation_rate: int or (height, width).
        padding: 'valid' or 'same'.
        depth_multiplier: output channels per input channel.
        data_format, activation, use_bias: as Conv2D.
        depthwise_initializer / regularizer / constraint: for `kernel`, (*kernel, in,
            multiplier); bias_* and activity_regularizer as Conv2D.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, channels * depth_multiplier).

    Example:
        >>> tuple(DepthwiseConv2D(3, padding="same")(torch.zeros(1, 6, 6, 4)).shape)
        (1, 6, 6, 4)
    """

    rank = 2


class _SeparableConv(_DepthwiseBase):
    depthwise_kernel_name = "depthwise_kernel"

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
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
        self._init_depthwise(
            depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint
        )
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        in_channels = self._check_input(input_shape)
        self._build_depthwise(in_channels)
        self.pointwise_kernel = self._kernel_weight(
            name="pointwise_kernel",
            shape=(*(1,) * self.rank, in_channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            layout=(backend.conv_kernel_to_keras, backend.conv_kernel_from_keras),
        )
        self._bias_weight(self.filters)
        self.input_spec = self._spec(in_channels)

    def _convolve(self, x):
        y = self._depthwise(x, None)
        kernel = backend.conv_kernel_from_keras(self.pointwise_kernel)  # a view: no copy
        kernel = kernel.unsqueeze(-1) if self.rank == 1 else kernel
        return CONV_FUNCTIONS[self.rank](y, kernel, self.bias)

    def get_config(self):
        return {
            **super().get_config(),
            **self._depthwise_config(),
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }


class SeparableConv1D(_SeparableConv):
    """Depthwise 1-D convolution followed by a pointwise one, over (batch, steps, channels).

    Args:
        filters: output channels of the pointwise step.
        kernel_size: int, the length of the depthwise window.
        strides: int, the step of the depthwise window (default 1).
        padding: 'valid' (default) or 'same'.
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int, the spacing between kernel taps (default 1).
        depth_multiplier: depthwise output channels per input channel (default 1).
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers (defaults:
            glorot_uniform, glorot_uniform, zeros).
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer:
            penalties added to the loss (default None).
        depthwise_constraint, pointwise_constraint, bias_constraint: projections applied after
            each optimizer step (default None).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, filters).

    Example:
        >>> tuple(SeparableConv1D(5, 3)(torch.zeros(2, 10, 4)).shape)
        (2, 8, 5)
    """

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise 2-D convolution followed by a 1x1 pointwise convolution to `filters` channels.

    Args:
        filters: output channels of the pointwise step.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: as
            DepthwiseConv2D.
        depthwise_* / pointwise_* initializer, regularizer and constraint: per kernel;
            bias_*, activation, use_bias, activity_regularizer as Conv2D.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters).
    Parameters: k_h * k_w * in * multiplier + in * multiplier * filters (+ filters bias).

    Example:
        >>> tuple(SeparableConv2D(8, 3, padding="same")(torch.zeros(1, 6, 6, 4)).shape)
        (1, 6, 6, 8)
    """

    rank = 2
