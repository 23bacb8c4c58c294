"""Synchronized BatchNormalization: batch statistics over the global batch, not each rank's share.

`torch.nn.SyncBatchNorm.convert_sync_batchnorm` only knows torch's own BatchNorm modules, so
`DataParallel(sync_batchnorm=True)` gives each lamina BatchNormalization layer a training call
that all-reduces its per-channel sums (two all-reduces per layer and step: the mean, then the
variance around it), through `torch.distributed.nn`'s differentiable all-reduce so the gradient
flows through the global statistics as it would in one process. Inference is unchanged.
"""

from __future__ import annotations

import types

import torch
import torch.distributed as dist

from lamina.distribution import process_group
from lamina.layers import normalization


def convert(model, distribution) -> int:
    """Make every BatchNormalization layer of `model` synchronize its training statistics under
    `distribution` (the active DataParallel, which knows each rank's share of the batch);
    returns how many layers were converted. Batch-renormalizing layers (`renorm=True`) keep
    their own call, on each rank's statistics: the synchronized one knows no renorm correction.
    """
    converted = 0
    for layer in model.modules():
        if (
            isinstance(layer, normalization.BatchNormalization)
            and not layer.renorm
            and "call" not in vars(layer)
        ):
            layer.call = types.MethodType(_synchronized_call, layer)
            layer._synchronized_by = distribution
            converted += 1
    return converted


class _AllReduceSum(torch.autograd.Function):
    """The sum over the ranks; its gradient is the sum of the ranks' gradients (what
    torch.distributed.nn.functional.all_reduce did before torch deprecated it)."""

    @staticmethod
    def forward(ctx, value):
        total = value.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        dist.all_reduce(total)
        return total


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the gradient multiplied by `factor` on the way back."""

    @staticmethod
    def forward(ctx, value, factor):
        ctx.factor = factor
        return value.view_as(value)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def _global_sum(value: torch.Tensor, share: float) -> torch.Tensor:
    """The sum over the ranks, differentiable. DDP weights rank r's gradient by its share f_r of
    the global batch; the statistics' gradient must instead be the f-weighted sum of every rank's
    loss gradient, so it is scaled by f_s going into the all-reduce and by 1/f_r coming out."""
    with process_group.collective("all-reduce BatchNormalization's statistics"):
        total = _AllReduceSum.apply(_ScaleGradient.apply(value, 1.0 / share))
    return _ScaleGradient.apply(total, share)


def _synchronized_call(self, inputs, training=None, mask=None):
    own_call = type(self).call
    if not (bool(training) and self.trainable) or not process_group.distributed():
        return own_call(self, inputs, training=training, mask=mask)
    x = normalization._channels_at_1(inputs, self._channel_axis)
    axes = [0, *range(2, x.dim())]
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    local_count = x.new_full((1,), x.numel() // max(x.shape[1], 1))
    share = self._synchronized_by.batch_fraction
    totals = _global_sum(torch.cat([x.sum(axes), local_count]), share)
    count = totals[-1]
    mean = totals[:-1] / count
    centred = x - mean.view(shape)
    variance = _global_sum((centred * centred).sum(axes), share) / count
    y = centred * torch.rsqrt(variance + self.epsilon).view(shape)
    if self.gamma is not None:
        y = y * self.gamma.view(shape)
    if self.beta is not None:
        y = y + self.beta.view(shape)
    with torch.no_grad():
        momentum = 1.0 - self.momentum
        self.moving_mean.lerp_(mean.detach().to(self.moving_mean.dtype), momentum)
        self.moving_variance.lerp_(variance.detach().to(self.moving_variance.dtype), momentum)
    return normalization._channels_back(y, self._channel_axis, self._rank)
