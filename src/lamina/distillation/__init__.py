"""Knowledge distillation (Keras's `keras.distillation`): a `Distiller` model trains a student
from labels and a frozen teacher, through `LogitsDistillation`, `FeatureDistillation` or a custom
`DistillationLoss`.

Examples:
    >>> LogitsDistillation(temperature=4.0).temperature
    4.0
"""

from lamina.distillation.distillation_loss import (
    DistillationLoss,
    FeatureDistillation,
    LogitsDistillation,
)
from lamina.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
