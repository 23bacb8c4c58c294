"""Normalisation and attention ops (Keras's `ops.nn`): batch, layer and RMS normalisation, and
scaled dot-product attention, on torch's fused kernels where their semantics agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.ops.core import floating, symbolic_op, tensor


def _along(v, x, axis):
    """A 1-D per-channel vector shaped to broadcast along `axis` of `x`."""
    v = tensor(v).to(x.dtype)
    if v.dim() != 1:
        return v
    shape = [1] * x.dim()
    shape[axis % x.dim()] = -1
    return v.reshape(shape)


@symbolic_op("batch_normalization")
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, statistics along `axis`.

    Args:
        x: input tensor.
        mean, variance: per-channel statistics (1-D, the size of `axis`).
        axis: the channel axis.
        offset, scale: optional per-channel shift and gain.
        epsilon: added to the variance.
    """
    x = floating(tensor(x))
    out = (x - _along(mean, x, axis)) * torch.rsqrt(_along(variance, x, axis) + epsilon)
    if scale is not None:
        out = out * _along(scale, x, axis)
    if offset is not None:
        out = out + _along(offset, x, axis)
    return out


def _trailing(x, axis):
    axes = sorted(a % x.dim() for a in (axis if isinstance(axis, (list, tuple)) else (axis,)))
    return axes == list(range(x.dim() - len(axes), x.dim())), axes


@symbolic_op("layer_normalization")
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalise over `axis` to zero mean and unit variance, then scale by `gamma`, add `beta`.

    Args:
        x: input tensor.
        gamma, beta: optional gain and shift, shaped like the normalised axes.
        axis: axis or axes to normalise over.
        epsilon: added to the variance (default: the config's epsilon).
        rms_scaling: normalise by the root mean square only (no centring).
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if rms_scaling:
        return rms_normalization(x, scale=gamma, axis=axis, epsilon=epsilon)
    x = floating(tensor(x))
    epsilon = backend.epsilon() if epsilon is None else epsilon
    trailing, axes = _trailing(x, axis)
    if trailing:
        shape = x.shape[axes[0] :]
        g = None if gamma is None else tensor(gamma).to(x.dtype).reshape(shape)
        b = None if beta is None else tensor(beta).to(x.dtype).reshape(shape)
        return F.layer_norm(x, shape, g, b, epsilon)
    variance, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=True)
    out = (x - mean) * torch.rsqrt(variance + epsilon)
    if gamma is not None:
        out = out * _along(gamma, x, axes[0])
    if beta is not None:
        out = out + _along(beta, x, axes[0])
    return out


@symbolic_op("rms_normalization")
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """`x / sqrt(mean(x**2, axis) + epsilon) * scale`.

    Args:
        x: input tensor.
        scale: optional gain, shaped like the normalised axes.
        axis: axis or axes to normalise over.
        epsilon: added to the mean square (default: the config's epsilon).
    """
    x = floating(tensor(x))
    epsilon = backend.epsilon() if epsilon is None else epsilon
    trailing, axes = _trailing(x, axis)
    if trailing:
        shape = x.shape[axes[0] :]
        weight = None if scale is None else tensor(scale).to(x.dtype).reshape(shape)
        return F.rms_norm(x, shape, weight, epsilon)
    out = x * torch.rsqrt(torch.mean(x * x, dim=axes, keepdim=True) + epsilon)
    return out if scale is None else out * _along(scale, x, axes[0])


@symbolic_op("dot_product_attention")
def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    scale=None,
    is_causal=False,
    flash_attention=None,
    attn_logits_soft_cap=None,
):
    """Scaled dot-product attention on `(batch, seq, heads, head_dim)` tensors.

    Args:
        query: `(B, T, N, H)`.
        key, value: `(B, S, K, H)`, `K` dividing `N` (grouped-query attention repeats them).
        bias: added to the logits, broadcastable to `(B, N, T, S)`.
        mask: boolean, broadcastable to `(B, N, T, S)`; False positions are not attended.
        scale: logit scale (default `1 / sqrt(H)`).
        is_causal: mask future positions.
        flash_attention: accepted for Keras compatibility; torch picks its kernel itself.
        attn_logits_soft_cap: if set, logits become `cap * tanh(logits / cap)`.

    Returns: `(B, T, N, H)`.
    """
    q = floating(tensor(query)).transpose(1, 2)
    k = tensor(key).to(q.dtype).transpose(1, 2)
    v = tensor(value).to(q.dtype).transpose(1, 2)
    if k.shape[1] != q.shape[1]:  # grouped-query attention
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    allowed = None if mask is None else tensor(mask).to(torch.bool)
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if attn_logits_soft_cap is None:
        attn_mask = None if bias is None else tensor(bias).to(q.dtype)
        if allowed is not None:
            additive = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device)
            additive = additive.masked_fill(~allowed, float("-inf"))
            attn_mask = additive if attn_mask is None else attn_mask + additive
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale)
        return out.transpose(1, 2)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias).to(q.dtype)
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)
