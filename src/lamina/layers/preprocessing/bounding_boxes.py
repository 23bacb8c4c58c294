"""MaxNumBoundingBoxes: gives every image of a batch the same number of bounding boxes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors
from lamina.layers.preprocessing.base import NO_FACTOR, ImageLayer


class MaxNumBoundingBoxes(ImageLayer):
    """Pads (with `fill_value`) or truncates the boxes and labels of a detection batch to
    `max_number` per image; images pass through unchanged.

    Args:
        max_number: boxes per image in the output.
        fill_value: the value of padding boxes and labels (default -1).
        bounding_box_format: the boxes' format ("xyxy", ...), kept for Keras compatibility
            (padding does not depend on it).
        data_format: the images' layout, "channels_last" or "channels_first" (default: the
            global image data format); kept for Keras compatibility, as the images pass as
            they are.

    Call: `{"images": ..., "bounding_boxes": {"boxes": (batch, n, 4), "labels": (batch, n)}}`
    (returns the same structure), or images alone (returned as they are).

    Example:
        >>> data = {"images": torch.zeros(2, 4, 4, 3),
        ...         "bounding_boxes": {"boxes": torch.ones(2, 1, 4), "labels": torch.ones(2, 1)}}
        >>> MaxNumBoundingBoxes(3)(data)["bounding_boxes"]["labels"].tolist()
        [[1.0, -1.0, -1.0], [1.0, -1.0, -1.0]]
    """

    factor = NO_FACTOR

    def __init__(
        self, max_number, fill_value=-1, bounding_box_format=None, data_format=None, **kwargs
    ):
        super().__init__(data_format=data_format, bounding_box_format=bounding_box_format, **kwargs)
        if int(max_number) < 1:
            raise errors.value_error(self, "max_number >= 1", f"max_number={max_number}")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)
        self._build_at_init(MaxNumBoundingBoxes)

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, dict):
            return inputs
        return self.call(inputs)

    def call(self, inputs):
        # Unlike the augmentations, no `bounding_box_format` is needed: padding ignores it.
        data = dict(inputs)
        if "bounding_boxes" in data:
            data["bounding_boxes"] = self.transform_bounding_boxes(data["bounding_boxes"], None)
        return data

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation=None, training=True):
        extra = set(bounding_boxes) - {"boxes", "labels"}
        if extra:
            raise errors.value_error(
                self, "bounding_boxes with only 'boxes' and 'labels'", f"keys {sorted(extra)}"
            )
        # One image's (n, 4) boxes and (n,) labels too, as Keras takes them.
        boxes = torch.as_tensor(bounding_boxes["boxes"])[..., : self.max_number, :]
        labels = torch.as_tensor(bounding_boxes["labels"])[..., : self.max_number]
        missing = self.max_number - boxes.shape[-2]
        if missing > 0:
            boxes = F.pad(boxes, (0, 0, 0, missing), value=self.fill_value)
            labels = F.pad(labels, (0, missing), value=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            shapes = dict(input_shape["bounding_boxes"])
            shapes["boxes"] = (shapes["boxes"][0], self.max_number, *shapes["boxes"][2:])
            shapes["labels"] = (shapes["labels"][0], self.max_number)
            return {**input_shape, "bounding_boxes": shapes}
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_number": self.max_number,
            "fill_value": self.fill_value,
        }
