"""Optimizers with Keras's names and defaults, on torch.optim; `get()` resolves strings."""

from lamina.optimizers import schedules
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
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
from lamina.optimizers.registry import deserialize, get, serialize
from lamina.optimizers.sign_and_trust import Lamb, Lion

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
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
