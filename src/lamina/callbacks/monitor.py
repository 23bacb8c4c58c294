"""The one rule for "did the monitored quantity improve?", shared by EarlyStopping, ModelCheckpoint
and ReduceLROnPlateau."""

from __future__ import annotations

import operator
import warnings

# Quantities that are better when larger; everything else (losses, errors) is better when smaller.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "iou", "top_k")


def direction(monitor: str, mode: str, who: str) -> str:
    """'min' or 'max' for `mode` ('auto' decides from the monitored name, as Keras does)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who} mode must be 'auto', 'min' or 'max'; received mode={mode!r}.")
    if mode != "auto":
        return mode
    name = monitor.lower()
    if name.endswith("loss") or "error" in name:
        return "min"
    return "max" if any(key in name for key in _HIGHER_IS_BETTER) else "min"


def comparator(mode: str):
    return operator.lt if mode == "min" else operator.gt


def worst(mode: str) -> float:
    return float("inf") if mode == "min" else float("-inf")


def read(logs, monitor: str, who: str):
    """The monitored value from `logs`, or None with Keras's warning naming what is there."""
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(
            f"{who} is conditioned on metric `{monitor}` which is not available. "
            f"Available metrics are: {','.join(sorted(logs or {}))}",
            stacklevel=3,
        )
        return None
    return float(value)
