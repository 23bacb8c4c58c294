"""GroupNormalization on torch's fused group-norm kernel, channels-last without copies.

torch 2.13's CPU group-norm backward on a channels_last tensor crashes (segmentation fault) when
the input's gradient is not requested (a GroupNormalization right after the data, or
`torch.autograd.grad` asked for the weights only), while the same kernel asked for every gradient
works. `_GroupNorm` therefore always asks the backward kernel for all three gradients and drops
the ones nobody wants. The fused channels_last kernel is 6x faster than copying to NCHW and back
and 10x faster than elementwise ops (forward + backward, (32, 32, 32, 64), 8 groups, this CPU).

`_GroupNorm` has no vmap rule and no forward-mode derivative; under torch.func transforms the
layer calls torch's group norm on NCHW memory instead (whose backward does not crash), which
torch batches and differentiates, twice too, itself.
"""

from __future__ import annotations

import math

import torch

from lamina import constraints, initializers, regularizers
from lamina.engine import errors, func_transforms
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers.normalization import (
    _channel_axis,
    _channels_at_1,
    _channels_back,
    add_scale_and_offset,
    shape_with_axes_checked,
)


class _GroupNorm(torch.autograd.Function):
    """torch's native group norm, its backward always computing the input's gradient."""

    @staticmethod
    def forward(ctx, x, gamma, beta, groups, epsilon):
        if x.is_cuda:  # the CUDA kernel takes contiguous NCHW only
            x = x.contiguous()
        elif not x.is_contiguous(memory_format=_memory_format_of(x)):
            # The CPU kernel takes NCHW or channels-last; any other view (an input whose last
            # two axes were swapped, `ops.swapaxes(x, -1, -2)`) is copied once.
            x = x.contiguous()
        batch, channels = x.shape[0], x.shape[1]
        positions = math.prod(x.shape[2:])
        y, mean, rstd = torch.native_group_norm(
            x, gamma, beta, batch, channels, positions, groups, epsilon
        )
        ctx.save_for_backward(x, mean, rstd, gamma)
        ctx.sizes = (batch, channels, positions, groups)
        ctx.has_beta = beta is not None
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        x, mean, rstd, gamma = ctx.saved_tensors
        has_gamma = gamma is not None
        if not has_gamma:  # the backward kernel wants a weight even when it was None
            gamma = x.new_ones(x.shape[1])
        grad_x, grad_gamma, grad_beta = torch.ops.aten.native_group_norm_backward(
            grad_output.contiguous(memory_format=_memory_format_of(x)),
            x,
            mean,
            rstd,
            gamma,
            *ctx.sizes,
            [True, has_gamma, ctx.has_beta],
        )
        return (
            grad_x if ctx.needs_input_grad[0] else None,
            grad_gamma if ctx.needs_input_grad[1] else None,
            grad_beta if ctx.needs_input_grad[2] else None,
            None,
            None,
        )


def _transformable_group_norm(x, gamma, beta, groups, epsilon):
    """`_GroupNorm` for torch.func transforms: torch's own group norm, on NCHW memory."""
    return torch.nn.functional.group_norm(x.contiguous(), groups, gamma, beta, epsilon)


def _memory_format_of(x: torch.Tensor) -> torch.memory_format:
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    if x.dim() == 5 and x.is_contiguous(memory_format=torch.channels_last_3d):
        return torch.channels_last_3d
    return torch.contiguous_format


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels (and all spatial positions).

    Args:
        groups: number of channel groups; must divide the channels. -1 means one group per
            channel (instance normalization); 1 normalizes all channels together.
        axis: the channel axis (default -1, channels-last; 1 for channels-first).
        epsilon, center, scale and the beta/gamma initializers, regularizers, constraints:
            as LayerNormalization.

    Input shape: any rank >= 2. Output shape: the same.

    Example:
        >>> tuple(GroupNormalization(groups=2)(torch.randn(2, 5, 5, 4)).shape)
        (2, 5, 5, 4)
    """

    supports_masking = True  # the input's mask passes through, as Keras's

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.groups = -1 if groups == -1 else check.positive_int(groups, "groups", self)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        axis, channels = _channel_axis(self, self.axis, input_shape)
        groups = channels if self.groups == -1 else self.groups
        # As Keras, the built layer reports the groups it made (its config says so, not -1).
        self.groups = groups
        if channels % groups:
            raise errors.value_error(
                self,
                f"a channel count divisible by groups={groups}",
                f"{channels} channels on axis {axis} of shape {errors.format_shape(input_shape)}",
                "choose groups that divides the number of channels.",
            )
        self._channel_axis, self._rank, self._groups = axis, len(input_shape), groups
        add_scale_and_offset(self, (channels,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: channels})

    def call(self, inputs):
        x = _channels_at_1(inputs, self._channel_axis)
        normalize = _GroupNorm.apply
        if func_transforms.active():
            normalize = _transformable_group_norm
        if x.dim() == 2:  # (N, C): one position per channel
            x = x[:, :, None]
            y = normalize(x, self.gamma, self.beta, self._groups, self.epsilon)[:, :, 0]
        else:
            y = normalize(x, self.gamma, self.beta, self._groups, self.epsilon)
        return _channels_back(y, self._channel_axis, self._rank)

    def compute_output_shape(self, input_shape):
        return shape_with_axes_checked(self, input_shape, self.axis)

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
