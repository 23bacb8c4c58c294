"""Regularizing layers: Dropout (more in the convolutional issue: SpatialDropout, GaussianNoise...)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 while training, scaling the rest by 1 / (1 - rate).

    Args:
        rate: fraction of the inputs to drop, in [0, 1].
        noise_shape: shape of the binary mask, broadcast against the input (None for independent).
        seed: unused by the default generator; set `lamina.utils.set_random_seed` for reproducibility.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate(rate, "rate", self)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if self.noise_shape is None:
            return F.dropout(inputs, self.rate, training=True)
        shape = tuple(
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape)
        )
        keep = torch.empty(shape, device=inputs.device, dtype=inputs.dtype).bernoulli_(1.0 - self.rate)
        return inputs * keep / (1.0 - self.rate)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}
