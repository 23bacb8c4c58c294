"""Boxes as offsets from anchors: the regression targets of anchor-based detectors and back."""

from __future__ import annotations

import torch

from lamina import backend
from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_tensor
from lamina.utils.bounding_boxes.box_formats import convert_format

_CENTRE_FORMATS = ("center_xywh", "center_yxhw")


def _variance(variance, who):
    if variance is None:
        return None
    variance = convert_to_tensor(variance, dtype="float32")
    if variance.dim() == 0 or variance.shape[-1] != 4:
        raise value_error(who, "`variance` of length 4", f"variance={variance.tolist()}")
    return variance


def _check_centre_format(name, argument, who):
    if name not in _CENTRE_FORMATS:
        raise value_error(who, f"`{argument}` in {_CENTRE_FORMATS}", f"{argument}={name!r}")


def _image_size(image_shape):
    if image_shape is None:
        return None, None
    height, width = tuple(image_shape)[:2]
    return height, width


def encode_box_to_deltas(
    anchors,
    boxes,
    anchor_format,
    box_format,
    encoding_format="center_yxhw",
    variance=None,
    image_shape=None,
):
    """Encode boxes as deltas from anchors: centre offsets over anchor size, log size ratios.

    In `"center_yxhw"` encoding a box `(y, x, h, w)` against an anchor `(ya, xa, ha, wa)` gives
    `((y - ya) / ha, (x - xa) / wa, log(h / ha), log(w / wa))`, each divided by `variance` if
    given; sizes are floored at `epsilon()`. `decode_deltas_to_boxes` inverts it.

    Args:
        anchors: anchor boxes shaped `(n, 4)`.
        boxes: boxes shaped `(n, 4)` or `(batch, n, 4)`.
        anchor_format: the format of `anchors` (see `convert_format`).
        box_format: the format of `boxes`.
        encoding_format: `"center_yxhw"` (default) or `"center_xywh"`, the order of the deltas.
        variance: four numbers the deltas are divided by (default: none).
        image_shape: `(height, width, channels)`; needed when a format is relative.

    Returns:
        The deltas, a float32 torch tensor shaped like `boxes`.

    Example:
        >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
        >>> deltas = encode_box_to_deltas(anchors, np.array([[1.0, 2.0, 11.0, 12.0]]),
        ...                               anchor_format="xyxy", box_format="xyxy")
        >>> [round(v, 4) for v in deltas[0].tolist()]
        [0.2, 0.1, 0.0, 0.0]
    """
    who = "encode_box_to_deltas()"
    variance = _variance(variance, who)
    _check_centre_format(encoding_format, "encoding_format", who)
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_sizes = anchors[..., 2:].clamp(min=backend.epsilon())
    box_sizes = boxes[..., 2:].clamp(min=backend.epsilon())
    deltas = torch.cat(
        [
            (boxes[..., :2] - anchors[..., :2]) / anchor_sizes,
            torch.log(box_sizes / anchor_sizes),
        ],
        dim=-1,
    )
    return deltas if variance is None else deltas / variance.to(deltas.device)


def decode_deltas_to_boxes(
    anchors,
    boxes_delta,
    anchor_format,
    box_format,
    encoded_format="center_yxhw",
    variance=None,
    image_shape=None,
):
    """Decode deltas from anchors back into boxes (the inverse of `encode_box_to_deltas`).

    Args:
        anchors: anchor boxes shaped `(n, 4)`, or a dict `{level: anchors}` of several levels.
        boxes_delta: deltas shaped `(n, 4)` or `(batch, n, 4)`, or a dict with the same keys as
            `anchors`.
        anchor_format: the format of `anchors` (see `convert_format`).
        box_format: the format of the decoded boxes.
        encoded_format: `"center_yxhw"` (default) or `"center_xywh"`, the order of the deltas.
        variance: four numbers the deltas are multiplied by first (default: none).
        image_shape: `(height, width, channels)`; needed when a format is relative.

    Returns:
        The boxes in `box_format`, a float32 torch tensor shaped like `boxes_delta` (a dict of
        them for dict inputs).

    Example:
        >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
        >>> deltas = np.array([[0.2, 0.1, 0.0, 0.0]])
        >>> decode_deltas_to_boxes(anchors, deltas, anchor_format="xyxy",
        ...                        box_format="xyxy").tolist()
        [[1.0, 2.0, 11.0, 12.0]]
    """
    who = "decode_deltas_to_boxes()"
    variance = _variance(variance, who)
    _check_centre_format(encoded_format, "encoded_format", who)
    height, width = _image_size(image_shape)

    def decode_level(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = convert_to_tensor(delta, dtype="float32")
        if variance is not None:
            delta = delta * variance.to(delta.device)
        centres = delta[..., :2] * anchor[..., 2:] + anchor[..., :2]
        sizes = torch.exp(delta[..., 2:]) * anchor[..., 2:]
        boxes = torch.cat([centres, sizes], dim=-1)
        return convert_format(boxes, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {
            level: decode_level(anchor, boxes_delta[level]) for level, anchor in anchors.items()
        }
    return decode_level(anchors, boxes_delta)
