"""Bounding-box utilities (Keras's `keras.utils.bounding_boxes`): formats, overlap, geometry."""

from lamina.utils.bounding_boxes.box_deltas import decode_deltas_to_boxes, encode_box_to_deltas
from lamina.utils.bounding_boxes.box_formats import convert_format
from lamina.utils.bounding_boxes.box_geometry import (
    affine_transform,
    clip_to_image_size,
    crop,
    pad,
)
from lamina.utils.bounding_boxes.box_iou import compute_ciou, compute_iou

__all__ = [
    "affine_transform",
    "clip_to_image_size",
    "compute_ciou",
    "compute_iou",
    "convert_format",
    "crop",
    "decode_deltas_to_boxes",
    "encode_box_to_deltas",
    "pad",
]
