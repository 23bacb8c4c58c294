"""EinsumDense: a dense layer whose contraction is any einsum equation with one kernel.

The equation is `"<input>,<kernel>-><output>"`, optionally with `...` at the left of the input
and output (batch-like axes passed through) or at their right. Each kernel axis takes its size
from the output (an output unit) or else from the input (a contracted unit); the kernel's fan-in
is the product of the contracted axes, its fan-out the product of the output-unit axes, as Keras
computes them.
"""

from __future__ import annotations

import math
import re

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.dtype_policies.quantized import CALIBRATED_MODES
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.lora import LoraLayer, lora_target_slot
from lamina.quantizers import calibrated_dense, quantized_dense
from lamina.quantizers import registry as quantizers_registry


def _parse(equation: str, layer):
    """(input spec, kernel spec, output spec, where the ellipsis is: 'left', 'right' or None)."""
    plain = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", equation)
    if plain:
        return (*plain.groups(), None)
    left = re.fullmatch(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)", equation)
    if left:
        return (*left.groups(), "left")
    right = re.fullmatch(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.", equation)
    if right:
        return (*right.groups(), "right")
    raise errors.value_error(
        layer,
        "an equation of the form 'ab,bc->ac', '...ab,bc->...ac' or 'ab...,bc->ac...'",
        f"equation={equation!r}",
    )


def analyze(equation, bias_axes, input_shape, output_shape, layer):
    """The kernel shape, bias shape (or None), full output shape, and the kernel's contracted
    (input) and output-unit axes, for `input_shape` (batch first)."""
    input_spec, kernel_spec, output_spec, ellipsis = _parse(equation, layer)
    elided = len(input_shape) - len(input_spec)
    full = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    full.insert(0, input_shape[0])
    if elided > 0 and ellipsis == "left":
        full[1:1] = list(input_shape[1:elided])
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided :])
    if ellipsis == "left":
        in_axis = {d: i + elided for i, d in enumerate(input_spec)}
        out_axis = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        in_axis = {d: i for i, d in enumerate(input_spec)}
        out_axis = {d: i for i, d in enumerate(output_spec)}
    for dim in input_spec:
        if dim in out_axis:
            want, got = full[out_axis[dim]], input_shape[in_axis[dim]]
            if want is not None and want != got:
                raise errors.value_error(
                    layer,
                    f"output_shape to agree with the input on shared axis '{dim}' ({got})",
                    f"{want}",
                )
            full[out_axis[dim]] = got if got is not None else want  # None: the input's size
    for dim in output_spec:
        if dim not in input_spec and dim not in kernel_spec:
            raise errors.value_error(
                layer,
                f"every output axis in the input or kernel spec of {equation!r}",
                f"axis '{dim}' in neither",
            )
    kernel_shape, input_axes, output_axes = [], [], []
    for i, dim in enumerate(kernel_spec):
        if dim in out_axis:
            kernel_shape.append(full[out_axis[dim]])
            output_axes.append(i)
        elif dim in in_axis:
            kernel_shape.append(input_shape[in_axis[dim]])
            input_axes.append(i)
        else:
            raise errors.value_error(
                layer,
                f"every kernel axis in the input or output spec of {equation!r}",
                f"kernel axis '{dim}' in neither",
            )
    bias_shape = None
    if bias_axes is not None:
        for char in bias_axes:
            if char not in output_spec:
                raise errors.value_error(
                    layer,
                    f"bias_axes drawn from the output spec '{output_spec}'",
                    f"bias_axes={bias_axes!r}",
                )
        # The bias spans the output from its first biased axis on (1 on the others), so it
        # broadcasts against the trailing axes of the output.
        offset = elided if ellipsis == "left" else 0
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [
            full[i + offset] if c in bias_axes else 1
            for i, c in enumerate(output_spec)
            if i >= first
        ]
        if ellipsis != "left":
            bias_shape.extend([1] * max(elided, 0))
    return kernel_shape, bias_shape, full, input_axes, output_axes


class _FansFromAxes:
    """Draws a kernel from a variance-scaling initializer with Keras's EinsumDense fans:
    the contracted axes' product in, the output axes' product out."""

    def __init__(self, initializer, input_axes, output_axes):
        self.initializer = initializer
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype=torch.float32):
        fan_in = math.prod(shape[i] for i in self.input_axes)
        fan_out = math.prod(shape[i] for i in self.output_axes)
        slices = math.prod(shape) // max(fan_in * fan_out, 1)
        # The draws are independent: only their count and their fans matter, not their order.
        draws = [self.initializer((fan_in, fan_out), dtype=dtype) for _ in range(slices)]
        return torch.stack(draws).reshape(shape)


class EinsumDense(LoraLayer, Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: einsum equation of the input, the kernel and the output, e.g. `"ab,bc->ac"`
            (a Dense layer) or `"abc,cde->abde"` (a multi-head projection).
        output_shape: the output's shape without the batch axis (an int for rank 2); None for
            an axis taken from the input.
        activation: applied last (default: none).
        bias_axes: letters of the output axes that get a bias (default: no bias).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint, activity_regularizer: as in Dense.
        lora_rank: enable low-rank adaptation of this rank when the layer is built (see
            `enable_lora`): the kernel freezes, factor A spans its leading axes and the rank,
            factor B the rank and its last axis.
        lora_alpha: scales the adaptation by `lora_alpha / lora_rank` (default: lora_rank).
        gptq_unpacked_column_size: the output columns of a GPTQ-quantized kernel (Keras writes
            it into such a layer's config; `quantize("gptq")` sets it).
        quantization_config: the `QuantizationConfig` a quantized layer was made with (Keras
            writes it into a quantized model's config); set by `quantize()`.

    Input shape: the input spec of the equation (plus elided axes). Output shape: `output_shape`
    with the batch axis in front.

    Example:
        >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
        >>> tuple(layer(torch.zeros(2, 32, 128)).shape)
        (2, 32, 64)
    """

    kernel = lora_target_slot("kernel")  # with LoRA on: the merged kernel, as Keras's property

    _calibrated_kernels = "own"  # GPTQ / AWQ calibrate the kernel

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        activity_regularizer=None,
        gptq_unpacked_column_size=None,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.quantization_config = quantizers_registry.deserialize_config(quantization_config)
        _parse(equation, self)
        self.equation = equation
        self.partial_output_shape = (
            (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        )
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self.gptq_unpacked_column_size = gptq_unpacked_column_size

    def build(self, input_shape):
        kernel_shape, bias_shape, full, input_axes, output_axes = analyze(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape, self
        )
        self.full_output_shape = tuple(full)
        self._contracted_axes = tuple(input_axes)  # the kernel's axes the einsum sums over
        initializer = self.kernel_initializer
        if isinstance(initializer, initializers.VarianceScaling):
            initializer = _FansFromAxes(initializer, input_axes, output_axes)
        self.kernel = self.add_weight(
            name="kernel",
            shape=kernel_shape,
            initializer=initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                name="bias",
                shape=bias_shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=len(input_shape))
        if self.quantization_mode in CALIBRATED_MODES:  # loaded quantized: the file fills them
            calibrated_dense.build_quantized(self)
        elif self.quantization_mode is not None:
            quantized_dense.build_quantized(self, self._contracted_axes)
        self._build_lora()

    @property
    def variable_serialization_spec(self) -> dict:
        """Keras's table of the variables this layer writes to a weights file, in order, for
        each quantization mode (None: not quantized)."""
        return {mode: list(names) for mode, names in quantized_dense.SERIALIZATION_SPEC.items()}

    def _quantize_weights(self, mode, config):
        quantized_dense.quantize(self, mode, config, self._contracted_axes)

    def _lora_project(self, inputs, factor_a):
        return torch.einsum(self.equation, inputs.to(factor_a.dtype), factor_a)

    def _lora_dequantized(self):
        return quantized_dense.dequantized_kernel(self)

    def _lora_requantized(self, merged):
        mode, config = self.quantization_mode, self.quantization_config
        return quantized_dense.quantized_values(self, mode, config, merged, self._contracted_axes)

    def call(self, inputs):
        if self._is_quantized and self.quantization_mode in CALIBRATED_MODES:
            outputs = calibrated_dense.call(self, inputs).contiguous()
        elif self._is_quantized:
            outputs = quantized_dense.einsum_call(self, inputs).contiguous()
            if self.lora_enabled:  # QLoRA: a float low-rank path beside the integer kernel
                outputs = (outputs + self._lora_outputs(inputs)).to(outputs.dtype)
        else:
            kernel = self._lora_kernel() if self.lora_enabled else self.kernel
            outputs = torch.einsum(self.equation, inputs, kernel).contiguous()
        if self.bias is not None:
            # In the compute dtype under a mixed policy (autocast leaves the add alone), as Keras
            # reads its variables there: the output stays bfloat16 / float16.
            bias = quantized_dense.bias(self) if self._is_quantized else self.bias
            outputs = outputs + (bias if bias.dtype == outputs.dtype else bias.to(outputs.dtype))
        if self.activation is not None:  # set to None after construction, as Keras allows
            outputs = self.activation(outputs)
        return outputs  # (the activity penalty is the base layer's, once per call)

    def compute_output_shape(self, input_shape):
        full = analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape, self)[
            2
        ]
        return tuple(full)

    def get_config(self):
        extra = {}
        if self.gptq_unpacked_column_size:  # as Keras: only for a GPTQ-quantized layer
            extra["gptq_unpacked_column_size"] = self.gptq_unpacked_column_size
        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantizers_registry.serialize(self.quantization_config),
            **self._lora_config(),
            **extra,
        }
