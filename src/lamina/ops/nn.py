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


# --------------------------------------------------------------------------------------------------
# further activations (torch's functional forms where torch has them)


def _activation(name, fn, doc):
    @symbolic_op(name)
    def op(x):
        return fn(_float(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{doc}\n\nArgs:\n    x: input tensor."
    return op


hard_tanh = _activation("hard_tanh", F.hardtanh, "`x` clipped to [-1, 1].")
log_sigmoid = _activation("log_sigmoid", F.logsigmoid, "`log(sigmoid(x))`, computed stably.")
tanh_shrink = _activation("tanh_shrink", F.tanhshrink, "`x - tanh(x)`.")
sparse_plus = _activation(
    "sparse_plus",
    lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)).to(x.dtype),
    "0 below -1, `(x + 1)**2 / 4` in between, `x` above 1.",
)
sparse_sigmoid = _activation(
    "sparse_sigmoid",
    lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0),
    "0 below -1, `(x + 1) / 2` in between, 1 above 1.",
)


@symbolic_op("celu")
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(_float(x), alpha=alpha)


@symbolic_op("glu")
def glu(x, axis=-1):
    """Gated linear unit: the first half of `axis` times the sigmoid of the second half."""
    return F.glu(_float(x), dim=axis)


@symbolic_op("hard_shrink")
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return F.hardshrink(_float(x), lambd=threshold)


@symbolic_op("soft_shrink")
def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` towards 0, and 0 where `|x| <= threshold`."""
    return F.softshrink(_float(x), lambd=threshold)


@symbolic_op("squareplus")
def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`, a smooth ReLU."""
    x = _float(x)
    return (x + torch.sqrt(x * x + b)) / 2


@symbolic_op("threshold")
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return F.threshold(_float(x), threshold, default_value)


@symbolic_op("sparsemax")
def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`."""
    x = _float(x).movedim(axis, -1)
    z, _ = torch.sort(x, dim=-1, descending=True)
    ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = torch.cumsum(z, dim=-1)
    support = (1 + ranks * z) > cumulative
    k = support.sum(dim=-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, k - 1) - 1) / k.to(z.dtype)
    return torch.clamp(x - tau, min=0).movedim(-1, axis)


# --------------------------------------------------------------------------------------------------
# encodings, rearrangements and measures


@symbolic_op("multi_hot")
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Integer labels -> multi-hot vectors: 1 for each class present in a row.

    Args:
        inputs: `(batch, labels)` integers (or 1-D for one sample).
        num_classes: the length of the encoding.
        axis: where the class axis goes.
        dtype: output dtype (float32 by default).
    """
    num_classes = kwargs.pop("num_tokens", num_classes)
    x = tensor(inputs)
    encoded = one_hot(x, num_classes, axis=axis, dtype=dtype)
    return torch.amax(encoded, dim=1 if x.dim() > 1 else 0)


def _blocks(x, block_size, data_format):
    channels_last = data_format == "channels_last"
    return (x if channels_last else x.permute(0, 2, 3, 1)), channels_last


@symbolic_op("depth_to_space")
def depth_to_space(x, block_size, data_format="channels_last"):
    """Move channel blocks into `block_size x block_size` spatial tiles (TensorFlow's order).

    Args:
        x: `(batch, height, width, channels)` (or channels first); channels divisible by
            `block_size**2`.
        block_size: the tile's side.
        data_format: "channels_last" or "channels_first".
    """
    x, last = _blocks(tensor(x), block_size, data_format)
    b, h, w, c = x.shape
    s = int(block_size)
    y = x.reshape(b, h, w, s, s, c // (s * s)).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(b, h * s, w * s, c // (s * s))
    return y if last else y.permute(0, 3, 1, 2)


@symbolic_op("space_to_depth")
def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of `depth_to_space`: `block_size x block_size` tiles become channels."""
    x, last = _blocks(tensor(x), block_size, data_format)
    b, h, w, c = x.shape
    s = int(block_size)
    y = x.reshape(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(b, h // s, w // s, s * s * c)
    return y if last else y.permute(0, 3, 1, 2)


@symbolic_op("psnr")
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: `20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`."""
    a, b = _float(x1), _float(x2)
    mse = torch.mean((a - b) ** 2)
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=a.dtype)) - 10 * torch.log10(mse)


@symbolic_op("polar")
def polar(abs_, angle):
    """The complex number with magnitude `abs_` and phase `angle`."""
    return torch.polar(_float(abs_), _float(angle))


# --------------------------------------------------------------------------------------------------
# Keras's `ops.nn` namespace also holds the ops implemented in sibling modules.

from lamina.ops.convolution import (  # noqa: E402, F401
    adaptive_average_pool,
    adaptive_max_pool,
    average_pool,
    conv,
    conv_transpose,
    depthwise_conv,
    fold,
    max_pool,
    separable_conv,
    unfold,
)
from lamina.ops.crossentropy import (  # noqa: E402, F401
    binary_crossentropy,
    categorical_crossentropy,
    ctc_decode,
    ctc_loss,
    sparse_categorical_crossentropy,
)
from lamina.ops.normalization import (  # noqa: E402, F401
    batch_normalization,
    dot_product_attention,
    layer_normalization,
    rms_normalization,
)
