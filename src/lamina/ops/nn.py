"""Neural-network ops (Keras's `ops.nn`): activations, softmax, one-hot, moments, normalize.

The activations are `lamina.activations`' functions (one implementation), made symbolic; the
defaults are those of Keras's `ops` (note `gelu(approximate=True)` here, as in Keras's ops, while
the `"gelu"` activation is exact).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import activations
from lamina.ops.core import symbolic_op, tensor, to_dtype


def _float(x):
    x = tensor(x)
    return x if x.is_floating_point() else x.to(torch.float32)


@symbolic_op("relu")
def relu(x):
    return activations.relu(_float(x))


@symbolic_op("relu6")
def relu6(x):
    return activations.relu6(_float(x))


@symbolic_op("sigmoid")
def sigmoid(x):
    return activations.sigmoid(_float(x))


@symbolic_op("softplus")
def softplus(x):
    return activations.softplus(_float(x))


@symbolic_op("softsign")
def softsign(x):
    return activations.softsign(_float(x))


@symbolic_op("silu")
def silu(x):
    return activations.silu(_float(x))


swish = silu


@symbolic_op("elu")
def elu(x, alpha=1.0):
    return activations.elu(_float(x), alpha=alpha)


@symbolic_op("selu")
def selu(x):
    return activations.selu(_float(x))


@symbolic_op("gelu")
def gelu(x, approximate=True):
    return activations.gelu(_float(x), approximate=approximate)


@symbolic_op("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    return activations.leaky_relu(_float(x), negative_slope=negative_slope)


@symbolic_op("hard_sigmoid")
def hard_sigmoid(x):
    return activations.hard_sigmoid(_float(x))


@symbolic_op("hard_silu")
def hard_silu(x):
    return activations.hard_silu(_float(x))


hard_swish = hard_silu


@symbolic_op("softmax")
def softmax(x, axis=-1):
    return activations.softmax(_float(x), axis=axis)


@symbolic_op("log_softmax")
def log_softmax(x, axis=-1):
    return activations.log_softmax(_float(x), axis=axis)


@symbolic_op("one_hot")
def one_hot(x, num_classes, axis=-1, dtype=None):
    """Integer labels -> one-hot vectors on `axis` (negative labels give all-zero rows)."""
    x = tensor(x).long()
    valid = x >= 0
    encoded = F.one_hot(x.clamp(min=0), num_classes) * valid.unsqueeze(-1)
    encoded = encoded.to(torch.float32 if dtype is None else to_dtype(dtype))
    return encoded if axis == -1 else encoded.movedim(-1, axis)


@symbolic_op("moments")
def moments(x, axes, keepdims=False):
    """(mean, variance) over `axes` (population variance, as Keras)."""
    x = _float(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    variance, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=keepdims)
    return mean, variance


@symbolic_op("normalize")
def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm along `axis`."""
    return F.normalize(_float(x), p=order, dim=axis, eps=1e-12 if epsilon is None else epsilon)
