"""Normalisation and attention ops (Keras's `ops.nn`): batch, layer and RMS normalisation, and
scaled dot-product attention, on torch's fused kernels where their semantics agree.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import func_transforms
from lamina.ops.core import floating, narrows_64_bits, symbolic_op, tensor


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
    """Normalize `x` with given per-channel statistics: `(x - mean) / sqrt(variance + epsilon)`.

    The result is then multiplied by `scale` and shifted by `offset` when they are given. Integer
    inputs are computed in float32.

    Args:
        x: input tensor.
        mean: the per-channel means, 1-D with the size of `axis` (or broadcastable to `x`).
        variance: the per-channel variances, shaped like `mean`.
        axis: the channel axis the 1-D statistics run along.
        offset: an optional per-channel shift, shaped like `mean` (default None).
        scale: an optional per-channel gain, shaped like `mean` (default None).
        epsilon: a small number added to the variance (default 1e-3).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> lamina.ops.batch_normalization(x, [2.0, 20.0], [1.0, 100.0], axis=1, epsilon=0.0)
        tensor([[-1., -1.],
                [ 1.,  1.]])
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
    """Normalize `x` over the given axes to zero mean and unit variance, then scale and shift.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        gamma: an optional gain, shaped like the normalized axes (default None).
        beta: an optional shift, shaped like the normalized axes (default None).
        axis: the axis or axes to normalize over (default -1).
        epsilon: a small number added to the variance (default None: `lamina.config.epsilon()`).
        **kwargs: `rms_scaling=True`, deprecated in Keras and warned of: `x` is divided by its
            standard deviation without centring and scaled by `gamma`, as Keras computes it
            (`rms_normalization` is the RMS normalization).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> x = torch.tensor([[1.0, 3.0], [0.0, 8.0]])
        >>> lamina.ops.layer_normalization(x, epsilon=0.0)
        tensor([[-1.,  1.],
                [-1.,  1.]])
        >>> lamina.ops.layer_normalization(x, gamma=[2.0, 2.0], beta=[1.0, 1.0], epsilon=0.0)
        tensor([[-1.,  3.],
                [-1.,  3.]])
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    x = floating(tensor(x))
    epsilon = backend.epsilon() if epsilon is None else epsilon
    trailing, axes = _trailing(x, axis)
    if rms_scaling:  # Keras's deprecated form, kept as Keras computes it
        warnings.warn(
            "layer_normalization(rms_scaling=True) is deprecated, as in Keras: it divides by the "
            "standard deviation, not the root mean square. Use rms_normalization() for RMS "
            "normalization.",
            stacklevel=2,
        )
        out = x * torch.rsqrt(torch.var(x, dim=axes, correction=0, keepdim=True) + epsilon)
        return out if gamma is None else out * _along(gamma, x, axes[0])
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
    """Normalize `x` by its root mean square over the given axes, then scale.

    Computes `x / sqrt(mean(x**2) + epsilon) * scale`; unlike layer normalization, it does not
    subtract the mean. Integer inputs are computed in float32.

    Args:
        x: input tensor.
        scale: an optional gain, shaped like the normalized axes (default None).
        axis: the axis or axes to normalize over (default -1).
        epsilon: a small number added to the mean square (default None: `lamina.config.epsilon()`).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.rms_normalization(torch.tensor([[3.0, 4.0]]), epsilon=0.0)
        tensor([[0.8485, 1.1314]])
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


def _large_negative(dtype: torch.dtype) -> float:
    """Keras's stand-in for -inf in masked attention logits: finite, so a row with every key
    masked attends to all of them equally (as Keras), where -inf gives zeros or NaN."""
    return -0.7 * (65500.0 if dtype == torch.float16 else 3.38953e38)


@symbolic_op("dot_product_attention")
@narrows_64_bits
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
    """Scaled dot-product attention over `(batch, sequence, heads, head_dim)` tensors.

    Computes `softmax(query @ key.T * scale + bias) @ value` per head. When `key`/`value` have fewer
    heads than `query` (grouped-query attention), each of their heads serves a group of query heads.

    Args:
        query: `(batch, T, heads, head_dim)` queries.
        key: `(batch, S, kv_heads, head_dim)` keys; `kv_heads` divides `heads`.
        value: `(batch, S, kv_heads, head_dim)` values.
        bias: added to the attention logits, broadcastable to `(batch, heads, T, S)` (default None).
        mask: boolean, broadcastable to `(batch, heads, T, S)`: False positions are not attended
            (default None).
        scale: the factor applied to the logits (default None: `1 / sqrt(head_dim)`).
        is_causal: whether to stop each position attending to later ones (default False).
        flash_attention: accepted for Keras compatibility; torch picks its kernel itself
            (default None).
        attn_logits_soft_cap: if set, the logits become `cap * tanh(logits / cap)` (default None).

    Returns:
        A `(batch, T, heads, head_dim)` tensor, of the promoted dtype of the three inputs.

    Example:
        >>> query = torch.ones(1, 2, 1, 4)
        >>> value = torch.arange(8.0).reshape(1, 2, 1, 4)
        >>> lamina.ops.dot_product_attention(query, query, value, is_causal=True)[0, :, 0]
        tensor([[0., 1., 2., 3.],
                [2., 3., 4., 5.]])
    """
    q, k, v = floating(tensor(query)), tensor(key), tensor(value)
    # Mixed float inputs compute in their promoted dtype (bfloat16 with float16: float32), as Keras.
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    dtype = dtype if dtype.is_floating_point else q.dtype
    q, k, v = (t.to(dtype).transpose(1, 2) for t in (q, k, v))
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
            additive = additive.masked_fill(~allowed, _large_negative(q.dtype))
            attn_mask = additive if attn_mask is None else attn_mask + additive
        out = func_transforms.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, scale=scale
        )
        return out.transpose(1, 2)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias).to(q.dtype)
    if allowed is not None:
        logits = logits.masked_fill(~allowed, _large_negative(q.dtype))
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)
