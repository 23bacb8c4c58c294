"""The Keras 3 entry of one object, `{"module", "class_name", "config", "registered_name"}`, and
the lookup of a user's class such an entry names: what the registries (`initializers`,
`regularizers`, `constraints`, ...) need to read and write configs as Keras does.

It stands on `object_registration` alone, so those registries, which the Layer base imports, can use
it without tying themselves to the model loader (`object_serialization` builds on this module).

Examples:
    >>> serialize_keras_object(lamina.initializers.Zeros())["module"]
    'keras.initializers'
"""

from __future__ import annotations

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


def deserialize_user_object(kind: str, config: dict, builtins):
    """A user's class named by a config dict that a registry (`initializers.get`, ...) does not
    hold, found as Keras finds it: registered name, `custom_object_scope`, or lamina's namespaces.

    Args:
        kind: what the registry holds ("initializer", "regularizer", ...), for the error.
        config: `{"class_name", "config", ...}` as `serialize_keras_object` writes it.
        builtins: the registry's valid names, listed when nothing is found.

    Returns:
        The object built by the class's `from_config`.

    Examples:
        >>> deserialize_user_object("initializer", {"class_name": "Zeros"}, ["zeros"])
        ... # doctest: +SKIP
    """
    known = active_custom_objects()
    for key in (config.get("registered_name"), config["class_name"]):
        cls = get_registered_object(key, known) if key else None
        if isinstance(cls, type):
            return cls.from_config(config.get("config", {}))
    options = ", ".join(repr(name) for name in sorted(builtins))
    raise ValueError(
        f"Unknown {kind} {config['class_name']!r}. Valid {kind} names: {options}. Hint: register "
        "a class of your own with lamina.saving.register_keras_serializable() or pass it in "
        "custom_object_scope()."
    )


def _registered(obj) -> str:
    return _GLOBAL_CUSTOM_NAMES.get(obj, obj.__name__)
