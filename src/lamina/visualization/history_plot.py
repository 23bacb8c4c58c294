"""Training curves: one subplot per metric, the training and validation values on the same axes."""

from __future__ import annotations

import math
import re

import numpy as np

from lamina.engine import errors
from lamina.visualization.figures import pyplot, save_png

VALIDATION_PREFIX = "val_"
# A per-class metric (F1Score(average=None), ...) logs one value per class each epoch: each class
# becomes a series of its own, `name[i]`, drawn on its metric's axes.
_CLASS_SUFFIX = re.compile(r"\[\d+\]$")


def history_logs(history) -> dict[str, list[float]]:
    """The `{name: [value per epoch]}` dict of a History (as `fit` returns it), or the dict."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(
            f"history expects a History (what fit() returns) or its .history dict; received "
            f"{type(history).__name__}."
        )
    if not logs or not any(len(values) for values in logs.values()):
        raise errors.value_error(
            "history",
            "at least one epoch of logs",
            "an empty history",
            "plot after fit() has run at least one epoch.",
        )
    series = {}
    for name, values in logs.items():
        series.update(_scalar_series(str(name), values))
    return series


def _scalar_series(name: str, values) -> dict[str, list[float]]:
    """`{name: floats}`, or `{name[i]: floats}` per class when each epoch logged a vector."""
    arrays = [np.asarray(value, dtype=np.float64).reshape(-1) for value in values]
    widths = {array.size for array in arrays}
    if widths <= {1}:
        return {name: [float(array[0]) for array in arrays]}
    if len(widths) > 1:
        raise errors.value_error(
            f"history['{name}']",
            "the same number of values every epoch",
            f"{sorted(widths)} values in different epochs",
        )
    return {f"{name}[{i}]": [float(array[i]) for array in arrays] for i in range(widths.pop())}


def metric_names(logs: dict, metrics=None) -> list[str]:
    """The metrics to draw, `loss` first, then in the order fit logged them (sorted, as Keras
    logs them): each name without its `val_` prefix."""
    available = []
    for name in logs:
        base = name[len(VALIDATION_PREFIX) :] if name.startswith(VALIDATION_PREFIX) else name
        if base not in available:
            available.append(base)
    if "loss" in available:  # the curve a reader looks for first
        available.insert(0, available.pop(available.index("loss")))
    if metrics is None:
        return available
    requested = [metrics] if isinstance(metrics, str) else list(metrics)
    # A per-class metric asked for by its name brings all its classes, in order.
    chosen = {r: [n for n in available if r in (n, metric_of(n))] for r in requested}
    unknown = [name for name, found in chosen.items() if not found]
    if unknown or not requested:
        raise errors.value_error(
            "plot_history(metrics=...)",
            f"names from the history: {available}",
            f"{unknown if unknown else requested}",
            "drop the 'val_' prefix: the validation curve is drawn with its metric.",
        )
    return [name for found in chosen.values() for name in found]


def metric_of(name: str) -> str:
    """The metric a series belongs to: `f1_score` for the per-class `f1_score[2]`."""
    return _CLASS_SUFFIX.sub("", name)


def epoch_axis(length: int, epochs: int) -> np.ndarray:
    """Epoch numbers (from 1) for a series of `length` values in a run of `epochs` epochs.

    Validation runs every `validation_freq` epochs, so its series can be shorter: its values
    belong to epochs freq, 2*freq, ...
    """
    if length == epochs or length == 0 or epochs % length:
        return np.arange(1, length + 1)
    step = epochs // length
    return np.arange(1, length + 1) * step


def plot_history(history, metrics=None, path=None):
    """Draw training curves: the loss and each metric, train and `val_` on the same axes.

    Args:
        history: the History `fit()` returns, or its `.history` dict.
        metrics: names to draw (`"loss"`, `"accuracy"`, ...; without `val_`); default: all.
        path: when given, the figure is also written there as a PNG.

    Returns:
        The matplotlib Figure: one subplot per metric (up to 3 per row), epochs from 1 on x.

    Examples:
        >>> figure = plot_history({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})  # doctest: +SKIP
    """
    logs = history_logs(history)
    groups: dict[str, list[str]] = {}  # one subplot per metric, a per-class one's classes on it
    for name in metric_names(logs, metrics):
        groups.setdefault(metric_of(name), []).append(name)
    epochs = max(len(values) for values in logs.values())
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    columns = min(len(groups), 3)
    rows = math.ceil(len(groups) / columns)
    figure = plt.figure(figsize=(4.8 * columns, 3.6 * rows), layout="constrained")
    for index, (metric, names) in enumerate(groups.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        for colour, name in enumerate(names):
            suffix = name[len(metric) :]  # "[2]" for a class, "" for a plain metric
            series = ((name, "train", "-"), (VALIDATION_PREFIX + name, "validation", "--"))
            for key, label, style in series:
                if key in logs:
                    values = logs[key]
                    axes.plot(
                        epoch_axis(len(values), epochs),
                        values,
                        style,
                        color=f"C{colour}",
                        marker="o",
                        markersize=3,
                        label=label + suffix,
                    )
        axes.set_title(metric)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    if path is not None:
        save_png(figure, path)
    return figure
