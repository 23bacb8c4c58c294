"""Convolutions: `_ConvBase` (geometry, views, padding, activation) and Conv1D / Conv2D / Conv3D.

Inputs are channels-last by default. The convolution runs on a channels-first *view* (see
`spatial.py`): no copy, and torch returns channels_last output whose Keras view is contiguous again.
Kernels have Keras's shape, (*kernel, in/groups, out), as views over the memory of torch's
(out, in/groups, *kernel), with channels_last strides for channels-last layers
(`spatial.kernel_weight`): the call takes `conv_kernel_from_keras(self.kernel)`, a view torch's
convolution takes as it is. The transposed, depthwise and separable convolutions reuse the base
(`conv_transpose.py`, `separable_conv.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import activations, backend, constraints, initializers, regularizers
from lamina.engine import channels_first, errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.engine.weight import stored_weight
from lamina.layers import argument_checks as check
from lamina.layers import padding_rules, spatial
from lamina.layers.lora import LoraLayer, lora_target_slot

# 1-D runs lifted to 2-D (spatial.py), so rank 1 uses the 2-D kernels.
CONV_FUNCTIONS = {1: F.conv2d, 2: F.conv2d, 3: F.conv3d}


class _ConvBase(Layer):
    """What every convolution shares: geometry, views, padding, bias, activation, config.

    Subclasses create their weights in `build` (after `_check_input`) and implement
    `_convolve(x)`, which takes and returns an (N, C, *spatial) view (1-D lifted to 2-D).
    """

    rank: int = 2
    paddings: tuple[str, ...] = ("valid", "same")
    family_ranks: tuple[int, ...] = (1, 2, 3)
    # Keras refuses strides > 1 with dilation_rate > 1 in its plain and transposed
    # convolutions only; its depthwise and separable ones take the pair.
    takes_strides_with_dilation: bool = False

    def __init__(
        self,
        *,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        bias_initializer="zeros",
        bias_regularizer=None,
        activity_regularizer=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.kernel_size = check.int_tuple(kernel_size, self.rank, "kernel_size", self)
        self.strides = check.int_tuple(strides, self.rank, "strides", self)
        self.padding = check.choice(padding, self.paddings, "padding", self)
        self.data_format = backend.standardize_data_format(data_format)
        self.dilation_rate = check.int_tuple(dilation_rate, self.rank, "dilation_rate", self)
        if not self.takes_strides_with_dilation:
            check.strides_without_dilation(self.strides, self.dilation_rate, self)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.expected_layout = spatial.LAYOUTS[(self.data_format, self.rank)]
        self.input_spec = self._spec()
        # Per-axis arguments of the torch op (1-D lifted with a unit width axis).
        self._torch_strides = spatial.lift(self.strides, 1)
        self._torch_dilation = spatial.lift(self.dilation_rate, 1)
        self._torch_kernel_size = spatial.lift(self.kernel_size, 1)

    def _spec(self, channels: int | None = None) -> InputSpec:
        axes = {} if channels is None else {self.channel_axis: channels}
        hint = spatial.family_hint(type(self).__name__, self.rank, self.family_ranks)
        return InputSpec(ndim=self.rank + 2, axes=axes, hint=hint)

    @property
    def channel_axis(self) -> int:
        return spatial.channel_axis(self.data_format)

    def _check_input(self, input_shape) -> int:
        """Validate a build shape; returns the number of input channels."""
        self._spec().check(input_shape, self)
        in_channels = input_shape[self.channel_axis]
        if in_channels is None:
            raise errors.value_error(
                self,
                "a known number of input channels",
                f"shape {errors.format_shape(input_shape)}",
                "give Input() a fixed channel size.",
            )
        self._check_fits(input_shape)
        return int(in_channels)

    def _check_fits(self, input_shape) -> None:
        """A `valid` kernel larger than its input would give a zero or negative output size."""
        if self.padding != "valid":
            return
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        outputs = [
            padding_rules.output_length(n, k, s, "valid", d)
            for n, k, s, d in zip(
                sizes, self.kernel_size, self.strides, self.dilation_rate, strict=False
            )
        ]
        if any(o is not None and o <= 0 for o in outputs):
            spans = tuple(
                padding_rules.effective_kernel(k, d)
                for k, d in zip(self.kernel_size, self.dilation_rate, strict=False)
            )
            raise errors.value_error(
                self,
                f"spatial sizes at least its (dilated) kernel size {spans} with padding='valid'",
                f"input shape {errors.format_shape(input_shape)}, which gives a zero or negative "
                f"output size {tuple(outputs)}",
                "use padding='same', a smaller kernel_size or dilation_rate, or remove a pooling "
                "or strided layer before this one.",
            )

    def _kernel_weight(self, **add_weight_arguments) -> torch.Tensor:
        """A kernel in the memory format this layer's inputs reach torch in (`spatial.py`)."""
        return spatial.kernel_weight(self, self.data_format, **add_weight_arguments)

    def _bias_weight(self, size: int) -> None:
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(size,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def call(self, inputs):
        if self.padding == "valid":
            self._check_fits(tuple(inputs.shape))  # integers only: no host sync
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        if not x.is_floating_point():
            x = x.to(self._dtype)
        y = self._convolve(x)
        activation = self.activation
        # None: set so after construction, as Keras allows; linear: the identity, not called.
        if activation is None or activation is activations.linear:
            return spatial.from_torch(y, self.data_format, self.rank)
        if activations.is_elementwise(activation):  # on the layout the next layer takes
            return spatial.from_torch(activation(y), self.data_format, self.rank)
        return activation(spatial.from_torch(y, self.data_format, self.rank))

    def _pad(self, x: torch.Tensor):
        if self.padding == "same" and not torch.compiler.is_compiling():
            # `same`'s padding for the latest input size, kept on the layer: every call of a
            # training step asks again (host time on a GPU). The sizes are plain ints.
            size = x.shape[2:]
            latest = self.__dict__.get("_same_padding")
            if latest is None or latest[0] != size:
                plan = padding_rules._same_plan(
                    tuple(size), self._torch_kernel_size, self._torch_strides, self._torch_dilation
                )
                latest = (size, *plan)
                self.__dict__["_same_padding"] = latest
            _, pads, symmetric = latest
            if symmetric is not None:
                return x, symmetric
            return padding_rules.pad_channels_first(x, pads), 0
        return padding_rules.apply(
            x, self.padding, self._torch_kernel_size, self._torch_strides, self._torch_dilation
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class _Conv(LoraLayer, _ConvBase):
    """Conv1D / Conv2D / Conv3D: `filters` kernels of `kernel_size`, optionally grouped, with
    Keras's low-rank adaptation (`lora_rank`, `enable_lora`: lora.py)."""

    kernel = lora_target_slot("kernel")  # with LoRA on: the merged kernel, as Keras's property

    # Keras's (*k, in/groups, out) kernel axes in torch's (out, in/groups, *k) order, the
    # permutation of backend.conv_kernel_from_keras, worked out once per class (its `rank`).
    _kernel_from_keras = (3, 2, 0, 1)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._kernel_from_keras = (cls.rank + 1, cls.rank, *range(cls.rank))

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
        lora_rank=None,
        lora_alpha=None,
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
        self.groups = check.positive_int(groups, "groups", self)
        if self.filters % self.groups:
            raise errors.value_error(
                self, f"`filters` divisible by groups={self.groups}", f"filters={self.filters}"
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._init_lora(lora_rank, lora_alpha)
        # A subclass that overrides Keras's `convolution_op` hook computes through it.
        self._custom_convolution = type(self).convolution_op is not _Conv.convolution_op

    def build(self, input_shape):
        in_channels = self._check_input(input_shape)
        if in_channels % self.groups:
            raise errors.value_error(
                self,
                f"input channels divisible by groups={self.groups}",
                f"{in_channels} channels in shape {errors.format_shape(input_shape)}",
            )
        self.kernel = self._kernel_weight(
            name="kernel",
            shape=(*self.kernel_size, in_channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            layout=(backend.conv_kernel_to_keras, backend.conv_kernel_from_keras),
        )
        self._bias_weight(self.filters)
        self.input_spec = self._spec(in_channels)
        self._build_lora()

    def _convolve(self, x, kernel=None, bias=None):
        """The convolution of an (N, C, *spatial) view with a Keras-layout kernel (the layer's
        own kernel and bias by default)."""
        if kernel is None:
            kernel = self._lora_kernel() if self.lora_enabled else self.kernel
            # The registered weight, not through Module.__getattr__ (about 1 us a call, a step).
            bias = stored_weight(self, "bias")
        x, padding = self._pad(x)
        # backend.conv_kernel_from_keras's view (the layer's memory, no copy), axes worked out once
        kernel = kernel.permute(self._kernel_from_keras)
        if self.rank == 1:
            kernel = kernel.unsqueeze(-1)
            if self.groups > 1:
                # unsqueeze gives the unit width axis stride 1, which torch's CPU grouped
                # convolution misreads on channels-last memory (wrong numbers): name the
                # channels-last stride it stands for instead (a view, no copy).
                kernel = kernel.as_strided(kernel.shape, (*kernel.stride()[:3], kernel.stride(2)))
            if x.shape[0] == 1 or x.dtype == torch.float64:
                # torch's CPU heuristics send these to slow_conv2d, whose backward cannot
                # write the gradient of this kernel view (ambiguous channels-last strides);
                # a copy (28 us for a (3, 64, 64) kernel) only where needed.
                kernel = kernel.contiguous()
        return CONV_FUNCTIONS[self.rank](
            x, kernel, bias, self._torch_strides, padding, self._torch_dilation, self.groups
        )

    def convolution_op(self, inputs, kernel):
        """Keras's hook: convolve `inputs` with `kernel`, no bias, no activation.

        It uses this layer's strides, padding, dilation, groups and data format. Override it to
        change the convolution itself (e.g. standardize the kernel first): `call` then runs
        `convolution_op(inputs, kernel)` with the kernel in Keras's layout, adds the bias and
        applies the activation, as Keras does.

        Args:
            inputs: a batch in the layer's data format, e.g. `(batch, height, width, channels)`.
            kernel: Keras's layout, `(*kernel_size, in_channels / groups, filters)`, the shape
                of the layer's own `self.kernel`.

        Returns:
            The convolution, in the layer's data format.

        Example:
            >>> class Standardized(Conv2D):
            ...     def convolution_op(self, inputs, kernel):
            ...         mean = kernel.mean(dim=(0, 1, 2), keepdim=True)
            ...         std = kernel.std(dim=(0, 1, 2), keepdim=True, unbiased=False)
            ...         return super().convolution_op(inputs, (kernel - mean) / (std + 1e-5))
            >>> tuple(Standardized(4, 3)(torch.ones(1, 5, 5, 2)).shape)
            (1, 3, 3, 4)
        """
        kernel = torch.as_tensor(kernel, device=self.kernel.device)
        if not isinstance(inputs, torch.Tensor):  # NumPy, as Keras's ops.conv takes it
            inputs = torch.as_tensor(inputs, device=self.kernel.device)
        expected = tuple(self.kernel.shape)
        if tuple(kernel.shape) != expected:
            torch_layout = tuple(backend.conv_kernel_from_keras(self.kernel).shape)
            hint = "pass a kernel of the layer's kernel_size, input channels and filters."
            if tuple(kernel.shape) == torch_layout:
                hint = (
                    "this is torch's layout (filters, in/groups, *kernel_size); view it in "
                    "Keras's with `lamina.backend.conv_kernel_to_keras(kernel)`, or pass "
                    "`self.kernel`, which has Keras's layout."
                )
            raise errors.value_error(
                self,
                f"convolution_op's kernel in Keras's layout (*kernel_size, in/groups, filters) "
                f"= {expected}",
                f"a kernel of shape {tuple(kernel.shape)}",
                hint,
            )
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        if not x.is_floating_point():
            x = x.to(self._dtype)
        y = self._convolve(x, kernel.to(x.dtype))
        return spatial.from_torch(y, self.data_format, self.rank)

    def call(self, inputs):
        if not self._custom_convolution:
            return super().call(inputs)
        if self.padding == "valid":
            self._check_fits(tuple(inputs.shape))
        kernel = self._lora_kernel() if self.lora_enabled else self.kernel
        outputs = self.convolution_op(inputs, kernel)
        if self.use_bias:
            channels_first = self.data_format == "channels_first"
            bias = self.bias.view(-1, *([1] * self.rank)) if channels_first else self.bias
            outputs = outputs + bias
        return outputs if self.activation is None else self.activation(outputs)

    def _channels_first_role(self):
        if (
            self.rank > 1
            and self.data_format == "channels_last"
            and type(self).call is _Conv.call
            and not self._custom_convolution
        ):
            return channels_first.SPATIAL
        return None

    def _channels_first_call(self, inputs, training):
        # `call` on the (N, C, *spatial) view it would make of its channels-last input.
        activation = self.activation
        linear = activation is None or activation is activations.linear
        kernel = None if linear else activations.elementwise_kernel(activation)
        if not (linear or kernel is not None) or not inputs.is_floating_point():
            return None
        if self.padding == "valid":
            self._check_fits((inputs.shape[0], *inputs.shape[2:], inputs.shape[1]))
        y = self._convolve(inputs)
        return y if linear else kernel(y)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            **self._lora_config(),
        }


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels).

    Args:
        filters: number of output channels.
        kernel_size: int (or 1-tuple), the length of the convolution window.
        strides: int, the step of the window (default 1).
        padding: 'valid' (no padding, default), 'same' (output length ceil(steps / strides)) or
            'causal', which pads on the left only so that output step t sees input steps <= t
            (WaveNet).
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int, the spacing between kernel taps (default 1); > 1 only with
            strides 1.
        groups: split the input channels into this many groups, each with its own filters
            (default 1).
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer, bias_initializer: initializers (defaults: glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss
            (default None).
        kernel_constraint, bias_constraint: projections applied after each optimizer step
            (default None).
        lora_rank, lora_alpha: low-rank adaptation of this rank, enabled at build, scaled by
            `lora_alpha / lora_rank` (see `enable_lora`; default None: off).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels) (channels_first: (batch, channels, steps)).
    Output shape: (batch, new_steps, filters).

    Example:
        >>> tuple(Conv1D(32, 3)(torch.zeros(4, 64, 1)).shape)
        (4, 62, 32)
    """

    rank = 1
    paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels).

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width).
        strides: int or (height, width), default 1.
        padding: 'valid' (no padding) or 'same' (TensorFlow's rule: output = ceil(n / stride),
            the odd extra row/column of padding at the bottom/right).
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int or (height, width); > 1 only with strides 1.
        groups: split the input channels into this many groups, each with its own filters.
        activation, use_bias, kernel/bias initializer, regularizer and constraint,
        activity_regularizer: as Keras.
        lora_rank, lora_alpha: low-rank adaptation of this rank, enabled at build, scaled by
            `lora_alpha / lora_rank` (see `enable_lora`; default None: off).

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, new_height, new_width, filters), new = floor((n - d(k-1) - 1) / s) + 1
    for 'valid' and ceil(n / s) for 'same'.

    Example:
        >>> conv = Conv2D(8, 3, padding="same")
        >>> tuple(conv(torch.zeros(2, 9, 9, 3)).shape)
        (2, 9, 9, 8)
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels).

    Args:
        filters: number of output channels.
        kernel_size: int or (depth, height, width).
        strides: int or (depth, height, width), default 1.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / stride)).
        data_format: 'channels_last' (default) or 'channels_first'.
        dilation_rate: int or (depth, height, width), default 1; > 1 only with strides 1.
        groups: split the input channels into this many groups, each with its own filters
            (default 1).
        activation: name or callable applied to the output (default: none, i.e. linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer, bias_initializer: initializers (defaults: glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss
            (default None).
        kernel_constraint, bias_constraint: projections applied after each optimizer step
            (default None).
        lora_rank, lora_alpha: low-rank adaptation of this rank, enabled at build, scaled by
            `lora_alpha / lora_rank` (see `enable_lora`; default None: off).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, new_depth, new_height, new_width, filters).

    Example:
        >>> tuple(Conv3D(4, 3)(torch.zeros(1, 5, 6, 7, 2)).shape)
        (1, 3, 4, 5, 4)
    """

    rank = 3
