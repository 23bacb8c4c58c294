"""BatchNormalization with Keras's meaning of momentum, epsilon and the moving statistics.

Keras: `moving = moving * momentum + batch * (1 - momentum)`, with the *biased* batch variance.
torch's running-stat update uses the unbiased variance, so lamina takes the batch statistics from
torch's fused kernel (`native_batch_norm` returns the mean and 1/sqrt(var + eps)) and updates the
moving statistics itself: the normalization stays one fused kernel, the update matches Keras exactly.
"""

from __future__ import annotations

import torch

from lamina import initializers, regularizers
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


class BatchNormalization(Layer):
    """Normalizes each channel with batch statistics in training and moving statistics in inference.

    Args:
        axis: the channel axis (default -1, channels-last).
        momentum: weight of the old moving statistics per update (Keras's default 0.99).
        epsilon: added to the variance (Keras's default 1e-3).
        center, scale: whether to learn `beta` and `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer,
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as Keras.

    A BatchNormalization whose `trainable` is False always runs in inference mode, as in Keras.
    Weights in get_weights() order: gamma, beta, moving_mean, moving_variance.
    """

    supports_masking = True

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = int(axis) if not isinstance(axis, (list, tuple)) else int(axis[0])
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.synchronized = synchronized

    def build(self, input_shape):
        rank = len(input_shape)
        axis = self.axis % rank
        if axis == 0:
            raise errors.value_error(self, "axis != 0 (the batch axis)", f"axis={self.axis}")
        channels = input_shape[axis]
        if channels is None:
            raise errors.value_error(self, "a known size on the channel axis", f"shape {input_shape}")
        self._channel_axis = axis
        self.gamma = self.add_weight(
            "gamma", (channels,), self.gamma_initializer,
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
        ) if self.scale else None
        self.beta = self.add_weight(
            "beta", (channels,), self.beta_initializer,
            regularizer=self.beta_regularizer, constraint=self.beta_constraint,
        ) if self.center else None
        self.moving_mean = self.add_weight(
            "moving_mean", (channels,), self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", (channels,), self.moving_variance_initializer, trainable=False
        )
        self.input_spec = InputSpec(ndim=rank, axes={axis: channels})

    def call(self, inputs, training=None, mask=None):
        training = bool(training) and self.trainable
        # torch's kernel wants channels on axis 1: a view, not a copy (channels_last memory format).
        x = inputs.movedim(self._channel_axis, 1) if self._channel_axis != 1 else inputs
        if not training:
            y = torch.nn.functional.batch_norm(
                x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                False, 0.0, self.epsilon,
            )
        else:
            y, mean, inverse_std = torch.native_batch_norm(
                x, self.gamma, self.beta, None, None, True, 0.0, self.epsilon
            )
            with torch.no_grad():
                variance = inverse_std.pow(-2) - self.epsilon
                self.moving_mean.lerp_(mean.to(self.moving_mean.dtype), 1.0 - self.momentum)
                self.moving_variance.lerp_(variance.to(self.moving_variance.dtype), 1.0 - self.momentum)
        return y.movedim(1, self._channel_axis) if self._channel_axis != 1 else y

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }

