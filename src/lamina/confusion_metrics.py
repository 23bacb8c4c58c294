"""Metrics computed from confusion counts: Precision, Recall, the four counts, AUC (ROC and PR),
F1Score / FBetaScore, IoU / MeanIoU / OneHotIoU / OneHotMeanIoU, with Keras's names and arguments.

Counts accumulate in device tensors with scatter-adds into fixed-size buffers, so `update_state`
never reads a value on the host. Counting against thresholds costs O(samples + thresholds): each
prediction is placed among the sorted thresholds once (`searchsorted`), the weighted placements are
added into a histogram, and a reversed cumulative sum gives, for every threshold, the weight of the
predictions above it (strictly, as Keras compares).
"""

from __future__ import annotations

import torch

from lamina import losses as losses_module
from lamina.metrics.metric import Metric
from lamina.metrics.registry import register

EPSILON = 1e-7  # Keras's backend.epsilon()
NEG_INF = -1e10  # what Keras puts in place of the predictions outside the top k


def _tensor(value, device=None) -> torch.Tensor:
    tensor = torch.as_tensor(value, device=device)
    return tensor.detach().float()


def _check_thresholds(thresholds, who) -> list[float]:
    values = [
        float(t) for t in (thresholds if isinstance(thresholds, (list, tuple)) else [thresholds])
    ]
    if not values or any(not 0.0 <= t <= 1.0 for t in values):
        raise ValueError(
            f"{who} thresholds must be values in [0, 1]; received thresholds={thresholds!r}."
        )
    return values


def _counts_above(thresholds, predictions, weights, labels):
    """Weighted (true, false) predictions strictly above each threshold, and the totals.

    `thresholds`: sorted 1-D; `predictions`, `weights`, `labels` (bool): (N,) or (N, L).
    Returns `above_true`, `above_false` shaped (T,) or (T, L), and the per-label totals.
    """
    count = thresholds.numel()
    labels_count = predictions.shape[1] if predictions.dim() == 2 else 1
    placement = torch.searchsorted(thresholds, predictions.contiguous())  # thresholds below, 0..T
    index = placement * labels_count
    if predictions.dim() == 2:
        index = index + torch.arange(labels_count, device=predictions.device)
    buffers = []
    for mask in (labels, ~labels):
        histogram = torch.zeros((count + 1) * labels_count, device=predictions.device)
        histogram.index_add_(0, index.reshape(-1), (weights * mask).reshape(-1))
        histogram = histogram.view(count + 1, labels_count)
        above = histogram.flip(0).cumsum(0).flip(0)  # above[c]: weight placed at c or higher
        buffers.append((above[1:], above[0]))
    (true_above, true_total), (false_above, false_total) = buffers
    if predictions.dim() < 2:
        return true_above[:, 0], false_above[:, 0], true_total[0], false_total[0]
    return true_above, false_above, true_total, false_total


def _prepare(y_true, y_pred, sample_weight, top_k=None, class_id=None):
    """Keras's shaping: same rank, weights broadcast to the predictions, top-k and class slices."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.device)
    y_true, y_pred = losses_module.match_rank(y_true, y_pred)
    if sample_weight is None:
        weights = torch.ones_like(y_pred)
    else:
        weights = _tensor(sample_weight, y_pred.device)
        while weights.dim() < y_pred.dim():
            weights = weights.unsqueeze(-1)
        weights = torch.broadcast_to(weights, y_pred.shape)
    if top_k is not None:
        kept = torch.zeros_like(y_pred, dtype=torch.bool)
        kept.scatter_(-1, y_pred.topk(min(top_k, y_pred.shape[-1]), dim=-1).indices, True)
        y_pred = torch.where(kept, y_pred, torch.full_like(y_pred, NEG_INF))
    if class_id is not None:
        if y_pred.dim() < 2:
            raise ValueError(
                "When class_id is given, y_pred must be shaped (samples, classes); received a "
                f"y_pred of shape {tuple(y_pred.shape)}."
            )
        y_true, y_pred, weights = (t[..., class_id] for t in (y_true, y_pred, weights))
    return y_true, y_pred, weights


class _ThresholdCounts(Metric):
    """Confusion counts per threshold; subclasses say which counts and how to combine them."""

    counts = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        if thresholds is None:
            values = [default]
        else:
            values = _check_thresholds(thresholds, type(self).__name__)
        self.thresholds = values
        ordered = sorted(range(len(values)), key=values.__getitem__)
        self.add_constant("_sorted", torch.tensor([values[i] for i in ordered]))
        self.add_constant("_unsort", torch.argsort(torch.tensor(ordered)))
        # Keras lists a single count (TruePositives, ...) as its "accumulator"
        single = "accumulator" if len(self.counts) == 1 else None
        for state in self.counts:
            self.add_state(state, (len(values),), variable_name=single)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weights = _prepare(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        self._to(y_pred.device)
        tp, fp, positives, negatives = _counts_above(
            self._sorted,
            y_pred.reshape(-1),
            weights.reshape(-1),
            y_true.reshape(-1) != 0,
        )
        tp, fp = tp[self._unsort], fp[self._unsort]
        found = {
            "true_positives": tp,
            "false_positives": fp,
            "true_negatives": negatives - fp,
            "false_negatives": positives - tp,
        }
        for state in self.counts:
            getattr(self, state).add_(found[state])

    def _single(self, value):
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


def _count_metric(state, class_name, doc):
    def result(self):
        return self._single(getattr(self, state))

    def __init__(self, thresholds=None, name=None, dtype=None):
        _ThresholdCounts.__init__(self, thresholds=thresholds, name=name, dtype=dtype)

    def accumulator(self):
        """The running count, one entry per threshold (Keras's name for this metric's state),
        as `variables` lists it: a named view over the count."""
        return self._listed_variables()[0]

    return register(
        type(
            class_name,
            (_ThresholdCounts,),
            {
                "counts": (state,),
                "__init__": __init__,
                "result": result,
                "accumulator": property(accumulator),
                "__doc__": doc,
            },
        )
    )


TruePositives = _count_metric(
    "true_positives",
    "TruePositives",
    """The weighted number of true positives at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); a prediction above one
            counts as positive. A list gives one count per threshold.
        name: the metric's name (default `"true_positives"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = TruePositives()
        >>> m.update_state([0, 1, 1, 1], [0.2, 0.8, 0.3, 0.9])
        >>> float(m.result())
        2.0
    """,
)
FalsePositives = _count_metric(
    "false_positives",
    "FalsePositives",
    """The weighted number of false positives at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); a prediction above one
            counts as positive. A list gives one count per threshold.
        name: the metric's name (default `"false_positives"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = FalsePositives()
        >>> m.update_state([0, 1, 1, 1], [0.2, 0.8, 0.3, 0.9])
        >>> float(m.result())
        0.0
    """,
)
TrueNegatives = _count_metric(
    "true_negatives",
    "TrueNegatives",
    """The weighted number of true negatives at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); a prediction above one
            counts as positive. A list gives one count per threshold.
        name: the metric's name (default `"true_negatives"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = TrueNegatives()
        >>> m.update_state([0, 1, 1, 1], [0.2, 0.8, 0.3, 0.9])
        >>> float(m.result())
        1.0
    """,
)
FalseNegatives = _count_metric(
    "false_negatives",
    "FalseNegatives",
    """The weighted number of false negatives at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); a prediction above one
            counts as positive. A list gives one count per threshold.
        name: the metric's name (default `"false_negatives"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = FalseNegatives()
        >>> m.update_state([0, 1, 1, 1], [0.2, 0.8, 0.3, 0.9])
        >>> float(m.result())
        1.0
    """,
)


@register
class Precision(_ThresholdCounts):
    """TP / (TP + FP): the fraction of positive predictions that are right.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above one counts as positive
            (default 0.5, or every top-k prediction with `top_k`). With a list the result is one
            value per threshold.
        top_k: only the k largest predictions of each sample may count as positive.
        class_id: compute the metric for this class (last axis) only.
        name: the metric's name (default `"precision"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = Precision()
        >>> round(float(m([0, 1, 1, 1], [1.0, 1.0, 0.0, 1.0])), 4)  # 2 of 3 positive calls right
        0.6667
    """

    counts = ("true_positives", "false_positives")

    def result(self):
        total = self.true_positives + self.false_positives
        return self._single(
            torch.where(total > 0, self.true_positives / total.clamp_min(1e-30), 0.0)
        )

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


@register
class Recall(Precision):
    """TP / (TP + FN): the fraction of positives that are found.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); a prediction above one
            counts as positive. With a list the result is one value per threshold.
        top_k: only the k largest predictions of each sample may count as positive.
        class_id: compute the metric for this class (last axis) only.
        name: the metric's name (default `"recall"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = Recall()
        >>> round(float(m([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0])), 4)  # 2 of the 3 positives found
        0.6667
    """

    counts = ("true_positives", "false_negatives")

    def result(self):
        total = self.true_positives + self.false_negatives
        return self._single(
            torch.where(total > 0, self.true_positives / total.clamp_min(1e-30), 0.0)
        )


def _safe_divide(numerator, denominator):
    return torch.where(
        denominator != 0,
        numerator / torch.where(denominator != 0, denominator, 1.0),
        torch.zeros_like(numerator),
    )


def _precision_recall_gains(tp, fp, tn, fn):
    """(recall gain, precision gain) at each threshold: `1 - (P/N) * fn/tp` and
    `1 - (P/N) * fp/tp`. As Keras, a threshold without true positives has gains (0, 1), and a
    negative recall gain (recall below the base rate) counts 0."""
    scale = _safe_divide(tp + fn, tn + fp)
    no_hits = tp == 0
    recall_gain = torch.where(no_hits, 0.0, 1.0 - scale * _safe_divide(fn, tp)).clamp_min(0.0)
    precision_gain = torch.where(no_hits, 1.0, 1.0 - scale * _safe_divide(fp, tp))
    return recall_gain, precision_gain


@register
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at `num_thresholds` thresholds.

    Args:
        num_thresholds: thresholds evenly spaced in [0, 1] (more: a finer curve), at least 2.
        curve: `"ROC"`, `"PR"` or `"PRGAIN"` (precision gain against recall gain, Flach &
            Kull 2015: both rescaled so a classifier that guesses the base rate scores 0).
        summation_method: `"interpolation"` (trapezoids for ROC; for PR, the interpolation of
            Davis & Goadrich 2006 between the thresholds' (recall, precision) points),
            `"minoring"` or `"majoring"` (left or right Riemann sums).
        thresholds: explicit thresholds in [0, 1] instead of `num_thresholds` even ones.
        multi_label: one curve per label (last axis), averaged; otherwise every value is a sample.
        num_labels: the number of labels with `multi_label` (else found at the first update).
        label_weights: per-label weights (of the average with `multi_label`, of the samples
            otherwise).
        from_logits: the predictions are logits (a sigmoid is applied first).
        name: the metric's name (default `"auc"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = AUC(num_thresholds=3)
        >>> float(m([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9]))
        0.75
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)  # unnamed: auc, auc_1, ... as Keras numbers
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(
                f"AUC curve must be 'ROC', 'PR' or 'PRGAIN'; received curve={curve!r}."
            )
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                "AUC summation_method must be 'interpolation', 'minoring' or 'majoring'; received "
                f"summation_method={summation_method!r}."
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_check_thresholds(thresholds, "AUC"))
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    "AUC num_thresholds must be an integer > 1; received "
                    f"num_thresholds={num_thresholds}."
                )
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = len(inner) + 2
        self.thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]  # every prediction is in range
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.from_logits = bool(multi_label), bool(from_logits)
        self.add_constant(
            "label_weights",
            None if label_weights is None else torch.as_tensor(label_weights).float(),
        )
        self.add_constant("_thresholds", torch.tensor(self.thresholds))
        self.num_labels = num_labels
        self._built = False
        if num_labels is not None or not self.multi_label:
            self._build(num_labels)

    def _build(self, num_labels):
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_state(state, shape)
        self.num_labels = num_labels
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weights = _prepare(y_true, y_pred, sample_weight)
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred)
        if self.multi_label:
            if y_pred.dim() != 2:
                raise ValueError(
                    "AUC with multi_label=True expects predictions shaped (samples, labels); "
                    f"received shape {tuple(y_pred.shape)}."
                )
            if not self._built:
                self._build(y_pred.shape[1])
        self._to(y_pred.device)
        if not self.multi_label and self.label_weights is not None:
            weights = weights * self.label_weights
        if not self.multi_label:
            y_true, y_pred, weights = (t.reshape(-1) for t in (y_true, y_pred, weights))
        tp, fp, positives, negatives = _counts_above(self._thresholds, y_pred, weights, y_true != 0)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += negatives - fp
        self.false_negatives += positives - tp

    def _average(self, per_label):
        if not self.multi_label:
            return per_label
        if self.label_weights is None:
            return per_label.mean()
        weights = self.label_weights.to(per_label.device)
        return _safe_divide((per_label * weights).sum(), weights.sum())

    def interpolate_pr_auc(self) -> torch.Tensor:
        """The area under the precision-recall curve from the current counts, interpolating
        precision between thresholds as Davis & Goadrich 2006 do (what `result()` returns for
        `curve="PR"`, `summation_method="interpolation"`, whatever this metric's own settings).

        Returns:
            A scalar tensor (the labels' average with `multi_label`).

        Example:
            >>> m = AUC(num_thresholds=3, curve="PR")
            >>> m.update_state([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
            >>> round(float(m.interpolate_pr_auc()), 4)
            0.8207
        """
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        predicted = tp + fp
        tp_step = tp[:-1] - tp[1:]
        predicted_step = (predicted[:-1] - predicted[1:]).clamp_min(0)
        slope = _safe_divide(tp_step, predicted_step)
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = torch.where(
            both,
            _safe_divide(predicted[:-1], predicted[1:].clamp_min(0)),
            torch.ones_like(predicted[1:]),
        )
        pieces = _safe_divide(
            slope * (tp_step + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0)
        )
        return self._average(pieces.sum(0))

    def result(self):
        if not self._built:
            return torch.zeros(())
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = (
            self.true_positives,
            self.false_positives,
            self.true_negatives,
            self.false_negatives,
        )
        recall = _safe_divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _safe_divide(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _safe_divide(tp, tp + fp)
        else:
            x, y = _precision_recall_gains(tp, fp, tn, fn)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average(((x[:-1] - x[1:]) * heights).sum(0))

    def get_config(self):
        config = {
            "name": self.name,
            "dtype": self.dtype,
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            # Only thresholds given are kept, as Keras: num_thresholds rebuilds the even ones.
            config["thresholds"] = self.thresholds[1:-1]
        return config


__all__ = [
    "AUC",
    "FalseNegatives",
    "FalsePositives",
    "Precision",
    "Recall",
    "TrueNegatives",
    "TruePositives",
]
