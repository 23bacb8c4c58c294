"""Metrics that are running means of a loss function: regression errors, cross-entropies,
divergences and hinges, with Keras's names, options and defaults."""

from __future__ import annotations

import torch

from lamina import losses
from lamina.losses.loss import match_rank
from lamina.metrics.accuracy import wrapper_class
from lamina.metrics.metric import Mean

MeanSquaredError = wrapper_class(
    losses.mean_squared_error,
    "MeanSquaredError",
    "mean_squared_error",
    doc="""The running mean of the squared error.

    Args:
        name: the metric's name (default `"mean_squared_error"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> float(MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]))
        0.25
    """,
)
MeanAbsoluteError = wrapper_class(
    losses.mean_absolute_error,
    "MeanAbsoluteError",
    "mean_absolute_error",
    doc="""The running mean of the absolute error.

    Args:
        name: the metric's name (default `"mean_absolute_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]))
        0.25
    """,
)
MeanAbsolutePercentageError = wrapper_class(
    losses.mean_absolute_percentage_error,
    "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error",
    doc="""The running mean of `100 * |y_true - y_pred| / |y_true|`.

    Args:
        name: the metric's name (default `"mean_absolute_percentage_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(MeanAbsolutePercentageError()([[2.0], [4.0]], [[1.0], [4.0]]))
        25.0
    """,
)
MeanSquaredLogarithmicError = wrapper_class(
    losses.mean_squared_logarithmic_error,
    "MeanSquaredLogarithmicError",
    "mean_squared_logarithmic_error",
    doc="""The running mean of `(log(y_true + 1) - log(y_pred + 1)) ** 2`.

    Args:
        name: the metric's name (default `"mean_squared_logarithmic_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(MeanSquaredLogarithmicError()([[1.0]], [[1.0]]))
        0.0
    """,
)
LogCoshError = wrapper_class(
    losses.log_cosh,
    "LogCoshError",
    "logcosh",
    doc="""The running mean of `log(cosh(y_pred - y_true))`.

    Args:
        name: the metric's name (default `"logcosh"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> round(float(LogCoshError()([[0.0]], [[1.0]])), 4)
        0.4338
    """,
)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity of `y_true` and `y_pred` along `axis` (the loss's value, sign flipped).

    Args:
        y_true: target vectors.
        y_pred: predicted vectors.
        axis: the axis the vectors lie along (default the last).

    Examples:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]])).tolist()
        [1.0]
    """
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


CosineSimilarity = wrapper_class(
    cosine_similarity,
    "CosineSimilarity",
    "cosine_similarity",
    axis=-1,
    doc="""The running mean of the cosine similarity (1: aligned, -1: opposite; minus the loss).

    Args:
        name: the metric's name (default `"cosine_similarity"`).
        dtype: accepted for Keras compatibility.
        axis: the axis the vectors lie along (default the last).

    Examples:
        >>> round(float(CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])), 4)
        0.5
    """,
)
Poisson = wrapper_class(
    losses.poisson,
    "Poisson",
    "poisson",
    doc="""The running mean of the Poisson loss `y_pred - y_true * log(y_pred)`.

    Args:
        name: the metric's name (default `"poisson"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(Poisson()([[0.0]], [[2.0]]))
        2.0
    """,
)
KLDivergence = wrapper_class(
    losses.kl_divergence,
    "KLDivergence",
    "kl_divergence",
    doc="""The running mean of the Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`.

    Args:
        name: the metric's name (default `"kl_divergence"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> round(float(KLDivergence()([[1.0, 0.0]], [[0.5, 0.5]])), 4)
        0.6931
    """,
)
BinaryCrossentropy = wrapper_class(
    losses.binary_crossentropy,
    "BinaryCrossentropy",
    "binary_crossentropy",
    from_logits=False,
    label_smoothing=0,
    doc="""The running mean of the binary cross-entropy.

    Args:
        name: the metric's name (default `"binary_crossentropy"`).
        dtype: accepted for Keras compatibility.
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels are smoothed towards 0.5.

    Examples:
        >>> round(float(BinaryCrossentropy()([[1.0], [0.0]], [[0.5], [0.5]])), 4)
        0.6931
    """,
)
CategoricalCrossentropy = wrapper_class(
    losses.categorical_crossentropy,
    "CategoricalCrossentropy",
    "categorical_crossentropy",
    from_logits=False,
    label_smoothing=0,
    axis=-1,
    doc="""The running mean of the categorical cross-entropy (one-hot labels).

    Args:
        name: the metric's name (default `"categorical_crossentropy"`).
        dtype: accepted for Keras compatibility.
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels are smoothed towards uniform.
        axis: the class axis (default the last).

    Examples:
        >>> round(float(CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]])), 4)
        0.6931
    """,
)
SparseCategoricalCrossentropy = wrapper_class(
    losses.sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy",
    "sparse_categorical_crossentropy",
    from_logits=False,
    ignore_class=None,
    axis=-1,
    doc="""The running mean of the sparse categorical cross-entropy (integer labels).

    Args:
        name: the metric's name (default `"sparse_categorical_crossentropy"`).
        dtype: accepted for Keras compatibility.
        from_logits: whether predictions are logits.
        ignore_class: a class id whose samples count 0, or None.
        axis: the class axis (default the last).

    Examples:
        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.5, 0.5]])), 4)
        0.6931
    """,
)
Hinge = wrapper_class(
    losses.hinge,
    "Hinge",
    "hinge",
    doc="""The running mean of the hinge loss (0/1 labels count as -1/1).

    Args:
        name: the metric's name (default `"hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(Hinge()([[1.0, 0.0]], [[0.5, -2.0]]))
        0.25
    """,
)
SquaredHinge = wrapper_class(
    losses.squared_hinge,
    "SquaredHinge",
    "squared_hinge",
    doc="""The running mean of the squared hinge loss (0/1 labels count as -1/1).

    Args:
        name: the metric's name (default `"squared_hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(SquaredHinge()([[1.0, 0.0]], [[0.5, -2.0]]))
        0.125
    """,
)
CategoricalHinge = wrapper_class(
    losses.categorical_hinge,
    "CategoricalHinge",
    "categorical_hinge",
    doc="""The running mean of the categorical hinge loss (one-hot labels).

    Args:
        name: the metric's name (default `"categorical_hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(CategoricalHinge()([[0.0, 1.0]], [[0.25, 0.75]]))
        0.5
    """,
)


class RootMeanSquaredError(Mean):
    """Square root of the running (weighted) mean squared error.

    Examples:
        >>> m = RootMeanSquaredError()
        >>> m(torch.tensor([[0.0], [0.0]]), torch.tensor([[3.0], [-3.0]])).item()
        3.0

    Args:
        name: the metric's name (default `"root_mean_squared_error"`).
        dtype: accepted for Keras compatibility; state is float32.
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.as_tensor(y_pred).float()
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        # Element-wise squares, as Keras: weights shaped like y_true then apply to each entry
        # (the per-sample MSE would lose the last axis a full-rank weight names).
        y_true, y_pred = match_rank(y_true, y_pred)
        super().update_state((y_pred - y_true.float()).square(), sample_weight)

    def result(self):
        return torch.sqrt(super().result())
