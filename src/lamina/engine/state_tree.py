"""`Model.get_state_tree` / `set_state_tree`: the model's whole state as Keras's nested dict.

Keras groups the variables in four (`trainable_variables`, `non_trainable_variables`,
`optimizer_variables`, `metrics_variables`) and nests each group by the variables' paths
(`"sequential/dense/kernel"` -> `{"sequential": {"dense": {"kernel": ...}}}`). lamina's weights
carry Keras's paths already; the optimizer's state is torch's, listed here in Keras's order and
names through the saving bridge (`saving/optimizer_state.py`), so a tree taken from either
framework's model fits the other's; a metric's state is named `<metric name>/<state>` (a
compiled metric given by a string: its class's name, as Keras names its variables).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, weight_paths
from lamina.metrics.metric import flatten_metrics

GROUPS = (
    "trainable_variables",
    "non_trainable_variables",
    "optimizer_variables",
    "metrics_variables",
)
FORMATS = ("backend_tensor", "numpy_array")


def get_state_tree(model, value_format: str = "backend_tensor") -> dict:
    """The four groups of `model`'s state, each a dict nested by variable path.

    Args:
        model: a lamina Model.
        value_format: "backend_tensor" (the tensors themselves; the optimizer's as new tensors)
            or "numpy_array".

    Example:
        >>> layers = [lamina.Input((2,)), lamina.layers.Dense(1, name="d")]
        >>> model = lamina.Sequential(layers, name="m")
        >>> tree = get_state_tree(model, "numpy_array")
        >>> sorted(tree["trainable_variables"]["m"]["d"])
        ['bias', 'kernel']
    """
    if value_format not in FORMATS:
        raise errors.value_error(
            "value_format",
            f"one of {list(FORMATS)}",
            repr(value_format),
            "the default is 'backend_tensor'.",
        )
    weight_paths.assign(model)  # every weight has its Keras path
    flat = {group: _named(model, group) for group in GROUPS}

    def convert(value):
        if value_format == "numpy_array":
            return backend.as_numpy(value) if isinstance(value, torch.Tensor) else np.asarray(value)
        return value if isinstance(value, torch.Tensor) else torch.as_tensor(value)

    return {group: _nested(pairs, convert) for group, pairs in flat.items()}


def set_state_tree(model, state_tree: dict) -> None:
    """Assign the values of a tree (as `get_state_tree` gives, from lamina or Keras) to the
    variables of `model` with the same paths; paths the model lacks are skipped, as in Keras.

    Example:
        >>> layers = [lamina.Input((2,)), lamina.layers.Dense(1, name="d")]
        >>> model = lamina.Sequential(layers, name="m")
        >>> tree = get_state_tree(model, "numpy_array")
        >>> tree["trainable_variables"]["m"]["d"]["bias"] = np.array([5.0], "float32")
        >>> set_state_tree(model, tree)
        >>> model.layers[0].bias.tolist()
        [5.0]
    """
    weight_paths.assign(model)
    for group, nested in state_tree.items():
        if group not in GROUPS:
            raise errors.value_error(
                f"Model '{model.name}'", f"state tree keys among {list(GROUPS)}", repr(group)
            )
        given = _flattened(nested)
        if group == "optimizer_variables":
            _set_optimizer_state(model, given)
            continue
        for path, variable in _named(model, group):
            if path in given:
                value = torch.as_tensor(np.asarray(given[path]))
                with torch.no_grad():
                    variable.copy_(value.to(dtype=variable.dtype, device=variable.device))


def _named(model, group: str) -> list[tuple[str, object]]:
    """(path, variable) of one group, in the model's order; a path found twice is an error."""
    if group == "optimizer_variables":
        pairs = _optimizer_pairs(model)
    elif group == "metrics_variables":
        pairs = [
            (f"{getattr(metric, '_variables_scope', metric.name)}/{state}", tensor)
            for metric in flatten_metrics(model.metrics)
            for state, tensor in metric._state_by_name().items()
        ]
    else:
        pairs = [(_path_of(v), v) for v in getattr(model, group)]
    seen = set()
    for path, _ in pairs:
        if path in seen:
            raise errors.value_error(
                f"Model '{model.name}'",
                "unique variable paths in get_state_tree()",
                f"the path '{path}' twice",
                "give the layers (and metrics) unique names.",
            )
        seen.add(path)
    return pairs


def _path_of(variable) -> str:
    return getattr(variable, "path", None) or getattr(variable, "name", None) or "variable"


def _optimizer_pairs(model) -> list[tuple[str, np.ndarray]]:
    """The optimizer's variables by Keras's paths (`<optimizer>/iteration`, ...,
    `<optimizer>/<weight path with _>_<slot>`: `optimizer.variables`), values in Keras's
    layout."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return []
    from lamina.saving import optimizer_state  # the room above the engine

    values = optimizer_state.to_keras(optimizer)
    pairs, seen = [], {}
    for view, value in zip(optimizer.variables, values, strict=True):
        # Keras names Adafactor's two factors of one weight alike (and its get_state_tree raises
        # on them); a repeated path takes a suffix, so the tree holds both.
        repeats = seen.get(view.path, 0)
        seen[view.path] = repeats + 1
        pairs.append((view.path if not repeats else f"{view.path}_{repeats}", value))
    return pairs


def _set_optimizer_state(model, given: dict) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not optimizer.built:
        return  # no state to fill yet: the first step creates it
    pairs = _optimizer_pairs(model)
    from lamina.saving import optimizer_state

    values = [
        np.asarray(given[path]) if path in given else np.asarray(value) for path, value in pairs
    ]
    optimizer_state.from_keras(model.optimizer, values, source="set_state_tree()")


def _nested(pairs, convert) -> dict:
    tree: dict = {}
    for path, value in pairs:
        *scopes, leaf = path.split("/")
        node = tree
        for scope in scopes:
            node = node.setdefault(scope, {})
        node[leaf] = convert(value)
    return tree


def _flattened(nested: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            flat.update(_flattened(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
