"""Changing an image's size: Resizing, CenterCrop, RandomCrop."""

from __future__ import annotations

import torch

from lamina.layers import argument_checks as checks
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.base import (
    NO_FACTOR,
    ImageLayer,
    RandomImageLayer,
    keras_input_shape,
    on_device,
)
from lamina.utils.bounding_boxes.box_formats import convert_format
from lamina.utils.bounding_boxes.box_geometry import clip_to_image_size, crop

_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")


def boxes_through_window(layer, bounding_boxes, in_height, in_width, top, left, height, width):
    """Boxes (in `layer.bounding_box_format`, on an in_height x in_width image) where they land
    when the (height, width) window at (top, left) is cut out and resized to the layer's output
    size; `top` and `left` are numbers or one per image. Boxes left with no area get label -1."""
    corners = convert_format(bounding_boxes, layer.bounding_box_format, "xyxy", in_height, in_width)
    boxes = corners["boxes"]
    top, left = (_per_image_shift(shift, boxes) for shift in (top, left))
    inside = crop(boxes, top, left, height, width)
    scale = torch.tensor([layer.width / width, layer.height / height] * 2, dtype=boxes.dtype)
    moved = inside * scale.to(boxes.device)
    clipped = clip_to_image_size({**corners, "boxes": moved}, layer.height, layer.width)
    return convert_format(clipped, "xyxy", layer.bounding_box_format, layer.height, layer.width)


def _per_image_shift(shift, boxes):
    """A number, or one shift per image shaped to broadcast over `boxes`' (batch, n) columns."""
    if not isinstance(shift, torch.Tensor):
        return shift
    shift = on_device(shift, boxes).to(boxes.dtype)
    return shift.reshape(-1, 1) if boxes.ndim == 3 else shift.reshape(())


class Resizing(ImageLayer):
    """Resizes images to (height, width), as TensorFlow does (half-pixel centres, no antialias).

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic" or "area".
        crop_to_aspect_ratio: first crop the largest centred window with the target aspect ratio.
        pad_to_aspect_ratio: first pad (centred, with `fill_value`) to the target aspect ratio.
        fill_mode: "constant", the only mode of the padding.
        fill_value: the padding value.
        antialias: low-pass filter when downsampling (bilinear and bicubic); default False.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, H, W, channels) or (H, W, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
        >>> image = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> Resizing(2, 2)(image)[0, :, :, 0].tolist()  # each output pixel: a 2 x 2 mean here
        [[2.5, 4.5], [10.5, 12.5]]
        >>> tuple(Resizing(3, 5)(torch.zeros(6, 6, 3)).shape)  # a single image works too
        (3, 5, 3)
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.height = checks.positive_int(height, "height", self)
        self.width = checks.positive_int(width, "width", self)
        self.interpolation = checks.choice(
            interpolation, _RESIZE_INTERPOLATIONS, "interpolation", self
        )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"Layer '{self.name}' (Resizing) expects at most one of crop_to_aspect_ratio and "
                "pad_to_aspect_ratio; received both True."
            )
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = checks.choice(fill_mode, ("constant",), "fill_mode", self)
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    moves_pixels = True

    def get_random_transformation(self, data, training=True, seed=None):
        # Nothing random: Keras's (input height, input width), which the boxes need.
        images = data["images"] if isinstance(data, dict) else data
        return images.shape[self.height_axis], images.shape[self.width_axis]

    def transform(self, images, training):
        return self._resize(images, self.interpolation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        in_height, in_width = (int(size) for size in transformation)
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        # Keras's padding boxes (all -1 or all 0) stay all zeros.
        padding = ((boxes == -1).all(-1) | (boxes == 0).all(-1)).unsqueeze(-1)
        corners = convert_format(
            bounding_boxes, self.bounding_box_format, "xyxy", in_height, in_width
        )
        scale_x, scale_y = self.width / in_width, self.height / in_height
        shift_x = shift_y = 0.0
        if self.pad_to_aspect_ratio:  # scaled to fit, centred between pads
            scale_x = scale_y = min(scale_x, scale_y)
            shift_x = (self.width - in_width * scale_x) // 2
            shift_y = (self.height - in_height * scale_y) // 2
        elif self.crop_to_aspect_ratio:  # scaled to cover, centre cropped
            source, target = in_width / in_height, self.width / self.height
            new_width = self.height * source if source > target else self.width
            new_height = self.height if source > target else self.width / source
            scale_x, scale_y = new_width / in_width, new_height / in_height
            shift_x, shift_y = -((new_width - self.width) // 2), -((new_height - self.height) // 2)
        scale = torch.tensor([scale_x, scale_y] * 2, dtype=corners["boxes"].dtype)
        shift = torch.tensor([shift_x, shift_y] * 2, dtype=corners["boxes"].dtype)
        moved = corners["boxes"] * scale.to(boxes.device) + shift.to(boxes.device)
        clipped = clip_to_image_size({**corners, "boxes": moved}, self.height, self.width)
        clipped["boxes"] = torch.where(padding, 0.0, clipped["boxes"])
        return convert_format(clipped, "xyxy", self.bounding_box_format, self.height, self.width)

    def transform_masks_nchw(self, masks, transformation, training):
        return self._resize(masks, "nearest")

    def _resize(self, images, interpolation):
        if self.crop_to_aspect_ratio:
            return image_ops.smart_resize(images, self.height, self.width, interpolation)
        if self.pad_to_aspect_ratio:
            images = image_ops.pad_to_aspect(images, self.height, self.width, self.fill_value)
        return image_ops.resize(images, self.height, self.width, interpolation, self.antialias)

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


class CenterCrop(ImageLayer):
    """Crops the centre (height, width) window; an image smaller than that is first cropped to the
    target aspect ratio and resized (Keras's rule).

    Args:
        height, width: the output size.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, H, W, channels) or (H, W, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
        >>> image = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> CenterCrop(2, 2)(image)[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = checks.positive_int(height, "height", self)
        self.width = checks.positive_int(width, "width", self)

    moves_pixels = True

    def get_random_transformation(self, data, training=True, seed=None):
        # Nothing random: Keras's {"input_shape"}, which the boxes need.
        images = data["images"] if isinstance(data, dict) else data
        return {"input_shape": tuple(images.shape)}

    def transform(self, images, training):
        return self._crop(images, "bilinear")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = transformation["input_shape"]
        in_height, in_width = shape[self.height_axis], shape[self.width_axis]
        if in_height >= self.height and in_width >= self.width:
            top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
            window = (top, left, self.height, self.width)
        else:  # image_ops.smart_resize's centred window of the target's aspect ratio
            window = image_ops.crop_box_for_aspect(in_height, in_width, self.height, self.width)
        return boxes_through_window(self, bounding_boxes, in_height, in_width, *window)

    def transform_masks_nchw(self, masks, transformation, training):
        return self._crop(masks, "nearest")

    def _crop(self, images, interpolation):
        in_height, in_width = images.shape[-2], images.shape[-1]
        if in_height < self.height or in_width < self.width:
            return image_ops.smart_resize(images, self.height, self.width, interpolation)
        top, left = (in_height - self.height) // 2, (in_width - self.width) // 2
        return images[..., top : top + self.height, left : left + self.width]

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(RandomImageLayer):
    """Crops a random (height, width) window of each image during training.

    At inference (and for images smaller than the window) it crops the largest centred window with
    the target aspect ratio and resizes it, so the output size never depends on the mode.
    Segmentation masks and bounding boxes (given a `bounding_box_format`) follow the images.

    Args:
        height, width: the output size.
        seed: makes the windows reproducible (default None: torch's global generator).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, H, W, channels) or (H, W, channels).
    Output shape: (batch, height, width, channels) or (height, width, channels).

    Example:
        >>> images = torch.rand(2, 6, 6, 3)
        >>> tuple(RandomCrop(4, 5, seed=0)(images, training=True).shape)
        (2, 4, 5, 3)
        >>> tuple(RandomCrop(4, 5)(images).shape)  # inference: centred crop and resize
        (2, 4, 5, 3)
    """

    factor = NO_FACTOR

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = checks.positive_int(height, "height", self)
        self.width = checks.positive_int(width, "width", self)

    moves_pixels = True

    def get_random_transformation(self, data, training=True, seed=None):
        # Keras's (top, left) pair, plus the input's shape, which relative boxes need; a pair of
        # None for inference's (and small images') centred resize, as nothing random is drawn.
        drawn = super().get_random_transformation(data, training=training, seed=seed)
        images = data["images"] if isinstance(data, dict) else data
        return (None, None, tuple(images.shape)) if drawn is None else drawn

    def _window(self, transformation, training):
        """The drawn (tops, lefts), or None for the centred resize."""
        if not training or transformation is None or transformation[0] is None:
            return None
        return transformation[:2]

    def transform_nchw(self, images, transformation, training):
        if self._window(transformation, training) is None:
            return self.transform(images, training)
        return self.apply_transformation(images, transformation)

    def transform(self, images, training):
        return self._centred(images, "bilinear")

    def _centred(self, images, interpolation):
        """Inference's (and small images') largest centred window, resized."""
        if tuple(images.shape[-2:]) == (self.height, self.width):
            return images
        return image_ops.smart_resize(images, self.height, self.width, interpolation)

    def _fits(self, images):
        return images.shape[-2] >= self.height and images.shape[-1] >= self.width

    def draw_transformation(self, images):
        if not self._fits(images):
            return None  # the centred resize: nothing random
        batch, _, in_height, in_width = images.shape
        # One window per image here (Keras draws one for the whole batch).
        tops = (self.uniform((batch,), 0.0, 1.0, images) * (in_height - self.height + 1)).long()
        lefts = (self.uniform((batch,), 0.0, 1.0, images) * (in_width - self.width + 1)).long()
        return tops, lefts, keras_input_shape(self, images)

    def transform_masks_nchw(self, masks, transformation, training):
        if self._window(transformation, training) is None:
            return self._centred(masks, "nearest")
        return self.apply_transformation(masks, transformation)

    def apply_transformation(self, images, transformation, interpolation=None):
        batch, channels, in_height, in_width = images.shape
        # One window per image: gather rows then columns by index (no Python loop over images).
        tops, lefts = (on_device(t, images).long().expand(batch) for t in transformation[:2])
        rows = tops[:, None] + torch.arange(self.height, device=images.device)
        cols = lefts[:, None] + torch.arange(self.width, device=images.device)
        rows = rows[:, None, :, None].expand(batch, channels, self.height, in_width)
        images = images.gather(2, rows)
        cols = cols[:, None, None, :].expand(batch, channels, self.height, self.width)
        return images.gather(3, cols)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        shape = (
            transformation[2] if transformation is not None and len(transformation) > 2 else None
        )
        window = self._window(transformation, training)
        if shape is None:
            if window is None:  # nothing to go by (Keras's pair at inference): as Keras, unmoved
                return bounding_boxes
            # Keras's pair carries no input size: relative boxes are read against the output's,
            # as Keras reads them.
            in_height, in_width = self.height, self.width
        else:
            in_height, in_width = shape[self.height_axis], shape[self.width_axis]
        if window is None:
            top, left, height, width = image_ops.crop_box_for_aspect(
                in_height, in_width, self.height, self.width
            )
        else:
            (top, left), height, width = window, self.height, self.width
        return boxes_through_window(
            self, bounding_boxes, in_height, in_width, top, left, height, width
        )

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
