"""Dense and EinsumDense quantized from calibration data (GPTQ, AWQ): Keras's variables and
forward.

Keras stores such a kernel as a matrix of `rows` input features by `columns` outputs (an
EinsumDense kernel's contracted axes make the rows), transposed: `kernel` holds the unsigned
integers as `(columns, rows)`, two 4-bit values a byte along the columns; `kernel_scale` and the
zero point (`kernel_zero`; EinsumDense names it `zero_point`) hold one value per output column and
group of rows; AWQ adds `awq_scales`, one per row; `g_idx` holds each row's group (GPTQ writes
`position / group_size` as a float, floored when read). The forward dequantizes the kernel,
`(q - zero) * scale` (divided by `awq_scales`), and multiplies in float, as Keras does.
"""

from __future__ import annotations

import math

import torch

from lamina.engine import errors
from lamina.quantizers import model_quantization as mq
from lamina.quantizers import zero_point
from lamina.quantizers.functions import unpack_int4


def matrix_shape(layer, kernel_shape) -> tuple[int, int]:
    """`(rows, columns)` of a Dense or EinsumDense kernel (or an attention projection's) of
    Keras's `kernel_shape`."""
    axes = getattr(layer, "kernel_axes", None) or getattr(layer, "_contracted_axes", (0,))
    if tuple(axes) != tuple(range(len(axes))):
        # Keras reshapes the kernel to (rows, columns) as it lies: the rows must come first.
        raise errors.value_error(
            layer,
            "a kernel whose contracted axes come first for GPTQ / AWQ",
            f"equation={layer.equation!r} (contracted kernel axes {tuple(axes)})",
            "write the equation with the summed axes first in the kernel, e.g. 'abc,cd->abd'.",
        )
    rows = math.prod(kernel_shape[: len(axes)])
    return rows, math.prod(kernel_shape) // rows


def _float_kernel(layer) -> torch.Tensor:
    own = getattr(layer, "float_kernel", None)  # an attention projection reads its own
    return own() if own is not None else layer.kernel.detach()


def kernel_matrix(layer) -> torch.Tensor:
    """The float kernel as the `(columns, rows)` matrix GPTQ and AWQ solve (a transposed
    view)."""
    kernel = _float_kernel(layer)
    rows, columns = matrix_shape(layer, tuple(kernel.shape))
    return kernel.reshape(rows, columns).T


def swap(layer, mode: str, config, values: dict) -> None:
    """Replace the float kernel of a calibrated layer by `values` (`kernel`, `kernel_scale`,
    `kernel_zero`, AWQ's `awq_scales`, `g_idx`) and give it the `"<mode>/<bits>/<group_size>"`
    policy."""
    kernel_shape = tuple(layer.kernel.shape)
    mq.drop_weight(layer, "kernel")
    order = make_variables(layer, mode, kernel_shape, config, values)
    mq.finish(layer, mode, config, order)


def build_quantized(layer) -> None:
    """In `build` of a layer loaded with a GPTQ or AWQ policy: the variables, zeros (scales
    ones) until the weights file fills them."""
    swap(layer, layer.quantization_mode, layer.quantization_config, {})


def make_variables(layer, mode: str, kernel_shape, config, values: dict) -> list[str]:
    """The calibrated variables of a kernel of Keras's `kernel_shape` (zeros, or `values`), in
    Keras's order; returns the names of the layer's weights in Keras's file order."""
    bits, group_size = _bits_and_group(layer, mode, config)
    rows, columns = matrix_shape(layer, kernel_shape)
    groups = 1 if group_size == -1 else -(-rows // group_size)
    # Keras's EinsumDense (and so each attention projection) names it zero_point, Dense not.
    zero_name = "zero_point" if hasattr(layer, "equation") else "kernel_zero"
    packed = (columns + 1) // 2 if bits == 4 else columns
    mq.add_frozen(layer, "kernel", (packed, rows), "uint8", values.get("kernel"))
    mq.add_frozen(
        layer, "kernel_scale", (columns, groups), layer.variable_dtype, values.get("kernel_scale")
    )
    mq.add_frozen(layer, zero_name, (columns, groups), "uint8", values.get("kernel_zero"))
    order = ["bias", "kernel", "kernel_scale", zero_name, "g_idx"]
    if mode == "awq":
        mq.add_frozen(layer, "awq_scales", (rows,), layer.variable_dtype, values.get("awq_scales"))
        order.insert(4, "awq_scales")
    mq.add_frozen(layer, "g_idx", (rows,), "float32", values.get("g_idx"))
    layer.__dict__["_calibrated"] = {
        "bits": bits,
        "columns": columns,
        "kernel_shape": tuple(kernel_shape),
        "zero": zero_name,
    }
    if hasattr(layer, "equation") and mode == "gptq":  # Keras writes it into the layer's config
        layer.gptq_unpacked_column_size = columns
    return order


def _bits_and_group(layer, mode: str, config) -> tuple[int, int]:
    """The config's bits and group size when it is the mode's config, else the policy's."""
    if getattr(config, "mode", None) == mode:
        return config.weight_bits, config.group_size
    policy = layer.dtype_policy
    return policy.weight_bits, policy.group_size


def dequantized_kernel(layer) -> torch.Tensor:
    """The float kernel in Keras's layout: `(q - zero) * scale`, each row with its group's."""
    info = layer.__dict__["_calibrated"]
    quantized = layer.kernel
    if info["bits"] == 4:
        quantized = unpack_int4(quantized, info["columns"], axis=0, dtype="uint8")
    # Under a mixed policy Keras reads float variables in the compute dtype: so do the scales.
    compute = layer._compute_torch_dtype
    scale = zero_point.per_row(layer.kernel_scale.to(compute), layer.g_idx)
    zero = zero_point.per_row(getattr(layer, info["zero"]), layer.g_idx)
    kernel = zero_point.dequantize(quantized, scale, zero).T
    if hasattr(layer, "awq_scales"):  # AWQ multiplied the rows before quantizing: undo it
        kernel = kernel / layer.awq_scales.to(compute).unsqueeze(-1)
    return kernel.reshape(info["kernel_shape"])


def call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """`inputs @ kernel` (Dense) or `einsum(equation, inputs, kernel)` (EinsumDense) on the
    dequantized kernel; the layer adds its bias and activation."""
    kernel = dequantized_kernel(layer)
    if kernel.dtype != inputs.dtype and inputs.is_floating_point():
        kernel = kernel.to(inputs.dtype)
    if hasattr(layer, "equation"):
        return torch.einsum(layer.equation, inputs, kernel)
    return torch.matmul(inputs, kernel)
