"""PReLU: the leaky ReLU whose negative slope is learned, per element or shared along axes."""

from __future__ import annotations

import torch

from lamina import constraints, initializers, regularizers
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


class PReLU(Layer):
    """`x` where `x >= 0`, else `alpha * x`, with `alpha` a learned weight.

    Args:
        alpha_initializer: initializer of `alpha` (Keras's default: zeros, i.e. a plain ReLU).
        alpha_regularizer: penalty on `alpha` added to the loss.
        alpha_constraint: projection applied to `alpha` after each optimizer step.
        shared_axes: axes (1-based, the batch axis is 0) along which one slope is shared; for
            images `shared_axes=[1, 2]` learns one slope per channel.

    Input shape: any, batch first. Output shape: the same.
    `alpha` has the input's shape without the batch axis, with 1 on each shared axis.

    Example:
        >>> layer = PReLU(alpha_initializer=initializers.Constant(0.25))
        >>> layer(torch.tensor([[-4.0, 2.0]])).tolist()
        [[-1.0, 2.0]]
    """

    preserves_input_shape = True

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape):
        alpha_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise errors.value_error(
                    self,
                    f"shared_axes between 1 and {len(input_shape) - 1} (0 is the batch axis)",
                    f"shared_axes={self.shared_axes} for an input of rank {len(input_shape)}",
                )
            alpha_shape[axis - 1] = 1
        if any(d is None for d in alpha_shape):
            raise errors.value_error(
                self,
                "a known size on every axis that is not shared",
                f"shape {errors.format_shape(input_shape)}",
                hint="share the unknown axes through shared_axes=",
            )
        self.alpha = self.add_weight(
            name="alpha",
            shape=alpha_shape,
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        shared = set(self.shared_axes or ())
        self.input_spec = InputSpec(
            ndim=len(input_shape),
            axes={i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared},
        )

    def call(self, inputs):
        return torch.where(inputs >= 0, inputs, inputs * self.alpha)

    def compute_output_shape(self, input_shape):
        # As Keras's: the input's shape, with nothing built (unknown sizes on unshared axes
        # are fine here; building from them is what needs them known).
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
