"""Reshaping layers: Flatten, Reshape (more in later issues: Permute, RepeatVector, padding...)."""

from __future__ import annotations

import math

from lamina import backend
from lamina.engine import errors
from lamina.engine.layer import Layer


class Flatten(Layer):
    """Flattens every axis but the batch axis: (batch, 4, 4, 8) -> (batch, 128).

    With `data_format="channels_first"`, the input is first seen channels-last, as Keras does, so the
    flattened order is the same for both formats.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.built = True

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = backend.channels_last_view(inputs)
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise errors.value_error(self, "at most one -1 in target_shape", f"{self.target_shape}")
        self.built = True

    def build(self, input_shape):
        self._check(input_shape)

    def _check(self, input_shape):
        sample = input_shape[1:]
        if any(d is None for d in sample):
            return
        size = math.prod(sample)
        known = math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise errors.value_error(
                self,
                f"an input whose {size if size else ''} values per sample fit target_shape "
                f"{self.target_shape}",
                f"shape {errors.format_shape(input_shape)} ({size} values per sample)",
                "make the product of target_shape equal the number of values per sample.",
            )

    def call(self, inputs):
        self._check(tuple(inputs.shape))
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}
