"""Boxes that follow their image: clip to its size, crop, pad, and an affine transform."""

from __future__ import annotations

import math

import torch

from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_tensor


def _require_xyxy(bounding_box_format, who, allowed=("xyxy",)):
    if bounding_box_format not in allowed:
        raise NotImplementedError(
            f"{who} supports bounding_box_format in {allowed}; received "
            f"{bounding_box_format!r}. Hint: convert_format() the boxes to 'xyxy' first."
        )


def _float_boxes(boxes):
    boxes = convert_to_tensor(boxes)
    return boxes if boxes.is_floating_point() else boxes.to(torch.float32)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clip boxes to the image; boxes left with no area get the label -1.

    Args:
        bounding_boxes: a dict with `"boxes"` shaped `(n, 4)` or `(batch, n, 4)` and optionally
            `"labels"` shaped `(n,)` or `(batch, n)`; a bare tensor of boxes is accepted too.
        height: the image height (needed for `"xyxy"`).
        width: the image width (needed for `"xyxy"`).
        bounding_box_format: `"xyxy"` (clip to `[0, width] x [0, height]`, the default) or
            `"rel_xyxy"` (clip to `[0, 1]`).

    Returns:
        A new dict with the clipped `"boxes"` and, where given, `"labels"` set to -1 for the boxes
        whose area (width times height) is no longer positive; for a bare tensor, the boxes.

    Example:
        >>> boxes = {"boxes": np.array([[-10, -20, 150, 160], [50, 40, 70, 80]]),
        ...          "labels": np.array([0, 1])}
        >>> clipped = clip_to_image_size(boxes, height=100, width=120)
        >>> clipped["boxes"].tolist(), clipped["labels"].tolist()
        ([[0, 0, 120, 100], [50, 40, 70, 80]], [0, 1])
    """
    who = "clip_to_image_size()"
    _require_xyxy(bounding_box_format, who, ("xyxy", "rel_xyxy"))
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise value_error(
            who,
            "`height` and `width` when bounding_box_format='xyxy'",
            f"height={height}, width={width}",
        )
    as_dict = isinstance(bounding_boxes, dict)
    boxes = convert_to_tensor(bounding_boxes["boxes"] if as_dict else bounding_boxes)
    if bounding_box_format == "xyxy":
        highs = (width, height, width, height)
    else:
        highs = (1.0, 1.0, 1.0, 1.0)
    clipped = torch.stack(
        [boxes[..., i].clamp(0, high) for i, high in enumerate(highs)], dim=-1
    ).to(boxes.dtype)
    if not as_dict:
        return clipped
    result = dict(bounding_boxes)
    result["boxes"] = clipped
    if bounding_boxes.get("labels") is not None:
        labels = convert_to_tensor(bounding_boxes["labels"])
        area = (clipped[..., 2] - clipped[..., 0]) * (clipped[..., 3] - clipped[..., 1])
        result["labels"] = torch.where(area > 0, labels, torch.full_like(labels, -1))
    return result


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the coordinates of a crop: shifted by `(left, top)`, clipped to its size.

    Args:
        boxes: boxes shaped `(n, 4)` or `(batch, n, 4)`.
        top: the crop's top row in the image.
        left: the crop's left column in the image.
        height: the crop's height (None: no lower-edge clip).
        width: the crop's width (None: no right-edge clip).
        bounding_box_format: only `"xyxy"` (as in Keras).

    Returns:
        The cropped boxes, a torch tensor shaped like `boxes`.

    Example:
        >>> boxes = np.array([[10, 20, 50, 60], [70, 80, 100, 120]])
        >>> crop(boxes, top=10, left=20, height=40, width=30).tolist()
        [[0, 10, 30, 40], [30, 40, 30, 40]]
    """
    _require_xyxy(bounding_box_format, "crop()")
    boxes = convert_to_tensor(boxes)
    shifts, highs = (left, top, left, top), (width, height, width, height)
    return torch.stack(
        [(boxes[..., i] - shifts[i]).clamp(0, highs[i]) for i in range(4)], dim=-1
    ).to(boxes.dtype)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes in the coordinates of a padded image: shifted right by `left` and down by `top`.

    Args:
        boxes: boxes shaped `(n, 4)` or `(batch, n, 4)`.
        top: the rows of padding above the image.
        left: the columns of padding left of the image.
        height: the padded image's height (unused, as in Keras).
        width: the padded image's width (unused, as in Keras).
        bounding_box_format: only `"xyxy"` (as in Keras).

    Returns:
        The shifted boxes, a torch tensor shaped like `boxes`.

    Example:
        >>> pad(np.array([[10, 20, 50, 60]]), top=5, left=3).tolist()
        [[13, 25, 53, 65]]
    """
    _require_xyxy(bounding_box_format, "pad()")
    boxes = convert_to_tensor(boxes)
    shifts = (left, top, left, top)
    return torch.stack([boxes[..., i] + shifts[i] for i in range(4)], dim=-1).to(boxes.dtype)


def _per_image(value, batch, dtype, device):
    """A scalar or one value per image as a `(batch,)` tensor."""
    if isinstance(value, torch.Tensor):  # any device and dtype: converted as a tensor
        value = value.detach().to(device=device, dtype=dtype)
    else:
        value = torch.as_tensor(value, dtype=dtype).to(device)
    return value.reshape(-1).expand(batch) if value.numel() == 1 else value.reshape(batch)


def affine_transform(
    boxes,
    angle,
    translate_x,
    translate_y,
    scale,
    shear_x,
    shear_y,
    height,
    width,
    center_x=None,
    center_y=None,
    bounding_box_format="xyxy",
):
    """Move boxes with their image under an affine map; each becomes its corners' bounding box.

    The map is the one Keras's `RandomAffine`-style layers use: about the centre
    `(center_x·(width-1), center_y·(height-1))`, a rotation by `-angle` degrees, shears by
    `-shear_x` and `-shear_y` degrees, a scale, and a shift of `-translate_x·(width-1)`,
    `-translate_y·(height-1)` pixels (the inverse of the matrix that resamples the image).

    Args:
        boxes: `"xyxy"` boxes shaped `(batch, n, 4)` (or `(n, 4)`, one image).
        angle: rotation in degrees; a scalar or one per image.
        translate_x: horizontal shift as a fraction of the width; scalar or per image.
        translate_y: vertical shift as a fraction of the height; scalar or per image.
        scale: zoom factor; scalar or per image.
        shear_x: shear along x in degrees; scalar or per image.
        shear_y: shear along y in degrees; scalar or per image.
        height: the image height.
        width: the image width.
        center_x: the centre's x as a fraction of the width (default 0.5).
        center_y: the centre's y as a fraction of the height (default 0.5).
        bounding_box_format: only `"xyxy"` (as in Keras).

    Returns:
        The transformed boxes, a float tensor shaped like `boxes`.

    Example:
        >>> boxes = np.array([[[0.0, 0.0, 4.0, 2.0]]])
        >>> affine_transform(boxes, angle=0.0, translate_x=0.0, translate_y=0.0, scale=1.0,
        ...                  shear_x=0.0, shear_y=0.0, height=5, width=5).tolist()
        [[[0.0, 0.0, 4.0, 2.0]]]
    """
    _require_xyxy(bounding_box_format, "affine_transform()")
    boxes = _float_boxes(boxes)
    unbatched = boxes.dim() == 2
    if unbatched:
        boxes = boxes.unsqueeze(0)
    if boxes.dim() != 3 or boxes.shape[-1] != 4:
        raise value_error(
            "affine_transform()", "boxes shaped (batch, n, 4)", f"shape {tuple(boxes.shape)}"
        )
    batch, dtype = boxes.shape[0], boxes.dtype
    angle_dtype = angle.dtype if isinstance(angle, torch.Tensor) else torch.float32
    if angle_dtype.is_floating_point:
        dtype = angle_dtype  # Keras computes in the angle's dtype
    boxes = boxes.to(dtype)

    def per_image(value):
        return _per_image(value, batch, dtype, boxes.device)

    degrees = math.pi / 180.0
    rot = -per_image(angle) * degrees
    shear_angle_x = -per_image(shear_x) * degrees
    shear_angle_y = -per_image(shear_y) * degrees
    zoom = per_image(scale)
    cx = per_image(0.5 if center_x is None else center_x) * (width - 1)
    cy = per_image(0.5 if center_y is None else center_y) * (height - 1)
    shifted_cx = cx - per_image(translate_x) * (width - 1)
    shifted_cy = cy - per_image(translate_y) * (height - 1)

    # The rotation-shear matrix [[a, b], [c, d]] has determinant 1; its inverse, scaled:
    a = torch.cos(rot - shear_angle_y) / torch.cos(shear_angle_y)
    b = a * torch.tan(shear_angle_x) + torch.sin(rot)
    c = -torch.sin(rot - shear_angle_y) / torch.cos(shear_angle_y)
    d = torch.cos(rot) - c * torch.tan(shear_angle_x)
    m00, m01, m10, m11 = d * zoom, -b * zoom, -c * zoom, a * zoom
    m02 = cx - m00 * shifted_cx - m01 * shifted_cy
    m12 = cy - m10 * shifted_cx - m11 * shifted_cy

    x1, y1, x2, y2 = boxes.unbind(-1)
    xs = torch.stack([x1, x2, x2, x1], dim=-1)  # (batch, n, 4 corners)
    ys = torch.stack([y1, y1, y2, y2], dim=-1)

    def column(value):
        return value[:, None, None]

    new_x = column(m00) * xs + column(m01) * ys + column(m02)
    new_y = column(m10) * xs + column(m11) * ys + column(m12)
    result = torch.stack([new_x.amin(-1), new_y.amin(-1), new_x.amax(-1), new_y.amax(-1)], dim=-1)
    return result[0] if unbatched else result
