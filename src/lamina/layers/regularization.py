"""Regularizing layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
ActivityRegularization.

The noise layers act only in training (`training=True`, or inside `fit`); in inference they
return their input unchanged, as in Keras. A layer given `seed=` draws its noise from its own
`SeedGenerator` (the same masks for the same seed, call after call); without one, from torch's
global generator, which `lamina.utils.set_random_seed` seeds.
"""

from __future__ import annotations

import math

import torch.nn.functional as F

from lamina import backend, regularizers
from lamina.engine import channels_first, errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import noise_draws, spatial


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 while training, scaling the rest by 1 / (1 - rate).

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: shape of the binary mask, broadcast against the input; None entries take
            the input's size (default None: one draw per entry).
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: any. Output shape: the same.

    Example:
        >>> x = torch.ones(2, 1000)
        >>> Dropout(0.5)(x).sum().item()  # outside training: unchanged
        2000.0
        >>> y = Dropout(0.5)(x, training=True)
        >>> sorted(set(y.flatten().tolist()))  # dropped, or kept and scaled by 1 / (1 - 0.5)
        [0.0, 2.0]
        >>> y = Dropout(0.5, noise_shape=(None, 1))(x, training=True)  # one draw per row
        >>> [len(set(row)) for row in y.tolist()]
        [1, 1]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.dropout_rate(rate, "rate", self)
        self.noise_shape = check.noise_shape(noise_shape, self)
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        self._build_at_init(Dropout)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        unseeded = self.seed_generator is None
        fused = inputs.device.type != "cpu" and inputs.is_floating_point()  # F.dropout: floats
        if unseeded and self.noise_shape is None and fused:
            return F.dropout(inputs, self.rate, training=True)  # one fused kernel on GPUs
        shape = (
            inputs.shape
            if self.noise_shape is None
            else tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        )
        return inputs * noise_draws.keep_mask(shape, 1.0 - self.rate, inputs, self.seed_generator)

    def _channels_first_role(self):
        if type(self).call is Dropout.call and self.noise_shape is None:
            return channels_first.ELEMENTWISE
        return None

    def _channels_first_call(self, inputs, training):
        if not training or self.rate == 0.0:
            return inputs
        if self.seed_generator is None and inputs.device.type != "cpu":
            return None  # torch's kernel draws in the order of the channels-last view: `call`
        # The draws `call` makes, for the channels-last shape, seen channels-first.
        shape = (inputs.shape[0], *inputs.shape[2:], inputs.shape[1])
        mask = noise_draws.keep_mask(shape, 1.0 - self.rate, inputs, self.seed_generator)
        return inputs * mask.movedim(-1, 1)

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


class _SpatialDropout(Layer):
    """Drops whole channels (feature maps) instead of single entries."""

    rank = 2
    supports_masking = True  # a Dropout in Keras: a masked sequence's mask passes through

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.dropout_rate(rate, "rate", self)
        self.data_format = backend.standardize_data_format(data_format)
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        # Dropout's argument, which Keras's spatial dropouts leave None: the mask's shape
        # follows data_format instead (one draw per sample and channel).
        self.noise_shape = None
        self.expected_layout = spatial.LAYOUTS[(self.data_format, self.rank)]
        self.input_spec = InputSpec(
            ndim=self.rank + 2, hint=spatial.family_hint(type(self).__name__, self.rank)
        )
        self._build_at_init(_SpatialDropout)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        # One keep/drop draw per (sample, channel), broadcast over the spatial axes: the product
        # keeps the input's memory format (channels-last stays channels-last).
        shape = [1] * inputs.dim()
        shape[0] = inputs.shape[0]
        axis = spatial.channel_axis(self.data_format)
        shape[axis] = inputs.shape[axis]
        # Keras draws a noise_shape mask as uniform draws under the keep probability (its
        # torch.bernoulli of a keep matrix): the same draws, so a seed gives Keras's mask.
        keep = 1.0 - self.rate
        return inputs * noise_draws.keep_mask(shape, keep, inputs, self.seed_generator)

    def get_config(self):
        # Keras's keys: its spatial dropouts take no `trainable`, so a config carrying one
        # would not load there. The dtype stays the policy (Keras's plain dtype string would
        # lose a mixed policy), which Keras reads as well.
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        config.pop("trainable", None)
        config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels): every step of a dropped channel is 0.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: (batch, steps, channels). Output shape: the same.

    Example:
        >>> y = SpatialDropout1D(0.5)(torch.ones(4, 10, 8), training=True)
        >>> bool(((y == 0).all(dim=1) | (y == 2).all(dim=1)).all())
        True
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        # (batch, steps, channels) whatever the global image data format, as Keras's.
        super().__init__(rate, "channels_last", seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of (batch, height, width, channels), as in Tompson et al.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: 'channels_last' (default) or 'channels_first'.
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: the same.

    Example:
        >>> y = SpatialDropout2D(0.5)(torch.ones(2, 4, 4, 8), training=True)
        >>> bool(((y == 0).all(dim=(1, 2)) | (y == 2).all(dim=(1, 2))).all())
        True
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature volumes of (batch, depth, height, width, channels).

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: 'channels_last' (default) or 'channels_first'.
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: (batch, depth, height, width, channels)
    (channels_first: (batch, channels, depth, height, width)). Output shape: the same.

    Example:
        >>> y = SpatialDropout3D(0.5)(torch.ones(2, 3, 3, 3, 4), training=True)
        >>> bool(((y == 0).all(dim=(1, 2, 3)) | (y == 2).all(dim=(1, 2, 3))).all())
        True
    """

    rank = 3


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` while training.

    Args:
        stddev: the noise's standard deviation, >= 0.
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: any. Output shape: the same.

    Example:
        >>> GaussianNoise(0.1)(torch.ones(2, 3)).tolist()  # inference: unchanged
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        if self.stddev < 0:
            raise errors.value_error(self, "`stddev` >= 0", f"stddev={stddev}")
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        self._build_at_init(GaussianNoise)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0.0:
            return inputs
        noise = noise_draws.normal(inputs.shape, inputs, self.seed_generator)
        return inputs + noise * self.stddev

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and stddev sqrt(rate / (1 - rate)) while training.

    Args:
        rate: the drop probability the noise imitates, in [0, 1]; 0 or 1 leave inputs unchanged.
        seed: an int to draw the noise from the layer's own `SeedGenerator`: the same seed
            gives the same noise call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Call arguments:
        inputs: the input tensor.
        training: True to apply the noise; False or None (outside fit()) returns the inputs.

    Input shape: any. Output shape: the same.

    Example:
        >>> GaussianDropout(0.2)(torch.ones(1, 2)).tolist()  # inference: unchanged
        [[1.0, 1.0]]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate(rate, "rate", self)
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        self._build_at_init(GaussianDropout)

    def call(self, inputs, training=None):
        if not training or not 0.0 < self.rate < 1.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = noise_draws.normal(inputs.shape, inputs, self.seed_generator)
        return inputs * (noise * stddev + 1.0)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Passes its input through and adds l1 * sum|x| + l2 * sum(x^2), divided by the batch size,
    to the model's losses (as Keras).

    Args:
        l1: weight of the L1 penalty, sum of |x| (default 0.0).
        l2: weight of the L2 penalty, sum of x ** 2 (default 0.0).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> layer = ActivityRegularization(l1=0.5)
        >>> _ = layer(torch.ones(2, 3))
        >>> [round(float(loss), 3) for loss in layer.losses]
        [1.5]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self._penalty = regularizers.L1L2(l1=self.l1, l2=self.l2)
        self._build_at_init(ActivityRegularization)

    def call(self, inputs):
        if not inputs.is_meta:  # shape inference must not leave a loss behind
            self.add_loss(self._penalty(inputs) / inputs.shape[0])
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
