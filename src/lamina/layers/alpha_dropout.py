"""AlphaDropout: dropout that keeps a SELU network's activations at mean 0 and variance 1."""

from __future__ import annotations

from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import noise_draws

# SELU's constants: the value a dropped unit takes is SELU's negative saturation, -alpha * scale.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_DROPPED_VALUE = -_SELU_ALPHA * _SELU_SCALE


class AlphaDropout(Layer):
    """While training, sets a fraction `rate` of inputs to SELU's saturation value, then applies
    the affine map that restores the input's mean and variance; identity in inference.

    Args:
        rate: fraction of the inputs to drop, in [0, 1].
        noise_shape: shape of the drop mask, broadcast against the input (None: independent;
            a None entry takes the input's size on that axis).
        seed: an int to draw the mask from the layer's own `SeedGenerator`: the same seed
            gives the same masks call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).

    Input shape: any. Output shape: the same.

    Example:
        >>> AlphaDropout(0.3)(torch.ones(2, 3)).tolist()  # inference: unchanged
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate(rate, "rate", self)
        self.noise_shape = check.noise_shape(noise_shape, self)
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        self._build_at_init(AlphaDropout)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        shape = (
            inputs.shape
            if self.noise_shape is None
            else tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        )
        draws = noise_draws.uniform(shape, inputs, self.seed_generator)
        kept = (draws >= self.rate).to(inputs.dtype)
        # a and b make the output's mean and variance those of the input (for a SELU input).
        a = ((1.0 - self.rate) * (1.0 + self.rate * _DROPPED_VALUE**2)) ** -0.5
        b = -a * _DROPPED_VALUE * self.rate
        return a * (inputs * kept + _DROPPED_VALUE * (1.0 - kept)) + b

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }
