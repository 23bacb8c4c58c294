"""Embedding, quantized: the weight swap and the lookup, in Keras's arithmetic.

int8: each row (token) of the table has one abs-max scale. int4: the table is packed two values
a byte along its output axis; per channel (block_size -1) one scale per row, else each group of
`block_size` output columns of a row has a scale and a zero point. A lookup takes the rows first
and dequantizes only those.
"""

from __future__ import annotations

import torch

from lamina.engine.weight import stored_weight
from lamina.quantizers import model_quantization as mq
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer
from lamina.quantizers.functions import (
    abs_max_quantize_grouped_with_zero_point,
    pack_int4,
    unpack_int4,
)
from lamina.quantizers.int_ops import int8_matmul
from lamina.quantizers.quantization_config import QuantizationConfig

_FILE_ORDER = {
    "int8": ["embeddings", "embeddings_scale"],
    "int4": ["embeddings", "embeddings_scale", "embeddings_zero", "g_idx"],
}


def serialization_spec(tie_weights: bool = True) -> dict:
    """Keras's `variable_serialization_spec` of Embedding (and ReversibleEmbedding, whose
    untied reverse table follows the table): each mode's variables in file order."""
    spec = {None: ["embeddings"], **{mode: list(names) for mode, names in _FILE_ORDER.items()}}
    if not tie_weights:
        for mode, names in spec.items():
            names.append("reverse_embeddings")
            if mode is not None:
                names.append("reverse_embeddings_scale")
            if mode == "int4":
                names.append("reverse_embeddings_zero")
    return spec


def quantize(layer, mode: str, config) -> None:
    """Replace the float table of a built Embedding by the quantized variables."""
    mq.check_integer_mode(layer, mode)
    values = quantized_values(layer, mode, config, stored_weight(layer, "embeddings").detach())
    mq.drop_weight(layer, "embeddings")
    build(layer, mode, config, values)


def quantized_values(layer, mode: str, config, table: torch.Tensor) -> dict:
    """The quantized variables' values for a float `table`, by name."""
    values = {}
    block_size = mq.int4_block_size(layer, config) if mode == "int4" else None
    if mode == "int8" or block_size is None:
        value_range = (-127, 127) if mode == "int8" else (-8, 7)
        default = AbsMaxQuantizer(axis=-1, value_range=value_range)
        quantizer = QuantizationConfig.weight_quantizer_or_default(config, default)
        quantized, scale = quantizer(table, to_numpy=True)
        values["embeddings_scale"] = scale.squeeze(-1)
    else:
        # Groups run along the output axis: Keras quantizes the transposed table.
        quantized, scale, zero = abs_max_quantize_grouped_with_zero_point(
            table.T, block_size, to_numpy=True
        )
        quantized, values["embeddings_scale"], values["embeddings_zero"] = (
            quantized.T,
            scale.T,
            zero.T,
        )
    values["embeddings"] = quantized if mode == "int8" else pack_int4(quantized, axis=-1)[0]
    return values


def build(layer, mode: str, config, values=None) -> None:
    """Create the quantized variables (zeros, or `values`) of an Embedding's table."""
    values = values or {}
    rows, columns = layer.input_dim, layer.output_dim
    scale_dtype = layer.variable_dtype
    # A ReversibleEmbedding's reverse projection quantizes its inputs (with the config's
    # activation quantizer); the lookup does not use it.
    layer.inputs_quantizer = mq.inputs_quantizer(config, AbsMaxQuantizer())
    if mode == "int8":
        mq.add_frozen(layer, "embeddings", (rows, columns), "int8", values.get("embeddings"))
        mq.add_frozen(
            layer, "embeddings_scale", (rows,), scale_dtype, values.get("embeddings_scale")
        )
    else:
        block_size = mq.int4_block_size(layer, config)
        layer._int4_block_size = block_size
        scale_shape = (rows,) if block_size is None else (rows, -(-columns // block_size))
        packed = (rows, (columns + 1) // 2)
        mq.add_frozen(layer, "embeddings", packed, "int8", values.get("embeddings"))
        mq.add_frozen(
            layer, "embeddings_scale", scale_shape, scale_dtype, values.get("embeddings_scale")
        )
        if block_size is not None:
            zero = values.get("embeddings_zero")
            mq.add_frozen(layer, "embeddings_zero", scale_shape, "int8", zero)
            groups = torch.div(torch.arange(columns), block_size, rounding_mode="floor")
            mq.add_frozen(layer, "g_idx", (columns,), "float32", groups)
    mq.finish(layer, mode, config, _FILE_ORDER[mode])


def lookup(layer, ids: torch.Tensor) -> torch.Tensor:
    """The dequantized rows of `ids` (an id out of range raises IndexError, as indexing does)."""
    compute = layer._compute_torch_dtype
    rows = stored_weight(layer, "embeddings")[ids]
    if layer.quantization_mode == "int4":
        rows = unpack_int4(rows, layer.output_dim, axis=-1)
        if layer._int4_block_size is not None:
            groups = layer.g_idx.to(torch.long)
            scale = layer.embeddings_scale[ids][..., groups].to(compute)
            zero = layer.embeddings_zero[ids][..., groups].to(scale.dtype)
            return ((rows.to(scale.dtype) - zero) * scale).to(compute)
    # Under a mixed policy Keras reads the scale in the compute dtype.
    scale = layer.embeddings_scale[ids].to(compute)
    return rows.to(compute) / scale.unsqueeze(-1)


def dequantized_table(layer) -> torch.Tensor:
    """The float table an int8 / int4 Embedding stands for (what LoRA merges its update into
    before re-quantizing, as Keras's files hold it)."""
    return lookup(
        layer, torch.arange(layer.input_dim, device=stored_weight(layer, "embeddings").device)
    )


def build_quantized(layer) -> None:
    """In `build` of an Embedding created with a quantized dtype policy (a quantized model
    being loaded): the float table gives way to the quantized variables, filled by the file."""
    mq.drop_weight(layer, "embeddings")
    build(layer, layer.quantization_mode, layer.quantization_config)


# --------------------------------------------------------------------------------------------------
# ReversibleEmbedding: its reverse (logits) projection, through the tied table or its own
# `reverse_embeddings` (output_dim, input_dim), quantized per vocabulary entry (column) and packed
# along the rows for int4.


def quantize_reverse(layer, mode: str, config) -> None:
    """Quantize an untied ReversibleEmbedding's `reverse_embeddings` (after the table)."""
    matrix = layer.reverse_embeddings.detach()
    values = {}
    block_size = mq.int4_block_size(layer, config) if mode == "int4" else None
    if mode == "int8" or block_size is None:
        value_range = (-127, 127) if mode == "int8" else (-8, 7)
        default = AbsMaxQuantizer(axis=0, value_range=value_range)
        quantizer = QuantizationConfig.weight_quantizer_or_default(config, default)
        quantized, scale = quantizer(matrix, to_numpy=True)
        values["reverse_embeddings_scale"] = scale.squeeze(0)
    else:
        quantized, values["reverse_embeddings_scale"], values["reverse_embeddings_zero"] = (
            abs_max_quantize_grouped_with_zero_point(matrix, block_size, to_numpy=True)
        )
    if mode == "int4":
        quantized = pack_int4(quantized, axis=0)[0]
    values["reverse_embeddings"] = quantized
    mq.drop_weight(layer, "reverse_embeddings")
    build_reverse(layer, mode, config, values)


def build_reverse(layer, mode: str, config, values=None) -> None:
    """Create an untied ReversibleEmbedding's quantized reverse variables, after the table's."""
    values = values or {}
    rows, columns = layer.output_dim, layer.input_dim
    block_size = mq.int4_block_size(layer, config) if mode == "int4" else None
    shape = (rows, columns) if mode == "int8" else ((rows + 1) // 2, columns)
    scale_shape = (columns,) if block_size is None else (-(-rows // block_size), columns)
    mq.add_frozen(layer, "reverse_embeddings", shape, "int8", values.get("reverse_embeddings"))
    scale = values.get("reverse_embeddings_scale")
    mq.add_frozen(layer, "reverse_embeddings_scale", scale_shape, layer.variable_dtype, scale)
    if block_size is not None:
        # Keras makes this zero point a float variable (its table's is int8).
        zero = values.get("reverse_embeddings_zero")
        mq.add_frozen(layer, "reverse_embeddings_zero", scale_shape, layer.variable_dtype, zero)
    order = [*_FILE_ORDER[mode], "reverse_embeddings", "reverse_embeddings_scale"]
    mq.finish(layer, mode, config, [*order, "reverse_embeddings_zero"])


def reverse_call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """The logits `inputs @ table.T` of a quantized ReversibleEmbedding (before any soft cap)."""
    compute = layer._compute_torch_dtype
    x = inputs.to(compute)
    grouped = layer.quantization_mode == "int4" and layer._int4_block_size is not None
    if layer.tie_weights:
        matrix, scale, zero = (
            stored_weight(layer, "embeddings").T,
            layer.embeddings_scale.to(compute),
            None,
        )
        if grouped:  # the table's (input_dim, groups) scale and zero point, seen per column
            scale, zero = scale.T, layer.embeddings_zero.T
    else:
        matrix, scale = layer.reverse_embeddings, layer.reverse_embeddings_scale.to(compute)
        zero = layer.reverse_embeddings_zero if grouped else None
    if layer.quantization_mode == "int4":
        matrix = unpack_int4(matrix, layer.output_dim, axis=0)
    quantizer = layer.inputs_quantizer
    inputs_scale = None
    if quantizer is not None:
        x, inputs_scale = quantizer(x)
    if grouped:
        groups = layer.g_idx.to(torch.long)
        float_matrix = (matrix.to(compute) - zero[groups].to(compute)) * scale[groups]
        logits = torch.matmul(x.to(compute), float_matrix)
        return logits if inputs_scale is None else logits / inputs_scale
    if x.dtype == torch.int8:
        logits = int8_matmul(x, matrix).to(compute)
    else:
        logits = torch.matmul(x, matrix.to(x.dtype)).to(compute)
    return logits / (scale if inputs_scale is None else inputs_scale * scale)


def build_reverse_quantized(layer) -> None:
    """In `build` of an untied ReversibleEmbedding loaded quantized: the float reverse matrix
    gives way to its quantized variables, filled by the file."""
    mq.drop_weight(layer, "reverse_embeddings")
    build_reverse(layer, layer.quantization_mode, layer.quantization_config)
