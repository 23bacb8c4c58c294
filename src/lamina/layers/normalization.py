"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, each on torch's fused kernel where one exists and is accurate.

BatchNormalization keeps Keras's meaning of the moving statistics: `moving = moving * momentum +
batch * (1 - momentum)`, with the *biased* batch variance (torch's own running-stat update would
use the unbiased one, so lamina updates the moving statistics itself). In training, channels-last
inputs on CPU are normalized by batch_statistics.py (torch's fused CPU kernel for that layout sums
too coarsely: DESIGN.md's rule, speed never buys inaccuracy); channels-first contiguous inputs
and CUDA use torch's fused kernel, whose reductions are accurate.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from lamina import backend, constraints, initializers, regularizers
from lamina.engine import channels_first, errors, moving_statistics
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.engine.weight import stored_weight
from lamina.layers import batch_renormalization, spatial
from lamina.layers.batch_statistics import batch_norm_last_axis


def _channels_at_1(x: torch.Tensor, axis: int) -> torch.Tensor:
    """A view with the channel axis at 1, as torch's batch/group norm kernels want.

    Channels-last (N, L, C) is lifted to (N, C, L, 1), a channels_last 4-D view, because torch has
    no channels-last format for 3-D tensors and would copy; 4-D/5-D channels-last views are
    channels_last memory already.
    """
    if axis == 1:
        return x
    if axis == x.dim() - 1 and x.dim() == 3:
        return x.unsqueeze(2).movedim(-1, 1)
    return x.movedim(axis, 1)


def _channels_back(y: torch.Tensor, axis: int, rank: int) -> torch.Tensor:
    """The inverse view of `_channels_at_1`."""
    if axis == 1:
        return y
    if axis == rank - 1:
        return y.movedim(1, -1).squeeze(2) if rank == 3 else spatial.channels_last_view(y)
    return y.movedim(1, axis)


def _fused_kernel_is_accurate(inputs: torch.Tensor, axis: int) -> bool:
    """Whether torch's fused training kernel sums this input accurately.

    CUDA's kernels use Welford's algorithm; on CPU only the channels-first kernel for contiguous
    (N, C, spatial...) memory adds pairwise: its channels-last kernel (which also serves
    (N, C) matrices) adds row by row in float32, see batch_statistics.py.
    """
    if inputs.device.type == "cuda":
        return True
    return axis == 1 and inputs.dim() > 2 and inputs[0, 0].numel() > 1 and inputs.is_contiguous()


def add_scale_and_offset(layer, shape, *, scale=None, center=None) -> None:
    """`gamma` (if `scale`) then `beta` (if `center`), in Keras's order, with the layer's
    initializers, regularizers and constraints; the disabled one is None. `scale` and `center`
    default to the layer's own flags."""
    scale = layer.scale if scale is None else scale
    center = layer.center if center is None else center
    layer.gamma = (
        layer.add_weight(
            name="gamma",
            shape=shape,
            initializer=layer.gamma_initializer,
            regularizer=layer.gamma_regularizer,
            constraint=layer.gamma_constraint,
        )
        if scale
        else None
    )
    layer.beta = (
        layer.add_weight(
            name="beta",
            shape=shape,
            initializer=layer.beta_initializer,
            regularizer=layer.beta_regularizer,
            constraint=layer.beta_constraint,
        )
        if center
        else None
    )


def shape_with_axes_checked(layer, input_shape, axis) -> tuple:
    """A normalization's compute_output_shape, as Keras's: the input's shape, once each axis fits
    its rank. Nothing is built, so sizes may be unknown anywhere, the normalized axes included."""
    input_shape = tuple(input_shape)
    rank = len(input_shape)
    for one in axis if isinstance(axis, (list, tuple)) else [axis]:
        if not -rank <= one < rank:
            raise errors.value_error(
                layer,
                f"axes in [{-rank}, {rank}) for an input of rank {rank}",
                f"axis={axis} for input shape {errors.format_shape(input_shape)}",
            )
    return input_shape


def _channel_axis(layer, axis: int, input_shape) -> tuple[int, int]:
    """(axis in [1, rank), its size), or the house error."""
    rank = len(input_shape)
    if not -rank <= axis < rank or axis % rank == 0:
        raise errors.value_error(
            layer,
            f"`axis` in [1, {rank - 1}] or [-{rank - 1}, -1] (not the batch axis)",
            f"axis={axis} for input shape {errors.format_shape(input_shape)}",
        )
    axis %= rank
    size = input_shape[axis]
    if size is None:
        raise errors.value_error(
            layer,
            f"a known size on axis {axis}",
            f"shape {errors.format_shape(input_shape)}",
            "give Input() a fixed size on the normalized axis.",
        )
    return axis, int(size)


class BatchNormalization(Layer):
    """Normalizes each channel with batch statistics in training and moving statistics in inference.

    Args:
        axis: the channel axis (default -1, channels-last).
        momentum: weight of the old moving statistics per update (Keras's default 0.99).
        epsilon: added to the variance (Keras's default 1e-3).
        center, scale: whether to learn `beta` and `gamma` (default True both).
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer:
            initializers (defaults: zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the loss (default None).
        beta_constraint, gamma_constraint: projections applied after each optimizer step
            (default None).
        synchronized: recorded in the config for Keras compatibility (default False); lamina
            synchronizes the batch statistics across processes through
            `DataParallel(sync_batchnorm=True)` instead.
        renorm: use batch renormalization (Ioffe, 2017) in training: the batch-normalized
            values are corrected towards moving statistics, `x * r + d`, before gamma and beta;
            adds the non-trainable weights moving_stddev, renorm_mean and renorm_stddev (Keras's
            names and order). Inference is the same as without it (default False).
        renorm_clipping: with renorm, a dict of optional "rmin", "rmax" (bounds of r) and
            "dmax" (d is clipped to [-dmax, dmax]); a missing key does not clip.
        renorm_momentum: with renorm, the momentum of renorm_mean and renorm_stddev, the
            statistics the correction uses (default 0.99); `momentum` still moves the inference
            statistics.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    A BatchNormalization whose `trainable` is False always runs in inference mode, as in Keras.
    Weights in get_weights() order: gamma, beta, moving_mean, moving_variance (then, with
    renorm, moving_stddev, renorm_mean, renorm_stddev). Before build all four are None.

    Call arguments:
        inputs: the tensor to normalize.
        training: True to use (and update the moving averages with) the batch's statistics;
            False or None (outside fit()) to use the moving statistics.

    Input shape: any. Output shape: the same.

    Example:
        >>> layer = BatchNormalization(momentum=0.5)
        >>> x = torch.tensor([[0.0, 2.0], [2.0, 6.0]])
        >>> layer(x, training=True).round(decimals=3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> layer.moving_mean.tolist()  # 0.5 * 0 + 0.5 * batch mean
        [0.5, 2.0]
    """

    supports_masking = True
    preserves_input_shape = True

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
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
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
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = synchronized
        self.renorm = bool(renorm)
        self.renorm_clipping = (
            batch_renormalization.checked_clipping(self, renorm_clipping)
            if self.renorm
            else renorm_clipping
        )
        self.renorm_momentum = float(renorm_momentum)
        # As Keras: the weights read None until build makes them.
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape)
        axis, channels = _channel_axis(self, self.axis, input_shape)
        self._rank = rank
        self._channel_axis = axis
        add_scale_and_offset(self, (channels,))
        self.moving_mean = self.add_weight(
            name="moving_mean",
            shape=(channels,),
            initializer=self.moving_mean_initializer,
            trainable=False,
        )
        self.moving_variance = self.add_weight(
            name="moving_variance",
            shape=(channels,),
            initializer=self.moving_variance_initializer,
            trainable=False,
        )
        if self.renorm:
            batch_renormalization.add_statistics(self, (channels,))
        self.input_spec = InputSpec(ndim=rank, axes={axis: channels})

    def call(self, inputs, training=None, mask=None):
        training = bool(training) and self.trainable
        # torch's kernel wants channels on axis 1: a view, not a copy (channels_last memory format).
        x = _channels_at_1(inputs, self._channel_axis)
        if not training:
            y = torch.nn.functional.batch_norm(
                x,
                self.moving_mean,
                self.moving_variance,
                self.gamma,
                self.beta,
                False,
                0.0,
                self.epsilon,
            )
        elif mask is not None and not self.renorm:  # renorm's statistics ignore a mask
            return self._masked_batch_norm(inputs, mask)
        elif self.renorm:
            last = inputs.movedim(self._channel_axis, -1)
            y = batch_renormalization.renormalize(self, last)
            return y.movedim(-1, self._channel_axis)
        elif _fused_kernel_is_accurate(inputs, self._channel_axis):
            y, mean, inverse_std = torch.native_batch_norm(
                x, self.gamma, self.beta, None, None, True, 0.0, self.epsilon
            )
            moving_statistics.update(self, mean, inverse_std=inverse_std)
        else:
            # Channels last (or an axis in between, moved last): accurate column sums.
            last = inputs.movedim(self._channel_axis, -1)
            y, mean, variance = batch_norm_last_axis(last, self.gamma, self.beta, self.epsilon)
            moving_statistics.update(self, mean, variance=variance)
            return y.movedim(-1, self._channel_axis)
        return _channels_back(y, self._channel_axis, self._rank)

    def _channels_first_role(self):
        if (
            self.built
            and not self.renorm
            and self._rank in (4, 5)
            and self._channel_axis == self._rank - 1
            and type(self).call is BatchNormalization.call
        ):
            return channels_first.SPATIAL
        return None

    def _channels_first_call(self, inputs, training):
        # `call` on the (N, C, *spatial) view of a channels-last input, as `_channels_at_1`
        # would make it.
        if self.renorm:
            return None
        # The registered weights, not through Module.__getattr__ (about 1 us a call, a step).
        gamma, beta = stored_weight(self, "gamma"), stored_weight(self, "beta")
        if not (training and self.trainable):
            moving_mean = stored_weight(self, "moving_mean")
            moving_variance = stored_weight(self, "moving_variance")
            return F.batch_norm(
                inputs, moving_mean, moving_variance, gamma, beta, False, 0.0, self.epsilon
            )
        if _fused_kernel_is_accurate(inputs, self._channel_axis):
            y, mean, inverse_std = torch.native_batch_norm(
                inputs, gamma, beta, None, None, True, 0.0, self.epsilon
            )
            moving_statistics.update(self, mean, inverse_std=inverse_std)
            return y
        y, mean, variance = batch_norm_last_axis(inputs.movedim(1, -1), gamma, beta, self.epsilon)
        moving_statistics.update(self, mean, variance=variance)
        return y.movedim(-1, 1)

    def _masked_batch_norm(self, inputs, mask):
        """Training on a masked batch (e.g. after `Masking`): as Keras, the batch statistics
        count only the unmasked positions; every position is then normalized with them."""
        if mask.dim() != inputs.dim() - 1:
            raise errors.value_error(
                self,
                "a mask with one axis less than the inputs (all but the features)",
                f"mask of shape {errors.format_shape(mask.shape)} for inputs of shape "
                f"{errors.format_shape(inputs.shape)}",
            )
        x = inputs if inputs.dtype in (torch.float32, torch.float64) else inputs.float()
        keep = torch.as_tensor(mask, device=x.device).bool().unsqueeze(-1).expand(x.shape)
        axes = [a for a in range(x.dim()) if a != self._channel_axis]
        count = keep.sum(axes, keepdim=True).to(x.dtype) + backend.epsilon()
        mean = torch.where(keep, x, 0).sum(axes, keepdim=True) / count
        variance = torch.where(keep, x - mean, 0).square().sum(axes, keepdim=True) / count
        moving_statistics.update(self, mean.flatten(), variance=variance.flatten())
        shape = [1] * x.dim()
        shape[self._channel_axis] = -1
        y = (x - mean) * torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma.view(shape)
        if self.beta is not None:
            y = y + self.beta.view(shape)
        return y.to(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return shape_with_axes_checked(self, input_shape, self.axis)

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
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (the features), with a learned scale and offset.

    Args:
        axis: int or list of ints, the axes normalized together (default -1, the features).
        epsilon: added to the variance (Keras's default 1e-3).
        center, scale: whether to learn `beta` (offset) and `gamma` (scale).
        rms_scaling: as Keras: no centering and no `beta`; the inputs are divided by
            sqrt(variance + epsilon) and multiplied by `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as Keras.

    Input shape: any rank >= 2. Output shape: the same.
    Weights (get_weights() order): gamma, beta, each shaped like the normalized axes.

    When the normalized axes are the trailing ones (the usual case) this is torch's fused
    `layer_norm`; other axes use one `var_mean` reduction.

    Example:
        >>> y = LayerNormalization()(torch.arange(6.0).reshape(2, 3))
        >>> [round(v, 3) for v in y[0].tolist()]
        [-1.224, 0.0, 1.224]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        rms_scaling=False,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        if rms_scaling:  # Keras 3's words: lamina computes it as Keras does, variance and all
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated. This argument incorrectly "
                "scales the input by the variance, not the root mean square. To correctly use "
                "RMS Normalization, please use `keras.layers.RMSNormalization` instead.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        # Kept as given, for get_config (as Keras); build reads rms_scaling as "gamma, no beta".
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = sorted(
            _channel_axis(self, a, input_shape)[0]
            for a in (self.axis if isinstance(self.axis, list) else [self.axis])
        )
        shape = tuple(int(input_shape[a]) for a in axes)
        self._axes = axes
        # As Keras, the built layer's config lists its axes, sorted as given.
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._trailing = axes == list(range(rank - len(axes), rank))
        self._broadcast = tuple(input_shape[a] if a in axes else 1 for a in range(rank))
        add_scale_and_offset(
            self,
            shape,
            scale=self.scale or self.rms_scaling,
            center=self.center and not self.rms_scaling,
        )
        if self._trailing:  # as Keras: any rank whose last axes fit gamma and beta
            self.input_spec = InputSpec(
                min_ndim=len(axes) + 1, axes={a - rank: input_shape[a] for a in axes}
            )
        else:
            self.input_spec = InputSpec(ndim=rank, axes={a: input_shape[a] for a in axes})

    def call(self, inputs):
        if self._trailing and not self.rms_scaling:
            return F.layer_norm(
                inputs, inputs.shape[-len(self._axes) :], self.gamma, self.beta, self.epsilon
            )
        variance, mean = torch.var_mean(inputs, dim=self._axes, correction=0, keepdim=True)
        centred = inputs if self.rms_scaling else inputs - mean
        outputs = centred * torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            outputs = outputs * self.gamma.reshape(self._broadcast)
        if self.beta is not None:
            outputs = outputs + self.beta.reshape(self._broadcast)
        return outputs

    def compute_output_shape(self, input_shape):
        return shape_with_axes_checked(self, input_shape, self.axis)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class UnitNormalization(Layer):
    """Divides each sample by its L2 norm over `axis` (default -1), so the norm becomes 1.

    As Keras, a norm below 1e-12 is replaced by 1e-12 (a zero vector stays zero).

    Args:
        axis: int or list of ints, the axis (axes) the norm is taken over (default -1).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> UnitNormalization()(torch.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        self._build_at_init(UnitNormalization)

    def call(self, inputs):
        norm = torch.linalg.vector_norm(inputs, dim=self.axis, keepdim=True)
        return inputs / norm.clamp_min(1e-12)

    def compute_output_shape(self, input_shape):
        return shape_with_axes_checked(self, input_shape, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
