"""Annotations burnt into image pixels: box outlines with their labels, and segmentation masks.

Keras draws boxes with OpenCV; lamina draws the outlines with NumPy and the labels with Pillow
(a lamina dependency), so neither needs OpenCV. Both functions return NumPy arrays and leave
their inputs alone.
"""

from __future__ import annotations

import numpy as np

from lamina import backend
from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_numpy
from lamina.utils.bounding_boxes.box_formats import convert_format


def _channels_last(images, data_format, who):
    """The batch as a NumPy array `(batch, height, width, channels)`, and whether it was moved."""
    images = convert_to_numpy(images)
    if images.ndim != 4:
        raise value_error(
            who, "a batch of images shaped (batch, height, width, channels)", f"{images.shape}"
        )
    data_format = backend.standardize_data_format(data_format)
    if data_format == "channels_first":
        return np.transpose(images, (0, 2, 3, 1)), True
    return images, False


def _to_uint8(images):
    """Float images in [0, 1] scaled to [0, 255] (others clipped to it), then uint8, as Keras."""
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")  # a copy: the caller's array is never drawn on


def _pixel(color, channels):
    """The colour as one value per channel (extra channels, such as alpha, get 255)."""
    values = [int(v) for v in color][:channels]
    return np.array(values + [255] * (channels - len(values)), dtype="uint8")


def _outline(image, x1, y1, x2, y2, color, thickness):
    """A rectangle outline, each side `thickness` pixels wide and centred on the box's edge."""
    height, width = image.shape[:2]
    before, after = thickness // 2, (thickness - 1) // 2

    def band(low, high, size):
        return slice(max(low, 0), max(min(high + 1, size), 0))

    left, right = min(x1, x2), max(x1, x2)
    top, bottom = min(y1, y2), max(y1, y2)
    rows = band(top - before, bottom + after, height)
    cols = band(left - before, right + after, width)
    for y in (top, bottom):
        image[band(y - before, y + after, height), cols] = color
    for x in (left, right):
        image[rows, band(x - before, x + after, width)] = color


def _label(image, text, x, y, color, font_scale, thickness):
    """`text` above the box's top-left corner, or just inside it when there is no room above."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(1, round(12 * font_scale))
    try:
        font = ImageFont.load_default(size=size)
    except (TypeError, OSError):  # an old Pillow, or one without FreeType: the bitmap font
        font = ImageFont.load_default()
    canvas = Image.fromarray(image if image.shape[-1] != 1 else image[..., 0])
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    text_height = bottom - top
    origin = (x, y - text_height - 4 - top) if y - text_height - 4 > 0 else (x + 3, y + 3 - top)
    fill = tuple(int(v) for v in color) if image.shape[-1] != 1 else int(color[0])
    draw.text(origin, text, font=font, fill=fill, stroke_width=max(thickness - 1, 0))
    drawn = np.asarray(canvas)
    image[...] = drawn.reshape(image.shape)


def draw_bounding_boxes(
    images,
    bounding_boxes,
    bounding_box_format,
    class_mapping=None,
    color=(128, 128, 128),
    line_thickness=2,
    text_thickness=1,
    font_scale=1.0,
    data_format=None,
):
    """Draw box outlines (and, for mapped classes, their names) onto a batch of images.

    Boxes labelled -1 (padding) are skipped. Float images with values at most 1 are scaled to
    [0, 255], others clipped to it; the result is uint8. Each side of an outline is
    `line_thickness` pixels wide, centred on the box's edge (pixel coordinates truncated to ints).

    Args:
        images: images shaped `(batch, height, width, channels)` (or channels first).
        bounding_boxes: a dict with `"boxes"` `(batch, n, 4)`, `"labels"` `(batch, n)` and
            optionally `"confidences"` `(batch, n)`, printed after the class name.
        bounding_box_format: the format of the boxes (see `lamina.utils.bounding_boxes`).
        class_mapping: `{class id: name}`; only boxes whose class is mapped get a text label.
        color: the RGB colour of outlines and labels (default grey).
        line_thickness: the width of the outlines in pixels (default 2).
        text_thickness: the stroke of the labels (default 1).
        font_scale: the size of the labels, 1.0 being a 12-pixel font.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).

    Returns:
        A uint8 NumPy array shaped like `images`, with the boxes drawn.

    Example:
        >>> images = np.zeros((1, 6, 6, 3), dtype="uint8")
        >>> boxes = {"boxes": np.array([[[1, 1, 4, 4]]]), "labels": np.array([[0]])}
        >>> drawn = draw_bounding_boxes(images, boxes, "xyxy", color=(255, 0, 0),
        ...                             line_thickness=1)
        >>> drawn[0, :, :, 0].tolist()[1]
        [0, 255, 255, 255, 255, 0]
    """
    who = "draw_bounding_boxes()"
    images, moved = _channels_last(images, data_format, who)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(
            f"{who} expects bounding_boxes as a dict with 'boxes' and 'labels'; received "
            f"{type(bounding_boxes).__name__}."
        )
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise value_error(
            who, "a bounding_boxes dict with 'boxes' and 'labels'", f"keys {sorted(bounding_boxes)}"
        )
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    height, width = images.shape[1:3]
    boxes = convert_to_numpy(
        convert_format(bounding_boxes["boxes"], bounding_box_format, "xyxy", height, width)
    ).astype("int32")
    labels = convert_to_numpy(bounding_boxes["labels"]).astype("int32")
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else convert_to_numpy(confidences)
    images = _to_uint8(images)
    pixel = _pixel(color, images.shape[-1])
    for i, image in enumerate(images):
        for j, (x1, y1, x2, y2) in enumerate(boxes[i]):
            label = int(labels[i][j])
            if label == -1:
                continue
            _outline(image, int(x1), int(y1), int(x2), int(y2), pixel, line_thickness)
            if label in class_mapping:
                text = str(class_mapping[label])
                if confidences is not None:
                    text = f"{text} | {float(confidences[i][j]):.2f}"
                _label(image, text, int(x1), int(y1), pixel, font_scale, text_thickness)
    return np.transpose(images, (0, 3, 1, 2)) if moved else images


def default_palette(num_classes):
    """Keras's colour per class id: `(i * (2**25-1, 2**15-1, 2**21-1)) % 255`.

    Args:
        num_classes: how many colours.

    Returns:
        A list of `[r, g, b]` lists; class 0 is black.

    Example:
        >>> default_palette(2)
        [[0, 0, 0], [1, 127, 31]]
    """
    factors = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * factors) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(
    images,
    segmentation_masks,
    num_classes=None,
    color_mapping=None,
    alpha=0.8,
    blend=True,
    ignore_index=-1,
    data_format=None,
):
    """Paint each pixel of a batch of images with the colour of its class in a segmentation mask.

    Class `c` (for `0 <= c < num_classes`) gets `color_mapping[c]`, or Keras's default palette in
    which class 0 is black. With `blend`, painted pixels become
    `image * (1 - alpha) + colour * alpha`, truncated to uint8, and pixels marked `ignore_index`
    keep the image's values. Classes `>= num_classes` are left unpainted (Keras's torch backend
    fails on them). The default `num_classes` is the largest id + 1, so every class gets a colour
    (Keras infers the largest id itself, which leaves that class unpainted, or fails on torch).

    Args:
        images: images shaped `(batch, height, width, channels)` (or channels first).
        segmentation_masks: integer class ids shaped `(batch, height, width)` or
            `(batch, height, width, 1)`.
        num_classes: the number of colours (default: the largest class id in the masks + 1).
        color_mapping: `{class id: (r, g, b)}` for ids `0 .. num_classes - 1`.
        alpha: the opacity of the colours when blending (default 0.8).
        blend: blend with the image (default); otherwise return the painted float32 images.
        ignore_index: the class id left unpainted when blending (default -1).
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).

    Returns:
        A NumPy array shaped like `images` (channels last or first, as given): uint8 when
        blending, float32 otherwise.

    Example:
        >>> images = np.full((1, 1, 2, 3), 100.0)
        >>> masks = np.array([[[[1], [2]]]])
        >>> draw_segmentation_masks(images, masks, num_classes=2,
        ...                         color_mapping={0: (0, 0, 0), 1: (200, 0, 0)}).tolist()
        [[[[180, 20, 20], [100, 100, 100]]]]
    """
    who = "draw_segmentation_masks()"
    images, moved = _channels_last(images, data_format, who)
    masks = convert_to_numpy(segmentation_masks)
    if masks.dtype.kind not in "iu":
        raise TypeError(
            f"{who} expects integer segmentation_masks (class ids); received dtype {masks.dtype}."
        )
    if moved and masks.ndim == 4:
        masks = np.transpose(masks, (0, 2, 3, 1))
    if masks.ndim == 4:
        if masks.shape[-1] != 1:
            raise value_error(
                who, "masks shaped (batch, height, width[, 1])", f"shape {masks.shape}"
            )
        masks = masks[..., 0]
    if masks.shape != images.shape[:3]:
        raise value_error(
            who,
            f"masks matching the images' (batch, height, width) {images.shape[:3]}",
            f"shape {masks.shape}",
        )
    images = images.astype("float32")
    if num_classes is None:
        num_classes = int(masks.max()) + 1 if masks.size else 0
    if color_mapping is None:
        colors = default_palette(num_classes)
    else:
        colors = [color_mapping[i] for i in range(num_classes)]
    painted = images.copy()
    for class_id, color in enumerate(colors):
        painted[masks == class_id] = np.asarray(color, dtype="float32")
    if not blend:
        return np.transpose(painted, (0, 3, 1, 2)) if moved else painted
    blended = images * (1 - alpha) + painted * alpha
    blended = np.where((masks != ignore_index)[..., None], blended, images)
    blended = np.trunc(blended).astype("uint8")
    return np.transpose(blended, (0, 3, 1, 2)) if moved else blended
