"""Keras 2's config format, `{"class_name": ..., "config": ...}`, for code written against it:
`serialize_keras_object` and `deserialize_keras_object` of `keras.legacy.saving` (also
`keras.utils.legacy`).

Unlike Keras 3's format there is no `module` or `registered_name`: a class is named by its
registered name, a function by its name alone, and a nested object inside a config is marked
`"__passive_serialization__": True` so that deserialising finds it again. Names are looked up in
`custom_objects`, the open `custom_object_scope`s, the registry and the caller's `module_objects`
only (as in Keras, built-ins are found only when the caller passes their module). Nothing is
evaluated: a `Lambda` layer's functions are the ones the caller gives (see
`lamina.saving.code_entries`).

Examples:
    >>> entry = serialize_keras_object(lamina.initializers.Constant(2.0))
    >>> entry
    {'class_name': 'Constant', 'config': {'value': 2.0}}
    >>> deserialize_keras_object(entry, module_objects=vars(lamina.initializers)).value
    2.0
"""

from __future__ import annotations

import inspect

from lamina.saving import model_config
from lamina.saving.object_registration import (
    CustomObjectScope,
    active_custom_objects,
    get_registered_name,
    get_registered_object,
)

PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance):
    """A Keras-2-style, JSON-ready description of `instance`.

    An object with `get_config()` becomes `{"class_name": <registered name>, "config": {...}}`,
    its config's objects described the same way (and marked `"__passive_serialization__"`); a
    function or class without `get_config()` becomes its registered name; None stays None.

    Args:
        instance: the object to describe.

    Returns:
        A dict, a string or None.

    Example:
        >>> serialize_keras_object(lamina.activations.relu)
        'relu'
        >>> serialize_keras_object(lamina.regularizers.L2(0.5))
        {'class_name': 'L2', 'config': {'l2': 0.5}}
    """
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                described = serialize_keras_object(item)
            except ValueError:
                config[key] = item
                continue
            if isinstance(described, dict) and not isinstance(item, dict):
                described[PASSIVE] = True
            config[key] = described
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(
        f"Cannot serialize {instance!r} because it doesn't implement `get_config()`. Hint: give "
        "the class get_config(), or pass plain data instead."
    )


def _lookup(name, custom_objects, module_objects):
    """The object called `name`: caller's custom objects, open scopes, registry, module."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get_registered_object(name, None, module_objects)


def _unknown(kind: str, name) -> ValueError:
    return ValueError(
        f"Unknown {kind}: '{name}'. Please ensure you are using a "
        "`lamina.saving.custom_object_scope` and that this object is included in the scope, or "
        "pass it in custom_objects= (built-ins: pass module_objects=vars(lamina.layers), ...)."
    )


def _class_and_config(identifier, custom_objects, module_objects, kind):
    if (
        not isinstance(identifier, dict)
        or "class_name" not in identifier
        or ("config" not in identifier)
    ):
        raise ValueError(
            f"Improper config format for {identifier}. Expecting python dict contains "
            "`class_name` and `config` as keys"
        )
    cls = _lookup(identifier["class_name"], custom_objects, module_objects)
    if cls is None:
        raise _unknown(kind, identifier["class_name"])
    config = identifier["config"]
    if isinstance(config, list):
        return cls, config
    resolved = dict(config)
    for key, item in config.items():
        if key == "name":
            continue
        if isinstance(item, dict) and PASSIVE in item:
            resolved[key] = deserialize_keras_object(
                item, module_objects, custom_objects, printable_module_name="config_item"
            )
        elif isinstance(item, str):
            found = _lookup(item, custom_objects, module_objects)
            if inspect.isfunction(found):
                resolved[key] = found
    return cls, resolved


def deserialize_keras_object(
    identifier, module_objects=None, custom_objects=None, printable_module_name="object"
):
    """The object a Keras-2-style description names (the inverse of `serialize_keras_object`).

    Args:
        identifier: a `{"class_name", "config"}` dict, a name, a function, or None.
        module_objects: `{name: object}` of the built-ins to look names up in (a module's
            `vars()`, e.g. `vars(lamina.layers)`).
        custom_objects: `{name: object}` of user-defined classes and functions.
        printable_module_name: what the object is, for error messages.

    Returns:
        The object (a class named by a string is instantiated without arguments).

    Example:
        >>> layer = deserialize_keras_object(
        ...     {"class_name": "Dense", "config": {"units": 3}}, module_objects=vars(lamina.layers)
        ... )
        >>> layer.units
        3
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls, config = _class_and_config(
            identifier, custom_objects, module_objects, printable_module_name
        )
        custom_objects = custom_objects or {}
        if isinstance(config, dict):
            config = model_config.drop_inert_keras_arguments(
                {"class_name": identifier["class_name"], "config": config},
                {**active_custom_objects(), **custom_objects, **(module_objects or {})},
            )["config"]
            config.pop("shared_object_id", None)
        if not hasattr(cls, "from_config"):
            with CustomObjectScope(custom_objects):
                return cls(**config)
        with CustomObjectScope(custom_objects):  # where a Lambda's functions are found
            if "custom_objects" in inspect.signature(cls.from_config).parameters:
                return cls.from_config(config, custom_objects=active_custom_objects())
            return cls.from_config(config)
    if isinstance(identifier, str):
        found = _lookup(identifier, custom_objects, module_objects)
        if found is None:
            raise _unknown(printable_module_name, identifier)
        return found() if inspect.isclass(found) else found
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier}")
