"""Overlap between boxes: the pairwise IoU table and the element-wise Complete IoU (CIoU)."""

from __future__ import annotations

import math

import torch

from lamina import backend
from lamina.engine.errors import value_error
from lamina.ops.core import convert_to_tensor
from lamina.utils.bounding_boxes.box_formats import check_format, convert_format


def _image_size(image_shape, bounding_box_format, who):
    """(height, width) from `image_shape`; a relative format without one is an error."""
    if image_shape is None:
        if bounding_box_format.startswith("rel_"):
            raise value_error(
                who,
                "`image_shape=(height, width, channels)` with a relative bounding box format",
                f"bounding_box_format={bounding_box_format!r}, image_shape=None",
            )
        return None, None
    height, width = tuple(image_shape)[:2]
    return height, width


def _areas(corners):
    x1, y1, x2, y2 = corners.unbind(-1)
    return (x2 - x1) * (y2 - y1)


def compute_iou(
    boxes1,
    boxes2,
    bounding_box_format,
    use_masking=False,
    mask_val=-1,
    image_shape=None,
):
    """The intersection over union of every box in `boxes1` with every box in `boxes2`.

    Either set may be batched `(batch, n, 4)` or not `(n, 4)`; the result is `(n1, n2)` when
    both are unbatched and `(batch, n1, n2)` otherwise, indexed `[..., i, j]` for `boxes1[i]`
    and `boxes2[j]`. The union gets `epsilon()` added, so two empty boxes have IoU 0.

    Args:
        boxes1: the first boxes, shaped `(n1, 4)` or `(batch, n1, 4)`.
        boxes2: the second boxes, shaped `(n2, 4)` or `(batch, n2, 4)`.
        bounding_box_format: the format of both (see `convert_format`).
        use_masking: if True, pairs where either box has all four numbers below 0 (padding)
            get `mask_val` instead of their IoU.
        mask_val: the value of masked pairs (default -1).
        image_shape: `(height, width, channels)`; needed for a relative format.

    Returns:
        A float32 torch tensor of IoUs.

    Example:
        >>> boxes1 = [[0, 0, 2, 2], [1, 1, 3, 3]]
        >>> compute_iou(boxes1, [[0, 0, 2, 2]], bounding_box_format="xyxy").tolist()
        [[1.0], [0.1428571492433548]]
    """
    who = "compute_iou()"
    bounding_box_format = check_format(bounding_box_format, who)
    boxes1, boxes2 = convert_to_tensor(boxes1), convert_to_tensor(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.dim() not in (2, 3):
            raise value_error(
                who,
                f"{name} shaped (n, 4) or (batch, n, 4)",
                f"{name}.shape={tuple(boxes.shape)}",
            )
    height, width = _image_size(image_shape, bounding_box_format, who)
    corners1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    corners2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    first = corners1.unsqueeze(-2)  # (..., n1, 1, 4)
    second = corners2.unsqueeze(-3)  # (..., 1, n2, 4)
    overlap_w = torch.minimum(first[..., 2], second[..., 2]) - torch.maximum(
        first[..., 0], second[..., 0]
    )
    overlap_h = torch.minimum(first[..., 3], second[..., 3]) - torch.maximum(
        first[..., 1], second[..., 1]
    )
    intersection = overlap_w.clamp(min=0) * overlap_h.clamp(min=0)
    union = _areas(corners1).unsqueeze(-1) + _areas(corners2).unsqueeze(-2) - intersection
    iou = intersection / (union + backend.epsilon())
    if not use_masking:
        return iou
    padding1 = (corners1.amax(dim=-1) < 0).unsqueeze(-1)
    padding2 = (corners2.amax(dim=-1) < 0).unsqueeze(-2)
    masked = torch.full_like(iou, float(mask_val))
    return torch.where(padding1 | padding2, masked, iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """The Complete IoU of boxes paired element-wise: IoU less a centre-distance and a shape term.

    CIoU = IoU - d² / c² - α·v, where d is the distance between the two centres, c the diagonal
    of the smallest box enclosing both, v = 4/π² · (atan(w₂/h₂) - atan(w₁/h₁))² compares the
    aspect ratios and α = v / (v - IoU + 1). It is 1 for identical boxes and falls below 0 for
    distant ones; `1 - compute_ciou(...)` is the CIoU loss.

    Args:
        boxes1: the first boxes, shaped `(..., 4)`.
        boxes2: the second boxes, shaped `(..., 4)` (broadcast against `boxes1`).
        bounding_box_format: the format of both (see `convert_format`).
        image_shape: `(height, width, channels)`; needed for a relative format (Keras rejects
            relative formats outright).

    Returns:
        A float32 torch tensor shaped like the broadcast boxes without their last axis.

    Example:
        >>> boxes = [[0.0, 0.0, 2.0, 2.0]]
        >>> round(compute_ciou(boxes, boxes, "xyxy").item(), 4)
        1.0
        >>> round(compute_ciou(boxes, [[1.0, 0.0, 3.0, 2.0]], "xyxy").item(), 4)
        0.2564
    """
    who = "compute_ciou()"
    bounding_box_format = check_format(bounding_box_format, who)
    height, width = _image_size(image_shape, bounding_box_format, who)
    eps = backend.epsilon()
    x1a, y1a, x2a, y2a = convert_format(boxes1, bounding_box_format, "xyxy", height, width).unbind(
        -1
    )
    x1b, y1b, x2b, y2b = convert_format(boxes2, bounding_box_format, "xyxy", height, width).unbind(
        -1
    )
    # Heights carry epsilon so the aspect ratios of flat boxes stay finite (as in Keras).
    width_a, height_a = x2a - x1a, y2a - y1a + eps
    width_b, height_b = x2b - x1b, y2b - y1b + eps
    overlap = (torch.minimum(x2a, x2b) - torch.maximum(x1a, x1b)).clamp(min=0) * (
        torch.minimum(y2a, y2b) - torch.maximum(y1a, y1b)
    ).clamp(min=0)
    union = width_a * height_a + width_b * height_b - overlap + eps
    iou = overlap / (union + eps)
    enclosing_w = torch.maximum(x2a, x2b) - torch.minimum(x1a, x1b)
    enclosing_h = torch.maximum(y2a, y2b) - torch.minimum(y1a, y1b)
    diagonal_sq = enclosing_w**2 + enclosing_h**2 + eps
    centre_dist_sq = ((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + (
        (y1a + y2a) / 2 - (y1b + y2b) / 2
    ) ** 2
    shape_gap = (4 / math.pi**2) * (
        torch.atan(width_b / height_b) - torch.atan(width_a / height_a)
    ) ** 2
    alpha = shape_gap / (shape_gap - iou + (1 + eps))
    return iou - (centre_dist_sq / diagonal_sq + shape_gap * alpha)
