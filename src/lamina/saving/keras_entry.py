"""An object -> Keras 3's JSON-ready entry `{"module", "class_name", "config",
"registered_name"}`: `serialize_keras_object`, the writing half of `object_serialization`.

It imports nothing of lamina but the registry, so the families that describe themselves with it
(initializers, regularizers, constraints, ...) stay below the layers that use them.

Examples:
    >>> entry = serialize_keras_object(lamina.regularizers.L2(0.5))
    >>> entry["module"], entry["class_name"], entry["config"]
    ('keras.regularizers', 'L2', {'l2': 0.5})
"""

from __future__ import annotations

import types

import numpy as np
import torch

from lamina.saving.object_registration import (
    _GLOBAL_CUSTOM_NAMES,
    registered_function_config,
    saved_module,
)

_NAMESPACES = (
    "layers",
    "initializers",
    "regularizers",
    "constraints",
    "activations",
    "losses",
    "metrics",
    "optimizers",
    "optimizers.schedules",
    "callbacks",
    "models",
    "quantizers",
    "distillation",
    "random",  # SeedGenerator, in initializers' seeds
)


def _keras_module(obj) -> str | None:
    """Keras's module name for a lamina built-in ("keras.layers"), None for anything else."""
    module = getattr(obj, "__module__", "") or ""
    if not module.startswith("lamina.") or obj in _GLOBAL_CUSTOM_NAMES:
        return None
    parts = module.split(".")
    if parts[1] == "optimizers" and len(parts) > 2 and parts[2] == "schedules":
        return "keras.optimizers.schedules"
    if parts[1] in ("engine", "models"):
        return "keras"
    return f"keras.{parts[1]}" if f"{parts[1]}" in _NAMESPACES else "keras"


def serialize_keras_object(obj):
    """A JSON-ready description of `obj` (an object with `get_config()`, a function, or plain
    data: None, numbers, strings, lists, tuples and dicts of them).

    Args:
        obj: the object.

    Returns:
        Plain data, or `{"module", "class_name", "config", "registered_name"}`.

    Examples:
        >>> serialize_keras_object(lamina.activations.relu)["config"]
        'relu'
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(serialize_keras_object(item) for item in obj)
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    value_entry = _value_entry(obj)
    if value_entry is not None:
        return value_entry
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        keras_module = _keras_module(obj)
        registered = registered_function_config(obj)
        if registered is not None:  # Keras's form: its registered name as the config
            return registered
        return {
            "module": "builtins" if keras_module else saved_module(obj),
            "class_name": "function",
            "config": obj.__name__,
            "registered_name": "function" if keras_module else _registered(obj),
        }
    if hasattr(obj, "get_config"):
        cls = type(obj)
        if cls.__name__ == "Functional" and cls.__module__.startswith("lamina."):
            # `Model(inputs, outputs)`: Keras finds its Functional under these names only
            # (`keras.Functional` is "not a KerasSaveable subclass"), as layer entries write it.
            return {
                "module": "keras.src.models.functional",
                "class_name": "Functional",
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": "Functional",
            }
        keras_module = _keras_module(cls)
        return {
            "module": keras_module or saved_module(cls),
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": None if keras_module else _registered(cls),
        }
    raise TypeError(
        f"Cannot serialize {obj!r} (of type {type(obj).__name__}): it has no get_config(). "
        "Hint: give the class get_config() and register it with register_keras_serializable."
    )


def _value_entry(obj):
    """Keras's value entry (`{"class_name": "__bytes__", "config": ...}`, ...) for the plain
    values that are not JSON types, a NumPy scalar as its Python number; None for anything else."""
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, slice):
        parts = {"start": obj.start, "stop": obj.stop, "step": obj.step}
        return {
            "class_name": "__slice__",
            "config": {key: serialize_keras_object(part) for key, part in parts.items()},
        }
    if isinstance(obj, np.generic) or (isinstance(obj, np.ndarray) and obj.ndim == 0):
        return obj.item()
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        array = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
        kind = "__tensor__" if isinstance(obj, torch.Tensor) else "__numpy__"
        dtype = str(obj.dtype).removeprefix("torch.")
        return {"class_name": kind, "config": {"value": array.tolist(), "dtype": dtype}}
    return None


def _registered(obj) -> str:
    return _GLOBAL_CUSTOM_NAMES.get(obj, obj.__name__)
