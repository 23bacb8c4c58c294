"""Bounding-box formats and the conversion between them (Keras's `convert_format`).

Every format is four numbers on the last axis. Conversions go through `xyxy` (left, top, right,
bottom, in pixels): the source is turned into corners, the corners into the target. A relative
format (`rel_*`) holds fractions of the image's width and height, so going between relative and
absolute needs `height` and `width`; between two relative formats the image size cancels out.
"""

from __future__ import annotations

import torch

from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_tensor, to_dtype

SUPPORTED_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)


def _to_corners(boxes, source, height, width):
    """(x1, y1, x2, y2) from boxes in `source` format (a relative source scaled to pixels)."""
    a, b, c, d = boxes.unbind(-1)
    base = source.removeprefix("rel_")
    if base == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif base == "yxyx":
        y1, x1, y2, x2 = a, b, c, d
    elif base == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif base == "center_xywh":
        x1, y1, x2, y2 = a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    else:  # center_yxhw
        x1, y1, x2, y2 = b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0
    if source.startswith("rel_"):
        x1, y1, x2, y2 = x1 * width, y1 * height, x2 * width, y2 * height
    return x1, y1, x2, y2


def _from_corners(corners, target, height, width):
    """Boxes in `target` format from corners (a relative target divided by the image size)."""
    x1, y1, x2, y2 = corners
    if target.startswith("rel_"):
        x1, y1, x2, y2 = x1 / width, y1 / height, x2 / width, y2 / height
    base = target.removeprefix("rel_")
    w, h = x2 - x1, y2 - y1
    if base == "xyxy":
        parts = (x1, y1, x2, y2)
    elif base == "yxyx":
        parts = (y1, x1, y2, x2)
    elif base == "xywh":
        parts = (x1, y1, w, h)
    elif base == "center_xywh":
        parts = (x1 + w / 2.0, y1 + h / 2.0, w, h)
    else:  # center_yxhw
        parts = (y1 + h / 2.0, x1 + w / 2.0, h, w)
    return torch.stack(parts, dim=-1)


def check_format(name, who="bounding_boxes"):
    """The lower-cased format name, or a ValueError naming the supported ones."""
    if not isinstance(name, str) or name.lower() not in SUPPORTED_FORMATS:
        raise value_error(who, f"a bounding box format in {SUPPORTED_FORMATS}", f"{name!r}")
    return name.lower()


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Convert bounding boxes from one format to another.

    Formats (case-insensitive), four numbers on the last axis:
    `"xyxy"` (left, top, right, bottom), `"yxyx"` (top, left, bottom, right),
    `"xywh"` (left, top, width, height), `"center_xywh"` (centre x, centre y, width, height),
    `"center_yxhw"` (centre y, centre x, height, width), and the relative `"rel_xyxy"`,
    `"rel_yxyx"`, `"rel_xywh"`, `"rel_center_xywh"`, whose numbers are fractions of the image's
    width (x, widths) and height (y, heights).

    Args:
        boxes: boxes shaped `(..., 4)` (tensor, NumPy array or list), or a dict with a `"boxes"`
            entry (and others, such as `"labels"`, which pass through).
        source: the format of `boxes`.
        target: the format to convert to.
        height: the image height; needed when exactly one side is relative.
        width: the image width; needed when exactly one side is relative.
        dtype: the dtype of the result (default `"float32"`).

    Returns:
        The converted boxes, a torch tensor shaped like `boxes`; for a dict, a new dict whose
        `"boxes"` are converted (Keras changes the given dict in place; lamina leaves it alone).

    Example:
        >>> boxes = np.array([[10, 20, 30, 40], [50, 60, 70, 80]])
        >>> convert_format(boxes, source="xyxy", target="xywh").tolist()
        [[10.0, 20.0, 20.0, 20.0], [50.0, 60.0, 20.0, 20.0]]
        >>> convert_format([[10, 20, 30, 40]], "xyxy", "rel_xyxy", height=200, width=100).tolist()
        [[0.10000000149011612, 0.10000000149011612, 0.30000001192092896, 0.20000000298023224]]
    """
    if isinstance(boxes, dict):
        if "boxes" not in boxes:
            raise value_error(
                "convert_format()", "a dict with a 'boxes' entry", f"keys {sorted(boxes)}"
            )
        converted = dict(boxes)
        converted["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return converted
    boxes = convert_to_tensor(boxes)
    if boxes.dim() == 0 or boxes.shape[-1] != 4:
        raise value_error(
            "convert_format()",
            "boxes whose last dimension is 4",
            f"boxes.shape={tuple(boxes.shape)}",
        )
    source = check_format(source, "convert_format()")
    target = check_format(target, "convert_format()")
    relative = source.startswith("rel_") or target.startswith("rel_")
    if relative and (height is None or width is None):
        raise value_error(
            "convert_format()",
            "`height` and `width` to convert between relative and absolute formats",
            f"source={source!r}, target={target!r}, height={height}, width={width}",
        )
    boxes = boxes.to(to_dtype(dtype))
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]  # the image size cancels out
    if height is not None:
        height = convert_to_tensor(height, dtype=boxes.dtype)
    if width is not None:
        width = convert_to_tensor(width, dtype=boxes.dtype)
    return _from_corners(_to_corners(boxes, source, height, width), target, height, width)
