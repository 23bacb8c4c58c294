"""Activation layers with arguments: ReLU (max_value, negative_slope, threshold), LeakyReLU, ELU,
Softmax. They compute through `lamina.activations`, the one implementation of each function.
"""

from __future__ import annotations

import warnings

from lamina import activations
from lamina.engine import errors, hyperparameters
from lamina.engine.layer import Layer
from lamina.layers.masking_scores import masked_logit


class ReLU(Layer):
    """`max_value`-capped, thresholded, leaky ReLU: `ReLU(6.0)` is ReLU6 (MobileNetV2).

    Args:
        max_value: upper bound of the output (None: unbounded).
        negative_slope: slope below the threshold (0: plain ReLU).
        threshold: inputs below it are scaled by `negative_slope`, measured from it.

    Input shape: any. Output shape: the same.

    Example:
        >>> ReLU(6.0)(torch.tensor([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        hyperparameters.number(max_value, "max_value", errors.describe(self), 0, optional=True)
        hyperparameters.number(negative_slope, "negative_slope", errors.describe(self), 0)
        hyperparameters.number(threshold, "threshold", errors.describe(self))
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)
        self._build_at_init(ReLU)

    def call(self, inputs):
        if self.max_value == 6.0 and self.negative_slope == 0.0 and self.threshold == 0.0:
            return activations.relu6(inputs)  # one fused kernel for MobileNet's ReLU6
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """`x` if `x > 0` else `negative_slope * x` (Keras's default slope 0.3).

    Args:
        negative_slope: slope for negative inputs, >= 0 (default 0.3). Keras 2's name `alpha`
            is accepted too.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> LeakyReLU(negative_slope=0.5)(torch.tensor([-2.0, 0.0, 3.0])).tolist()
        [-1.0, 0.0, 3.0]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name for the slope
            negative_slope = kwargs.pop("alpha")
            # From this line, as Keras warns from its own: Python shows it once per program,
            # not once per LeakyReLU(alpha=...) in a model (a DLwP GAN has six).
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=1
            )
        super().__init__(**kwargs)
        hyperparameters.number(negative_slope, "negative_slope", errors.describe(self), 0)
        self.negative_slope = float(negative_slope)
        self._build_at_init(LeakyReLU)

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """`x` if `x > 0` else `alpha * (exp(x) - 1)`.

    Args:
        alpha: scale of the negative part, which tends to `-alpha` (default 1.0).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> ELU(alpha=2.0)(torch.tensor([-100.0, 0.0, 1.5])).tolist()
        [-2.0, 0.0, 1.5]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self._build_at_init(ELU)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over `axis` (default the last); a boolean `mask` excludes positions.

    Masked positions get a zero output, and a row whose positions are all masked is all zeros
    (as Keras), rather than a uniform distribution.

    Args:
        axis: the axis normalised to sum to 1 (default -1, the last).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the logits.
        mask: optional boolean tensor of the inputs' shape; False marks excluded positions.

    Input shape: any. Output shape: the same.

    Example:
        >>> layer = Softmax()
        >>> layer(torch.zeros(1, 4)).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
        >>> layer(torch.zeros(1, 4), mask=torch.tensor([[True, True, False, False]])).tolist()
        [[0.5, 0.5, 0.0, 0.0]]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        hyperparameters.axis(axis, "axis", errors.describe(self))
        self.axis = axis
        self._build_at_init(Softmax)

    def call(self, inputs, mask=None):
        if mask is None:
            return activations.softmax(inputs, axis=self.axis)
        trailing = zip(mask.shape[::-1], inputs.shape[::-1], strict=False)  # mask may be shorter
        fits = mask.dim() <= inputs.dim() and all(size in (1, wanted) for size, wanted in trailing)
        if not fits:  # a larger mask would silently grow the output; Keras refuses it
            raise errors.value_error(
                self,
                f"a mask broadcastable to the inputs' shape {errors.format_shape(inputs.shape)} "
                "(no more dimensions, no larger sizes)",
                f"a mask of shape {errors.format_shape(mask.shape)}",
            )
        # Keras: masked positions get a large negative logit (-1e9; -3e4 in float16), and the
        # output is zeroed there, so a fully masked row gives zeros rather than a uniform one.
        keep = mask.to(inputs.dtype)
        outputs = activations.softmax(
            inputs + (1.0 - keep) * masked_logit(inputs.dtype), axis=self.axis
        )
        return outputs * keep

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
