"""Optimizers by name and config: `get`, `serialize` and `deserialize` (re-exported by
`lamina.optimizers`).

An optimizer built around others (`LossScaleOptimizer`, `MultiOptimizer`) registers itself here with
`register_wrapper`: its config nests its inner optimizer's, which it writes and reads through this
module, so this module cannot import it.
"""

from lamina.engine import errors
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.muon import Muon
from lamina.optimizers.optimizer import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    Optimizer,
    RMSprop,
)
from lamina.optimizers.schedule_free import ScheduleFreeAdamW
from lamina.optimizers.sign_and_trust import Lamb, Lion

_OPTIMIZERS = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "nadam": Nadam,
    "adamax": Adamax,
    "lion": Lion,
    "lamb": Lamb,
    "ftrl": Ftrl,
    "adafactor": Adafactor,
    "muon": Muon,
    "schedulefreeadamw": ScheduleFreeAdamW,
}

# Optimizers that wrap others, by class name (they register themselves: see register_wrapper).
_WRAPPERS: dict[str, type] = {}


def register_wrapper(cls: type) -> type:
    """Have `get` / `deserialize` read configs whose `class_name` is `cls.__name__` with `cls`.

    Args:
        cls: an `Optimizer` class whose config nests another optimizer's.

    Example:
        >>> @register_wrapper  # doctest: +SKIP
        ... class Averaged(Optimizer):  # its get_config nests serialize(inner)
        ...     ...
    """
    _WRAPPERS[cls.__name__] = cls
    return cls


def get(identifier) -> Optimizer:
    """An optimizer from a name, a config dict or an instance.

    Args:
        identifier: a name such as `"adam"` (a new optimizer with Keras's defaults),
            `{"class_name": ..., "config": ...}`, or an `Optimizer` (returned as it is).

    Examples:
        >>> type(get("rmsprop")).__name__
        'RMSprop'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    wrappers = {name.lower(): cls for name, cls in _WRAPPERS.items()}
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _OPTIMIZERS and key not in wrappers:
            raise errors.unknown_name("optimizer", identifier, _OPTIMIZERS)
        return _OPTIMIZERS[key]() if key in _OPTIMIZERS else wrappers[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        key = str(identifier["class_name"]).lower()
        if key in wrappers:
            return wrappers[key].from_config(identifier.get("config", {}))
        if key not in _OPTIMIZERS:
            raise errors.unknown_name("optimizer", identifier["class_name"], _OPTIMIZERS)
        return _OPTIMIZERS[key].from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise TypeError(
        f"optimizer must be a name ({sorted(_OPTIMIZERS)}) or an Optimizer; "
        f"received {identifier!r}."
    )


def serialize(optimizer: Optimizer) -> dict:
    """An optimizer as Keras writes it: `{"module", "class_name", "config", "registered_name"}`.

    Args:
        optimizer: the `Optimizer` to describe.

    Examples:
        >>> serialize(get("sgd"))["config"]["learning_rate"]
        0.01
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None) -> Optimizer:
    """A config dict (from `serialize`) or a name -> a new optimizer.

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"adam"`.
        custom_objects: optional mapping of class names to user Optimizer classes.

    Examples:
        >>> optimizer = deserialize({"class_name": "Lion", "config": {"learning_rate": 0.5}})
        >>> float(optimizer.learning_rate)
        0.5
    """
    if custom_objects and isinstance(config, dict) and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    wrapper = _WRAPPERS.get(config.get("class_name")) if isinstance(config, dict) else None
    if wrapper is not None:  # its inner optimizers may be the user's classes too
        return wrapper.from_config(config.get("config", {}), custom_objects=custom_objects)
    return get(config)
