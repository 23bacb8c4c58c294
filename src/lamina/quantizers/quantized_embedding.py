"""Embedding, quantized: the weight swap and the lookup, in Keras's arithmetic.

int8: each row (token) of the table has one abs-max scale. int4: the table is packed two values
a byte along its output axis; per channel (block_size -1) one scale per row, else each group of
`block_size` output columns of a row has a scale and a zero point. A lookup takes the rows first
and dequantizes only those.
"""

from __future__ import annotations

import torch

from lamina.quantizers import model_quantization as mq
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer
from lamina.quantizers.functions import (
    abs_max_quantize_grouped_with_zero_point,
    pack_int4,
    unpack_int4,
)
from lamina.quantizers.quantization_config import QuantizationConfig

_FILE_ORDER = {
    "int8": ["embeddings", "embeddings_scale"],
    "int4": ["embeddings", "embeddings_scale", "embeddings_zero", "g_idx"],
}


def quantize(layer, mode: str, config) -> None:
    """Replace the float table of a built Embedding by the quantized variables."""
    table = layer.embeddings.detach()
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
    mq.drop_weight(layer, "embeddings")
    build(layer, mode, config, values)


def build(layer, mode: str, config, values=None) -> None:
    """Create the quantized variables (zeros, or `values`) of an Embedding's table."""
    values = values or {}
    rows, columns = layer.input_dim, layer.output_dim
    scale_dtype = layer.variable_dtype
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
    rows = layer.embeddings[ids]
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


def build_quantized(layer) -> None:
    """In `build` of an Embedding created with a quantized dtype policy (a quantized model
    being loaded): the float table gives way to the quantized variables, filled by the file."""
    mq.drop_weight(layer, "embeddings")
    build(layer, layer.quantization_mode, layer.quantization_config)
