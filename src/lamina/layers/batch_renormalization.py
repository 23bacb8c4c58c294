"""Batch renormalization (Ioffe, 2017): BatchNormalization(renorm=True)'s training step.

Training normalizes with the batch's statistics, then corrects towards moving ones:
`y = ((x - mean) / std * r + d) * gamma + beta`, with `r = std / renorm_std` and
`d = (mean - renorm_mean) / renorm_std` treated as constants (no gradient) and clipped to
`renorm_clipping`. The correction is folded into the scale and offset, so the normalization
itself is the plain one. Inference uses `moving_mean` / `moving_variance` as without renorm.

Keras keeps three more statistics, in this order after moving_variance, and lamina the same so
weights and files move between the two: `moving_stddev` (the inference std, moved with
`momentum`; moving_variance is derived from it), `renorm_mean` and `renorm_stddev` (moved with
`renorm_momentum`, used by the correction). The renorm path is separate from the plain one, which
keeps its fused kernels.
"""

from __future__ import annotations

import math

import torch

from lamina import initializers
from lamina.engine import errors, func_transforms

CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def checked_clipping(layer, clipping) -> dict:
    """`renorm_clipping` as a dict of the keys given (missing ones do not clip), or the house
    error for unknown keys, rmax < rmin or a negative dmax."""
    clipping = dict(clipping or {})
    unknown = sorted(set(clipping) - set(CLIPPING_KEYS))
    if unknown:
        raise errors.value_error(
            layer,
            f"renorm_clipping with keys among {list(CLIPPING_KEYS)}",
            f"the key(s) {unknown}",
        )
    rmin, rmax, dmax = (clipping.get(key) for key in ("rmin", "rmax", "dmax"))
    if rmin is not None and rmax is not None and rmax < rmin:
        raise errors.value_error(
            layer, "renorm_clipping with rmax >= rmin", f"rmax={rmax}, rmin={rmin}"
        )
    if dmax is not None and dmax < 0:
        raise errors.value_error(layer, "renorm_clipping with dmax >= 0", f"dmax={dmax}")
    return clipping


def add_statistics(layer, shape) -> None:
    """moving_stddev, renorm_mean, renorm_stddev: the stddevs start at the square root of the
    moving-variance initializer's values, the mean at the moving-mean initializer's."""
    variance_initializer = layer.moving_variance_initializer

    def stddev_initializer(shape, dtype=torch.float32):
        return torch.sqrt(variance_initializer(shape, dtype=dtype))

    stddev_initializer = initializers.get(stddev_initializer)
    for name, initializer in (
        ("moving_stddev", stddev_initializer),
        ("renorm_mean", layer.moving_mean_initializer),
        ("renorm_stddev", stddev_initializer),
    ):
        setattr(
            layer,
            name,
            layer.add_weight(name=name, shape=shape, initializer=initializer, trainable=False),
        )


def renormalize(layer, last: torch.Tensor) -> torch.Tensor:
    """The training output for `last` (channels on the last axis); updates the statistics."""
    dtype = torch.float64 if last.dtype == torch.float64 else torch.float32
    matrix = last.to(dtype).reshape(-1, last.shape[-1])
    variance, mean = torch.var_mean(matrix, 0, correction=0)
    with torch.no_grad():
        r, d = _correction(layer, mean, variance)
    scale, offset = r, d
    if layer.gamma is not None:  # gamma's gradient goes through the folded correction
        gamma = layer.gamma.to(dtype)
        scale, offset = r * gamma, d * gamma
    if layer.beta is not None:
        offset = offset + layer.beta.to(dtype)
    outputs = (matrix - mean) * (torch.rsqrt(variance + layer.epsilon) * scale) + offset
    _update(layer, mean.detach(), variance.detach())
    return outputs.view(last.shape).to(last.dtype)


def _correction(layer, mean, variance):
    """(r, d), clipped as `renorm_clipping` says."""
    stddev = torch.sqrt(variance + layer.epsilon)
    # The floor keeps an early, near-zero renorm_stddev from blowing r and d up.
    renorm_stddev = layer.renorm_stddev.to(mean.dtype).clamp_min(math.sqrt(layer.epsilon))
    r = stddev / renorm_stddev
    d = (mean - layer.renorm_mean.to(mean.dtype)) / renorm_stddev
    clipping = layer.renorm_clipping
    if clipping.get("rmin") is not None:
        r = r.clamp_min(clipping["rmin"])
    if clipping.get("rmax") is not None:
        r = r.clamp_max(clipping["rmax"])
    if clipping.get("dmax") is not None:
        d = d.clamp(-clipping["dmax"], clipping["dmax"])
    return r, d


@torch.no_grad()
def _update(layer, mean, variance) -> None:
    """renorm_* move with renorm_momentum, moving_* with momentum; moving_variance is the square
    of moving_stddev less epsilon (at least 0), so inference matches plain batch norm's form."""
    stddev = torch.sqrt(variance + layer.epsilon)
    for name, batch, momentum in (
        ("renorm_mean", mean, layer.renorm_momentum),
        ("renorm_stddev", stddev, layer.renorm_momentum),
        ("moving_mean", mean, layer.momentum),
        ("moving_stddev", stddev, layer.momentum),
    ):
        moving = getattr(layer, name)
        new = moving * momentum + batch.to(moving.dtype) * (1.0 - momentum)
        func_transforms.assign(moving, new, layer, name)
    moving_stddev = layer.moving_stddev
    variance = torch.relu(moving_stddev * moving_stddev - layer.epsilon)
    func_transforms.assign(layer.moving_variance, variance, layer, "moving_variance")
