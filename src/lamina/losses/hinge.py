"""Hinge losses (hinge, squared hinge, categorical hinge) as functions and Loss classes."""

from __future__ import annotations

import torch

from lamina.losses.loss import as_float, match_rank, wrapper_class


def _signed_labels(y_true, y_pred):
    # Keras turns 0/1 labels into -1/1 and leaves -1/1 labels as they are.
    y_true = as_float(y_true, y_pred)
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Mean of max(1 - y_true * y_pred, 0) over the last axis; 0/1 labels count as -1/1.

    Example:
    >>> hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, -2.0]])).tolist()
    [0.25]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _signed_labels(y_true, y_pred)
    return (1.0 - y_true * y_pred).clamp_min(0.0).mean(dim=-1)


def squared_hinge(y_true, y_pred):
    """Mean of max(1 - y_true * y_pred, 0)^2 over the last axis; 0/1 labels count as -1/1.

    Example:
    >>> squared_hinge(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, -2.0]])).tolist()
    [0.125]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _signed_labels(y_true, y_pred)
    return (1.0 - y_true * y_pred).clamp_min(0.0).square().mean(dim=-1)


def categorical_hinge(y_true, y_pred):
    """max(max over wrong classes of y_pred - y_pred of the true class + 1, 0), one-hot labels.

    Example:
    >>> categorical_hinge(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.9]])).tolist()
    [0.40000003576278687]
    """
    y_true = as_float(y_true, y_pred)
    positive = (y_true * y_pred).sum(dim=-1)
    negative = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return (negative - positive + 1.0).clamp_min(0.0)


Hinge = wrapper_class(hinge, "Hinge", "hinge")
SquaredHinge = wrapper_class(squared_hinge, "SquaredHinge", "squared_hinge")
CategoricalHinge = wrapper_class(categorical_hinge, "CategoricalHinge", "categorical_hinge")
