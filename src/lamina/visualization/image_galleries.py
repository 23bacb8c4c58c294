"""Grids of images with matplotlib: plain, with bounding boxes, with segmentation masks."""

from __future__ import annotations

import math

import numpy as np

from lamina import backend
from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_numpy
from lamina.visualization.figures import pyplot
from lamina.visualization.image_drawing import draw_bounding_boxes, draw_segmentation_masks


def _batch(images, data_format, who):
    images = convert_to_numpy(images)
    if images.ndim != 4:
        raise value_error(
            who, "a batch of images shaped (batch, height, width, channels)", f"{images.shape}"
        )
    if backend.standardize_data_format(data_format) == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    return images


def plot_image_gallery(
    images,
    y_true=None,
    y_pred=None,
    label_map=None,
    rows=None,
    cols=None,
    value_range=(0, 255),
    scale=2,
    path=None,
    show=None,
    transparent=True,
    dpi=60,
    legend_handles=None,
    data_format=None,
):
    """Show a batch of images in a grid, optionally titled with their labels and predictions.

    Without `rows` and `cols` the grid is about square (`rows = ceil(sqrt(batch))`); images past
    `rows * cols` are left out and unused cells stay blank.

    Args:
        images: images shaped `(batch, height, width, channels)` (or channels first).
        y_true: class ids, one per image, shown as "Label: name".
        y_pred: predicted class ids, one per image, shown as "Pred: name".
        label_map: `{class id: name}`; required with `y_true` or `y_pred`.
        rows: grid rows (default from the batch size).
        cols: grid columns (default from the batch size and `rows`).
        value_range: the `(low, high)` of the pixel values, mapped to `(0, 255)` for display.
        scale: inches per image (default 2).
        path: when given, the figure is saved there (and not shown).
        show: show the figure with `plt.show()` (default: when there is no `path`).
        transparent: save with a transparent background (default True).
        dpi: the resolution of the saved file (default 60).
        legend_handles: matplotlib handles for a figure legend.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).

    Returns:
        The matplotlib Figure (closed once saved or shown).

    Example:
        >>> images = np.random.default_rng(0).integers(0, 255, (4, 8, 8, 3))
        >>> figure = plot_image_gallery(images, show=False)
        >>> len(figure.axes)
        4
    """
    who = "plot_image_gallery()"
    if path is not None and show:
        raise value_error(who, "either `path` or `show=True`, not both", f"path={path!r}")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise value_error(who, "a `label_map` with `y_true` or `y_pred`", "label_map=None")
    plt = pyplot()
    show = path is None if show is None else show
    images = _batch(images, data_format, who)
    count = images.shape[0]
    rows = rows or math.ceil(math.sqrt(count))
    cols = cols or math.ceil(count / rows)
    low, high = value_range
    images = (images.astype("float32") - low) / (high - low) * 255.0
    images = np.clip(images, 0, 255).astype("uint8")
    y_true = None if y_true is None else convert_to_numpy(y_true).reshape(-1)
    y_pred = None if y_pred is None else convert_to_numpy(y_pred).reshape(-1)
    figure, axes = plt.subplots(
        rows, cols, figsize=(cols * scale, rows * scale), squeeze=False, layout="tight"
    )
    if legend_handles is not None:
        figure.legend(handles=legend_handles, loc="lower center")
    for index, axis in enumerate(axes.reshape(-1)):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        axis.margins(x=0, y=0)
        title = []
        if y_true is not None and index < len(y_true):
            title.append(f"Label: {label_map.get(int(y_true[index]), 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            title.append(f"Pred: {label_map.get(int(y_pred[index]), 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    for axis in axes.reshape(-1)[count:]:
        figure.delaxes(axis)
    if path is not None:
        figure.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close(figure)
    elif show:
        plt.show()
        plt.close(figure)
    return figure


def plot_bounding_box_gallery(
    images,
    bounding_box_format,
    y_true=None,
    y_pred=None,
    value_range=(0, 255),
    true_color=(0, 188, 212),
    pred_color=(255, 235, 59),
    line_thickness=2,
    font_scale=1.0,
    text_thickness=None,
    class_mapping=None,
    ground_truth_mapping=None,
    prediction_mapping=None,
    legend=False,
    legend_handles=None,
    rows=None,
    cols=None,
    data_format=None,
    **kwargs,
):
    """Show a batch of images in a grid with their true and predicted boxes drawn on.

    Args:
        images: images shaped `(batch, height, width, channels)` (or channels first).
        bounding_box_format: the format of the boxes (see `lamina.utils.bounding_boxes`).
        y_true: true boxes, a dict as `draw_bounding_boxes` takes.
        y_pred: predicted boxes, the same kind of dict.
        value_range: the `(low, high)` of the pixel values (default `(0, 255)`).
        true_color: the RGB colour of the true boxes.
        pred_color: the RGB colour of the predicted boxes.
        line_thickness: the width of the outlines in pixels (default 2).
        font_scale: the size of the labels.
        text_thickness: the stroke of the labels (default `line_thickness`).
        class_mapping: `{class id: name}` for both kinds of boxes.
        ground_truth_mapping: `{class id: name}` for the true boxes (default `class_mapping`).
        prediction_mapping: `{class id: name}` for the predictions (default `class_mapping`).
        legend: add a "Ground Truth" / "Prediction" legend.
        legend_handles: your own legend handles (instead of `legend`).
        rows: grid rows.
        cols: grid columns.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        **kwargs: passed on to `plot_image_gallery` (`path`, `show`, `scale`, ...).

    Returns:
        The matplotlib Figure of `plot_image_gallery`.

    Example:
        >>> images = np.zeros((2, 16, 16, 3), dtype="uint8")
        >>> boxes = {"boxes": np.array([[[2, 2, 10, 10]], [[4, 4, 12, 12]]]),
        ...          "labels": np.array([[0], [1]])}
        >>> figure = plot_bounding_box_gallery(images, "xyxy", y_true=boxes, show=False)
        >>> len(figure.axes)
        2
    """
    who = "plot_bounding_box_gallery()"
    if legend and legend_handles:
        raise value_error(who, "`legend=True` or `legend_handles`, not both", "both")
    images = _batch(images, data_format, who)
    low, high = value_range
    if (low, high) != (0, 255):  # drawing works on [0, 255]: the colours are 0-255 values
        images = (images.astype("float32") - low) / (high - low) * 255.0
    drawn = images
    common = dict(
        bounding_box_format=bounding_box_format,
        line_thickness=line_thickness,
        text_thickness=text_thickness,
        font_scale=font_scale,
        data_format="channels_last",
    )
    if y_true is not None:
        drawn = draw_bounding_boxes(
            drawn, y_true, color=true_color, class_mapping=ground_truth_mapping or class_mapping,
            **common,
        )  # fmt: skip
    if y_pred is not None:
        drawn = draw_bounding_boxes(
            drawn, y_pred, color=pred_color, class_mapping=prediction_mapping or class_mapping,
            **common,
        )  # fmt: skip
    if legend:
        from matplotlib import patches

        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(
        drawn,
        value_range=(0, 255),
        legend_handles=legend_handles,
        rows=rows,
        cols=cols,
        data_format="channels_last",
        **kwargs,
    )


def plot_segmentation_mask_gallery(
    images,
    num_classes,
    value_range=(0, 255),
    y_true=None,
    y_pred=None,
    color_mapping=None,
    blend=True,
    alpha=0.8,
    ignore_index=-1,
    data_format=None,
    **kwargs,
):
    """Show each image in a row beside its true and predicted segmentation masks.

    Args:
        images: images shaped `(batch, height, width, channels)` (or channels first).
        num_classes: the number of class colours (see `draw_segmentation_masks`).
        value_range: the `(low, high)` of the pixel values (default `(0, 255)`).
        y_true: true masks shaped `(batch, height, width[, 1])`.
        y_pred: predicted masks, shaped like `y_true`.
        color_mapping: `{class id: (r, g, b)}` (default: Keras's palette).
        blend: blend the colours with the image (default True).
        alpha: the opacity of the colours (default 0.8).
        ignore_index: the class id left unpainted (default -1).
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        **kwargs: passed on to `plot_image_gallery` (`path`, `show`, `scale`, ...).

    Returns:
        The matplotlib Figure: one row per image, the image then its masks.

    Example:
        >>> images = np.full((2, 4, 4, 3), 128, dtype="uint8")
        >>> masks = np.ones((2, 4, 4, 1), dtype="int32")
        >>> figure = plot_segmentation_mask_gallery(images, 2, y_true=masks, show=False)
        >>> len(figure.axes)
        4
    """
    who = "plot_segmentation_mask_gallery()"
    channels_first = backend.standardize_data_format(data_format) == "channels_first"
    images = _batch(images, data_format, who)
    columns = [images.astype("float32")]
    for masks in (y_true, y_pred):
        if masks is None:
            continue
        masks = convert_to_numpy(masks).astype("int32")
        if channels_first and masks.ndim == 4:
            masks = np.transpose(masks, (0, 2, 3, 1))
        drawn = draw_segmentation_masks(
            images, masks, num_classes=num_classes, color_mapping=color_mapping, alpha=alpha,
            blend=blend, ignore_index=ignore_index, data_format="channels_last",
        )  # fmt: skip
        columns.append(drawn.astype("float32"))
    gallery = np.stack(columns, axis=1).reshape(-1, *images.shape[1:])
    return plot_image_gallery(
        gallery,
        value_range=value_range,
        rows=images.shape[0],
        cols=len(columns),
        data_format="channels_last",
        **kwargs,
    )
