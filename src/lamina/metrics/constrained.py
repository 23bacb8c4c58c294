"""The best value of one rate while another meets a floor: SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision.

Confusion counts accumulate at `num_thresholds` evenly spaced thresholds in [0, 1] (device
tensors, as the other confusion metrics); the result scans them for the thresholds where the
constrained rate reaches its value and returns the largest dependent rate there (0 if none).
"""

from __future__ import annotations

import torch

from lamina.confusion_metrics import _ThresholdCounts
from lamina.metrics.registry import register


def _rate(numerator, other):
    total = numerator + other
    return torch.where(total > 0, numerator / total.clamp_min(1e-30), torch.zeros_like(total))


class _RateAtRate(_ThresholdCounts):
    """Base: `constraint` (the argument's name) must be met, `result` maximises the other rate."""

    constraint: str

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        who = type(self).__name__
        if not 0 <= value <= 1:
            raise ValueError(
                f"{who} expects {self.constraint} in the range [0, 1]; "
                f"received {self.constraint}={value}."
            )
        if num_thresholds <= 0:
            raise ValueError(
                f"{who} expects num_thresholds to be an integer > 0; "
                f"received num_thresholds={num_thresholds}."
            )
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0, *inner, 1.0]
        super().__init__(thresholds=thresholds, class_id=class_id, name=name, dtype=dtype)
        self.value = value
        self.num_thresholds = num_thresholds
        setattr(self, self.constraint, value)

    def rates(self):
        """(sensitivity = recall, specificity, precision) at every threshold."""
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        return _rate(tp, fn), _rate(tn, fp), _rate(tp, fp)

    def _best(self, constrained, dependent):
        feasible = constrained >= self.value
        return torch.where(feasible, dependent, torch.zeros_like(dependent)).amax().clamp_min(0.0)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self.constraint: self.value,
        }


@register
class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) over thresholds where specificity >= `specificity`.

    Args:
        specificity: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to count at.
        class_id: the class (last-axis index) to judge, for multi-class predictions.
        name: the metric's name.

    Examples:
        >>> m = SensitivityAtSpecificity(0.5, num_thresholds=3)
        >>> m(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.2, 0.8, 0.7, 0.9])).item()
        1.0
    """

    constraint = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        sensitivity, specificity, _ = self.rates()
        return self._best(specificity, sensitivity)


@register
class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity over thresholds where sensitivity (recall) >= `sensitivity`.

    Args:
        sensitivity: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to count at.
        class_id: the class (last-axis index) to judge, for multi-class predictions.
        name: the metric's name.

    Examples:
        >>> m = SpecificityAtSensitivity(1.0, num_thresholds=3)
        >>> m(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.2, 0.8, 0.7, 0.9])).item()
        0.5
    """

    constraint = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        sensitivity, specificity, _ = self.rates()
        return self._best(sensitivity, specificity)


@register
class PrecisionAtRecall(_RateAtRate):
    """The best precision over thresholds where recall >= `recall`.

    Args:
        recall: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to count at.
        class_id: the class (last-axis index) to judge, for multi-class predictions.
        name: the metric's name.

    Examples:
        >>> m = PrecisionAtRecall(1.0, num_thresholds=3)
        >>> y_true, y_pred = torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.2, 0.8, 0.7, 0.9])
        >>> round(m(y_true, y_pred).item(), 4)
        0.6667
    """

    constraint = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        recall, _, precision = self.rates()
        return self._best(recall, precision)


@register
class RecallAtPrecision(_RateAtRate):
    """The best recall over thresholds where precision >= `precision`.

    Args:
        precision: the floor, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] to count at.
        class_id: the class (last-axis index) to judge, for multi-class predictions.
        name: the metric's name.

    Examples:
        >>> m = RecallAtPrecision(0.6, num_thresholds=3)
        >>> m(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.2, 0.8, 0.7, 0.9])).item()
        1.0
    """

    constraint = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        recall, _, precision = self.rates()
        return self._best(precision, recall)
