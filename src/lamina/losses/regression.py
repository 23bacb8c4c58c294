"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, Poisson, KL
divergence and cosine similarity, as functions (one value per sample) and as Loss classes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina.losses.loss import EPSILON, as_float, match_rank, mean_over, takes_arrays, wrapper_class


@takes_arrays
def mean_squared_error(y_true, y_pred):
    """Mean of the squared differences over the last axis.

    Args:
        y_true: targets, shaped like `y_pred` (or without its trailing axis of size 1).
        y_pred: predictions.

    Returns:
        One value per sample (the last axis reduced).

    Examples:
        >>> mean_squared_error(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])).tolist()
        [0.5]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    return mean_over((y_pred - as_float(y_true, y_pred)).square())


@takes_arrays
def mean_absolute_error(y_true, y_pred):
    """Mean of the absolute differences over the last axis.

    Args:
        y_true: targets, shaped like `y_pred`.
        y_pred: predictions.

    Examples:
        >>> mean_absolute_error(torch.tensor([[0.0, 1.0]]), torch.tensor([[2.0, 1.0]])).tolist()
        [1.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_pred - as_float(y_true, y_pred)).abs().mean(dim=-1)


@takes_arrays
def mean_absolute_percentage_error(y_true, y_pred):
    """100 times the mean of `|y_true - y_pred| / max(|y_true|, eps)` over the last axis.

    Args:
        y_true: targets, shaped like `y_pred`.
        y_pred: predictions.

    Examples:
        >>> mean_absolute_percentage_error(torch.tensor([[2.0]]), torch.tensor([[1.0]])).tolist()
        [50.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred)
    diff = (y_true - y_pred).abs() / y_true.abs().clamp_min(EPSILON)
    return 100.0 * diff.mean(dim=-1)


@takes_arrays
def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean of `(log(y_pred + 1) - log(y_true + 1))^2` over the last axis (values clipped at eps).

    Args:
        y_true: targets, shaped like `y_pred`.
        y_pred: predictions.

    Examples:
        >>> mean_squared_logarithmic_error(torch.tensor([[0.0]]), torch.tensor([[0.0]])).tolist()
        [0.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred)
    first = torch.log(y_pred.clamp_min(EPSILON) + 1.0)
    second = torch.log(y_true.clamp_min(EPSILON) + 1.0)
    return (first - second).square().mean(dim=-1)


@takes_arrays
def huber(y_true, y_pred, delta=1.0):
    """Quadratic for errors up to `delta`, linear beyond, averaged over the last axis.

    Args:
        y_true: targets, shaped like `y_pred`.
        y_pred: predictions.
        delta: where the loss turns from quadratic to linear (default 1).

    Examples:
        >>> huber(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.5, 3.0]])).tolist()
        [1.3125]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    error = (y_pred - as_float(y_true, y_pred)).abs()
    quadratic = error.clamp_max(delta)
    linear = error - quadratic
    return (0.5 * quadratic.square() + delta * linear).mean(dim=-1)


@takes_arrays
def log_cosh(y_true, y_pred):
    """Mean of `log(cosh(y_pred - y_true))` over the last axis, computed without overflow.

    Args:
        y_true: targets, shaped like `y_pred`.
        y_pred: predictions.

    Examples:
        >>> round(log_cosh(torch.tensor([[0.0]]), torch.tensor([[1.0]])).item(), 4)
        0.4338
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    x = y_pred - as_float(y_true, y_pred)
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(dim=-1)


@takes_arrays
def kl_divergence(y_true, y_pred):
    """Sum of `y_true * log(y_true / y_pred)` over the last axis (both clipped to [eps, 1]).

    Args:
        y_true: target probabilities.
        y_pred: predicted probabilities.

    Examples:
        >>> kl_divergence(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]])).tolist()
        [0.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred).clamp(EPSILON, 1.0)
    y_pred = y_pred.clamp(EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


@takes_arrays
def poisson(y_true, y_pred):
    """Mean of `y_pred - y_true * log(y_pred + eps)` over the last axis.

    Args:
        y_true: observed counts.
        y_pred: predicted rates.

    Examples:
        >>> poisson(torch.tensor([[0.0]]), torch.tensor([[2.0]])).tolist()
        [2.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_pred - as_float(y_true, y_pred) * torch.log(y_pred + EPSILON)).mean(dim=-1)


@takes_arrays
def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine similarity of the two along `axis` (so that minimising aligns them).

    Args:
        y_true: target vectors.
        y_pred: predicted vectors.
        axis: the axis the vectors lie along (default the last).

    Examples:
        >>> cosine_similarity(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]])).tolist()
        [-1.0]
    """
    y_true, y_pred = match_rank(y_true, y_pred)  # (N,) against (N, 1): no (N, N) broadcast
    y_true = F.normalize(as_float(y_true, y_pred), dim=axis, eps=1e-12)
    return -(y_true * F.normalize(y_pred, dim=axis, eps=1e-12)).sum(dim=axis)


MeanSquaredError = wrapper_class(
    mean_squared_error,
    "MeanSquaredError",
    "mean_squared_error",
    doc="""Mean of the squared differences: `mean((y_true - y_pred) ** 2)`.

    Args:
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        name: the loss's name (default `"mean_squared_error"`).
        dtype: accepted for Keras compatibility; computation runs in `y_pred`'s dtype.

    Examples:
        >>> loss = MeanSquaredError()
        >>> float(loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])))
        0.5
    """,
)
MeanAbsoluteError = wrapper_class(
    mean_absolute_error,
    "MeanAbsoluteError",
    "mean_absolute_error",
    doc="""Mean of the absolute differences: `mean(|y_true - y_pred|)`.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"mean_absolute_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(MeanAbsoluteError()(np.array([[0.0, 2.0]]), np.array([[1.0, 1.0]])))
        1.0
    """,
)
MeanAbsolutePercentageError = wrapper_class(
    mean_absolute_percentage_error,
    "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error",
    doc="""`100 * mean(|y_true - y_pred| / |y_true|)`.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"mean_absolute_percentage_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(MeanAbsolutePercentageError()(np.array([[2.0, 4.0]]), np.array([[1.0, 4.0]])))
        25.0
    """,
)
MeanSquaredLogarithmicError = wrapper_class(
    mean_squared_logarithmic_error,
    "MeanSquaredLogarithmicError",
    "mean_squared_logarithmic_error",
    doc="""`mean((log(y_true + 1) - log(y_pred + 1)) ** 2)`.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"mean_squared_logarithmic_error"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = MeanSquaredLogarithmicError()
        >>> round(float(loss(np.array([[np.e - 1]]), np.array([[0.0]]))), 4)
        1.0
    """,
)
Huber = wrapper_class(
    huber,
    "Huber",
    "huber_loss",
    delta=1.0,
    doc="""The Huber loss: quadratic for errors up to `delta`, linear beyond.

    Args:
        delta: where the loss turns from quadratic to linear (default 1).
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"huber_loss"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(Huber(delta=1.0)(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])))
        1.3125
    """,
)
LogCosh = wrapper_class(
    log_cosh,
    "LogCosh",
    "log_cosh",
    doc="""The log-cosh loss `mean(log(cosh(y_pred - y_true)))`: MSE-like near 0, MAE-like far off.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"log_cosh"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> round(float(LogCosh()(np.array([[0.0]]), np.array([[1.0]]))), 4)
        0.4338
    """,
)
KLDivergence = wrapper_class(
    kl_divergence,
    "KLDivergence",
    "kl_divergence",
    doc="""Kullback-Leibler divergence: `sum(y_true * log(y_true / y_pred))` per sample.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"kl_divergence"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> round(float(KLDivergence()(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))), 4)
        0.6931
    """,
)
Poisson = wrapper_class(
    poisson,
    "Poisson",
    "poisson",
    doc="""The Poisson loss: `mean(y_pred - y_true * log(y_pred))`.

    Args:
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"poisson"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(Poisson()(np.array([[0.0]]), np.array([[2.0]])))
        2.0
    """,
)
CosineSimilarity = wrapper_class(
    cosine_similarity,
    "CosineSimilarity",
    "cosine_similarity",
    axis=-1,
    doc="""Minus the cosine similarity between targets and predictions (-1: aligned, 1: opposite).

    Args:
        axis: the axis the vectors lie along (default the last).
        reduction: as for `MeanSquaredError`.
        name: the loss's name (default `"cosine_similarity"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(CosineSimilarity()(np.array([[1.0, 0.0]]), np.array([[-3.0, 0.0]])))
        1.0
    """,
)
