"""Any serializable object <-> Keras 3's JSON-ready dict `{"module", "class_name", "config",
"registered_name"}`: `serialize_keras_object` and `deserialize_keras_object`.

Built-in objects are written under Keras's module names (`keras.layers`, `keras.losses`, ...), so
the dicts read the same in Keras and lamina; classes are found again by registered name, the
caller's `custom_objects`, or lamina's namespace of that module. Nothing is ever evaluated.

Examples:
    >>> entry = lamina.saving.serialize_keras_object(lamina.layers.Dense(2))
    >>> entry["module"], entry["class_name"]
    ('keras.layers', 'Dense')
    >>> lamina.saving.deserialize_keras_object(entry).units
    2
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import torch

from lamina.saving.keras_entry import _NAMESPACES, serialize_keras_object
from lamina.saving.object_registration import (
    active_custom_objects,
    get_registered_object,
    refuse_registered_name_of_builtin,
)

__all__ = ["deserialize_keras_object", "serialize_keras_object"]


def _lamina_lookup(module: str, name: str):
    """`name` in lamina's counterpart of Keras's `module`, else in any lamina namespace."""
    candidates = []
    if module.startswith("keras"):
        suffix = module[len("keras") :].lstrip(".")
        candidates.append(suffix)
    candidates.extend(["", *_NAMESPACES])
    for namespace in candidates:
        try:
            space = importlib.import_module(f"lamina.{namespace}" if namespace else "lamina")
        except ImportError:
            continue
        if hasattr(space, name):
            return getattr(space, name)
    return None


# The plain values Keras's serialization_lib writes as `{"class_name": "__numpy__", ...}` entries.
_KERAS_VALUES = {
    "__numpy__": lambda entry: np.asarray(entry["value"], dtype=entry["dtype"]),
    "__tensor__": lambda entry: torch.as_tensor(np.asarray(entry["value"], dtype=entry["dtype"])),
    "__bytes__": lambda entry: str(entry["value"]).encode("utf-8"),
    "__ellipsis__": lambda entry: Ellipsis,
}

_SLICE_PARTS = ("start", "stop", "step")


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object `serialize_keras_object` described (plain data comes back as it is).

    Args:
        config: the description.
        custom_objects: `{name: class or function}` for objects lamina does not know.
        safe_mode: accepted for Keras compatibility (lamina never evaluates code here).

    Examples:
        >>> deserialize_keras_object({"class_name": "Zeros", "config": {}, "module":
        ...     "keras.initializers", "registered_name": None})  # doctest: +SKIP
    """
    del safe_mode, kwargs
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, (list, tuple)):
        return type(config)(deserialize_keras_object(item, custom_objects) for item in config)
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialize {config!r}: expected a dict, list or plain value.")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    class_name = config["class_name"]
    if class_name in _KERAS_VALUES:  # an array, tensor or bytes Keras wrote as a value entry
        return _KERAS_VALUES[class_name](config["config"])
    if class_name == "__slice__":
        parts = config["config"]
        return slice(
            *(deserialize_keras_object(parts.get(key), custom_objects) for key in _SLICE_PARTS)
        )
    registered = config.get("registered_name")
    module = config.get("module") or ""
    known = {**active_custom_objects(), **(custom_objects or {})}
    inner = config.get("config", {})
    if class_name == "function":
        name = inner
        if not isinstance(name, str):
            raise TypeError(
                f"A function entry expects 'config' to be the function's name (a str); received "
                f"config={name!r}. Hint: the entry reads {{'class_name': 'function', 'config': "
                "'relu', ...}."
            )
        found = get_registered_object(registered, known) if registered != "function" else None
        found = found or known.get(name)
        if found is None:
            found = _lamina_lookup(module, name)
            if found is not None:
                refuse_registered_name_of_builtin(config, name)
        if found is None and module == "builtins" and ">" not in name:
            # Keras <= 3.6 wrote a registered function by its bare name ("fn", not "pkg>fn").
            found = next((f for key, f in known.items() if key.endswith(f">{name}")), None)
        if found is None:
            raise ValueError(f"Could not locate function {name!r} (module {module!r}).")
        return found
    if not isinstance(inner, dict):
        raise TypeError(
            f"The entry of class {class_name!r} expects 'config' to be a dict of its "
            f"arguments; received config={inner!r}."
        )
    cls = None
    for key in (registered, class_name):
        if key:
            cls = cls or get_registered_object(key, known)
    if cls is None:
        # Keras writes a functional model as `Functional`, which is lamina's Model.
        cls = _lamina_lookup(module, "Model" if class_name == "Functional" else class_name)
        if cls is not None:
            refuse_registered_name_of_builtin(config, class_name)
    if cls is None or not inspect.isclass(cls):
        raise ValueError(
            f"Could not locate class {class_name!r} (module {module!r}). Hint: pass "
            f"custom_objects={{'{class_name}': {class_name}}} or register the class with "
            "lamina.saving.register_keras_serializable()."
        )
    from lamina.saving.inert_arguments import drop_inert_keras_arguments

    inner = drop_inert_keras_arguments(config, known).get("config", {})
    return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
