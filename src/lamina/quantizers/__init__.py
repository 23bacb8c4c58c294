"""`lamina.quantizers`: Keras's `keras.quantizers`, the arithmetic of int8, int4 and float8.

These functions and objects compute quantized tensors, scales and zero points, and the configs
describe a quantization; `Model.quantize()` / `Layer.quantize()` apply "int8" and "int4" to
Dense, EinsumDense, Embedding, ReversibleEmbedding and MultiHeadAttention's projections
(`model_quantization`, `quantized_dense`, `quantized_embedding`, `quantized_attention`), and
"float8" training to Dense, EinsumDense and MultiHeadAttention (`float8_training`);
`Model.quantize()` runs "gptq" and "awq" block by block on calibration data (`calibration`,
`gptq`, `awq`, `zero_point`, `calibrated_dense`).
"""

from __future__ import annotations

from lamina.engine.quantizer import Quantizer
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer
from lamina.quantizers.calibration_configs import AWQConfig, GPTQConfig
from lamina.quantizers.fake_quant import fake_quant_with_min_max_vars
from lamina.quantizers.functions import (
    abs_max_quantize,
    abs_max_quantize_grouped_with_zero_point,
    compute_float8_amax_history,
    compute_float8_scale,
    pack_int4,
    quantize_and_dequantize,
    unpack_int4,
)
from lamina.quantizers.quantization_config import (
    Float8QuantizationConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
)
from lamina.quantizers.registry import deserialize, get, serialize

__all__ = [
    "AWQConfig",
    "AbsMaxQuantizer",
    "Float8QuantizationConfig",
    "GPTQConfig",
    "Int4QuantizationConfig",
    "Int8QuantizationConfig",
    "QuantizationConfig",
    "Quantizer",
    "abs_max_quantize",
    "abs_max_quantize_grouped_with_zero_point",
    "compute_float8_amax_history",
    "compute_float8_scale",
    "deserialize",
    "fake_quant_with_min_max_vars",
    "get",
    "pack_int4",
    "quantize_and_dequantize",
    "serialize",
    "unpack_int4",
]
