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
import types

from lamina.saving.object_registration import (
    _GLOBAL_CUSTOM_NAMES,
    active_custom_objects,
    get_registered_object,
    registered_function_config,
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
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        keras_module = _keras_module(obj)
        registered = registered_function_config(obj)
        if registered is not None:  # Keras's form: its registered name as the config
            return registered
        return {
            "module": "builtins" if keras_module else obj.__module__,
            "class_name": "function",
            "config": obj.__name__,
            "registered_name": "function" if keras_module else _registered(obj),
        }
    if hasattr(obj, "get_config"):
        cls = type(obj)
        keras_module = _keras_module(cls)
        return {
            "module": keras_module or cls.__module__,
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": None if keras_module else _registered(cls),
        }
    raise TypeError(
        f"Cannot serialize {obj!r} (of type {type(obj).__name__}): it has no get_config(). "
        "Hint: give the class get_config() and register it with register_keras_serializable."
    )


def _registered(obj) -> str:
    return _GLOBAL_CUSTOM_NAMES.get(obj, obj.__name__)


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
    registered = config.get("registered_name")
    module = config.get("module") or ""
    known = {**active_custom_objects(), **(custom_objects or {})}
    if class_name == "function":
        name = config["config"]
        found = get_registered_object(registered, known) if registered != "function" else None
        found = found or known.get(name) or _lamina_lookup(module, name)
        if found is None:
            raise ValueError(f"Could not locate function {name!r} (module {module!r}).")
        return found
    cls = None
    for key in (registered, class_name):
        if key:
            cls = cls or get_registered_object(key, known)
    cls = cls or _lamina_lookup(module, class_name)
    if cls is None or not inspect.isclass(cls):
        raise ValueError(
            f"Could not locate class {class_name!r} (module {module!r}). Hint: pass "
            f"custom_objects={{'{class_name}': {class_name}}} or register the class with "
            "lamina.saving.register_keras_serializable()."
        )
    from lamina.saving.inert_arguments import drop_inert_keras_arguments

    inner = drop_inert_keras_arguments(config, known).get("config", {})
    return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
