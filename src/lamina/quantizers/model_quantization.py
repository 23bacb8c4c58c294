"""`Layer.quantize()`'s rules and the weight swap the quantized layers share (`quantize_layers`
walks a model's layers).

Keras's rules: the mode and config resolve to one `QuantizationConfig` ("int8" ->
`Int8QuantizationConfig()`, "int4" -> `Int4QuantizationConfig()` with groups of 128 rows,
"float8" -> `Float8QuantizationConfig()`; "gptq" and "awq" need a `GPTQConfig` / `AWQConfig`
with calibration data); a layer is quantized once, after it is built. int8 and int4 replace the
float kernel by non-trainable integer variables; float8 keeps it and adds trainable scales and
amax histories (float8_training); GPTQ and AWQ solve integer kernels on calibration data
(calibration). Either way the variables have Keras's names, shapes and order, so a quantized
model's weights and files move between lamina and Keras.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from lamina import dtype_policies
from lamina.dtype_policies.quantized import CALIBRATED_MODES, QUANTIZATION_MODES
from lamina.engine import errors, func_transforms
from lamina.quantizers.quantization_config import (
    Float8QuantizationConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
)


def resolve_config(mode, config) -> QuantizationConfig:
    """The config a quantization runs with: `config`, or the default of `mode`.

    Args:
        mode: "int8", "int4", "float8", "gptq", "awq" or None (then `config` names the mode).
        config: a `QuantizationConfig`, or None for the mode's default ("gptq" and "awq" have
            none: their config carries the calibration data).

    Example:
        >>> resolve_config("int4", None).block_size
        128
    """
    if isinstance(config, str):  # Keras 3's older call `quantize(config="int8")`
        mode, config = config, None
    _check_mode(mode)
    if config is None:
        if mode is None:
            raise errors.value_error(
                "quantize()", "a `mode` or a `config`", "neither", "e.g. quantize('int8')."
            )
        if mode in CALIBRATED_MODES:
            raise errors.value_error(
                "quantize()",
                f"config={mode.upper()}Config(dataset=..., tokenizer=...) for mode={mode!r}",
                "config=None",
                f"{mode.upper()} quantizes from calibration data, which the config carries.",
            )
        defaults = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig}
        return defaults.get(mode, Float8QuantizationConfig)()
    if not isinstance(config, QuantizationConfig):
        raise errors.value_error(
            "quantize()",
            "`config` as a lamina.quantizers.QuantizationConfig",
            f"config={config!r} (of type {type(config).__name__})",
        )
    if mode is not None and config.mode != mode:
        raise errors.value_error(
            "quantize()",
            f"a config whose mode is mode={mode!r}",
            f"config.mode={config.mode!r}",
            "pass only one of them.",
        )
    _check_mode(config.mode)
    return config


def _check_mode(mode) -> None:
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise errors.value_error(
            "quantize()",
            f"a mode in {QUANTIZATION_MODES}",
            f"mode={mode!r}",
            "use 'int8', 'int4', 'float8', 'gptq' or 'awq'.",
        )


def check_layer(layer, mode: str, calibrating: bool = False) -> None:
    """Raise unless `layer` can be quantized now: built, not yet quantized, a usable dtype, and
    a mode that works on one layer unless `calibrating` (GPTQ and AWQ run from the model's
    blocks)."""
    if mode in CALIBRATED_MODES and not calibrating:
        raise errors.value_error(
            layer,
            "a mode that quantizes one layer alone ('int8', 'int4' or 'float8')",
            f"mode={mode!r}",
            f"{mode.upper()} calibrates the layers of a model's blocks on data: call "
            f"model.quantize({mode!r}, config=...) on the model.",
        )
    if not layer.built:
        raise errors.value_error(
            layer,
            "to be built before quantize()",
            "an unbuilt layer",
            "call it on data or build it (model.build(input_shape), or an Input) first.",
        )
    if layer.__dict__.get("_is_quantized"):
        raise errors.value_error(
            layer,
            "to be quantized once",
            f"mode={mode!r} for a layer already quantized with "
            f"dtype_policy={layer.dtype_policy.name!r}",
        )
    if mode == "int8" and layer.compute_dtype == "float16":
        raise errors.value_error(
            layer,
            "a compute dtype other than float16 for mode='int8'",
            "compute_dtype='float16'",
            "use the 'mixed_bfloat16' or 'float32' policy before calling quantize().",
        )


def check_integer_mode(layer, mode: str) -> None:
    """Raise NotImplementedError for "float8" on a layer Keras does not train in float8 (it
    does Dense, EinsumDense and MultiHeadAttention's projections): a model's quantize() then
    skips it with a warning."""
    if mode == "float8":
        raise NotImplementedError(
            f"Layer '{layer.name}' ({type(layer).__name__}) has no float8 mode: lamina trains "
            "Dense, EinsumDense and MultiHeadAttention in float8, as Keras; quantize this "
            "layer with 'int8' or 'int4'."
        )


def should_quantize(layer, filters) -> bool:
    """Keras's filter: a regex searched in the layer's name, a list of them, or a callable."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return re.search(filters, layer.name) is not None
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))


# --------------------------------------------------------------------------------------------------
# The weight swap, shared by the quantized layers


def drop_weight(layer, name: str) -> None:
    """Remove the weight `name` (its tensor, its spec, its regularizer and constraint)."""
    tensor = layer._parameters.pop(name, None)
    if tensor is None:
        tensor = layer._buffers.pop(name, None)
    if tensor is not None:  # the quantized variables are made where the float one lived
        layer.__dict__["_quantized_device"] = tensor.device
    layer._weight_specs = [spec for spec in layer._weight_specs if spec.name != name]
    layer._regularizers = [(n, r) for n, r in layer._regularizers if n != name]
    if hasattr(layer, "_constraints"):
        layer._constraints = [(n, c) for n, c in layer._constraints if n != name]


def add_frozen(layer, name: str, shape, dtype: str, value=None) -> torch.Tensor:
    """A non-trainable weight in Keras's layout (zeros, or `value` copied in)."""
    initializer = "ones" if name.endswith("_scale") else "zeros"
    with torch.device(_device_of(layer)):
        weight = layer.add_weight(
            name=name, shape=tuple(shape), initializer=initializer, dtype=dtype, trainable=False
        )
    if value is not None:
        with torch.no_grad():
            weight.copy_(value.reshape(weight.shape).to(weight.dtype))
    return weight


def _device_of(layer) -> torch.device:
    return layer.__dict__.get("_quantized_device") or torch.get_default_device()


def finish(layer, mode: str, config, file_order: list[str]) -> None:
    """The layer's new policy (Keras's name for it) and its variables' order in files."""
    layer.quantization_config = config
    layer.__dict__["_file_weight_order"] = file_order
    layer.__dict__["_is_quantized"] = True
    layer._forget_weights_device()
    if layer.dtype_policy.quantization_mode is None:
        name = mode
        if mode in CALIBRATED_MODES:
            name = config.dtype_policy_string()
        elif mode == "int4":
            block_size = int4_block_size(layer, config)
            name = f"int4/{-1 if block_size is None else block_size}"
        layer.dtype_policy = dtype_policies.get(f"{name}_from_{layer.dtype_policy.name}")


def int4_block_size(layer, config):
    """The int4 group size: the config's, else the layer's Int4DTypePolicy's; None per channel."""
    if isinstance(config, Int4QuantizationConfig):
        block_size = config.block_size
    else:
        block_size = getattr(layer.dtype_policy, "block_size", None)
    return None if block_size in (None, -1) else block_size


def inputs_quantizer(config, default):
    """The activation quantizer of `config` (None: weights only), else `default`."""
    return QuantizationConfig.activation_quantizer_or_default(config, default)


def straight_through(quantized: torch.Tensor, float_path: Callable, inputs: torch.Tensor):
    """`quantized` forward, the float path's gradient (Keras's custom gradient: the inputs'
    gradient through the dequantized kernel). The float path runs only when a gradient flows,
    or may: under a torch.func transform (jvp's tangents set no `requires_grad`)."""
    if not (torch.is_grad_enabled() and inputs.requires_grad) and not func_transforms.active():
        return quantized
    dense = float_path()
    return dense + (quantized - dense).detach()
