"""The one rule for "did the monitored quantity improve?", shared by EarlyStopping, ModelCheckpoint
and ReduceLROnPlateau."""

from __future__ import annotations

import warnings

from lamina import ops
from lamina.callbacks.callback import Callback
from lamina.metrics.metric import flatten_metrics

# Quantities that are better when larger (the default names of the metrics Keras 3 marks "up":
# r2_score, pearson_ and concordance_correlation, cosine_similarity, fbeta_score, mean_io_u, ...);
# everything else (losses, errors) is better when smaller.
_HIGHER_IS_BETTER = (
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "fbeta",
    "fmeasure",
    "iou",
    "io_u",
    "top_k",
    "r2",
    "correlation",
    "cosine_similarity",
)


def direction(monitor: str, mode: str, who: str) -> str:
    """'min' or 'max' for `mode` ('auto' decides from the monitored name, as Keras does)."""
    if mode not in ("auto", "min", "max"):
        # Keras warns and decides as "auto"; it does not refuse the callback.
        warnings.warn(
            f"{who} mode '{mode}' is unknown, fallback to auto mode (expected 'auto', 'min' or "
            "'max').",
            stacklevel=3,
        )
        mode = "auto"
    if mode != "auto":
        return mode
    return "max" if _higher_is_better(monitor) else "min"


def _higher_is_better(monitor: str) -> bool:
    name = monitor.lower()
    return not _lower_is_better(monitor) and any(key in name for key in _HIGHER_IS_BETTER)


def _lower_is_better(monitor: str) -> bool:
    name = monitor.lower()
    return name.endswith("loss") or "error" in name


# Keras's warnings when the monitored quantity is missing, word for word (code filtering
# warnings by their text matches both): the available keys in the logs' own order.
MISSING_FOR_EARLY_STOPPING = (
    "Early stopping conditioned on metric `{monitor}` which is not available. "
    "Available metrics are: {available}"
)
MISSING_FOR_LR_REDUCTION = (
    "Learning rate reduction is conditioned on metric `{monitor}` which is not available. "
    "Available metrics are: {available}."
)
MISSING_FOR_CHECKPOINT = "Can save best model only with {monitor} available."


def read(logs, monitor: str, missing: str):
    """The monitored value from `logs`, or None with the warning `missing` (one of the
    templates above, filled with the monitor and the keys there are)."""
    value = (logs or {}).get(monitor)
    if value is None:
        available = ",".join(logs or {})
        warnings.warn(missing.format(monitor=monitor, available=available), stacklevel=3)
        return None
    return float(value)


class MonitorCallback(Callback):
    """Base of the callbacks that watch a logged quantity for improvements, with Keras's
    attributes: `monitor`, `mode` (here already `"min"` or `"max"`), `min_delta`, `best` and
    `monitor_op`, the comparison (`ops.less` or `ops.greater`) that Keras sets at the first
    epoch's end. From then on `min_delta` carries the sign of the direction, as in Keras, so
    `monitor_op(value - min_delta, best)` asks "better by more than min_delta?" either way.

    Args:
        monitor: the logged quantity.
        mode: `"min"`, `"max"` or `"auto"` (decided from the name).
        min_delta: a change smaller than this does not count as an improvement.
        best: the value to beat at first (None: any first value improves).

    Example:
        >>> stop = lamina.callbacks.EarlyStopping(monitor="loss", min_delta=0.1)
        >>> stop.monitor_op is None
        True
        >>> stop.on_epoch_end(0, {"loss": 1.0})
        >>> stop.monitor_op is lamina.ops.less, stop.min_delta
        (True, -0.1)
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0, best=None):
        super().__init__()
        self.monitor = monitor
        self._mode_from_name = mode not in ("min", "max")
        self.mode = direction(monitor, mode, type(self).__name__)
        self.min_delta = abs(min_delta)
        self.best = best
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        if self._mode_from_name:
            # Keras 3 asks the monitored metric first: its `_direction` ("up" / "down"), which a
            # custom metric may set, wins over the name.
            found, metric_direction = self._monitored_metric()
            self.mode = {"up": "max", "down": "min"}.get(metric_direction, self.mode)
            named = _higher_is_better(self.monitor) or _lower_is_better(self.monitor)
            if self.model is not None and not found and not named:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "Keras isn't able to automatically determine whether that metric should be "
                    "maximized or minimized: the model has no metric of that name. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or "
                    "pass `mode='min'` in order to use the lowest value."
                )
        if self.mode == "min":
            self.monitor_op = ops.less
            self.min_delta *= -1
        else:
            self.monitor_op = ops.greater

    def _monitored_metric(self):
        """(whether the model has a metric of the monitored name, its `_direction` or None)."""
        name = self.monitor.removeprefix("val_")
        for metric in flatten_metrics(getattr(self.model, "metrics", None) or []):
            if metric.name == name:
                return True, getattr(metric, "_direction", None)
        return False, None

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        if self.monitor_op is None:  # a save every N batches can ask before the first epoch ends
            self._set_monitor_op()
        return bool(self.monitor_op(value - self.min_delta, reference))
