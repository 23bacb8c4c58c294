"""`Model.quantize()`: the layers of a model that a quantization reaches.

int8 and int4 quantize each leaf layer that `filters` selects and that knows how (the others
are skipped, with a warning where they hold weights); "gptq" and "awq" calibrate the layers of
the model's blocks on data (`calibration`). The rules of one layer's quantization and the weight
swap live in `model_quantization`, which the quantized layers' code imports: this walk sits above
them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from lamina.dtype_policies.quantized import CALIBRATED_MODES
from lamina.engine import errors
from lamina.quantizers import calibration
from lamina.quantizers import model_quantization as mq


def quantize_model(model, mode, config=None, filters=None, type_check=True) -> None:
    """Quantize every leaf layer of `model` that `filters` selects and that supports `mode`."""
    config = mq.resolve_config(mode, config)
    if filters is not None and not isinstance(filters, (str, list, tuple, Callable)):
        raise errors.value_error(
            "quantize(filters=...)",
            "a regex string, a list of regex strings, or a callable on the layer",
            f"{type(filters).__name__}",
        )
    if not model.built:
        raise errors.value_error(
            model,
            "to be built before quantize()",
            "an unbuilt model",
            "give it an Input or call model.build(input_shape) first.",
        )
    if config.mode in CALIBRATED_MODES:
        changed = calibration.quantize_blocks(model, config, filters)
    else:
        changed = _quantize_leaves(model, config, filters, type_check)
    if changed:
        model._forget_weights_device()
        state = getattr(model, "_compile_state", None)
        if state is not None:  # a compiled forward traced the float kernels: trace again
            state.forward, state.captured = state.make_forward()


def _quantize_leaves(model, config, filters, type_check) -> bool:
    changed = False
    for layer in _leaf_layers(model):
        if not mq.should_quantize(layer, filters):
            continue
        try:
            layer.quantize(config.mode, type_check=type_check, config=config)
        except NotImplementedError as error:
            if layer.weights:  # a layer without weights has nothing to quantize: no noise
                warnings.warn(str(error), stacklevel=3)  # at the model.quantize() call
            continue
        changed = True
    return changed


def _leaf_layers(model) -> list:
    found, seen, stack = [], set(), [model]
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        children = layer._sublayers()
        if children:
            stack[:0] = children
        elif layer is not model:
            found.append(layer)
    return found
