"""Overlap losses for segmentation: Dice and Tversky, as functions and Loss classes.

With `axis=None` each reduces the whole batch to one number, as Keras's do; give `axis` (for
example `(1, 2, 3)` on images) to get one value per sample.
"""

from __future__ import annotations

import torch

from lamina.losses.loss import EPSILON, as_float, takes_arrays, wrapper_class


def _sum(x, axis):
    if axis is None:
        return x.sum()
    return x.sum(dim=axis)


@takes_arrays
def dice(y_true, y_pred, axis=None):
    """The Dice loss `1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)` over `axis`.

    Args:
        y_true: 0/1 masks.
        y_pred: predicted probabilities, shaped like `y_true`.
        axis: the axes summed over; None (as Keras) reduces the whole batch to one number.

    Examples:
        >>> round(dice(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])).item(), 4)
        0.3333
    """
    y_true = as_float(torch.as_tensor(y_true), y_pred)
    intersection = _sum(y_true * y_pred, axis)
    return 1.0 - 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + EPSILON)


@takes_arrays
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """The Tversky loss `1 - TP / (TP + alpha * FN + beta * FP)`; alpha = beta = 0.5 is Dice.

    As in Keras, `alpha` weighs `y_true * (1 - y_pred)` and `beta` weighs `(1 - y_true) * y_pred`.

    Args:
        y_true: 0/1 masks.
        y_pred: predicted probabilities, shaped like `y_true`.
        alpha: the weight of the missed positives (default 0.5).
        beta: the weight of the false alarms (default 0.5).
        axis: the axes summed over; None reduces the whole batch to one number.

    Examples:
        >>> round(tversky(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])).item(), 4)
        0.3333
    """
    y_true = as_float(torch.as_tensor(y_true), y_pred)
    intersection = _sum(y_true * y_pred, axis)
    first = _sum((1.0 - y_pred) * y_true, axis)
    second = _sum(y_pred * (1.0 - y_true), axis)
    return 1.0 - intersection / (intersection + first * alpha + second * beta + EPSILON)


Dice = wrapper_class(
    dice,
    "Dice",
    "dice",
    order=("reduction", "name", "axis", "dtype"),
    axis=None,
    doc="""The Dice loss for segmentation, `1 - 2 |A n B| / (|A| + |B|)`.

    Args:
        axis: the axes summed over; None (the default, as Keras) gives one number for the batch.
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        name: the loss's name (default `"dice"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> round(float(Dice()(np.array([1.0, 0.0]), np.array([1.0, 1.0]))), 4)
        0.3333
    """,
)
Tversky = wrapper_class(
    tversky,
    "Tversky",
    "tversky",
    order=("alpha", "beta", "reduction", "name", "axis", "dtype"),
    alpha=0.5,
    beta=0.5,
    axis=None,
    doc="""The Tversky loss, a Dice loss weighing misses (`alpha`) and false alarms (`beta`) apart.

    Args:
        alpha: the weight of the missed positives (default 0.5).
        beta: the weight of the false alarms (default 0.5).
        axis: the axes summed over; None gives one number for the batch.
        reduction: as for `Dice`.
        name: the loss's name (default `"tversky"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = Tversky(alpha=0.0, beta=1.0)
        >>> round(float(loss(np.array([1.0, 0.0]), np.array([1.0, 1.0]))), 4)
        0.5
    """,
)
