"""RandomShear and RandomPerspective: geometric augmentations resampling each image through a
random shear (an affine map) or a random perspective (a homography), when training (or called
with no `training` outside predict/evaluate, as in Keras)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors, hyperparameters
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.base import RandomImageLayer, keras_input_shape, on_device
from lamina.layers.preprocessing.color_augmentation import keras_factor
from lamina.layers.preprocessing.geometric import (
    ProjectiveBoxGeometry,
    boxes_in,
    boxes_out,
    drawn_image_size,
)


def shear_matrices(shear_x, shear_y, height, width):
    """(N, 2, 3) maps for `image_ops.affine_sample` of Keras's shear: the output pixel (x, y)
    (indices from the top-left) takes the input at (x + sx y, sy x + y)."""
    ones = torch.ones_like(shear_x)
    linear = torch.stack([torch.stack([ones, shear_x], -1), torch.stack([shear_y, ones], -1)], 1)
    # About the image centre, in continuous coordinates (pixel i spans [i, i + 1)).
    shift = torch.stack([shear_x * (height / 2 - 0.5), shear_y * (width / 2 - 0.5)], dim=-1)
    return torch.cat([linear, shift.unsqueeze(-1)], dim=2)


def homographies(start_points, end_points):
    """(N, 8) maps sending each of the 4 `end_points` onto its `start_points` (x, y pairs)."""
    rows, targets = [], []
    for i in range(4):
        (sx, sy), (ex, ey) = start_points[:, i].unbind(-1), end_points[:, i].unbind(-1)
        one, zero = torch.ones_like(ex), torch.zeros_like(ex)
        rows.append(torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1))
        rows.append(torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1))
        targets += [sx, sy]
    system = torch.stack(rows, dim=1).to(torch.float64)
    # solve_ex: linalg.solve checks for a singular system on the host, a sync per batch on CUDA.
    solution, _ = torch.linalg.solve_ex(system, torch.stack(targets, dim=1).to(torch.float64))
    return solution


def perspective_sample(images, transforms, fill_value=0.0, interpolation="bilinear"):
    """Resample (N, C, H, W) images: the output pixel (x, y) takes the input at the homography
    `transforms` of (x, y), in pixel indices; points outside take `fill_value`."""
    batch, _, height, width = images.shape
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64, device=images.device),
        torch.arange(width, dtype=torch.float64, device=images.device),
        indexing="ij",
    )
    a = transforms.reshape(batch, 8, 1, 1)
    if a.device != images.device:
        a = a.to(images.device)
    denominator = a[:, 6] * xs + a[:, 7] * ys + 1.0
    x_in = (a[:, 0] * xs + a[:, 1] * ys + a[:, 2]) / denominator
    y_in = (a[:, 3] * xs + a[:, 4] * ys + a[:, 5]) / denominator
    # Pixel indices to grid_sample's [-1, 1] with align_corners=True (index i at -1 + 2i / (n-1)).
    grid = torch.stack([2 * x_in / max(width - 1, 1) - 1, 2 * y_in / max(height - 1, 1) - 1], -1)
    sampled = F.grid_sample(
        images - fill_value,
        grid.to(images.dtype),
        mode=interpolation,
        padding_mode="zeros",
        align_corners=True,
    )
    return sampled + fill_value


class RandomShear(ProjectiveBoxGeometry, RandomImageLayer):
    """Shears each image by random amounts along x and y while training.

    Args:
        x_factor, y_factor: shear ranges in [0, 1] (a number f: [-f, f]); the drawn shears
            share one random sign per image.
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest"; fill_value for
            "constant".

    Example:
        >>> layer = RandomShear(x_factor=0.3, seed=0)
        >>> tuple(layer(torch.rand(2, 8, 8, 3), training=True).shape)
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        x_factor=0.0,
        y_factor=0.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = self._factor(x_factor, "x_factor")
        self.y_factor = self._factor(y_factor, "y_factor")
        if interpolation not in ("bilinear", "nearest"):
            raise errors.value_error(self, "interpolation 'bilinear' or 'nearest'", interpolation)
        if fill_mode not in image_ops.FILL_MODES:
            raise errors.value_error(self, f"fill_mode in {image_ops.FILL_MODES}", fill_mode)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)

    def _factor(self, factor, argument):
        if isinstance(factor, (int, float)) and not isinstance(factor, bool):
            if not 0.0 <= factor <= 1.0:
                raise errors.value_error(self, f"{argument} in [0, 1]", f"{factor!r}")
            return -abs(float(factor)), abs(float(factor))
        return keras_factor(factor, self, (0.0, 1.0), argument)

    moves_pixels = True

    def draw_transformation(self, images):
        count = images.shape[0]
        sign = torch.where(self.uniform((count,), 0.0, 1.0, images) > 0.5, -1.0, 1.0)
        shear_y = self.uniform((count,), *self.y_factor, images) * sign
        shear_x = self.uniform((count,), *self.x_factor, images) * sign
        return {
            "shear_factor": torch.stack([shear_x, shear_y], dim=1),
            "input_shape": keras_input_shape(self, images),
        }

    def apply_transformation(self, images, transformation, interpolation=None):
        _, _, height, width = images.shape
        shears = on_device(transformation["shear_factor"], images).float()
        matrices = shear_matrices(shears[:, 0], shears[:, 1], height, width)
        return image_ops.affine_sample(
            images, matrices, self.fill_mode, self.fill_value, interpolation or self.interpolation
        )

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = drawn_image_size(self, transformation)
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "xyxy")
        boxes = bounding_boxes["boxes"]
        shears = on_device(transformation["shear_factor"], boxes).to(boxes.dtype)
        # (N, 1) per image, broadcasting over the (N, n) box coordinates.
        shear_x, shear_y = (shears[:, i : i + 1] for i in (0, 1))
        if boxes.ndim == 2:
            shear_x, shear_y = shear_x.reshape(()), shear_y.reshape(())
        x1, y1, x2, y2 = boxes.unbind(-1)
        # Keras's rule: the content at x moves to x - shear_x * y, so each box edge takes the
        # extreme of its two corners; then y moves by -shear_y * x, from the moved x edges.
        # Keras works in relative coordinates, which misplaces the boxes of non-square images;
        # pixels keep them on the content (and agree with Keras on square ones).
        x1, x2 = (
            torch.where(shear_x < 0, x1 - shear_x * y1, x1 - shear_x * y2),
            torch.where(shear_x < 0, x2 - shear_x * y2, x2 - shear_x * y1),
        )
        y1, y2 = (
            torch.where(shear_y > 0, y1 - shear_y * x2, y1 - shear_y * x1),
            torch.where(shear_y > 0, y2 - shear_y * x1, y2 - shear_y * x2),
        )
        sheared = {**bounding_boxes, "boxes": torch.stack([x1, y1, x2, y2], dim=-1)}
        return boxes_out(self, sheared, height, width, "xyxy")

    def get_config(self):
        return {
            **super().get_config(),
            "x_factor": self.x_factor,
            "y_factor": self.y_factor,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
        }


class RandomPerspective(RandomImageLayer):
    """Warps images by a random perspective, with a probability drawn from `factor`.

    Each corner moves by up to `scale / 2` of its own coordinates; the image is resampled
    through the homography between the moved and the original corners.

    Args:
        factor: the probability of warping an image (a number p: drawn in [0, p]).
        scale: the corners' displacement scale, in [0, 1].
        interpolation: "bilinear" (default) or "nearest"; fill_value: outside the image.

    Example:
        >>> layer = RandomPerspective(factor=(1.0, 1.0), scale=0.0)
        >>> x = torch.rand(1, 6, 6, 3)
        >>> bool(torch.allclose(layer(x, training=True), x, atol=1e-5))
        True
    """

    def __init__(
        self,
        factor=1.0,
        scale=1.0,
        interpolation="bilinear",
        fill_value=0.0,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        hyperparameters.number(scale, "scale", errors.describe(self), 0, 1)
        if interpolation not in ("bilinear", "nearest"):
            raise errors.value_error(self, "interpolation 'bilinear' or 'nearest'", interpolation)
        self.scale = float(scale)
        self.interpolation = interpolation
        self.fill_value = float(fill_value)

    moves_pixels = True

    def draw_transformation(self, images):
        count, _, height, width = images.shape
        probability = self.uniform((count,), *self.factor, images)
        apply = self.uniform((count,), 0.0, 1.0, images) < probability
        moves = self.uniform((count, 4, 2), -0.5 * self.scale, 0.5 * self.scale, images)
        # The corners (0, 0), (w-1, 0), (0, h-1), (w-1, h-1), made on the device: a tensor of
        # them built from host numbers would be copied at every batch.
        corner = torch.arange(4, dtype=torch.float32, device=images.device)
        corners = torch.stack([(corner % 2) * (width - 1), (corner // 2) * (height - 1)], dim=-1)
        corners = corners.expand(count, 4, 2)
        return {
            "apply_perspective": apply,
            "start_points": corners,
            "end_points": corners + corners * moves,
            "input_shape": keras_input_shape(self, images),
        }

    def apply_transformation(self, images, transformation, interpolation=None):
        start, end = (on_device(transformation[k], images) for k in ("start_points", "end_points"))
        warped = perspective_sample(
            images,
            homographies(start.float(), end.float()),
            self.fill_value,
            interpolation or self.interpolation,
        )
        apply = on_device(transformation["apply_perspective"], images).reshape(-1, 1, 1, 1)
        return torch.where(apply, warped, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = drawn_image_size(self, transformation)
        bounding_boxes = boxes_in(self, bounding_boxes, height, width, "xyxy")
        boxes = bounding_boxes["boxes"]
        start, end = (on_device(transformation[k], boxes) for k in ("start_points", "end_points"))
        # The images' homography maps output pixels to input ones: its inverse moves the boxes'
        # corners, and each box becomes the bounding box of its four moved corners (Keras's rule).
        maps = homographies(start.double(), end.double())
        maps = torch.cat([maps, torch.ones_like(maps[:, :1])], dim=1).reshape(-1, 3, 3)
        inverse = torch.linalg.inv_ex(maps)[0]
        batched = boxes if boxes.ndim == 3 else boxes.unsqueeze(0)
        x1, y1, x2, y2 = batched.double().unbind(-1)
        xs = torch.stack([x1, x2, x1, x2], dim=-1)
        ys = torch.stack([y1, y2, y2, y1], dim=-1)
        points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # (N, n, 4 corners, 3)
        moved = torch.einsum("nij,nbcj->nbci", inverse, points)
        xs, ys = moved[..., 0] / moved[..., 2], moved[..., 1] / moved[..., 2]
        warped = torch.stack([xs.amin(-1), ys.amin(-1), xs.amax(-1), ys.amax(-1)], dim=-1)
        apply = on_device(transformation["apply_perspective"], boxes).reshape(-1, 1, 1)
        warped = torch.where(apply, warped.to(boxes.dtype), batched)
        warped = warped if boxes.ndim == 3 else warped.squeeze(0)
        return boxes_out(self, {**bounding_boxes, "boxes": warped}, height, width, "xyxy")

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }
