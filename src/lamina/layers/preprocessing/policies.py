"""Augmentation policies built from the other augmentations: RandAugment (a few random
operations per batch) and AugMix (a convex mix of augmentation chains, mixed with the input).

Each draws, as Keras does, one transformation holding its chosen operations' own
transformations (only the chosen ones: Keras draws every operation's), and applies them to the
images, the segmentation masks and (RandAugment) the bounding boxes alike."""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine import errors, hyperparameters
from lamina.layers.preprocessing.base import RandomImageLayer, float_images, value_range_pair
from lamina.layers.preprocessing.color import RandomBrightness, RandomContrast
from lamina.layers.preprocessing.color_augmentation import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
    keras_factor,
)
from lamina.layers.preprocessing.geometric import RandomRotation, RandomTranslation
from lamina.layers.preprocessing.geometric_augmentation import RandomShear

_GEOMETRIC_AND_LEVELS = (
    "random_shear",
    "random_translation",
    "random_rotation",
    "random_posterization",
    "solarization",
    "auto_contrast",
    "equalization",
)
_COLOR = ("random_brightness", "random_color_degeneration", "random_contrast", "random_sharpness")


class _Policy(RandomImageLayer):
    """A policy's operations, each also under Keras's attribute name (`layer.random_rotation`)."""

    moves_pixels = True

    def _build(self, names, factor, value_range, interpolation):
        self._names = names
        self._operations = build_operations(names, factor, value_range, interpolation, self.seed)
        for operation in self._operations:  # as Keras's, which get the policy's arguments
            operation.data_format = self.data_format
            operation.bounding_box_format = self.bounding_box_format
        self._operations_by_name = dict(zip(names, self._operations, strict=True))

    def _draw(self, name, images):
        """The named operation's transformation for (N, C, H, W) `images` (None: not random)."""
        operation = self._operations_by_name[name]
        if isinstance(operation, RandomImageLayer):
            return operation.draw_transformation(images)
        return None

    def _apply_operation(self, name, images, transformation):
        """(N, C, H, W) images through the named operation's `transformation`."""
        operation = self._operations_by_name[name]
        if transformation is None:  # AutoContrast and Equalization draw nothing
            return operation.transform(images, True)
        return operation.apply_transformation(images, transformation)

    def _apply_to_masks(self, name, masks, transformation):
        """(N, C, H, W) float masks through the named operation: moved by the geometric ones."""
        operation = self._operations_by_name[name]
        if not operation.moves_pixels:
            return masks
        return operation.transform_masks_nchw(masks, transformation, True)


def _operation_property(name):
    def operation(self):
        # As Keras: AugMix(all_ops=False) has no colour operations, so no such attribute.
        found = self._operations_by_name.get(name)
        if found is None:
            raise AttributeError(f"{type(self).__name__} has no {name!r} operation")
        return found

    return property(operation, doc=f"The policy's `{name}` operation.")


for _name in _GEOMETRIC_AND_LEVELS + _COLOR:
    setattr(_Policy, _name, _operation_property(_name))


def build_operations(names, factor, value_range, interpolation, seed):
    """The named augmentations at strength `factor` (a (low, high) pair); each draws from its
    own stream derived from `seed`."""

    def seeded(i):
        return None if seed is None else seed + i

    makers = {
        "random_shear": lambda s: RandomShear(factor, factor, interpolation=interpolation, seed=s),
        "random_translation": lambda s: RandomTranslation(
            factor, factor, interpolation=interpolation, seed=s
        ),
        "random_rotation": lambda s: RandomRotation(factor, interpolation=interpolation, seed=s),
        "random_brightness": lambda s: RandomBrightness(factor, value_range, seed=s),
        "random_color_degeneration": lambda s: RandomColorDegeneration(factor, value_range, seed=s),
        "random_contrast": lambda s: RandomContrast(factor, value_range, seed=s),
        "random_sharpness": lambda s: RandomSharpness(factor, value_range, seed=s),
        "solarization": lambda s: Solarization(factor, factor, value_range, seed=s),
        "random_posterization": lambda s: RandomPosterization(
            max(1, int(8 * factor[1])), value_range, seed=s
        ),
        "auto_contrast": lambda s: AutoContrast(value_range),
        "equalization": lambda s: Equalization(value_range),
    }
    return [makers[name](seeded(i + 1)) for i, name in enumerate(names)]


class RandAugment(_Policy):
    """RandAugment (Cubuk et al., 2020): `num_ops` operations, each chosen at random per batch
    among shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, at strength `factor`.

    Segmentation masks, and bounding boxes (given a `bounding_box_format`), move with the chosen
    geometric operations, in the images' order.

    Args:
        value_range: the pixels' range, (0, 255) by default.
        num_ops: operations applied in turn (2).
        factor: their strength, in [0, 1] (a number f: [0, f]).
        interpolation: for the geometric operations.

    Example:
        >>> layer = RandAugment(seed=0)
        >>> tuple(layer(torch.rand(2, 8, 8, 3) * 255, training=True).shape)
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_ops=2,
        factor=0.5,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_pair(value_range, self)
        if int(num_ops) < 0:
            raise errors.value_error(self, "num_ops >= 0", f"num_ops={num_ops}")
        self.num_ops = int(num_ops)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        self.interpolation = interpolation
        names = _GEOMETRIC_AND_LEVELS[:3] + _COLOR + _GEOMETRIC_AND_LEVELS[3:]
        self._build(names, self.factor, self.value_range, interpolation)

    def draw_transformation(self, images):
        count = len(self._operations)
        choices = [
            int(self.uniform((), 0, count, images).floor().clamp(max=count - 1))
            for _ in range(self.num_ops)
        ]
        # Keras's keys: an operation chosen twice applies its one transformation twice.
        transforms = {}
        for choice in choices:
            name = self._names[choice]
            if name not in transforms:
                transforms[name] = self._draw(name, images)
        return {"transforms": transforms, "layer_idxes": choices}

    def _chosen(self, transformation):
        """The chosen operations' names, in the order they apply."""
        return [self._names[int(choice)] for choice in transformation["layer_idxes"]]

    def apply_transformation(self, images, transformation, interpolation=None):
        transforms = transformation["transforms"]
        for name in self._chosen(transformation):
            images = self._apply_operation(name, images, transforms[name])
        return images

    def transform_masks_nchw(self, masks, transformation, training):
        if not training:
            return masks
        transforms = transformation["transforms"]
        for name in self._chosen(transformation):
            masks = self._apply_to_masks(name, masks, transforms[name])
        return masks

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        # Each chosen operation moves the boxes in the images' order. (Keras moves them once per
        # chosen operation, in its list's order, which parts them from the images when a
        # geometric operation repeats or two come in the other order.)
        transforms = transformation["transforms"]
        for name in self._chosen(transformation):
            operation = self._operations_by_name[name]
            bounding_boxes = operation.transform_bounding_boxes(
                bounding_boxes, transforms[name], training=True
            )
        return bounding_boxes

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_ops": self.num_ops,
            "factor": self.factor,
            "interpolation": self.interpolation,
        }


class AugMix(_Policy):
    """AugMix (Hendrycks et al., 2020): `num_chains` chains of up to `chain_depth` random
    operations, mixed with Dirichlet(alpha) weights, then mixed with the input by a
    Beta(alpha, alpha) weight; clipped to `value_range`.

    Segmentation masks are mixed as the images (soft masks, in floating point); bounding boxes
    pass unchanged, as in Keras (a blend of differently moved images has no one box).

    Args:
        value_range: the pixels' range, (0, 255) by default.
        num_chains: augmentation chains (3).
        chain_depth: operations per chain (3; each step may also be skipped).
        factor: the operations' strength, in [0, 1] (a number f: [0, f]).
        alpha: the Dirichlet and Beta parameter (1.0).
        all_ops: include the colour operations (brightness, colour degeneration, contrast,
            sharpness) besides the geometric and level ones.
        interpolation: for the geometric operations.

    Example:
        >>> layer = AugMix(seed=0)
        >>> tuple(layer(torch.rand(2, 8, 8, 3) * 255, training=True).shape)
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        value_range=(0, 255),
        num_chains=3,
        chain_depth=3,
        factor=0.3,
        alpha=1.0,
        all_ops=True,
        interpolation="bilinear",
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = value_range_pair(value_range, self)
        self.num_chains = int(num_chains)
        self.chain_depth = int(chain_depth)
        self.factor = keras_factor(factor, self, (0.0, 1.0))
        hyperparameters.number(alpha, "alpha", errors.describe(self), 0, open_low=True)
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = interpolation
        names = _GEOMETRIC_AND_LEVELS + (_COLOR if self.all_ops else ())
        self._build(names, self.factor, self.value_range, interpolation)

    def draw_transformation(self, images):
        # torch's Dirichlet and Beta samplers take no generator: seed NumPy's from our stream.
        rng = np.random.default_rng(int(self.uniform((), 0, 2**31 - 1, images)))
        chain_weights = rng.dirichlet([self.alpha] * self.num_chains).tolist()
        keep = float(rng.beta(self.alpha, self.alpha))
        choices = len(self._operations) + 1  # the extra choice skips the step
        chains = []
        for _ in range(self.num_chains):
            steps = [int(rng.integers(choices)) for _ in range(self.chain_depth)]
            names = [self._names[step] for step in steps if step < len(self._operations)]
            chains.append(
                [{"layer_name": name, "transformation": self._draw(name, images)} for name in names]
            )
        # Keras's keys; the weights as host numbers, which the mixing reads.
        return {
            "chain_mixing_weights": chain_weights,
            "weight_sample": keep,
            "chain_transforms": chains,
        }

    def _mix(self, images, transformation, through):
        """`images` mixed with their chains' results, each step applied by `through`."""
        keep = float(transformation["weight_sample"])
        weights, chains = transformation["chain_mixing_weights"], transformation["chain_transforms"]
        mixed = torch.zeros_like(images)
        for weight, chain in zip(weights, chains, strict=True):
            chained = images
            for step in chain:
                chained = through(step["layer_name"], chained, step["transformation"])
            mixed = mixed + chained * float(weight)
        return keep * images + (1.0 - keep) * mixed

    def apply_transformation(self, images, transformation, interpolation=None):
        return self._mix(images, transformation, self._apply_operation).clamp(*self.value_range)

    def transform_masks_nchw(self, masks, transformation, training):
        if not training:
            return masks
        return self._mix(masks, transformation, self._apply_to_masks)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        # Blended as the images (Keras's rule): soft masks, in floating point (as MixUp's).
        masks = float_images(torch.as_tensor(segmentation_masks))
        return super().transform_segmentation_masks(masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        # As Keras: a blend of differently moved images has no one place for a box.
        return bounding_boxes

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "num_chains": self.num_chains,
            "chain_depth": self.chain_depth,
            "factor": self.factor,
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            "interpolation": self.interpolation,
        }
