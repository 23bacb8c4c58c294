"""Cross-entropy losses: binary, categorical, sparse categorical, their focal forms and the
generalized cross-entropy, as functions (one value per sample) and as Loss classes.

As Keras on TensorFlow, the binary, categorical and sparse categorical cross-entropies of a
`softmax` or `sigmoid` activation's output compute from the logits it remembers
(`engine/saved_logits.py`): exact where probabilities saturate, and one fused kernel.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from lamina.engine import saved_logits
from lamina.engine.errors import format_shape, value_error
from lamina.losses.loss import (
    EPSILON,
    Loss,
    as_float,
    class_ids,
    match_rank,
    mean_over,
    takes_arrays,
    wrapper_class,
)


def _logits_behind(y_pred, activation, from_logits, who, axis=-1):
    """The logits `y_pred` was computed from by `activation` (as `y_pred`'s dtype) when the loss
    can compute from them instead of from probabilities, else None (`engine/saved_logits.py`).

    As Keras on TensorFlow, `from_logits=True` on such an output warns: probabilities are not
    logits. lamina then computes what was asked (the output taken as logits), as Keras on torch.
    """
    if from_logits:
        if saved_logits.produced_by(y_pred, activation):
            warnings.warn(
                f"`{who}` received `from_logits=True`, but the `output` argument was produced by "
                f"a {activation.capitalize()} activation and thus does not represent logits. "
                "Was this intended?",
                stacklevel=3,
            )
        return None
    logits = saved_logits.logits_of(y_pred, activation, axis)
    return None if logits is None else logits.to(y_pred.dtype)


def _binary_values(y_true, y_pred, from_logits):
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
    if p.is_cuda and torch.is_autocast_enabled("cuda"):
        # torch refuses binary_cross_entropy under CUDA autocast; the same formula, op by op.
        return -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    # The fused with-logits kernel on the clipped probabilities' logits: the formula above in
    # two autograd nodes instead of eight (a large share of a small model's step), and, unlike
    # torch's binary_cross_entropy (which Keras on torch calls), it takes targets outside
    # [0, 1] as Keras on TensorFlow does: a GAN's noisy labels `1 + 0.1 * u`, `0 - 0.1 * u`.
    return F.binary_cross_entropy_with_logits(torch.logit(p), y_true, reduction="none")


@takes_arrays
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy averaged over `axis`; labels smoothed towards 0.5.

    Args:
        y_true: 0/1 (or soft) labels, shaped like `y_pred`.
        y_pred: probabilities, or logits with `from_logits=True`.
        from_logits: whether `y_pred` holds logits (computed stably) instead of probabilities.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: the axis averaged over (default the last).

    Examples:
        >>> round(binary_crossentropy(torch.tensor([[1.0]]), torch.tensor([[0.5]])).item(), 4)
        0.6931
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        # torch's kernels refuse too, in their own words (or, under CUDA autocast, broadcast).
        raise value_error(
            "binary_crossentropy",
            "y_true (0/1 labels) shaped like y_pred",
            f"y_true.shape={format_shape(y_true.shape)}, y_pred.shape={format_shape(y_pred.shape)}",
            "one sigmoid unit per label; for integer class ids use sparse_categorical_crossentropy",
        )
    y_true = as_float(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = _logits_behind(y_pred, "sigmoid", from_logits, "binary_crossentropy")
    if logits is not None and logits.shape == y_true.shape:  # a sigmoid's output: exact, fused
        return mean_over(_binary_values(y_true, logits, True), axis)
    return mean_over(_binary_values(y_true, y_pred, from_logits), axis)


@takes_arrays
def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """Binary cross-entropy scaled by `(1 - p_t)^gamma` (and by `alpha` per class when balancing).

    Args:
        y_true: 0/1 labels, shaped like `y_pred`.
        y_pred: probabilities, or logits with `from_logits=True`.
        apply_class_balancing: weight positives by `alpha` and negatives by `1 - alpha`.
        alpha: the positive-class weight when balancing.
        gamma: the focusing exponent; 0 gives plain binary cross-entropy.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; labels are smoothed towards 0.5.
        axis: the axis averaged over (default the last).

    Examples:
        >>> v = binary_focal_crossentropy(torch.tensor([[1.0]]), torch.tensor([[0.5]]), gamma=1.0)
        >>> round(v.item(), 4)
        0.3466
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = as_float(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    cross_entropy = _binary_values(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    values = (1.0 - p_t).pow(gamma) * cross_entropy
    if apply_class_balancing:
        values = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * values
    return values.mean(dim=axis)


def _log_softmax(logits, axis):
    """Log-probabilities along `axis`, or of one distribution over several axes (a tuple) or
    over all of them (None), as Keras's `ops.log_softmax`."""
    if isinstance(axis, int):
        return torch.log_softmax(logits, dim=axis)
    dims = tuple(range(logits.dim())) if axis is None else tuple(axis)
    return logits - torch.logsumexp(logits, dim=dims, keepdim=True)


def _probabilities(y_pred, from_logits, axis):
    if from_logits and not isinstance(axis, int):
        y_pred = _log_softmax(y_pred, axis).exp()
    elif from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    p = y_pred / y_pred.sum(dim=axis, keepdim=True)
    return p.clamp(EPSILON, 1.0 - EPSILON)


def _class_count(y_pred, axis):
    """The number of classes along `axis`: one axis, several (a tuple) or all (None)."""
    if isinstance(axis, int):
        return y_pred.shape[axis]
    axes = range(y_pred.dim()) if axis is None else axis
    return math.prod(y_pred.shape[a] for a in axes)


def _smooth(y_true, label_smoothing, classes):
    return y_true * (1.0 - label_smoothing) + label_smoothing / classes


@takes_arrays
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy of one-hot (or soft) labels against class probabilities along `axis`.

    Args:
        y_true: one-hot labels, shaped like `y_pred`.
        y_pred: class probabilities (rescaled to sum to 1), or logits with `from_logits=True`.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + s / classes`.
        axis: the class axis (default the last).

    Examples:
        >>> y_true = torch.tensor([[0.0, 1.0]])
        >>> round(categorical_crossentropy(y_true, torch.tensor([[0.5, 0.5]])).item(), 4)
        0.6931
    """
    if (
        y_true.shape != y_pred.shape
        and y_pred.shape[:1] == (1,)
        and y_true.shape == y_pred.shape[1:]
    ):
        # One example's one-hot label without its batch axis, as tf.keras took it
        # (`cce(y_true=[0, 0, 1], y_pred=probas)` with probas of shape (1, 3)).
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        # Broadcasting would give a number for class ids against scores (a sparse label
        # mistake); Keras refuses.
        raise value_error(
            "categorical_crossentropy",
            "y_true (one-hot labels) shaped like y_pred",
            f"y_true.shape={format_shape(y_true.shape)}, y_pred.shape={format_shape(y_pred.shape)}",
            "for integer class ids use sparse_categorical_crossentropy",
        )
    y_true = as_float(y_true, y_pred)
    if label_smoothing:
        y_true = _smooth(y_true, label_smoothing, _class_count(y_pred, axis))
    logits = _logits_behind(y_pred, "softmax", from_logits, "categorical_crossentropy", axis)
    if logits is None and from_logits:
        logits = y_pred
    if logits is not None:  # given, or behind a softmax's output: the exact log-probabilities
        return -(y_true * _log_softmax(logits, axis)).sum(dim=axis)
    return -(y_true * torch.log(_probabilities(y_pred, False, axis))).sum(dim=axis)


@takes_arrays
def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Categorical cross-entropy with each class's term scaled by `alpha * (1 - p)^gamma`.

    Args:
        y_true: one-hot labels, shaped like `y_pred`.
        y_pred: class probabilities, or logits with `from_logits=True`.
        alpha: the weight of every class's term (default 0.25).
        gamma: the focusing exponent (default 2); 0 with `alpha=1` is plain cross-entropy.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; labels are smoothed towards uniform.
        axis: the class axis (default the last).

    Examples:
        >>> y_true = torch.tensor([[0.0, 1.0]])
        >>> v = categorical_focal_crossentropy(y_true, torch.tensor([[0.5, 0.5]]), alpha=1.0)
        >>> round(v.item(), 4)
        0.1733
    """
    y_true = as_float(y_true, y_pred)
    if label_smoothing:
        y_true = _smooth(y_true, label_smoothing, y_true.shape[-1])
    p = _probabilities(y_pred, from_logits, axis)
    values = alpha * (1.0 - p).pow(gamma) * (-y_true * torch.log(p))
    return values.sum(dim=axis)


@takes_arrays
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy of integer class ids against class probabilities along `axis`.

    Labels may be (N,) or (N, 1), integers or float class ids (0., 1., ...), as Keras accepts;
    samples labelled `ignore_class` count zero.

    Args:
        y_true: class ids, one per sample.
        y_pred: class probabilities, or logits with `from_logits=True`.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples contribute 0 (e.g. padding), or None.
        axis: the class axis (default the last).

    Examples:
        >>> y_pred = torch.tensor([[0.5, 0.5]])
        >>> round(sparse_categorical_crossentropy(torch.tensor([1]), y_pred).item(), 4)
        0.6931
    """
    labels = class_ids(y_true, y_pred, axis).long()
    logits = _logits_behind(y_pred, "softmax", from_logits, "sparse_categorical_crossentropy", axis)
    if logits is not None and labels.shape == logits.shape[:-1]:
        values = _sparse_from_logits(labels, logits, ignore_class)
    else:
        values = _sparse_from_probabilities(labels, y_pred, from_logits, ignore_class, axis)
    if ignore_class is not None:
        values._keras_mask = (
            labels != ignore_class
        )  # the mean is over the other samples, as Keras's
    return values


def _sparse_from_probabilities(labels, y_pred, from_logits, ignore_class, axis):
    """Per-sample sparse cross-entropy by gathering the labels' log-probabilities along `axis`;
    samples labelled `ignore_class` count 0."""
    if from_logits:
        log_probs = torch.log_softmax(y_pred, dim=axis)
    else:
        log_probs = torch.log(_probabilities(y_pred, False, axis))
    if ignore_class is None:
        return -log_probs.gather(axis, labels.unsqueeze(axis)).squeeze(axis)
    valid = labels != ignore_class
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    values = -log_probs.gather(axis, safe.unsqueeze(axis)).squeeze(axis)
    return values * valid.to(values.dtype)


def _sparse_from_logits(labels, logits, ignore_class):
    """Per-sample sparse cross-entropy from logits (classes on the last axis), in torch's fused
    kernel; samples labelled `ignore_class` count 0, as in the gather formula."""
    ignore_index = -100 if ignore_class is None else int(ignore_class)  # -100: torch's default
    if logits.dim() <= 2:
        return F.cross_entropy(logits, labels, reduction="none", ignore_index=ignore_index)
    flat = logits.reshape(-1, logits.shape[-1])
    values = F.cross_entropy(flat, labels.reshape(-1), reduction="none", ignore_index=ignore_index)
    return values.view(labels.shape)


def fused_batch_mean(fn, y_true, y_pred):
    """The batch mean of `fn(y_true, y_pred)` (default options) in one fused torch kernel, or
    None where that path does not apply.

    For a (sparse) categorical or binary cross-entropy of a softmax's or sigmoid's output, torch's
    `cross_entropy` / `binary_cross_entropy_with_logits` average inside their kernels; the
    per-sample values and their mean took two more ops forward and three backward, launches a
    GPU step waits on. The caller has ruled out sample weights and masks; the mean over every
    value equals Keras's mean of the per-sample means, all samples having the same width.

    Args:
        fn: the compiled loss function (`sparse_categorical_crossentropy`,
            `categorical_crossentropy` and `binary_crossentropy` have this path; any other
            gives None).
        y_true: the labels.
        y_pred: the model's output.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
        >>> probabilities = torch.softmax(logits, -1)  # remembers nothing: no fused path
        >>> fused_batch_mean(sparse_categorical_crossentropy, torch.tensor([0, 1]), probabilities)
    """
    who = getattr(fn, "__name__", "")
    if fn is sparse_categorical_crossentropy:
        y_true = class_ids(y_true, y_pred)
        logits = _logits_behind(y_pred, "softmax", False, who)
        if logits is None or logits.dim() != 2 or y_true.shape != logits.shape[:-1]:
            return None
        return F.cross_entropy(logits, y_true.long())
    if fn is categorical_crossentropy:  # one-hot or soft labels: torch takes probabilities too
        logits = _logits_behind(y_pred, "softmax", False, who)
        if logits is None or logits.dim() != 2 or y_true.shape != logits.shape:
            return None
        return F.cross_entropy(logits, as_float(y_true, y_pred))
    if fn is binary_crossentropy:
        y_true, y_pred = match_rank(y_true, y_pred)
        logits = _logits_behind(y_pred, "sigmoid", False, who)
        if logits is None or logits.shape != y_true.shape:
            return None
        return F.binary_cross_entropy_with_logits(logits, as_float(y_true, y_pred))
    return None


@takes_arrays
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy `(1 - p_true^q) / q` for integer labels, robust to label noise.

    Args:
        y_true: integer class ids, one per sample.
        y_pred: class probabilities.
        q: in (0, 1); towards 0 it approaches cross-entropy, at 1 mean absolute error.

    Examples:
        >>> y_pred = torch.tensor([[0.75, 0.25]])
        >>> categorical_generalized_cross_entropy(torch.tensor([1]), y_pred, 0.5).tolist()
        [1.0]
    """
    one_hot = F.one_hot(torch.as_tensor(y_true).long(), y_pred.shape[-1]).to(y_pred.dtype)
    p = (y_pred * one_hot).sum(dim=-1)
    return (1.0 - p.pow(q)) / q


BinaryCrossentropy = wrapper_class(
    binary_crossentropy,
    "BinaryCrossentropy",
    "binary_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
    doc="""Binary cross-entropy between 0/1 labels and predicted probabilities (or logits).

    Args:
        from_logits: whether predictions are logits (computed stably) rather than probabilities.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: the axis averaged over (default the last).
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        name: the loss's name (default `"binary_crossentropy"`).
        dtype: accepted for Keras compatibility; computation runs in `y_pred`'s dtype.

    Examples:
        >>> loss = BinaryCrossentropy(from_logits=True)
        >>> round(float(loss(np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]]))), 4)
        0.6931
    """,
)
BinaryFocalCrossentropy = wrapper_class(
    binary_focal_crossentropy,
    "BinaryFocalCrossentropy",
    "binary_focal_crossentropy",
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
    doc="""Focal binary cross-entropy (Lin et al., 2017): easy examples count `(1 - p_t)^gamma`.

    Args:
        apply_class_balancing: weight positives by `alpha` and negatives by `1 - alpha`.
        alpha: the positive-class weight when balancing (default 0.25).
        gamma: the focusing exponent (default 2).
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels are smoothed towards 0.5.
        axis: the axis averaged over (default the last).
        reduction: as for `BinaryCrossentropy`.
        name: the loss's name (default `"binary_focal_crossentropy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = BinaryFocalCrossentropy(gamma=1.0)
        >>> round(float(loss(np.array([[1.0]]), np.array([[0.5]]))), 4)
        0.3466
    """,
)
CategoricalCrossentropy = wrapper_class(
    categorical_crossentropy,
    "CategoricalCrossentropy",
    "categorical_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
    doc="""Cross-entropy between one-hot labels and class probabilities (or logits).

    Args:
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + s / classes`.
        axis: the class axis (default the last).
        reduction: as for `BinaryCrossentropy`.
        name: the loss's name (default `"categorical_crossentropy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = CategoricalCrossentropy()
        >>> round(float(loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))), 4)
        0.6931
    """,
)
CategoricalFocalCrossentropy = wrapper_class(
    categorical_focal_crossentropy,
    "CategoricalFocalCrossentropy",
    "categorical_focal_crossentropy",
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
    doc="""Focal categorical cross-entropy: each class's term scaled by `alpha * (1 - p)^gamma`.

    Args:
        alpha: the weight of every class's term (default 0.25).
        gamma: the focusing exponent (default 2).
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels are smoothed towards uniform.
        axis: the class axis (default the last).
        reduction: as for `BinaryCrossentropy`.
        name: the loss's name (default `"categorical_focal_crossentropy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = CategoricalFocalCrossentropy(alpha=1.0)
        >>> round(float(loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))), 4)
        0.1733
    """,
)
SparseCategoricalCrossentropy = wrapper_class(
    sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy",
    "sparse_categorical_crossentropy",
    order=("from_logits", "ignore_class", "reduction", "axis", "name", "dtype"),
    from_logits=False,
    ignore_class=None,
    axis=-1,
    doc="""Cross-entropy between integer class ids and class probabilities (or logits).

    Args:
        from_logits: whether predictions are logits.
        ignore_class: a class id whose samples contribute 0 (e.g. padding), or None.
        axis: the class axis (default the last).
        reduction: as for `BinaryCrossentropy`.
        name: the loss's name (default `"sparse_categorical_crossentropy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> loss = SparseCategoricalCrossentropy()
        >>> round(float(loss(np.array([1, 0]), np.array([[0.5, 0.5], [0.5, 0.5]]))), 4)
        0.6931
    """,
)


class CategoricalGeneralizedCrossEntropy(Loss):
    """Keras's CategoricalGeneralizedCrossEntropy: (1 - p_true^q) / q with integer labels.

    Args:
        q: in (0, 1); smaller is closer to cross-entropy, larger more robust to noisy labels.
        reduction: as for `Loss`.
        name: the loss's name.

    Examples:
        >>> loss = CategoricalGeneralizedCrossEntropy(q=0.5)
        >>> loss(torch.tensor([1, 0]), torch.tensor([[0.75, 0.25], [0.25, 0.75]])).item()
        1.0
    """

    fn = staticmethod(categorical_generalized_cross_entropy)  # the function it wraps, as Keras

    def __init__(
        self,
        q=0.5,
        reduction="sum_over_batch_size",
        name="categorical_generalized_cross_entropy",
        dtype=None,
    ):
        if not 0 < q < 1:
            raise ValueError(
                f"CategoricalGeneralizedCrossEntropy expects q in the interval (0, 1); "
                f"received q={q!r}."
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.q = q

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, self.q)

    def get_config(self):
        return {**super().get_config(), "q": self.q}
