"""Per-class confusion scores: FBetaScore / F1Score and IoU / MeanIoU / OneHotIoU / OneHotMeanIoU,
with Keras's names, arguments and formulas (re-exported by `lamina.confusion_metrics` and
`lamina.metrics`). State lives in device tensors; updates are sums and scatter-adds, no host reads.
"""

from __future__ import annotations

import warnings

import torch

from lamina import backend
from lamina.confusion_metrics import EPSILON, _tensor
from lamina.engine import hyperparameters
from lamina.losses.loss import one_hot_ids
from lamina.metrics.metric import Metric
from lamina.metrics.registry import register

_AVERAGES = (None, "micro", "macro", "weighted")


@register
class FBetaScore(Metric):
    """The F-beta score: `(1 + beta^2) * precision * recall / (beta^2 * precision + recall)`, per
    class, for targets and predictions shaped (samples, classes).

    Args:
        average: `None` (one score per class), `"micro"` (counts pooled over classes first),
            `"macro"` (the mean of the class scores) or `"weighted"` (their mean weighted by each
            class's number of true instances).
        beta: the weight of recall against precision (> 0).
        threshold: a prediction above it counts as positive; `None` counts each sample's largest
            prediction (ties included) as its positive.
        name: the metric's name (default `"fbeta_score"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = FBetaScore(beta=2.0, threshold=0.5)
        >>> y_true = np.array([[1, 0], [0, 1], [1, 0]])
        >>> y_pred = np.array([[0.9, 0.1], [0.8, 0.7], [0.3, 0.6]])
        >>> [round(v, 4) for v in m(y_true, y_pred).tolist()]
        [0.5, 0.8333]
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        who = type(self).__name__
        # Keras's wording opens each message, so code matching Keras's errors matches these.
        if average not in _AVERAGES:
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average} ({who})."
            )
        if not isinstance(beta, float):  # Keras refuses ints too
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}' ({who}: write e.g. beta=2.0)."
            )
        if beta <= 0.0:
            raise ValueError(
                "Invalid `beta` argument value. It should be > 0. "
                f"Received: beta={beta} ({who}: beta weighs recall against precision)."
            )
        if threshold is not None and not isinstance(threshold, float):
            raise ValueError(
                "Invalid `threshold` argument value. It should be a Python float. "
                f"Received: threshold={threshold} of type '{type(threshold)}' "
                f"({who}: write e.g. threshold=0.5, or None for each sample's largest)."
            )
        if threshold is not None and not 0.0 < threshold <= 1.0:
            raise ValueError(
                "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                f"Received: threshold={threshold} ({who})."
            )
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0  # the axis the counts are summed over
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        """Makes the state for `(batch, classes)` targets and predictions (Keras's signature)."""
        received = (
            f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
            f"y_true.shape={tuple(y_true_shape)}."
        )
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"FBetaScore expects 2D inputs with shape (batch_size, output_dim). {received}"
            )
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError(
                "FBetaScore expects 2D inputs with shape (batch_size, output_dim), with "
                f"output_dim fully defined (not None). {received}"
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for state in (
            "true_positives",
            "false_positives",
            "false_negatives",
            "intermediate_weights",
        ):
            self.add_state(state, shape)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true, y_pred.device)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_pred.dim() != 2 or y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__} expects y_true and y_pred shaped (samples, classes) alike; "
                f"received {tuple(y_true.shape)} and {tuple(y_pred.shape)}."
            )
        self._to(y_pred.device)
        if self.threshold is None:
            top = y_pred.amax(dim=-1, keepdim=True)
            predicted = ((y_pred >= top) & (y_pred.abs() > 1e-9)).float()
        else:
            predicted = (y_pred > self.threshold).float()
        weight = None if sample_weight is None else _tensor(sample_weight, y_pred.device)
        if weight is not None:
            if weight.numel() == y_pred.shape[0]:
                weight = weight.reshape(-1, 1)  # one weight per sample
            elif tuple(weight.shape) != tuple(y_pred.shape):
                raise ValueError(
                    f"{type(self).__name__} expects sample_weight with one value per sample "
                    f"({y_pred.shape[0]}) or one per sample and class {tuple(y_pred.shape)}; "
                    f"received shape {tuple(weight.shape)}."
                )

        def weighted_sum(values):
            if weight is not None:
                values = values * weight
            return values.sum() if self.axis is None else values.sum(dim=self.axis)

        self.true_positives += weighted_sum(predicted * y_true)
        self.false_positives += weighted_sum(predicted * (1 - y_true))
        self.false_negatives += weighted_sum((1 - predicted) * y_true)
        self.intermediate_weights += weighted_sum(y_true)

    def result(self):
        if not self._built:
            return torch.zeros(())
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        beta2 = self.beta**2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return (score * weights).sum()
        if self.average is not None:
            return score.mean()
        return score

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


@register
class F1Score(FBetaScore):
    """The F1 score (FBetaScore with beta=1). Arguments as `FBetaScore`.

    Args:
        average: `None` (one score per class), `"micro"`, `"macro"` or `"weighted"`.
        threshold: a prediction above it counts as positive; `None`: each sample's largest.
        name: the metric's name (default `"f1_score"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> m = F1Score(average="macro", threshold=0.5)
        >>> round(float(m(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.2], [0.6, 0.8]]))), 4)
        0.8333
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


@register
class IoU(Metric):
    """Intersection over union, `TP / (TP + FP + FN)`, averaged over `target_class_ids`, from a
    confusion matrix accumulated over all updates (rows: true class, columns: predicted class).

    Args:
        num_classes: the number of classes (the matrix is num_classes x num_classes).
        target_class_ids: the classes whose IoU is averaged; absent classes count for nothing.
        ignore_class: a label (e.g. a "void" class) whose samples are left out.
        sparse_y_true: the labels are class ids (else one-hot / scores: argmax along `axis`).
        sparse_y_pred: the predictions are class ids (else scores: argmax along `axis`).
        axis: the class axis for the argmax.
        name: the metric's name (default `"io_u"`).
        dtype: the confusion matrix's dtype (default float32; `"int32"` truncates float weights,
            with a warning, as Keras 3's default does).

    Examples:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> round(float(m([0, 0, 1, 1], [0, 1, 0, 1])), 4)  # class 0: 1 hit, 1 miss, 1 false alarm
        0.3333
    """

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        # The counts' dtype: float32 by default (TensorFlow Keras's, fractional weights count);
        # "int32" counts as Keras 3 does, exactly past float32's 2**24. Pinned, not floatx():
        # counts in float16 would stop at 2048.
        super().__init__(name=name, dtype=dtype or "float32")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"{type(self).__name__} num_classes must be a positive integer; received "
                f"num_classes={num_classes!r}."
            )
        target_class_ids = [int(i) for i in target_class_ids]
        if any(not 0 <= i < num_classes for i in target_class_ids):
            raise ValueError(
                f"{type(self).__name__} target_class_ids must be class ids in [0, {num_classes}); "
                f"received target_class_ids={target_class_ids}."
            )
        self.num_classes, self.target_class_ids = num_classes, target_class_ids
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.add_constant("_targets", torch.tensor(target_class_ids, dtype=torch.long))
        self.add_state(
            "total_cm",
            (num_classes, num_classes),
            backend.to_torch_dtype(self.dtype),
            variable_name="total_confusion_matrix",  # Keras's name for its `total_cm`
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.as_tensor(y_pred).detach()
        y_true = torch.as_tensor(y_true, device=y_pred.device).detach()
        if not self.sparse_y_true:
            y_true = one_hot_ids(y_true, self.axis)
        if not self.sparse_y_pred:
            y_pred = one_hot_ids(y_pred, self.axis)
        # Keras casts through floats to integers: truncation toward zero.
        y_true, y_pred = y_true.reshape(-1).long(), y_pred.reshape(-1).long()
        self._to(y_pred.device)
        counts = self.total_cm.dtype
        if sample_weight is None:
            weight = torch.ones(y_true.shape, dtype=counts, device=y_pred.device)
        else:
            # Keras warns of float arrays only (a list of numbers carries no dtype).
            floating = "float" in str(getattr(sample_weight, "dtype", ""))
            weight = torch.as_tensor(sample_weight, device=y_pred.device).detach()
            if floating and not counts.is_floating_point:
                warnings.warn(
                    f"{type(self).__name__}: float sample_weight is cast to the integer "
                    f"confusion matrix (dtype={self.dtype}), truncating each weight; pass "
                    "integer weights, or dtype='float32' for fractional ones.",
                    stacklevel=2,
                )
            weight = torch.broadcast_to(weight.reshape(-1).to(counts), y_true.shape)
        classes = self.num_classes
        kept = (y_true >= 0) & (y_true < classes) & (y_pred >= 0) & (y_pred < classes)
        if self.ignore_class is not None:
            kept = kept & (y_true != self.ignore_class)
        cell = torch.where(kept, y_true * classes + y_pred, 0)
        self.total_cm.view(-1).index_add_(0, cell, torch.where(kept, weight, 0))

    def result(self):
        matrix = self.total_cm
        true_positives = matrix.diagonal()
        denominator = matrix.sum(0) + matrix.sum(1) - true_positives
        targets = self._targets.to(matrix.device)
        true_positives, denominator = true_positives[targets], denominator[targets]
        valid = denominator > 1e-9
        iou = torch.where(valid, true_positives / (denominator + EPSILON), 0.0)
        return iou.sum() / (valid.float().sum() + EPSILON)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


@register
class MeanIoU(IoU):
    """IoU averaged over every class. Arguments as `IoU`, without `target_class_ids`.

    Predictions are class ids by default (`sparse_y_pred=True`), as in Keras: for a softmax
    output pass `sparse_y_pred=False`.

    Args:
        num_classes: the number of classes.
        name: the metric's name (default `"mean_io_u"`).
        dtype: accepted for Keras compatibility.
        ignore_class: a label whose samples are left out.
        sparse_y_true: the labels are class ids (else one-hot: argmax along `axis`).
        sparse_y_pred: the predictions are class ids (else scores: argmax along `axis`).
        axis: the class axis for the argmax.

    Examples:
        >>> m = MeanIoU(num_classes=2)
        >>> float(m([0, 0, 1, 1], [0, 1, 0, 1]))
        0.3333333432674408
    """

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            list(range(num_classes)),
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


@register
class OneHotIoU(IoU):
    """IoU for one-hot labels and score predictions (argmax along `axis`).

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        ignore_class: a label whose samples are left out.
        sparse_y_pred: the predictions are class ids (default False: scores).
        axis: the class axis for the argmax.

    Examples:
        >>> m = OneHotIoU(num_classes=2, target_class_ids=[1])
        >>> y_true = np.array([[1, 0], [0, 1], [0, 1]])
        >>> round(float(m(y_true, np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))), 4)
        0.5
    """

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_pred=False,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


@register
class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels and score predictions (argmax along `axis`).

    Args:
        num_classes: the number of classes.
        name: the metric's name.
        dtype: accepted for Keras compatibility.
        ignore_class: a label whose samples are left out.
        sparse_y_pred: the predictions are class ids (default False: scores).
        axis: the class axis for the argmax.

    Examples:
        >>> m = OneHotMeanIoU(num_classes=2)
        >>> y_true = np.array([[1, 0], [0, 1], [0, 1]])
        >>> round(float(m(y_true, np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))), 4)
        0.5
    """

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1
    ):
        super().__init__(
            num_classes,
            name=name,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


@register
class BinaryIoU(IoU):
    """IoU of the two classes of a binary task, predictions thresholded at `threshold`.

    Args:
        target_class_ids: which of the classes 0 and 1 to average over (both by default).
        threshold: predictions >= threshold count as class 1.
        name: the metric's name.

    Examples:
        >>> m = BinaryIoU(target_class_ids=[1])
        >>> round(m(torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.7, 0.9, 0.2])).item(), 4)
        0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        hyperparameters.number(threshold, "threshold", "BinaryIoU()")
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.as_tensor(y_pred).detach().float()
        super().update_state(y_true, (y_pred >= self.threshold).float(), sample_weight)

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }
