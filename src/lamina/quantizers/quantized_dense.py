"""Dense and EinsumDense, quantized: the weight swap and the forward, in Keras's arithmetic.

int8 (Keras's default config): the kernel is quantized per output unit (abs-max over the
contracted axes), the inputs per row at call time (abs-max over the contracted axes); the int8
product is exact (`int_ops`) and divided by both scales. int4: the kernel is packed two values a
byte along its output axis; with groups (`block_size`, default 128) each group of input rows has
a scale and a zero point and the forward runs on the dequantized kernel; per channel (-1) it
divides by one scale per output unit. The inputs' gradient flows through the dequantized kernel,
as Keras's custom gradients define it.
"""

from __future__ import annotations

import math
import string

import torch

from lamina.engine.weight import stored_weight
from lamina.quantizers import float8_training
from lamina.quantizers import model_quantization as mq
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer
from lamina.quantizers.functions import (
    abs_max_quantize_grouped_with_zero_point,
    pack_int4,
    unpack_int4,
)
from lamina.quantizers.int_ops import int8_einsum, int8_matmul
from lamina.quantizers.quantization_config import QuantizationConfig

# The order of a quantized kernel's variables in Keras's weights files.
FILE_ORDER = {
    "int8": ["kernel", "bias", "kernel_scale"],
    "int4": ["kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"],
}

# Keras's `variable_serialization_spec` of Dense and EinsumDense: every quantization mode's
# variables in file order, by Keras's names (GPTQ/AWQ's packed kernel is its quantized_kernel).
SERIALIZATION_SPEC = {
    None: ["kernel", "bias"],
    **FILE_ORDER,
    "float8": float8_training.FILE_ORDER,
    "gptq": ["bias", "quantized_kernel", "kernel_scale", "kernel_zero", "g_idx"],
    "awq": ["bias", "quantized_kernel", "kernel_scale", "kernel_zero", "awq_scales", "g_idx"],
}


def quantize(layer, mode: str, config, kernel_axes=None) -> None:
    """Replace the float kernel of a built Dense (`kernel_axes` None) or EinsumDense (the
    kernel's contracted axes) by the quantized variables, computed from it. "float8" keeps the
    float kernel and adds its scales (float8_training)."""
    if mode == "float8":
        float8_training.build(layer, config)
        return
    kernel = stored_weight(layer, "kernel").detach()
    values = quantized_values(layer, mode, config, kernel, kernel_axes)
    mq.drop_weight(layer, "kernel")
    build(layer, mode, tuple(kernel.shape), config, kernel_axes, values)


def quantized_values(layer, mode: str, config, kernel: torch.Tensor, kernel_axes=None) -> dict:
    """The quantized variables' values for a float `kernel` in Keras's layout, by name."""
    reduced = (0,) if kernel_axes is None else tuple(kernel_axes)
    values = {}
    if mode == "int8":
        quantizer = QuantizationConfig.weight_quantizer_or_default(
            config, AbsMaxQuantizer(axis=reduced)
        )
        values["kernel"], scale = quantizer(kernel, to_numpy=True)
        values["kernel_scale"] = scale.squeeze(0)
        if kernel_axes is not None:
            _, kernel_spec, output_spec = _specs(layer)
            values["kernel_scale"] = _relayout(scale, kernel_spec, output_spec)
    else:
        rows = math.prod(kernel.shape[i] for i in reduced)
        flat = kernel.reshape(rows, -1)  # Keras's plain reshape, whatever the axes' order
        block_size = mq.int4_block_size(layer, config)
        if block_size is None:
            default = AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8")
            quantizer = default
            if kernel_axes is None:  # Dense takes a config's quantizer; EinsumDense does not
                quantizer = QuantizationConfig.weight_quantizer_or_default(config, default)
            quantized, scale = quantizer(flat, to_numpy=True)
            values["kernel_scale"] = scale.squeeze(0)
        else:
            quantized, values["kernel_scale"], values["kernel_zero"] = (
                abs_max_quantize_grouped_with_zero_point(flat, block_size, to_numpy=True)
            )
        values["kernel"] = pack_int4(quantized, axis=-1)[0]
    return values


def build(layer, mode: str, kernel_shape, config, kernel_axes=None, values=None) -> None:
    """Create the quantized variables (zeros, or `values`) for a kernel of Keras's
    `kernel_shape` and set the layer's policy: `quantize` calls it, and so does `build` of a
    layer loaded with a quantized dtype policy, whose file then fills them."""
    make_variables(layer, mode, kernel_shape, config, kernel_axes, values)
    mq.finish(layer, mode, config, FILE_ORDER[mode])


def make_variables(layer, mode: str, kernel_shape, config, kernel_axes=None, values=None) -> None:
    """The quantized variables alone, in Keras's order, and what the forward needs to read
    them (the kernel's shape and axes, the activation quantizer, int4's grouping)."""
    values = values or {}
    layer._kernel_shape = tuple(kernel_shape)
    layer._kernel_axes = None if kernel_axes is None else tuple(kernel_axes)
    reduced = (0,) if kernel_axes is None else layer._kernel_axes
    if mode == "int8":
        layer.inputs_quantizer = mq.inputs_quantizer(config, AbsMaxQuantizer())
        mq.add_frozen(layer, "kernel", kernel_shape, "int8", values.get("kernel"))
        mq.add_frozen(
            layer,
            "kernel_scale",
            _output_layout_shape(layer) if kernel_axes is not None else kernel_shape[-1:],
            layer.variable_dtype,
            values.get("kernel_scale"),
        )
    else:
        layer.inputs_quantizer = mq.inputs_quantizer(config, None)
        rows = math.prod(kernel_shape[i] for i in reduced)
        columns = math.prod(kernel_shape) // rows
        block_size = mq.int4_block_size(layer, config)
        layer._int4_block_size = block_size
        layer._int4_columns = columns
        scale_shape = (columns,) if block_size is None else (-(-rows // block_size), columns)
        packed = (rows, (columns + 1) // 2)
        mq.add_frozen(layer, "kernel", packed, "int8", values.get("kernel"))
        mq.add_frozen(
            layer, "kernel_scale", scale_shape, layer.variable_dtype, values.get("kernel_scale")
        )
        if block_size is not None:
            mq.add_frozen(layer, "kernel_zero", scale_shape, "int8", values.get("kernel_zero"))
            groups = torch.div(torch.arange(rows), block_size, rounding_mode="floor")
            mq.add_frozen(layer, "g_idx", (rows,), "float32", groups)


def dequantized_kernel(layer) -> torch.Tensor:
    """The float kernel an int8 / int4 Dense or EinsumDense stands for, in Keras's layout
    (what LoRA merges its update into before re-quantizing, as Keras's files hold it)."""
    # Read outside a call, as Keras does: the scale in its own (float32) dtype.
    compute, scale = layer._compute_torch_dtype, layer.kernel_scale
    if layer.quantization_mode == "int8":
        if layer._kernel_axes is not None:
            _, kernel_spec, output_spec = _specs(layer)
            scale = _relayout(scale, output_spec, kernel_spec)
        return stored_weight(layer, "kernel").to(compute) / scale
    unpacked = unpack_int4(stored_weight(layer, "kernel"), layer._int4_columns, axis=-1)
    if layer._int4_block_size is not None:
        float_kernel = _dequantize_groups(layer, unpacked).to(compute)
    else:
        float_kernel = unpacked.to(compute) / scale
    return float_kernel.reshape(layer._kernel_shape)


# --------------------------------------------------------------------------------------------------
# The forward


def dense_call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """`inputs @ kernel` of a quantized Dense (bias and activation are the layer's)."""
    if layer.quantization_mode == "float8":
        return float8_training.dense_call(layer, inputs)
    # Under a mixed policy Keras reads float variables in the compute dtype: so do the scales.
    compute = layer._compute_torch_dtype
    x = inputs.to(compute)
    kernel, scale = stored_weight(layer, "kernel"), layer.kernel_scale.to(compute)
    if layer.quantization_mode == "int4":
        kernel = unpack_int4(kernel, layer._kernel_shape[-1], axis=-1)
        if layer._int4_block_size is not None:
            float_kernel = _dequantize_groups(layer, kernel).to(compute)
            return torch.matmul(x, float_kernel)
    quantizer = layer.inputs_quantizer
    if quantizer is None:
        return torch.matmul(x, kernel.to(x.dtype)).to(compute) / scale
    quantized, inputs_scale = quantizer(x, axis=-1)
    product = _int_or_float(quantized, kernel, int8_matmul, torch.matmul)
    outputs = product.to(compute) / (scale * inputs_scale)
    return mq.straight_through(outputs, lambda: x @ (kernel.to(compute) / scale), x)


def einsum_call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """`einsum(equation, inputs, kernel)` of a quantized EinsumDense."""
    if layer.quantization_mode == "float8":
        return float8_training.einsum_call(layer, inputs)
    compute = layer._compute_torch_dtype
    x = inputs.to(compute)
    kernel_scale = layer.kernel_scale.to(compute)
    equation = layer.equation
    specs = _specs(layer)
    if layer.quantization_mode == "int4":
        unpacked = unpack_int4(stored_weight(layer, "kernel"), layer._int4_columns, axis=-1)
        if layer._int4_block_size is not None:
            float_kernel = _dequantize_groups(layer, unpacked)
        else:
            float_kernel = unpacked.to(compute) / kernel_scale
        float_kernel = float_kernel.to(compute).reshape(layer._kernel_shape)
        quantizer = None if layer._int4_block_size is not None else layer.inputs_quantizer
        if quantizer is None:
            return torch.einsum(equation, x, float_kernel)
        quantized, inputs_scale = quantizer(x, axis=_reduced(specs[0], specs[2]))
        inputs_scale = _relayout(inputs_scale, specs[0], specs[2])
        outputs = torch.einsum(equation, quantized.to(compute), float_kernel) / inputs_scale
        return mq.straight_through(outputs, lambda: torch.einsum(equation, x, float_kernel), x)

    def dequantized():  # the kernel as floats: weights-only forward, and every gradient
        return stored_weight(layer, "kernel").to(compute) / _relayout(
            kernel_scale, specs[2], specs[1]
        )

    quantizer = layer.inputs_quantizer
    if quantizer is None:
        return torch.einsum(equation, x, dequantized())
    quantized, inputs_scale = quantizer(x, axis=_reduced(specs[0], specs[2]))
    inputs_scale = _relayout(inputs_scale, specs[0], specs[2])
    product = _int_or_float(
        quantized,
        stored_weight(layer, "kernel"),
        lambda a, b: int8_einsum(equation, a, b),
        lambda a, b: torch.einsum(equation, a, b),
    )
    outputs = product.to(compute) / (inputs_scale * kernel_scale)
    return mq.straight_through(outputs, lambda: torch.einsum(equation, x, dequantized()), x)


def bias(layer) -> torch.Tensor:
    """The bias a quantized layer adds (float8 rounds it as Keras does: float8_training)."""
    if layer.quantization_mode == "float8":
        return float8_training.bias(layer)
    return layer.bias


def _int_or_float(quantized, kernel, int_product, float_product):
    """The exact int8 product when the activation quantizer gave int8, else a float one."""
    if quantized.dtype == torch.int8 and kernel.dtype == torch.int8:
        return int_product(quantized, kernel)
    return float_product(quantized.to(torch.float32), kernel.to(torch.float32))


def _dequantize_groups(layer, unpacked: torch.Tensor) -> torch.Tensor:
    """`(q - zero) * scale`, each row taking its group's zero point and scale (Keras's
    `dequantize_with_sz_map` along the rows)."""
    groups = layer.g_idx.to(torch.long)
    scale = layer.kernel_scale.to(layer._compute_torch_dtype)[groups]
    return (unpacked.to(scale.dtype) - layer.kernel_zero[groups].to(scale.dtype)) * scale


# --------------------------------------------------------------------------------------------------
# EinsumDense's axes: Keras keeps the kernel's scale in the output's layout (1 on the axes the
# kernel lacks), so `outputs / (inputs_scale * kernel_scale)` broadcasts.


def _specs(layer) -> tuple[str, str, str]:
    """(input, kernel, output) labels of the equation, the ellipsis spelled out in letters."""
    cached = layer.__dict__.get("_quantized_specs")
    if cached is not None:
        return cached
    inputs, rest = layer.equation.split(",")
    kernel, outputs = rest.split("->")
    if "..." in inputs:
        free = [c for c in string.ascii_letters if c not in inputs + kernel + outputs]
        elided = layer.input_spec.ndim - (len(inputs) - 3)
        fill = "".join(free[:elided])
        inputs, outputs = inputs.replace("...", fill), outputs.replace("...", fill)
    layer.__dict__["_quantized_specs"] = (inputs, kernel, outputs)
    return inputs, kernel, outputs


def _reduced(spec: str, output: str) -> tuple[int, ...]:
    return tuple(i for i, label in enumerate(spec) if label not in output)


def _output_layout_shape(layer) -> tuple[int, ...]:
    _, kernel, output = _specs(layer)
    sizes = dict(zip(kernel, layer._kernel_shape, strict=True))
    return tuple(sizes.get(label, 1) for label in output)


def _relayout(scale: torch.Tensor, source: str, target: str) -> torch.Tensor:
    """A scale laid out on einsum axes `source` (size 1 on those `target` lacks) -> the same
    values on axes `target` (size 1 on those `source` lacks): kernel or input side to output
    side, or back."""
    kept = [label for label in source if label in target]
    squeezed = scale.reshape([scale.shape[i] for i, label in enumerate(source) if label in target])
    ordered = [label for label in target if label in source]
    moved = squeezed.permute([kept.index(label) for label in ordered])
    sizes = dict(zip(ordered, moved.shape, strict=True))
    return moved.reshape([sizes.get(label, 1) for label in target])


def build_quantized(layer, kernel_axes=None) -> None:
    """In `build` of a layer created with a quantized dtype policy (a quantized model being
    loaded): the float kernel just made gives way to the quantized variables, zeros until the
    weights file fills them (float8 keeps it and adds its scales)."""
    if layer.quantization_mode == "float8":
        float8_training.build(layer, layer.quantization_config, loaded=True)
        return
    kernel_shape = tuple(stored_weight(layer, "kernel").shape)
    mq.drop_weight(layer, "kernel")
    build(layer, layer.quantization_mode, kernel_shape, layer.quantization_config, kernel_axes)
