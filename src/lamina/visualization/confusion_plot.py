"""The confusion matrix as a heat map with every cell annotated."""

from __future__ import annotations

from lamina.visualization.confusion import confusion_matrix, normalize_confusion_matrix
from lamina.visualization.figures import pyplot, save_png

# Past this many classes the cell labels would overlap; the colours alone stay readable.
MAX_ANNOTATED_CLASSES = 30
TITLES = {
    None: "Confusion matrix",
    "true": "Confusion matrix (each true class sums to 1)",
    "pred": "Confusion matrix (each predicted class sums to 1)",
}


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=None, path=None):
    """Draw the confusion matrix: true classes down, predicted classes across, each cell annotated.

    Args:
        y_true: class ids (N,) or one-hot rows (N, K).
        y_pred: class ids, or probability rows (N, K) as `model.predict` returns them (argmax).
        class_names: a label per class (their number sets the matrix size); default `0..K-1`.
        normalize: `None` (counts), `"true"` (fractions of each true class: recall on the
            diagonal) or `"pred"` (fractions of each predicted class: precision on the diagonal).
        path: when given, the figure is also written there as a PNG.

    Returns:
        The matplotlib Figure; its first Axes holds the matrix image (`axes.images[0]`).

    Examples:
        >>> figure = plot_confusion_matrix([0, 1, 1], [0, 1, 0])  # doctest: +SKIP
    """
    if class_names is None:
        counts = confusion_matrix(y_true, y_pred)
        names = [str(label) for label in range(counts.shape[0])]
    else:
        names = [str(name) for name in class_names]
        counts = confusion_matrix(y_true, y_pred, num_classes=len(names))
    values = normalize_confusion_matrix(counts, normalize)
    plt = pyplot()

    size = len(names)
    side = max(4.5, 0.55 * size + 2.5)
    figure = plt.figure(figsize=(side + 1.0, side), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0, interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_title(TITLES[normalize])
    axes.set_xlabel("Predicted")
    axes.set_ylabel("True")
    # Class names are data: parse_math=False keeps a '$' in one from starting math mode.
    long_names = max(map(len, names)) > 3
    axes.set_xticks(
        range(size),
        names,
        rotation=45 if long_names else 0,
        ha="right" if long_names else "center",
        parse_math=False,
    )
    axes.set_yticks(range(size), names, parse_math=False)
    if size <= MAX_ANNOTATED_CLASSES:
        font_size = 10 if size <= 12 else max(5, int(120 / size))
        # Dark text on light cells, white on dark ones: the threshold is half the colour range.
        threshold = values.max() / 2 if values.size else 0
        for row in range(size):
            for column in range(size):
                value = values[row, column]
                text = f"{value:d}" if normalize is None else f"{value:.2f}"
                axes.text(
                    column,
                    row,
                    text,
                    ha="center",
                    va="center",
                    fontsize=font_size,
                    color="white" if value > threshold else "black",
                )
    if path is not None:
        save_png(figure, path)
    return figure
