"""Optimizers with Keras's names and defaults, on torch.optim; `get()` resolves strings."""

from lamina.engine.errors import missing_attribute as _missing_attribute
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
from lamina.optimizers.registry import deserialize, get, serialize
from lamina.optimizers.schedule_free import ScheduleFreeAdamW
from lamina.optimizers.sign_and_trust import Lamb, Lion

_REMOVED_IN_KERAS_3 = {
    "experimental": (
        "tf.keras 2.9-2.10's optimizers.experimental held the optimizers Keras 3 ships as "
        "optimizers.*. Hint: use optimizers.AdamW(...) (or Adam, SGD, ...) with the same "
        "arguments."
    ),
}


def __getattr__(name):
    """Only to name the Keras 3 replacement of a removed tf.keras 2 name."""
    raise _missing_attribute("lamina.optimizers", name, _REMOVED_IN_KERAS_3)


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
