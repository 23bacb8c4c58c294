"""Optimizers with Keras's names and defaults, on torch.optim; `get()` resolves strings."""

from lamina.engine import errors
from lamina.optimizers import legacy, schedules
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
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
    "multioptimizer": MultiOptimizer,
}


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
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _OPTIMIZERS:
            raise errors.unknown_name("optimizer", identifier, _OPTIMIZERS)
        return _OPTIMIZERS[key]()
    if isinstance(identifier, dict) and identifier.get("class_name") == "LossScaleOptimizer":
        return LossScaleOptimizer.from_config(identifier.get("config", {}))
    if isinstance(identifier, dict) and "class_name" in identifier:
        key = identifier["class_name"].lower()
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
    """An optimizer as Keras writes it: `{"class_name": ..., "config": ...}`.

    Args:
        optimizer: the `Optimizer` to describe.

    Examples:
        >>> serialize(get("sgd"))["config"]["learning_rate"]
        0.01
    """
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None) -> Optimizer:
    """A config dict (from `serialize`) or a name -> a new optimizer.

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"adam"`.
        custom_objects: optional mapping of class names to user Optimizer classes.

    Examples:
        >>> deserialize({"class_name": "Lion", "config": {"learning_rate": 0.5}}).learning_rate
        0.5
    """
    if custom_objects and isinstance(config, dict) and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    if isinstance(config, dict) and str(config.get("class_name")).lower() == "multioptimizer":
        return MultiOptimizer.from_config(config.get("config", {}), custom_objects)
    return get(config)


__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Muon",
    "Nadam",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
    "deserialize",
    "get",
    "legacy",
    "schedules",
    "serialize",
]
