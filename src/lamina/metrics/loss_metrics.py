"""Metrics that are running means of a loss function: regression errors, cross-entropies,
divergences and hinges, with Keras's names, options and defaults."""

from __future__ import annotations

import torch

from lamina import losses
from lamina.metrics.accuracy import wrapper_class
from lamina.metrics.metric import Mean

MeanSquaredError = wrapper_class(
    losses.mean_squared_error, "MeanSquaredError", "mean_squared_error"
)
MeanAbsoluteError = wrapper_class(
    losses.mean_absolute_error, "MeanAbsoluteError", "mean_absolute_error"
)
MeanAbsolutePercentageError = wrapper_class(
    losses.mean_absolute_percentage_error,
    "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error",
)
MeanSquaredLogarithmicError = wrapper_class(
    losses.mean_squared_logarithmic_error,
    "MeanSquaredLogarithmicError",
    "mean_squared_logarithmic_error",
)
LogCoshError = wrapper_class(losses.log_cosh, "LogCoshError", "logcosh")


def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity of y_true and y_pred along `axis` (the loss's value, sign flipped)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


CosineSimilarity = wrapper_class(
    cosine_similarity,
    "CosineSimilarity",
    "cosine_similarity",
    axis=-1,
)
Poisson = wrapper_class(losses.poisson, "Poisson", "poisson")
KLDivergence = wrapper_class(losses.kl_divergence, "KLDivergence", "kl_divergence")
BinaryCrossentropy = wrapper_class(
    losses.binary_crossentropy,
    "BinaryCrossentropy",
    "binary_crossentropy",
    from_logits=False,
    label_smoothing=0,
)
CategoricalCrossentropy = wrapper_class(
    losses.categorical_crossentropy,
    "CategoricalCrossentropy",
    "categorical_crossentropy",
    from_logits=False,
    label_smoothing=0,
    axis=-1,
)
SparseCategoricalCrossentropy = wrapper_class(
    losses.sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy",
    "sparse_categorical_crossentropy",
    from_logits=False,
    ignore_class=None,
    axis=-1,
)
Hinge = wrapper_class(losses.hinge, "Hinge", "hinge")
SquaredHinge = wrapper_class(losses.squared_hinge, "SquaredHinge", "squared_hinge")
CategoricalHinge = wrapper_class(losses.categorical_hinge, "CategoricalHinge", "categorical_hinge")


class RootMeanSquaredError(Mean):
    """Square root of the running (weighted) mean squared error.

    Example:
    >>> RootMeanSquaredError()(torch.tensor([[0.0], [0.0]]), torch.tensor([[3.0], [-3.0]])).item()
    3.0
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.as_tensor(y_pred).float()
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        super().update_state(losses.mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return torch.sqrt(super().result())
