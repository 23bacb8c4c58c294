"""The calibration pass of `Model.quantize("gptq" / "awq")`: the model quantized block by block
on data.

As Keras 3.15 runs it: the config's dataset becomes `num_samples` windows of `sequence_length`
tokens; each window goes through the structure's "pre_block_layers" (an embedding, say); then for
each of the "sequential_blocks" in turn, every Dense and EinsumDense inside it that `filters`
selects, and every projection of a MultiHeadAttention (Keras's EinsumDense sub-layers), records
its inputs (a forward pre-hook, or the attention layer's tap, folds them into the kernel's
statistics: GPTQ's Hessian, AWQ's input maxima) while the block runs on every sample, each
recorded kernel is quantized from its statistics, and the block, now quantized, runs again to
give the next block its inputs (Keras keeps the first item of each output). Layers outside the
blocks stay float (Keras gives them the mode's policy without calibrating them; their forward
then stays float).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from lamina.engine import errors
from lamina.quantizers import awq, calibrated_dense, gptq, quantized_attention
from lamina.quantizers import model_quantization as mq

_SEED = 42  # Keras's default seed of the window sampler
# Each mode's statistics of a layer's inputs and the solver that quantizes from them.
_ALGORITHMS = {
    "gptq": (gptq.HessianAccumulator, gptq.quantize_matrix),
    "awq": (awq.ActivationMaxAccumulator, awq.quantize_matrix),
}


def quantize_blocks(model, config, filters) -> bool:
    """Quantize the blocks of `model` as `config` (a `GPTQConfig` or `AWQConfig`) says; True if
    any layer changed.

    Args:
        model: a built lamina model.
        config: the mode's config, with `dataset` (and `tokenizer` for text).
        filters: which layers, as `Model.quantize`'s `filters`.
    """
    structure = layer_structure(model, config)
    samples = calibration_samples(config)
    device = model._weights_device()
    inputs = []
    with torch.no_grad():
        for sample in samples:
            x = torch.as_tensor(sample, dtype=torch.int32, device=device)
            for layer in structure["pre_block_layers"]:
                x = layer(x)
            inputs.append(x)
        inputs = inputs[: min(config.num_samples, len(inputs))]
        blocks = structure["sequential_blocks"]
        changed = False
        for index, block in enumerate(blocks):
            changed = _quantize_block(block, inputs, config, filters) or changed
            if index < len(blocks) - 1:
                inputs = [block(_batched(x))[0] for x in inputs]
    return changed


def _quantize_block(block, inputs, config, filters) -> bool:
    layers = block_layers(block, filters)
    for layer in layers:
        mq.check_layer(layer, config.mode, calibrating=True)
    accumulator, solve = _ALGORITHMS[config.mode]
    # One set of statistics per kernel: a layer's, or each projection's of an attention layer.
    kernels = {layer: _kernels(layer) for layer in layers}
    statistics = {
        layer: {key: _statistics(accumulator, holder) for key, holder in held.items()}
        for layer, held in kernels.items()
    }
    with _recording(statistics):
        for x in inputs:
            block(_batched(x))
    for layer, held in kernels.items():
        values = {
            key: solve(calibrated_dense.kernel_matrix(holder), statistics[layer][key], config)
            for key, holder in held.items()
        }
        if None in values:
            calibrated_dense.swap(layer, config.mode, config, values[None])
        else:
            quantized_attention.swap_calibrated(layer, config.mode, config, values)
    return bool(layers)


def _kernels(layer) -> dict:
    """The kernels of `layer` GPTQ/AWQ solves: its own (key None), or its projections'."""
    if layer._calibrated_kernels == "projections":
        prefixes = quantized_attention.projections(layer)
        return {prefix: quantized_attention.Projection(layer, prefix) for prefix in prefixes}
    return {None: layer}


def _statistics(accumulator, holder):
    matrix = calibrated_dense.kernel_matrix(holder)
    return accumulator(matrix.shape[1], matrix.device)


@contextlib.contextmanager
def _recording(statistics):
    """Every kernel's inputs folded into its statistics while the block runs: a forward
    pre-hook on a Dense or EinsumDense, the attention layer's tap for its projections."""
    handles, taps = [], []
    try:
        for layer, by_key in statistics.items():
            if None in by_key:
                record = _recorder(by_key[None])
                handles.append(layer.register_forward_pre_hook(record, with_kwargs=True))
            else:
                layer.__dict__["_calibration_tap"] = _tap(by_key)
                taps.append(layer)
        yield
    finally:
        for handle in handles:
            handle.remove()
        for layer in taps:
            del layer.__dict__["_calibration_tap"]


def _recorder(accumulator):
    def record(layer, args, kwargs):
        accumulator.update(args[0] if args else kwargs["inputs"])

    return record


def _tap(by_prefix):
    def record(prefix, inputs):
        by_prefix[prefix].update(inputs)

    return record


def _batched(x: torch.Tensor) -> torch.Tensor:
    return x.unsqueeze(0) if x.ndim == 2 else x  # a block's output item lost its batch axis


def block_layers(block, filters) -> list:
    """The Dense, EinsumDense and MultiHeadAttention leaves of `block` (the block itself if it
    is one) that `filters` selects, in Keras's order."""
    found, stack = [], [block]
    while stack:
        layer = stack.pop(0)
        children = layer._sublayers()
        if children:
            stack[:0] = children
        elif layer._calibrated_kernels is not None and mq.should_quantize(layer, filters):
            found.append(layer)
    return found


def layer_structure(model, config) -> dict:
    """The config's `quantization_layer_structure`, else the model's
    `get_quantization_layer_structure(mode)`, checked."""
    structure = config.quantization_layer_structure
    if structure is None:
        structure = model.get_quantization_layer_structure(config.mode)
    hint = (
        f"pass {type(config).__name__}(quantization_layer_structure={{'pre_block_layers': "
        "[embedding], 'sequential_blocks': [block_1, ...]}) or override "
        "model.get_quantization_layer_structure(mode)."
    )
    if structure is None:
        raise errors.value_error(model, f"a layer structure for mode={config.mode!r}", "none", hint)
    if not isinstance(structure, dict) or not structure.get("sequential_blocks"):
        raise errors.value_error(
            model,
            "a structure dict whose 'sequential_blocks' lists at least one block",
            f"{structure!r}",
            hint,
        )
    return {
        "pre_block_layers": list(structure.get("pre_block_layers") or []),
        "sequential_blocks": list(structure["sequential_blocks"]),
    }


def calibration_samples(config) -> np.ndarray:
    """The config's dataset as `(num_samples, 1, sequence_length)` int32 token windows.

    The samples' tokens are joined (strings through `config.tokenizer`), repeated until there
    are `num_samples * sequence_length` of them, and windows are taken at `num_samples` evenly
    strided starts, as Keras's "strided" sampler does; its starting offset comes from Python's
    `hash(("gptq-calib", 42))`, which Python salts per process unless PYTHONHASHSEED is set, so
    the windows are Keras's in the same process.

    Args:
        config: a `GPTQConfig` or `AWQConfig`.

    Example:
        >>> from lamina.quantizers import GPTQConfig
        >>> config = GPTQConfig([list(range(8))], None, num_samples=1, sequence_length=8)
        >>> calibration_samples(config).tolist()
        [[[0, 1, 2, 3, 4, 5, 6, 7]]]
    """
    tokens = _tokens(config)
    length, count = config.sequence_length, config.num_samples
    if tokens.size < count * length:
        tokens = np.tile(tokens, math.ceil(count * length / max(1, tokens.size)))
    last_start = tokens.size - length
    if last_start < 0:
        raise errors.value_error(
            f"{type(config).__name__}(dataset=...)",
            f"at least sequence_length={length} tokens",
            f"{tokens.size}",
            "lower sequence_length or give more data.",
        )
    stride = max(1, (last_start + 1) // count)
    offset = abs(hash(("gptq-calib", _SEED))) % (last_start + 1) if last_start > 0 else 0
    starts = (offset + np.arange(count, dtype=np.int64) * stride) % (last_start + 1)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, length)
    return windows[starts].astype(np.int32)[:, None, :]


def _tokens(config) -> np.ndarray:
    who = f"{type(config).__name__}(dataset=...)"
    dataset = config.dataset
    if dataset is None or isinstance(dataset, (str, bytes)) or not hasattr(dataset, "__iter__"):
        raise errors.value_error(
            who,
            "an iterable of calibration samples (strings, or arrays of token ids)",
            f"{type(dataset).__name__}",
            "e.g. dataset=[token_ids] or a list of strings with a tokenizer.",
        )
    samples = list(dataset)
    if not samples:
        raise errors.value_error(who, "at least one calibration sample", "an empty dataset")
    if isinstance(samples[0], str):
        tokenizer = config.tokenizer
        if tokenizer is None:
            raise errors.value_error(
                f"{type(config).__name__}(tokenizer=...)",
                "a tokenizer for a dataset of strings",
                "tokenizer=None",
                "pass the model's tokenizer, or token ids as the dataset.",
            )
        tokenize = getattr(tokenizer, "tokenize", tokenizer)
        samples = [tokenize(text) for text in samples]
    pieces = [_as_numpy(sample).reshape(-1).astype(np.int32, copy=False) for sample in samples]
    return np.concatenate(pieces).astype(np.int32, copy=False)


def _as_numpy(sample) -> np.ndarray:
    if isinstance(sample, torch.Tensor):
        return sample.detach().cpu().numpy()
    return np.asarray(sample)
