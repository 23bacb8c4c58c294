"""Geometric augmentation: RandomFlip, RandomRotation, RandomZoom, RandomTranslation.

Each draws its transformation for the whole batch at once on the images' device, as a dict
with Keras's keys (`{"flips"}`, `{"angle"}`, `{"height_zoom", "width_zoom"}`,
`{"translations"}`), so a transformation Keras drew applies here too. Rotation, zoom and
translation turn theirs into one affine map per image and resample the whole batch with one
`grid_sample` call (image_ops.affine_sample); segmentation masks go through the same maps with
nearest interpolation.
"""

from __future__ import annotations

import math

import torch

from lamina.layers import argument_checks as checks
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.base import (
    RandomImageLayer,
    keras_input_shape,
    on_device,
    symmetric_range,
)
from lamina.utils.bounding_boxes.box_formats import convert_format
from lamina.utils.bounding_boxes.box_geometry import affine_transform, clip_to_image_size


def drawn_image_size(layer, transformation):
    """(height, width) of the images a transformation with `input_shape` was drawn for."""
    shape = transformation["input_shape"]
    return shape[layer.height_axis], shape[layer.width_axis]


def boxes_in(layer, bounding_boxes, height, width, target):
    """The boxes, from the layer's `bounding_box_format`, in `target` format."""
    return convert_format(bounding_boxes, layer.bounding_box_format, target, height, width)


def boxes_out(layer, bounding_boxes, height, width, source):
    """Boxes clipped to the image, back in the layer's `bounding_box_format`."""
    clipped = clip_to_image_size(bounding_boxes, height, width, bounding_box_format=source)
    return convert_format(clipped, source, layer.bounding_box_format, height, width)


class RandomFlip(RandomImageLayer):
    """Flips each image left-right and / or up-down with probability 1/2, during training.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (default).
        seed: makes the flips reproducible (default None: torch's global generator).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomFlip("horizontal", seed=1)
        >>> image = torch.tensor([[[[1.0], [2.0]]]])  # one 1 x 2 image
        >>> sorted({tuple(layer(image, training=True).flatten().tolist()) for _ in range(20)})
        [(1.0, 2.0), (2.0, 1.0)]
        >>> layer(image, training=False).flatten().tolist()  # inference: unchanged
        [1.0, 2.0]
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")
    moves_pixels = True

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = checks.choice(mode, self.MODES, "mode", self)

    @property
    def _flips_horizontally(self):
        return self.mode in ("horizontal", "horizontal_and_vertical")

    @property
    def _flips_vertically(self):
        return self.mode in ("vertical", "horizontal_and_vertical")

    def draw_transformation(self, images):
        # Keras's `flips` (batch, 1, 1, 1), one per image. With both modes lamina draws the
        # vertical flip apart (`vertical_flips`), so the four outcomes are equally likely; a
        # transformation without it (Keras's) flips both ways with `flips`.
        batch = images.shape[0]
        transformation = {"input_shape": keras_input_shape(self, images)}
        draws = [self.uniform((batch, 1, 1, 1), 0.0, 1.0, images) < 0.5]
        if self.mode == "horizontal_and_vertical":
            draws.append(self.uniform((batch, 1, 1, 1), 0.0, 1.0, images) < 0.5)
            transformation["vertical_flips"] = draws[1]
        transformation["flips"] = draws[0]
        return transformation

    def _vertical_flips(self, transformation):
        return transformation.get("vertical_flips", transformation["flips"])

    def apply_transformation(self, images, transformation, interpolation=None):
        del interpolation  # a flip moves whole pixels
        if self._flips_horizontally:
            flips = on_device(transformation["flips"], images)
            images = torch.where(flips, images.flip(-1), images)
        if self._flips_vertically:
            flips = on_device(self._vertical_flips(transformation), images)
            images = torch.where(flips, images.flip(-2), images)
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = drawn_image_size(self, transformation)
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "rel_xyxy")
        boxes = bounding_boxes["boxes"]
        if self._flips_horizontally:
            x1, y1, x2, y2 = boxes.unbind(-1)
            flipped = torch.stack([1 - x2, y1, 1 - x1, y2], -1)
            boxes = torch.where(_box_flags(transformation["flips"], boxes), flipped, boxes)
        if self._flips_vertically:
            x1, y1, x2, y2 = boxes.unbind(-1)
            flipped = torch.stack([x1, 1 - y2, x2, 1 - y1], -1)
            flags = _box_flags(self._vertical_flips(transformation), boxes)
            boxes = torch.where(flags, flipped, boxes)
        bounding_boxes = {**bounding_boxes, "boxes": boxes}
        return boxes_out(self, bounding_boxes, height, width, "rel_xyxy")

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class ProjectiveBoxGeometry:
    """Keras's helpers for moving boxes through a projective map given as (N, 8) rows
    (a0, a1, a2, b0, b1, b2, c0, c1): RandomZoom's, RandomTranslation's and RandomShear's."""

    def get_transformed_x_y(self, x, y, transform):
        """The point (x, y) mapped by each image's `transform`: two (N, 1) tensors.

        Args:
            x, y: the point (numbers or tensors broadcasting against (N, 1)).
            transform: (N, 8) projective maps.

        Example:
            >>> shift = torch.tensor([[1.0, 0, 2, 0, 1, 3, 0, 0]])
            >>> [v.item() for v in RandomTranslation(0.1, 0.1).get_transformed_x_y(0, 0, shift)]
            [2.0, 3.0]
        """
        a0, a1, a2, b0, b1, b2, c0, c1 = torch.as_tensor(transform).split(1, dim=-1)
        k = c0 * x + c1 * y + 1
        return (a0 * x + a1 * y + a2) / k, (b0 * x + b1 * y + b2) / k

    def get_shifted_bbox(self, bounding_boxes, w_shift_factor, h_shift_factor):
        """xyxy boxes moved by minus the per-image shifts ((N, 1) each, or numbers).

        Args:
            bounding_boxes: {"boxes": (N, n, 4) or (n, 4) xyxy boxes, ...}.
            w_shift_factor, h_shift_factor: the shifts subtracted along x and y.

        Example:
            >>> boxes = {"boxes": torch.tensor([[[2.0, 2.0, 4.0, 4.0]]])}
            >>> layer = RandomTranslation(0.1, 0.1)
            >>> layer.get_shifted_bbox(boxes, torch.tensor([[1.0]]), torch.tensor([[2.0]]))["boxes"]
            tensor([[[1., 0., 3., 2.]]])
        """
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        dx, dy = (_per_box(shift, boxes) for shift in (w_shift_factor, h_shift_factor))
        shifts = torch.cat([dx, dy, dx, dy], dim=-1)
        return {**bounding_boxes, "boxes": boxes - shifts}

    def get_clipped_bbox(self, bounding_boxes, h_end, h_start, w_end, w_start):
        """xyxy boxes clipped to the window [w_start, w_end] x [h_start, h_end] (per image), in
        the window's coordinates.

        Args:
            bounding_boxes: {"boxes": (N, n, 4) or (n, 4) xyxy boxes, ...}.
            h_end, h_start, w_end, w_start: the window's edges, (N, 1) each or numbers.

        Example:
            >>> boxes = {"boxes": torch.tensor([[[0.0, 0.0, 8.0, 8.0]]])}
            >>> RandomZoom(0.1).get_clipped_bbox(boxes, 6.0, 2.0, 6.0, 2.0)["boxes"]
            tensor([[[0., 0., 4., 4.]]])
        """
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        h_end, h_start, w_end, w_start = (
            _per_box(edge, boxes) for edge in (h_end, h_start, w_end, w_start)
        )
        x1, y1, x2, y2 = boxes.split(1, dim=-1)
        clipped = [
            torch.minimum(torch.maximum(x1, w_start), w_end) - w_start,
            torch.minimum(torch.maximum(y1, h_start), h_end) - h_start,
            torch.minimum(torch.maximum(x2, w_start), w_end) - w_start,
            torch.minimum(torch.maximum(y2, h_start), h_end) - h_start,
        ]
        return {**bounding_boxes, "boxes": torch.cat(clipped, dim=-1)}


def _per_box(value, boxes):
    """A per-image (N, 1) value (or a number) shaped to broadcast over `boxes`' last axis."""
    value = torch.as_tensor(value, dtype=boxes.dtype, device=boxes.device)
    return value.unsqueeze(-1) if boxes.ndim == 3 and value.ndim == 2 else value


def _box_flags(flips, boxes):
    """Per-image flags (batch, 1, 1, 1) broadcast over (batch, boxes, 4)."""
    return on_device(flips, boxes).reshape(-1, 1, 1)


class _AffineLayer(RandomImageLayer):
    """Shared arguments and resampling of the three affine augmentations."""

    moves_pixels = True

    def __init__(
        self,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = checks.choice(fill_mode, image_ops.FILL_MODES, "fill_mode", self)
        self.interpolation = checks.choice(
            interpolation, image_ops.INTERPOLATIONS, "interpolation", self
        )
        self.fill_value = float(fill_value)

    def apply_transformation(self, images, transformation, interpolation=None):
        _, _, height, width = images.shape
        linear, shift = self.affine_maps(transformation, height, width, images)
        matrices = torch.cat([linear, shift[:, :, None]], dim=2)
        return image_ops.affine_sample(
            images, matrices, self.fill_mode, self.fill_value, interpolation or self.interpolation
        )

    def affine_maps(self, transformation, height, width, like):
        """(N, 2, 2) linear parts and (N, 2) shifts in pixels, output -> input coordinates."""
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


def keras_rotation_matrix(angle, height, width):
    """Keras's `rotation_matrix` transformation entry, (N, 8): the rotation by `angle` degrees
    about the image centre as a projective map (a0, a1, a2, b0, b1, b2, 0, 0) from output to
    input pixels. lamina's RandomRotation resamples from `angle` and does not draw it."""
    radians = angle * (math.pi / 180.0)
    cos, sin = torch.cos(radians), torch.sin(radians)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    zeros = torch.zeros_like(cos)
    rows = [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, zeros, zeros]
    return torch.stack(rows, dim=1)


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle during training.

    Args:
        factor: a fraction of a full turn: `0.1` draws angles in [-36, 36] degrees; a pair
            `(lower, upper)` gives the range. Positive angles turn counter-clockwise.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest": how the corners that
            come from outside the image are filled.
        interpolation: "bilinear" (default), "nearest" or "bicubic".
        seed: makes the rotations reproducible (default None: torch's global generator).
        fill_value: the value of the "constant" fill (default 0.0).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomRotation(0.1, seed=3)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomRotation(0.1, seed=3)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = symmetric_range(factor, "factor", self, bounds=(-math.inf, math.inf))

    def draw_transformation(self, images):
        batch, _, height, width = images.shape
        lower, upper = self.factor
        angle = self.uniform((batch,), lower * 360.0, upper * 360.0, images)  # degrees
        # Keras's `rotation_matrix` entry (its resampler's form of the angle) is left out: ten
        # small kernels per batch that lamina never reads; keras_rotation_matrix() makes it.
        return {
            "angle": angle,
            "image_height": height,
            "image_width": width,
            "batch_size": batch,
        }

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["image_height"], transformation["image_width"]
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "xyxy")
        # Each box becomes the bounding box of its turned corners, as in Keras.
        boxes = affine_transform(
            bounding_boxes["boxes"], transformation["angle"], 0.0, 0.0, 1.0, 0.0, 0.0, height, width
        )
        return boxes_out(self, {**bounding_boxes, "boxes": boxes}, height, width, "xyxy")

    def affine_maps(self, transformation, height, width, like):
        angles = on_device(transformation["angle"], like).reshape(-1) * (math.pi / 180.0)
        zeros = torch.zeros(angles.shape[0], 2, device=like.device)
        return image_ops.rotation_matrices(angles), zeros

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(ProjectiveBoxGeometry, _AffineLayer):
    """Zooms each image in or out by a random amount during training.

    Args:
        height_factor: a fraction: `0.2` draws vertical zooms in [-20%, +20%]; a pair gives the
            range. Positive values zoom out (the image shrinks), negative values zoom in.
        width_factor: the same for the horizontal axis; None (default) zooms both axes by the same
            amount, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomZoom(0.2, seed=5)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomZoom(0.2, seed=5)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = symmetric_range(
            height_factor, "height_factor", self, bounds=(-1.0, math.inf)
        )
        self.width_factor = (
            None
            if width_factor is None
            else symmetric_range(width_factor, "width_factor", self, bounds=(-1.0, math.inf))
        )

    @property
    def height_lower(self) -> float:
        return self.height_factor[0]

    @property
    def height_upper(self) -> float:
        return self.height_factor[1]

    def draw_transformation(self, images):
        batch = images.shape[0]
        height_zoom = 1.0 + self.uniform((batch, 1), *self.height_factor, images)
        width_zoom = (
            height_zoom
            if self.width_factor is None
            else 1.0 + self.uniform((batch, 1), *self.width_factor, images)
        )
        return {
            "height_zoom": height_zoom,
            "width_zoom": width_zoom,
            "input_shape": keras_input_shape(self, images),
        }

    def affine_maps(self, transformation, height, width, like):
        zoom_y = on_device(transformation["height_zoom"], like).reshape(-1).float()
        zoom_x = on_device(transformation["width_zoom"], like).reshape(-1).float()
        zeros = torch.zeros_like(zoom_x)
        linear = torch.stack(
            [torch.stack([zoom_x, zeros], -1), torch.stack([zeros, zoom_y], -1)], -2
        )
        return linear, torch.zeros(zoom_x.shape[0], 2, device=like.device)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = drawn_image_size(self, transformation)
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "xyxy")
        boxes = bounding_boxes["boxes"]
        zoom_x = on_device(transformation["width_zoom"], boxes).to(boxes.dtype).reshape(-1, 1)
        zoom_y = on_device(transformation["height_zoom"], boxes).to(boxes.dtype).reshape(-1, 1)
        zeros = torch.zeros_like(zoom_x)
        # The zoom about the centre as a projective map, output -> input pixels: the output
        # image shows the input window from its (0, 0) to its (width, height) images.
        shift_x, shift_y = (width - 1) / 2 * (1 - zoom_x), (height - 1) / 2 * (1 - zoom_y)
        transform = torch.cat([zoom_x, zeros, shift_x, zeros, zoom_y, shift_y, zeros, zeros], 1)
        w_start, h_start = self.get_transformed_x_y(0, 0, transform)
        w_end, h_end = self.get_transformed_x_y(width, height, transform)
        clipped = self.get_clipped_bbox(bounding_boxes, h_end, h_start, w_end, w_start)
        window = torch.cat([w_end - w_start, h_end - h_start] * 2, dim=-1)  # (N, 4)
        window = window.unsqueeze(1) if boxes.ndim == 3 else window
        relative = {**clipped, "boxes": clipped["boxes"] / window}
        return boxes_out(self, relative, height, width, "rel_xyxy")

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomTranslation(ProjectiveBoxGeometry, _AffineLayer):
    """Shifts each image by a random offset during training.

    Args:
        height_factor: a fraction of the height: `0.1` shifts by up to 10% up or down; a pair
            gives the range. Positive values shift down.
        width_factor: the same for the width; positive values shift right.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same.

    Example:
        >>> layer = RandomTranslation(0.1, 0.1, seed=2)
        >>> images = torch.rand(2, 8, 8, 3)
        >>> torch.equal(layer(images, training=False), images)  # inference: unchanged
        True
        >>> twin = RandomTranslation(0.1, 0.1, seed=2)
        >>> torch.equal(layer(images, training=True), twin(images, training=True))  # same seed
        True
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = symmetric_range(height_factor, "height_factor", self)
        self.width_factor = symmetric_range(width_factor, "width_factor", self)

    @property
    def height_lower(self) -> float:
        return self.height_factor[0]

    @property
    def height_upper(self) -> float:
        return self.height_factor[1]

    @property
    def width_lower(self) -> float:
        return self.width_factor[0]

    @property
    def width_upper(self) -> float:
        return self.width_factor[1]

    def draw_transformation(self, images):
        batch, _, height, width = images.shape
        shift_y = self.uniform((batch, 1), *self.height_factor, images) * height
        shift_x = self.uniform((batch, 1), *self.width_factor, images) * width
        # Keras's (x, y) shifts in pixels, content moving by +shift.
        return {
            "translations": torch.cat([shift_x, shift_y], dim=1),
            "input_shape": keras_input_shape(self, images),
        }

    def affine_maps(self, transformation, height, width, like):
        shifts = on_device(transformation["translations"], like).float()
        identity = torch.eye(2, device=like.device).expand(shifts.shape[0], 2, 2)
        # Content moves by +shift, so the output at p reads the input at p - shift.
        return identity, -shifts

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = drawn_image_size(self, transformation)
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "xyxy")
        shifts = on_device(transformation["translations"], bounding_boxes["boxes"])
        # Boxes move with the content, by +shift.
        moved = self.get_shifted_bbox(bounding_boxes, -shifts[:, :1], -shifts[:, 1:])
        return boxes_out(self, moved, height, width, "xyxy")

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }
