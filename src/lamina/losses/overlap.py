"""Overlap losses for segmentation: Dice and Tversky, as functions and Loss classes.

With `axis=None` each reduces the whole batch to one number, as Keras's do; give `axis` (for
example `(1, 2, 3)` on images) to get one value per sample.
"""

from __future__ import annotations

import torch

from lamina.losses.loss import EPSILON, as_float, wrapper_class


def _sum(x, axis):
    if axis is None:
        return x.sum()
    return x.sum(dim=axis)


def dice(y_true, y_pred, axis=None):
    """1 - 2 |y_true * y_pred| / (|y_true| + |y_pred| + eps), summed over `axis`.

    Example:
    >>> round(dice(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])).item(), 4)
    0.3333
    """
    y_true = as_float(torch.as_tensor(y_true), y_pred)
    intersection = _sum(y_true * y_pred, axis)
    return 1.0 - 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + EPSILON)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha * FP + beta * FN); alpha = beta = 0.5 is the Dice loss.

    As in Keras, `alpha` weighs `y_true * (1 - y_pred)` and `beta` weighs `(1 - y_true) * y_pred`.

    Example:
    >>> round(tversky(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])).item(), 4)
    0.3333
    """
    y_true = as_float(torch.as_tensor(y_true), y_pred)
    intersection = _sum(y_true * y_pred, axis)
    first = _sum((1.0 - y_pred) * y_true, axis)
    second = _sum(y_pred * (1.0 - y_true), axis)
    return 1.0 - intersection / (intersection + first * alpha + second * beta + EPSILON)


Dice = wrapper_class(dice, "Dice", "dice", axis=None)
Tversky = wrapper_class(tversky, "Tversky", "tversky", alpha=0.5, beta=0.5, axis=None)
