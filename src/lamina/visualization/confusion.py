"""The confusion matrix and the per-class scores read from it, in numpy (no matplotlib needed).

Rows are true classes, columns predicted classes, as in scikit-learn: `matrix[i, j]` counts the
samples of class `i` predicted as `j`.
"""

from __future__ import annotations

import numpy as np

from lamina import backend
from lamina.engine import errors

NORMALIZE_CHOICES = (None, "true", "pred")


def _as_numpy(values) -> np.ndarray:
    # A tensor on any device; bfloat16 (predict's output for a bfloat16 model) as float32, so the
    # float checks below see floats.
    return backend.as_plain_numpy(values)


def class_ids(values, argument: str = "y_pred") -> tuple[np.ndarray, int]:
    """Class ids (N,) from labels (N,) or (N, 1), one-hot or probability rows (N, K) (argmax), or a
    column of sigmoid probabilities (N, 1) (threshold 0.5). Also returns the number of classes the
    shape implies (K for rows, 2 for a sigmoid column, 0 for plain labels).
    """
    array = _as_numpy(values)
    if array.ndim == 2 and array.shape[1] > 1:
        return array.argmax(axis=1).astype(np.int64), array.shape[1]
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
        if array.dtype.kind == "f" and np.any(array != np.round(array)):
            # A binary classifier's sigmoid output, as model.predict returns it.
            return (array > 0.5).astype(np.int64), 2
    if array.ndim != 1:
        raise errors.value_error(
            argument,
            "class ids shaped (samples,) or probability rows shaped (samples, classes)",
            f"an array shaped {errors.format_shape(array.shape)}",
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise errors.value_error(
                argument,
                "whole-number class ids",
                f"non-integer values such as {array[array != np.round(array)][:3].tolist()}",
                "pass probability rows shaped (samples, classes), or take argmax(axis=1) first.",
            )
    elif array.dtype.kind not in "iub":
        raise errors.value_error(argument, "class ids (integers)", f"dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise errors.value_error(argument, "class ids >= 0", f"a minimum of {int(array.min())}")
    return array, 0


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Count (true class, predicted class) pairs into a `(num_classes, num_classes)` int64 array.

    Args:
        y_true: class ids (N,) or (N, 1), or one-hot rows (N, K).
        y_pred: class ids, or probability rows (N, K) as `model.predict` returns them (argmax is
            taken), or a sigmoid column (N, 1) (thresholded at 0.5).
        num_classes: the matrix's size; default: the largest class id seen + 1, or K for rows.
            Classes that never occur get a zero row and column.

    Examples:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0]).tolist()
        [[1, 0], [1, 1]]
    """
    true_ids, true_width = class_ids(y_true, "y_true")
    pred_ids, pred_width = class_ids(y_pred, "y_pred")
    if true_ids.shape != pred_ids.shape:
        raise errors.value_error(
            "confusion_matrix",
            "y_true and y_pred with one entry per sample",
            f"{true_ids.size} true labels and {pred_ids.size} predictions",
        )
    largest = int(max(true_ids.max(initial=-1), pred_ids.max(initial=-1)))
    if num_classes is None:
        num_classes = max(largest + 1, true_width, pred_width)
    elif not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise errors.value_error("num_classes", "a positive integer", f"{num_classes!r}")
    elif largest >= num_classes:
        raise errors.value_error(
            "confusion_matrix",
            f"class ids in [0, {num_classes}) (num_classes={num_classes})",
            f"a class id {largest}",
            "pass a larger num_classes (or as many class_names).",
        )
    # One bincount over the flattened (true, predicted) index: O(samples), no Python loop.
    flat = np.bincount(true_ids * num_classes + pred_ids, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def normalize_confusion_matrix(matrix: np.ndarray, normalize: str | None) -> np.ndarray:
    """A confusion matrix's counts as fractions of each true or predicted class.

    `"true"`: rows sum to 1, the recall on the diagonal; `"pred"`: columns sum to 1, the precision
    on the diagonal; a class with no samples keeps zeros. `None` returns the counts unchanged.

    Args:
        matrix: counts, true classes down and predicted classes across.
        normalize: `"true"`, `"pred"` or None.

    Examples:
        >>> normalize_confusion_matrix(np.array([[3, 1], [0, 2]]), "true").tolist()
        [[0.75, 0.25], [0.0, 1.0]]
    """
    if normalize not in NORMALIZE_CHOICES:
        raise errors.value_error(
            "normalize", "one of None, 'true', 'pred'", f"normalize={normalize!r}"
        )
    if normalize is None:
        return matrix
    axis = 1 if normalize == "true" else 0
    totals = matrix.sum(axis=axis, keepdims=True).astype(np.float64)
    return np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)


def per_class_scores(matrix: np.ndarray) -> list[dict]:
    """Precision, recall, F1 and support of each class, as plain Python numbers (JSON-ready).

    A class never predicted (or never present) gets 0.0 where the ratio is undefined.

    Args:
        matrix: counts, true classes down and predicted classes across.

    Examples:
        >>> per_class_scores(np.array([[3, 1], [0, 2]]))[1]
        {'class': 1, 'precision': 0.6666666666666666, 'recall': 1.0, 'f1': 0.8, 'support': 2}
    """
    rows = []
    for label in range(matrix.shape[0]):
        true_positive = int(matrix[label, label])
        predicted = int(matrix[:, label].sum())
        support = int(matrix[label].sum())
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {"class": label, "precision": precision, "recall": recall, "f1": f1, "support": support}
        )
    return rows
