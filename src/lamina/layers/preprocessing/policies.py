"""Augmentation policies built from the other augmentations: RandAugment (a few random
operations per batch) and AugMix (a convex mix of augmentation chains, mixed with the input)."""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine import errors
from lamina.layers.preprocessing.base import RandomImageLayer, value_range_pair
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

    # Its geometric operations draw inside their chain: masks are refused, not left behind.
    moves_pixels = True

    def _build(self, names, factor, value_range, interpolation):
        self._operations = build_operations(names, factor, value_range, interpolation, self.seed)
        self._operations_by_name = dict(zip(names, self._operations, strict=True))


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
    """The named augmentations, in channels-first form, at strength `factor` (a (low, high)
    pair); each draws from its own stream derived from `seed`."""

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
    operations = []
    for i, name in enumerate(names):
        layer = makers[name](seeded(i + 1))
        layer.data_format = "channels_first"  # they run on the policy's NCHW view
        operations.append(layer)
    return operations


class RandAugment(_Policy):
    """RandAugment (Cubuk et al., 2020): `num_ops` operations, each chosen at random per batch
    among shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, at strength `factor`.

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

    def augment(self, images):
        count = len(self._operations)
        for _ in range(self.num_ops):
            choice = int(self.uniform((), 0, count, images).floor().clamp(max=count - 1))
            images = self._operations[choice].transform(images, True)
        return images

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
        if alpha <= 0:
            raise errors.value_error(self, "alpha > 0", f"alpha={alpha}")
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = interpolation
        names = _GEOMETRIC_AND_LEVELS + (_COLOR if self.all_ops else ())
        self._build(names, self.factor, self.value_range, interpolation)

    def augment(self, images):
        # torch's Dirichlet and Beta samplers take no generator: seed NumPy's from our stream.
        rng = np.random.default_rng(int(self.uniform((), 0, 2**31 - 1, images)))
        chain_weights = rng.dirichlet([self.alpha] * self.num_chains)
        keep = float(rng.beta(self.alpha, self.alpha))
        mixed = torch.zeros_like(images)
        choices = len(self._operations) + 1  # the extra choice skips the step
        for weight in chain_weights:
            chained = images
            for _ in range(self.chain_depth):
                choice = int(rng.integers(choices))
                if choice < len(self._operations):
                    chained = self._operations[choice].transform(chained, True)
            mixed = mixed + chained * float(weight)
        return (keep * images + (1.0 - keep) * mixed).clamp(*self.value_range)

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
