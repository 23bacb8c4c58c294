"""`model.summary()`: the plain-text table of Keras 2, as the seeds print it (nested models
expanded under their row with Keras 3's `└ ` marks).

Layout (measured on the seeds' tables): sequential-like models use 65 columns with stops at 29, 55
and 65; graphs with branches or several inputs use 98 columns with stops at 29, 58, 68 and 98 and a
"Connected to" column. Each row starts with one space; a cell holds (stop - start - 3) characters
(the last column: stop - start) and continues on the next line when longer, breaking early after
`),` `},` `],` or `',`. A line of spaces follows every layer row.
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch

from lamina.engine import errors
from lamina.engine.symbolic import InputLayer, flatten_symbolic

_BREAKS = ("),", "},", "],", "',")


def readable_size(num_bytes: float) -> str:
    """`1121 params * 4 bytes` -> '4.38 KB'; below 1024 bytes -> '768.00 Byte'."""
    for unit in ("Byte", "KB", "MB", "GB", "TB", "PB"):
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} EB"


def weight_bytes(weights) -> float:
    """The memory the weights take, each by its own dtype's width (a float64 mask counts 8 bytes
    an entry, an int32 index 4), as Keras counts it; a bool counts one bit, as there.

    Args:
        weights: an iterable of weight tensors.

    Example:
        >>> weight_bytes([torch.zeros(4, dtype=torch.float64), torch.zeros(2, dtype=torch.int32)])
        40.0
    """
    bits = sum(w.numel() * (1 if w.dtype == torch.bool else 8 * w.element_size()) for w in weights)
    return bits / 8


def _variable_bytes(variables) -> float:
    """The memory of optimizer variables (`lamina.Variable` views, dtype named by a string)."""
    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)


def _optimizer_variables(model) -> list:
    """The optimizer variables Keras 3's summary counts: once the optimizer is built in Keras's
    sense, which fit, evaluate and `*_on_batch` do with the compiled loss and metrics on their
    first batch (lamina's torch optimizer exists from `compile`), or updates were applied (a
    loaded state); before that, none."""
    optimizer = getattr(model, "optimizer", None)
    state = getattr(model, "_compile_state", None)
    if optimizer is None or state is None:
        return []
    if not (state.built or getattr(optimizer, "_iterations", 0)):
        return []
    return list(optimizer.variables)


def format_row(fields, stops) -> list[str]:
    """One table row as one or more lines (long cells wrap)."""
    remaining = [str(f) for f in fields]
    lines = []
    while any(remaining):
        line = " "
        for column, text in enumerate(remaining):
            start = 0 if column == 0 else stops[column - 1]
            last = column == len(stops) - 1
            width = stops[column] - start - (0 if last else 3)
            piece = text[:width]
            early = [piece.find(mark) + len(mark) for mark in _BREAKS if piece.find(mark) >= 0]
            if early:
                piece = piece[: min(early)]
            remaining[column] = text[len(piece) :]
            line = (line + piece).ljust(stops[column])
        lines.append(line)
    return lines


_NEVER_BUILT = "?"  # Keras 3's cell for a layer no shape has reached yet (an unbuilt model's)


def _shape_text(shape) -> str:
    if shape is None:  # never called on symbolic inputs (a subclassed model's layer): as Keras 2
        return "multiple"
    if isinstance(shape, str):  # "multiple" (called on inputs of different shapes), or "?"
        return shape
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return errors.format_shape(shape)


def _output_shape(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if isinstance(layer, InputLayer):
        return [layer.batch_shape]
    if not nodes:
        if layer.__dict__.get("_build_input_shape") is None and not layer.__dict__.get(
            "_build_shapes"
        ):
            return _NEVER_BUILT
        return None
    shapes = set()
    for node in nodes:
        outs = flatten_symbolic(node.outputs)
        shapes.add(tuple(t.shape for t in outs))
    if len(shapes) > 1:
        return "multiple"
    outs = flatten_symbolic(nodes[0].outputs)
    return outs[0].shape if len(outs) == 1 else [t.shape for t in outs]


def class_label(layer) -> str:
    """The type shown in the table: a model built from inputs and outputs is `Functional`; an
    operation (`x + y`) is Keras's operation class (`Add`)."""
    if (
        type(layer).__name__ in ("Model", "Functional")
        and getattr(layer, "_graph", None) is not None
    ):
        return "Functional"
    return getattr(layer, "keras_class_name", None) or type(layer).__name__


def _param_count(layer) -> int | str:
    if not layer.built and not list(layer.parameters()):
        return "0 (unbuilt)"
    return sum(w.numel() for w in layer.weights)


def _is_chain(model) -> bool:
    graph = getattr(model, "_graph", None)
    if graph is None:
        return True
    if len(graph.flat_inputs) > 1 or len(graph.flat_outputs) > 1:
        return False
    previous = graph.flat_inputs[0]
    for node in graph.nodes:
        parents = node.parent_tensors
        if len(parents) != 1 or parents[0] is not previous or len(node.layer._inbound_nodes) > 1:
            return False
        outputs = flatten_symbolic(node.outputs)
        if len(outputs) != 1:
            return False
        previous = outputs[0]
    return True


def _connections(layer, model) -> list[str]:
    graph = model._graph
    found = []
    for node in layer._inbound_nodes:
        if node not in graph.nodes:
            continue
        for tensor in node.parent_tensors:
            producer = tensor.node.layer
            node_index = (
                producer._inbound_nodes.index(tensor.node)
                if tensor.node in producer._inbound_nodes
                else 0
            )
            found.append(f"{producer.name}[{node_index}][{tensor.index}]")
    return found


def layer_index_range(layers, layer_range) -> tuple[int, int]:
    """`(start, stop)` of the layers `summary(layer_range=[first, last])` prints: from the first
    layer whose name matches the pattern `first` (`re.match`) to the last that matches `last`,
    both included, as Keras does (the bounds swap when the range is reversed)."""
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise errors.value_error(
            "layer_range", "a list of 2 layer names (or patterns)", f"{layer_range!r}"
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise errors.value_error("layer_range", "strings only", f"{layer_range!r}")
    starts = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    ends = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not starts or not ends:
        raise errors.value_error(
            "layer_range",
            "names matching layers of the model",
            f"{list(layer_range)}",
            f"the layers are {[layer.name for layer in layers]}.",
        )
    if min(starts) > max(ends):
        return min(ends), max(starts) + 1
    return min(starts), max(ends) + 1


def _rows(layer, model, chain, show_trainable, expand_nested, depth=0):
    """The table rows of `layer` and, with `expand_nested`, of the layers it holds under it, as
    Keras 3 marks them: three spaces per level of depth, then `└ ` before the name."""
    prefix = "   " * depth + "└ " if depth else ""
    fields = [
        f"{prefix}{layer.name} ({class_label(layer)})",
        _shape_text(_output_shape(layer)),
        _param_count(layer),
    ]
    if not chain:
        # Keras 2.13+ prints the list itself: `[]`, `['conv2d[0][0]']`, wrapped after `',`. A
        # nested layer's nodes belong to the inner graph, so it lists none (Keras 3 prints `-`).
        fields.append(str(_connections(layer, model)))
    if show_trainable:
        fields.append("Y" if layer.trainable else "N")
    rows = [fields]
    inner = getattr(layer, "layers", None) if expand_nested else None
    for child in inner or []:
        rows += _rows(child, model, chain, show_trainable, expand_nested, depth + 1)
    return rows


def print_summary(
    model,
    line_length=None,
    positions=None,
    print_fn=None,
    show_trainable=False,
    expand_nested=False,
    layer_range=None,
) -> None:
    """Print Keras 2's summary table of `model` (see `Model.summary`)."""
    print_fn = print_fn or print
    chain = _is_chain(model)
    if chain:
        line_length = line_length or 65
        fractions = positions or [0.45, 0.85, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        fractions = positions or [0.3, 0.6, 0.70, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    stops = [int(line_length * f) if f <= 1 else int(f) for f in fractions]
    if show_trainable:  # Keras 2: one more 11-character column, "Y" or "N" per layer
        line_length += 11
        stops.append(line_length)
        headers = [*headers, "Trainable"]

    lines = [f'Model: "{model.name}"', "_" * line_length]
    lines += format_row(headers, stops)
    layers = list(getattr(model, "operations", model.layers))  # a graph's ops too, as Keras
    start, stop = layer_index_range(layers, layer_range)
    for layer in layers[start:stop]:
        for fields in _rows(layer, model, chain, show_trainable, expand_nested):
            lines += format_row(fields, stops)
            lines.append(" " * line_length)

    weights = model.weights
    trainable_ids = {id(w) for w in model.trainable_weights}
    total = sum(w.numel() for w in weights)
    trainable = sum(w.numel() for w in weights if id(w) in trainable_ids)
    frozen = total - trainable
    trainable_bytes = weight_bytes(w for w in weights if id(w) in trainable_ids)
    frozen_bytes = weight_bytes(w for w in weights if id(w) not in trainable_ids)
    # After training, Keras 3 counts the optimizer's variables too, in the total and a line.
    slots = _optimizer_variables(model)
    slot_count, slot_bytes = sum(math.prod(v.shape) for v in slots), _variable_bytes(slots)
    all_bytes = trainable_bytes + frozen_bytes + slot_bytes
    lines.append(f"Total params: {total + slot_count} ({readable_size(all_bytes)})")
    lines.append(f"Trainable params: {trainable} ({readable_size(trainable_bytes)})")
    lines.append(f"Non-trainable params: {frozen} ({readable_size(frozen_bytes)})")
    if slots:
        lines.append(f"Optimizer params: {slot_count} ({readable_size(slot_bytes)})")
    lines.append("_" * line_length)
    for line in lines:
        print_fn(line)
