"""The HTML report of a run: one self-contained file with the model, its training curves, final
metrics, confusion matrix with per-class scores, and feature maps.
"""

from __future__ import annotations

import dataclasses
import time

from lamina._version import __version__
from lamina.engine import errors
from lamina.visualization import html_parts as parts
from lamina.visualization.confusion import confusion_matrix, per_class_scores
from lamina.visualization.confusion_plot import plot_confusion_matrix
from lamina.visualization.feature_maps import plot_feature_maps
from lamina.visualization.figures import figure_png, pyplot
from lamina.visualization.history_plot import (
    VALIDATION_PREFIX,
    history_logs,
    metric_names,
    plot_history,
)

SCORES = ("precision", "recall", "f1")


@dataclasses.dataclass(frozen=True)
class Report:
    """A rendered report: the page, and each figure's PNG under the file name it would have.

    Args:
        html: the page.
        figures: `{file name: PNG bytes}`.

    Examples:
        >>> report = build_report(title="run", extra={"seed": 1})
        >>> report.html.startswith("<!DOCTYPE html>"), report.figures
        (True, {})
    """

    html: str
    figures: dict[str, bytes]


def _model_summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def _final_metrics(logs: dict) -> list[list]:
    rows = []
    for name in metric_names(logs):
        train, validation = logs.get(name), logs.get(VALIDATION_PREFIX + name)
        rows.append([name, train[-1] if train else "", validation[-1] if validation else ""])
    return rows


def _png(figure) -> bytes:
    """PNG bytes of a figure made for the report, which is then closed (pyplot keeps figures)."""
    try:
        return figure_png(figure)
    finally:
        pyplot().close(figure)


def _check_arguments(model, y_true, y_pred, images) -> None:
    if (y_true is None) != (y_pred is None):
        raise errors.value_error(
            "html_report",
            "y_true and y_pred together",
            "only " + ("y_true" if y_pred is None else "y_pred"),
            "pass both to get the confusion matrix, or neither.",
        )
    if images is not None and model is None:
        raise errors.value_error(
            "html_report(images=...)",
            "a model to take feature maps from",
            "images without model=",
        )


def _history_sections(history, figures: dict) -> list[str]:
    logs = history_logs(history)
    figures["history.png"] = _png(plot_history(logs))
    epochs = max(len(values) for values in logs.values())
    return [
        parts.section(
            "training-curves",
            "Training curves",
            parts.image(figures["history.png"], "training curves"),
        ),
        parts.section(
            "final-metrics",
            "Final metrics",
            parts.paragraph(f"After {epochs} epoch{'s' if epochs != 1 else ''}."),
            parts.table(["metric", "train", "validation"], _final_metrics(logs)),
        ),
    ]


def _confusion_sections(y_true, y_pred, class_names, figures: dict) -> list[str]:
    num_classes = None if class_names is None else len(class_names)
    matrix = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    names = [str(name) for name in (range(len(matrix)) if class_names is None else class_names)]
    figures["confusion_matrix.png"] = _png(plot_confusion_matrix(y_true, y_pred, names))
    samples = int(matrix.sum())
    accuracy = matrix.trace() / samples if samples else 0.0
    per_class = [
        [names[row["class"]], *(f"{row[key]:.3f}" for key in SCORES), row["support"]]
        for row in per_class_scores(matrix)
    ]
    return [
        parts.section(
            "confusion-matrix",
            "Confusion matrix",
            parts.paragraph(
                f"Accuracy {accuracy:.4f} on {samples} samples; rows are "
                "true classes, columns predicted ones."
            ),
            parts.image(figures["confusion_matrix.png"], "confusion matrix"),
        ),
        parts.section(
            "per-class",
            "Per-class precision and recall",
            parts.table(["class", "precision", "recall", "F1", "support"], per_class),
        ),
    ]


def build_report(
    *,
    title: str,
    history=None,
    model=None,
    y_true=None,
    y_pred=None,
    class_names=None,
    images=None,
    extra=None,
) -> Report:
    """Render the report (see `html_report`) without writing it: the page and the PNGs.

    Args:
        title: the page's title.
        history: the History `fit()` returns, or its dict.
        model: a model, for its summary (and, with `images`, feature maps).
        y_true: labels, for the confusion matrix and per-class scores.
        y_pred: predictions (ids or probability rows), with `y_true`.
        class_names: a label per class.
        images: a batch of inputs for the feature maps.
        extra: `{label: value}` shown first, as "Run details".

    Returns:
        A `Report`.

    Examples:
        >>> "seed" in build_report(title="run", extra={"seed": 1}).html
        True
    """
    _check_arguments(model, y_true, y_pred, images)
    sections, figures = [], {}
    if extra:
        rows = [[label, value] for label, value in extra.items()]
        sections.append(parts.section("details", "Run details", parts.table(["", "value"], rows)))
    if model is not None:
        sections.append(parts.section("model", "Model", parts.preformatted(_model_summary(model))))
    if history is not None:
        sections += _history_sections(history, figures)
    if y_true is not None:
        sections += _confusion_sections(y_true, y_pred, class_names, figures)
    if images is not None:
        figures["feature_maps.png"] = _png(plot_feature_maps(model, images))
        sections.append(
            parts.section(
                "feature-maps",
                "Feature maps",
                parts.paragraph("The first convolution's channels for the first image."),
                parts.image(figures["feature_maps.png"], "feature maps"),
            )
        )
    subtitle = f"Written {time.strftime('%Y-%m-%d %H:%M')} by lamina {__version__}."
    return Report(html=parts.page(title, subtitle, sections), figures=figures)


def html_report(
    path,
    *,
    title: str,
    history=None,
    model=None,
    y_true=None,
    y_pred=None,
    class_names=None,
    images=None,
    extra=None,
) -> str:
    """Write one self-contained HTML page about a run (figures inline, no scripts, no links out).

    Each argument adds its sections; leave one out and its sections are left out.

    Args:
        path: the `.html` file to write (atomically: a crash leaves the previous file intact).
        title: the page's title.
        history: the History `fit()` returns, or its dict: training curves and final metrics.
        model: its `summary()`; with `images`, the feature maps of its first convolution.
        y_true, y_pred: labels and predictions (ids or probability rows): the confusion matrix,
            accuracy and per-class precision / recall / F1 / support.
        class_names: a label per class for the confusion matrix and the per-class table.
        images: a batch of inputs; feature maps are drawn for the first one.
        extra: `{label: value}` shown first, as "Run details" (test accuracy, time, seed, ...).

    Returns:
        The path written, as a string.

    Examples:
        >>> html_report("run.html", title="digits", history=history, model=model)  # doctest: +SKIP
    """
    from lamina.saving.atomic import write_text

    report = build_report(
        title=title,
        history=history,
        model=model,
        y_true=y_true,
        y_pred=y_pred,
        class_names=class_names,
        images=images,
        extra=extra,
    )
    write_text(path, report.html)
    return str(path)
