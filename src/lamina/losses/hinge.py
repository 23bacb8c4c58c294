"""Hinge losses (hinge, squared hinge, categorical hinge) as functions and Loss classes."""

from __future__ import annotations

import torch

from lamina.losses.loss import as_float, match_rank, takes_arrays, wrapper_class


def _signed_labels(y_true, y_pred):
    # Keras turns 0/1 labels into -1/1 and leaves -1/1 labels as they are.
    y_true = as_float(y_true, y_pred)
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


@takes_arrays
def hinge(y_true, y_pred):
    """Mean of `max(1 - y_true * y_pred, 0)` over the last axis; 0/1 labels count as -1/1.

    Args:
        y_true: labels, -1/1 or 0/1.
        y_pred: predicted scores.

    Examples:
        >>> hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, -2.0]])).tolist()
        [0.25]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _signed_labels(y_true, y_pred)
    return (1.0 - y_true * y_pred).clamp_min(0.0).mean(dim=-1)


@takes_arrays
def squared_hinge(y_true, y_pred):
    """Mean of `max(1 - y_true * y_pred, 0)^2` over the last axis; 0/1 labels count as -1/1.

    Args:
        y_true: labels, -1/1 or 0/1.
        y_pred: predicted scores.

    Examples:
        >>> squared_hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, -2.0]])).tolist()
        [0.125]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _signed_labels(y_true, y_pred)
    return (1.0 - y_true * y_pred).clamp_min(0.0).square().mean(dim=-1)


@takes_arrays
def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)`: `neg` the highest wrong-class score, `pos` the true class's score.

    Args:
        y_true: one-hot labels.
        y_pred: predicted scores, shaped like `y_true`.

    Examples:
        >>> v = categorical_hinge(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.25, 0.75]]))
        >>> v.tolist()
        [0.5]
    """
    y_true = as_float(y_true, y_pred)
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return (negative - positive + 1.0).clamp_min(0.0)


Hinge = wrapper_class(
    hinge,
    "Hinge",
    "hinge",
    doc="""The hinge loss `mean(max(1 - y_true * y_pred, 0))`; 0/1 labels count as -1/1.

    Args:
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        name: the loss's name (default `"hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(Hinge()(np.array([[1.0, 0.0]]), np.array([[0.5, -2.0]])))
        0.25
    """,
)
SquaredHinge = wrapper_class(
    squared_hinge,
    "SquaredHinge",
    "squared_hinge",
    doc="""The squared hinge loss `mean(max(1 - y_true * y_pred, 0) ** 2)`, 0/1 labels as -1/1.

    Args:
        reduction: as for `Hinge`.
        name: the loss's name (default `"squared_hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(SquaredHinge()(np.array([[1.0, 0.0]]), np.array([[0.5, -2.0]])))
        0.125
    """,
)
CategoricalHinge = wrapper_class(
    categorical_hinge,
    "CategoricalHinge",
    "categorical_hinge",
    doc="""The categorical hinge loss `max(neg - pos + 1, 0)` for one-hot labels.

    Args:
        reduction: as for `Hinge`.
        name: the loss's name (default `"categorical_hinge"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> float(CategoricalHinge()(np.array([[0.0, 1.0]]), np.array([[0.25, 0.75]])))
        0.5
    """,
)
