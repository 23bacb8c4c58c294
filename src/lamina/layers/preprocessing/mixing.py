"""MixUp and CutMix: augmentations that mix each image (and its label) with another image of
the batch, drawn by a random permutation. They take images alone or a dict with "images" and
"labels" (as Keras), and act when training (and, Keras's default, when called without
`training` outside predict/evaluate)."""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine import errors, hyperparameters
from lamina.layers.preprocessing.base import NO_FACTOR, RandomImageLayer, on_device, per_image
from lamina.layers.preprocessing.color_augmentation import keras_factor


class _MixingLayer(RandomImageLayer):
    """Mixes each image with its partner `permutation_order[i]` of the batch; labels mix by
    `mix_weight` (the share of the image's own content), as in Keras's transformation."""

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        labels = torch.as_tensor(labels)
        labels = labels if labels.is_floating_point() else labels.float()
        order = on_device(transformation["permutation_order"], labels).long()
        weights = on_device(transformation["mix_weight"], labels).to(labels.dtype)
        weights = weights.reshape(-1, *[1] * (labels.ndim - 1))
        return weights * labels + (1.0 - weights) * labels[order]

    def _beta(self, count, alpha, like):
        # torch's Beta sampler takes no generator: seed NumPy's from the layer's torch stream.
        seed = int(self.uniform((), 0, 2**31 - 1, like))
        return torch.as_tensor(
            np.random.default_rng(seed).beta(alpha, alpha, size=count),
            dtype=torch.float32,
            device=like.device,
        )

    def _permutation(self, count, like):
        return torch.randperm(count, generator=self._generator(like.device), device=like.device)


class MixUp(_MixingLayer):
    """MixUp (Zhang et al., 2018): `w x_i + (1 - w) x_j` and the same for labels, with `w`
    drawn per image from Beta(alpha, alpha) and `j` from a random permutation of the batch.

    Args:
        alpha: the Beta distribution's parameter (default 0.2: mostly light mixing).
        data_format, seed: as in the other augmentations.

    Call: images, or `{"images": images, "labels": one_hot_labels}` (returns the same); with
    "bounding_boxes" (and a `bounding_box_format`), each image keeps its boxes and gains its
    partner's.

    Example:
        >>> out = MixUp(seed=1)({"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)},
        ...                     training=True)
        >>> bool(torch.allclose(out["labels"].sum(dim=1), torch.ones(4)))
        True
    """

    factor = NO_FACTOR

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        hyperparameters.number(alpha, "alpha", errors.describe(self), 0, open_low=True)
        self.alpha = float(alpha)

    def draw_transformation(self, images):
        count = images.shape[0]
        order = self._permutation(count, images)
        return {"mix_weight": self._beta(count, self.alpha, images), "permutation_order": order}

    def apply_transformation(self, images, transformation, interpolation=None):
        order = on_device(transformation["permutation_order"], images).long()
        weights = per_image(transformation["mix_weight"], images)
        return weights * images + (1.0 - weights) * images[order]

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        # Blended as the images (Keras's rule): soft masks, in floating point.
        return self.transform_labels(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        # Keras's rule: both images show in the blend, so each keeps its boxes and gains its
        # partner's. (Keras joins the labels along the batch axis, parting them from their boxes;
        # here they join along the boxes' axis, as the boxes do.)
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        labels = torch.as_tensor(bounding_boxes["labels"])
        order = on_device(transformation["permutation_order"], boxes).long()
        return {
            **bounding_boxes,
            "boxes": torch.cat([boxes, boxes[order]], dim=1),
            "labels": torch.cat([labels, labels[on_device(order, labels)]], dim=1),
        }

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_MixingLayer):
    """CutMix (Yun et al., 2019): pastes a random box of another image of the batch into each
    image; labels mix by the kept area.

    The box covers a fraction `1 - w` of the image, `w` drawn per image from Beta(a, a) with
    `a` drawn once per batch from `factor`; its position is uniform.

    Args:
        factor: the range of the Beta parameter (a number f: [0, f]).
        seed, data_format: as in the other augmentations.

    Call: images, or `{"images": images, "labels": one_hot_labels}` (returns the same).

    Example:
        >>> out = CutMix(seed=0)(torch.rand(4, 8, 8, 3), training=True)
        >>> tuple(out.shape)
        (4, 8, 8, 3)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))

    moves_pixels = True

    def draw_transformation(self, images):
        count, channels, height, width = images.shape
        alpha = float(self.uniform((), *self.factor, images)) + 1e-6
        ratio = torch.sqrt(1.0 - self._beta(count, alpha, images))
        x0, x1 = self._bounds(count, width, ratio, images)
        y0, y1 = self._bounds(count, height, ratio, images)
        order = self._permutation(count, images)
        rows = torch.arange(height, device=images.device, dtype=torch.float32).reshape(1, 1, -1, 1)
        cols = torch.arange(width, device=images.device, dtype=torch.float32).reshape(1, 1, 1, -1)
        box = (
            (cols >= x0.reshape(-1, 1, 1, 1))
            & (cols < x1.reshape(-1, 1, 1, 1))
            & (rows >= y0.reshape(-1, 1, 1, 1))
            & (rows < y1.reshape(-1, 1, 1, 1))
        )
        weights = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        # Keras's keys; its `batch_masks` (the pasted box) in the layer's data format.
        box = box.expand(count, channels, height, width)
        return {
            "permutation_order": order,
            "batch_masks": box.movedim(1, -1) if self.data_format == "channels_last" else box,
            "mix_weight": weights.reshape(-1, 1, 1, 1),
        }

    def apply_transformation(self, images, transformation, interpolation=None):
        order = on_device(transformation["permutation_order"], images).long()
        box = on_device(transformation["batch_masks"], images)
        box = box.movedim(-1, 1) if self.data_format == "channels_last" else box
        # Every channel shares the box: its first channel serves images and masks alike.
        return torch.where(box[:, :1], images[order], images)

    def _bounds(self, count, length, ratio, like):
        size = ratio * length
        start = self.uniform((count,), 0.0, 1.0, like) * (length - size)
        return start, start + size

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
