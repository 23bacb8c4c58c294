"""Optimizers with Keras's names and defaults, on torch.optim; `get()` resolves strings."""

from lamina.engine import errors
from lamina.optimizers import schedules
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

_OPTIMIZERS = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "nadam": Nadam,
    "adamax": Adamax,
}


def get(identifier) -> Optimizer:
    """'adam' -> Adam() with Keras's defaults; an Optimizer -> itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _OPTIMIZERS:
            raise errors.unknown_name("optimizer", identifier, _OPTIMIZERS)
        return _OPTIMIZERS[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _OPTIMIZERS[identifier["class_name"].lower()]
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise TypeError(
        f"optimizer must be a name ({sorted(_OPTIMIZERS)}) or an Optimizer; "
        f"received {identifier!r}."
    )


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "get",
    "schedules",
    "serialize",
]
