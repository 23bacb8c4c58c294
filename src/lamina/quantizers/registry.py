"""Quantizers and quantization configs by name and config: `serialize`, `deserialize`, `get`
(re-exported by `lamina.quantizers`).

The config classes nest quantizers in their configs and read them back through this module, so
it cannot import them: each registers itself with `register`.
"""

from __future__ import annotations

import inspect
import re

from lamina.engine import errors
from lamina.engine.quantizer import Quantizer
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer
from lamina.saving.object_registration import get_registered_name, saved_module, with_registered

_CLASSES = [Quantizer, AbsMaxQuantizer]


def register(cls: type) -> type:
    """Have `get` / `deserialize` know `cls` by its class name and its snake_case name.

    Args:
        cls: a quantizer or quantization-config class.

    Example:
        >>> register(AbsMaxQuantizer) is AbsMaxQuantizer
        True
    """
    if cls not in _CLASSES:
        _CLASSES.append(cls)
    return cls


def _objects():
    """{class name and snake_case name: class} of the quantizers and configs `get` knows."""
    found = {}
    for cls in _CLASSES:
        found[cls.__name__] = cls
        found[re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()] = cls
    return found


def serialize(quantizer):
    """A quantizer (or config) as Keras writes it: module, class name, config, registered name.

    Args:
        quantizer: the object to serialize; None stays None.

    Example:
        >>> serialize(AbsMaxQuantizer(axis=-1))["config"]["axis"]
        (-1,)
    """
    if quantizer is None:
        return None
    config = quantizer.get_config()
    config = {k: serialize(v) if hasattr(v, "get_config") else v for k, v in config.items()}
    cls = type(quantizer)
    builtin = cls.__module__.startswith("lamina.")
    # A user's quantizer is written as Keras writes custom objects: its class's module (None for
    # `__main__`), found again by its registered name (the class name if never registered).
    return {
        "module": "keras.quantizers" if builtin else saved_module(cls),
        "class_name": cls.__name__,
        "config": config,
        "registered_name": None if builtin else get_registered_name(cls),
    }


def deserialize(config, custom_objects=None):
    """A quantizer (or config) from `serialize`'s dict, or from a class name.

    Args:
        config: `{"class_name": ..., "config": ...}`, or a name such as `"AbsMaxQuantizer"`.
        custom_objects: `{name: class}` of user quantizers to recognise too.

    Example:
        >>> type(deserialize({"class_name": "AbsMaxQuantizer", "config": {}})).__name__
        'AbsMaxQuantizer'
    """
    # The registered and scoped objects too (load_model's custom_objects open a scope), as Keras.
    known = {**_objects(), **with_registered(custom_objects)}
    registered = None
    if isinstance(config, str):
        name, arguments = config, {}
    elif isinstance(config, dict) and "class_name" in config:
        name, arguments = config["class_name"], dict(config.get("config") or {})
        registered = config.get("registered_name")
    else:
        raise errors.value_error(
            "quantizers.deserialize", "a config dict with 'class_name' or a name", repr(config)
        )
    cls = known.get(registered) or known.get(name)
    if cls is None:
        raise errors.unknown_name("quantizer", name, known)
    return cls.from_config(arguments)


def get(identifier, **kwargs):
    """A quantizer from None, a name, a config dict, a class or an instance.

    Args:
        identifier: None (returned as None), a name such as `"abs_max_quantizer"` (its class is
            built with `**kwargs`), a `serialize` dict, or a quantizer (returned as is).
        **kwargs: the constructor arguments used when `identifier` names a class.

    Example:
        >>> get("abs_max_quantizer", axis=0).axis
        (0,)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = deserialize(identifier)
    elif isinstance(identifier, str):
        found = _objects().get(identifier)
    else:
        found = identifier
    if inspect.isclass(found):
        return found(**kwargs)
    if callable(found):
        return found
    raise errors.value_error(
        "quantizers.get", "a quantizer, its name or its config", repr(identifier)
    )


def deserialize_config(config):
    """A layer's `quantization_config` argument: None, a config object, or its saved dict.

    Args:
        config: None, a `QuantizationConfig`, or the dict `serialize` wrote (as in a Keras
            model's config).

    Example:
        >>> deserialize_config(None) is None
        True
    """
    if config is None or not isinstance(config, (dict, str)):
        return config
    return deserialize(config)
