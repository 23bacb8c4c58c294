"""Neural-network ops (Keras's `ops.nn`): activations, softmax, one-hot, moments, normalize.

The activations are `lamina.activations`' functions (one implementation), made symbolic; the
defaults are those of Keras's `ops` (note `gelu(approximate=True)` here, as in Keras's ops, while
the `"gelu"` activation is exact).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from lamina import activations
from lamina.engine import errors
from lamina.ops.core import symbolic_op, tensor, to_dtype


def _float(x):
    x = tensor(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _checked_axis(x: torch.Tensor, axis, who):
    """`axis` checked against `x`'s rank; None is every axis (one distribution), as in Keras."""
    if axis is None:
        return tuple(range(x.dim()))
    rank = max(x.dim(), 1)  # a scalar takes axis 0 or -1, as torch (softmax of one number is 1)
    for a in axis if isinstance(axis, (tuple, list)) else (axis,):
        if not -rank <= a < rank:
            raise errors.value_error(
                f"{who}()", f"axis in [{-rank}, {rank})", f"axis {a} for rank {x.dim()}"
            )
    return axis


def _is_integer(x: torch.Tensor) -> bool:
    return not (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool)


@symbolic_op("relu")
def relu(x):
    """Rectified linear unit: `max(x, 0)`, element-wise.

    Integer inputs keep their dtype (as in Keras); booleans are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.relu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    x = tensor(x)
    return x.clamp(min=0) if _is_integer(x) else activations.relu(_float(x))


@symbolic_op("relu6")
def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`, element-wise.

    Integer inputs keep their dtype (as in Keras); booleans are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.relu6(torch.tensor([-1.0, 3.0, 9.0]))
        tensor([0., 3., 6.])
    """
    x = tensor(x)
    return x.clamp(0, 6) if _is_integer(x) else activations.relu6(_float(x))


@symbolic_op("sigmoid")
def sigmoid(x):
    """Logistic sigmoid, `1 / (1 + exp(-x))`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sigmoid(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([0.1192, 0.5000, 0.8808])
    """
    return activations.sigmoid(_float(x))


@symbolic_op("softplus")
def softplus(x):
    """Softplus, `log(1 + exp(x))`, element-wise: a smooth ReLU.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.softplus(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([0.1269, 0.6931, 2.1269])
    """
    return activations.softplus(_float(x))


@symbolic_op("softsign")
def softsign(x):
    """Softsign, `x / (1 + |x|)`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.softsign(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.6667,  0.0000,  0.6667])
    """
    return activations.softsign(_float(x))


@symbolic_op("silu")
def silu(x):
    """Sigmoid-weighted linear unit, `x * sigmoid(x)`, element-wise.

    Integer inputs are computed in float32. `swish` is the same op.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.silu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.2384,  0.0000,  1.7616])
    """
    return activations.silu(_float(x))


swish = silu


@symbolic_op("elu")
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for positive `x`, `alpha * (exp(x) - 1)` otherwise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        alpha: the scale of the negative part (default 1.0).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.elu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.8647,  0.0000,  2.0000])
    """
    return activations.elu(_float(x), alpha=alpha)


@symbolic_op("selu")
def selu(x):
    """Scaled ELU: `scale * elu(x, alpha)` with the self-normalizing constants.

    `alpha` is about 1.6733 and `scale` about 1.0507. Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.selu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-1.5202,  0.0000,  2.1014])
    """
    return activations.selu(_float(x))


@symbolic_op("gelu")
def gelu(x, approximate=True):
    """Gaussian error linear unit: `x` weighted by the standard normal CDF at `x`.

    Approximate (the tanh formula) by default, as Keras's `ops.gelu`; the `"gelu"` activation is
    exact. Integer inputs are computed in float32.

    Args:
        x: input tensor.
        approximate: whether to use the tanh approximation (default True) or the exact erf form.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.gelu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.0454,  0.0000,  1.9546])
        >>> lamina.ops.gelu(torch.tensor([-2.0, 0.0, 2.0]), approximate=False)
        tensor([-0.0455,  0.0000,  1.9545])
    """
    return activations.gelu(_float(x), approximate=approximate)


@symbolic_op("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: `x` for positive `x`, `negative_slope * x` otherwise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        negative_slope: the slope below 0 (default 0.2).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.leaky_relu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.4000,  0.0000,  2.0000])
    """
    return activations.leaky_relu(_float(x), negative_slope=negative_slope)


@symbolic_op("hard_sigmoid")
def hard_sigmoid(x):
    """A piecewise-linear sigmoid: `clip(x / 6 + 0.5, 0, 1)`.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.hard_sigmoid(torch.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([0.0000, 0.5000, 0.7500, 1.0000])
    """
    return activations.hard_sigmoid(_float(x))


@symbolic_op("hard_silu")
def hard_silu(x):
    """A piecewise-linear SiLU: `x * hard_sigmoid(x)`.

    Integer inputs are computed in float32. `hard_swish` is the same op.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.hard_silu(torch.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([-0.0000, 0.0000, 1.1250, 4.0000])
    """
    return activations.hard_silu(_float(x))


hard_swish = hard_silu


@symbolic_op("softmax")
def softmax(x, axis=-1):
    """Softmax along an axis: `exp(x)` normalized to sum to 1.

    Integer inputs are computed in float32.

    Args:
        x: input tensor of logits.
        axis: the axis to normalize along (default -1), a tuple of axes normalized together, or
            None for all axes. A softmax over an axis of size 1 warns (it is always 1).

    Returns:
        A floating tensor shaped like `x`, holding probabilities.

    Example:
        >>> lamina.ops.softmax(torch.tensor([[1.0, 1.0], [1.0, 3.0]]))
        tensor([[0.5000, 0.5000],
                [0.1192, 0.8808]])
    """
    x = _float(x)
    axis = _checked_axis(x, axis, "softmax")
    if isinstance(axis, int) and x.dim() and x.shape[axis] == 1:
        warnings.warn(
            f"softmax() over axis {axis} of a tensor of shape {tuple(x.shape)}: that axis has "
            "size 1, so every probability is 1. Did you mean a sigmoid?",
            stacklevel=2,
        )
    return activations.softmax(x, axis=axis)


@symbolic_op("log_softmax")
def log_softmax(x, axis=-1):
    """Logarithm of the softmax along an axis, computed stably.

    Integer inputs are computed in float32.

    Args:
        x: input tensor of logits.
        axis: the axis to normalize along (default -1), a tuple of axes normalized together, or
            None for all axes.

    Returns:
        A floating tensor shaped like `x`, holding log-probabilities.

    Example:
        >>> lamina.ops.log_softmax(torch.tensor([[1.0, 1.0], [1.0, 3.0]]))
        tensor([[-0.6931, -0.6931],
                [-2.1269, -0.1269]])
    """
    x = _float(x)
    return activations.log_softmax(x, axis=_checked_axis(x, axis, "log_softmax"))


@symbolic_op("one_hot")
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Encode integer labels as one-hot vectors.

    Negative labels encode as all-zero vectors.

    Args:
        x: integer tensor of class indices (one outside [0, num_classes) gives zeros).
        num_classes: the length of each one-hot vector.
        axis: where the new class axis goes (default -1: last).
        dtype: dtype of the result (default None: float32).
        sparse: whether to return a sparse tensor (default False); True raises, as in Keras's
            torch backend.

    Returns:
        A tensor with one axis more than `x`, of size `num_classes`.

    Example:
        >>> lamina.ops.one_hot(np.array([0, 2, -1, 3]), 3)
        tensor([[1., 0., 0.],
                [0., 0., 1.],
                [0., 0., 0.],
                [0., 0., 0.]])
    """
    if sparse:
        raise ValueError(
            "one_hot() expects sparse=False; received sparse=True. Hint: lamina's tensors are "
            "dense, as in Keras's torch backend."
        )
    x = tensor(x).long()
    # An index outside [0, num_classes) is a row of zeros, as in Keras on TensorFlow and JAX (a
    # token past an expert's capacity is dropped, not an error).
    valid = (x >= 0) & (x < num_classes)
    encoded = F.one_hot(x.clamp(0, num_classes - 1), num_classes) * valid.unsqueeze(-1)
    encoded = encoded.to(torch.float32 if dtype is None else to_dtype(dtype))
    return encoded if axis == -1 else encoded.movedim(-1, axis)


@symbolic_op("moments")
def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and variance of `x` over the given axes.

    The variance is the population variance (dividing by N), as Keras. Integer inputs are computed
    in float32; float16 inputs too, the results saturated to float16's range (as in Keras).

    Args:
        x: input tensor.
        axes: an axis or a list/tuple of axes to reduce.
        keepdims: whether to keep the reduced axes as size 1 (default False).
        synchronized: whether to average over every replica of a distributed batch (default
            False); on lamina's single process the batch is whole, so the result is the same.

    Returns:
        A tuple `(mean, variance)`.

    Example:
        >>> lamina.ops.moments(torch.tensor([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
        (tensor([2., 4.]), tensor([1., 4.]))
    """
    x = _float(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    if x.dtype != torch.float16:
        variance, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=keepdims)
        return mean, variance
    # float16's range overflows on sums of squares: compute in float32, saturate back (as Keras).
    variance, mean = torch.var_mean(x.float(), dim=axes, correction=0, keepdim=keepdims)
    top = torch.finfo(torch.float16).max
    return mean.clamp(-top, top).half(), variance.clamp(-top, top).half()


@symbolic_op("normalize")
def normalize(x, axis=-1, order=2, epsilon=None):
    """Divide `x` by its norm along an axis.

    Args:
        x: input tensor (integers are computed in float32).
        axis: the axis the norm is taken along (default -1).
        order: the order of the norm, an int >= 1 (default 2: Euclidean).
        epsilon: a lower bound on the norm, against division by zero (default None: 1e-12).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.normalize(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
        tensor([[0.6000, 0.8000],
                [1.0000, 0.0000]])
        >>> lamina.ops.normalize(torch.tensor([[3.0, 1.0]]), order=1)
        tensor([[0.7500, 0.2500]])
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise errors.value_error("normalize() argument `order`", "an int >= 1", repr(order))
    x = _float(x)
    _checked_axis(x, axis, "normalize")
    return F.normalize(x, p=order, dim=axis, eps=1e-12 if epsilon is None else epsilon)


# --------------------------------------------------------------------------------------------------
# further activations (torch's functional forms where torch has them)


def _activation(name, fn, doc, floating=True):
    @symbolic_op(name)
    def op(x):
        x = tensor(x)
        return fn(_float(x) if floating or x.dtype == torch.bool else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{doc}\n\nArgs:\n    x: input tensor."
    return op


hard_tanh = _activation(
    "hard_tanh",
    lambda x: x.clamp(-1, 1) if _is_integer(x) else F.hardtanh(x),
    "`x` clipped to [-1, 1].",
    floating=False,
)
hard_tanh.__doc__ = """`x` clipped to `[-1, 1]`, element-wise.

    Integer inputs keep their dtype (as in Keras); booleans are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.hard_tanh(torch.tensor([-2.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
"""
log_sigmoid = _activation("log_sigmoid", F.logsigmoid, "`log(sigmoid(x))`, computed stably.")
log_sigmoid.__doc__ = """`log(sigmoid(x))`, element-wise, computed stably.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.log_sigmoid(torch.tensor([-100.0, 0.0]))
        tensor([-100.0000,   -0.6931])
"""
tanh_shrink = _activation("tanh_shrink", F.tanhshrink, "`x - tanh(x)`.")
tanh_shrink.__doc__ = """`x - tanh(x)`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.tanh_shrink(torch.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2384,  0.0000,  0.2384])
"""
sparse_plus = _activation(
    "sparse_plus",
    lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)).to(x.dtype),
    "0 below -1, `(x + 1)**2 / 4` in between, `x` above 1.",
)
sparse_plus.__doc__ = """A smooth ReLU that is exactly 0 and `x` outside `[-1, 1]`.

    0 below -1, `(x + 1)**2 / 4` between -1 and 1, `x` above 1. Integer inputs are computed in
    float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sparse_plus(torch.tensor([-2.0, 0.0, 0.5, 2.0]))
        tensor([0.0000, 0.2500, 0.5625, 2.0000])
"""
sparse_sigmoid = _activation(
    "sparse_sigmoid",
    lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0),
    "0 below -1, `(x + 1) / 2` in between, 1 above 1.",
)
sparse_sigmoid.__doc__ = """A piecewise-linear sigmoid: `clip((x + 1) / 2, 0, 1)`.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sparse_sigmoid(torch.tensor([-2.0, 0.0, 0.5, 2.0]))
        tensor([0.0000, 0.5000, 0.7500, 1.0000])
"""


@symbolic_op("celu")
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        alpha: the scale of the negative part (default 1.0).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.celu(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([-0.8647,  0.0000,  2.0000])
    """
    return F.celu(_float(x), alpha=alpha)


@symbolic_op("glu")
def glu(x, axis=-1):
    """Gated linear unit: the first half of `x` along `axis`, times the sigmoid of the second half.

    Integer inputs are computed in float32.

    Args:
        x: input tensor; its size along `axis` must be even.
        axis: the axis that is split in two (default -1).

    Returns:
        A floating tensor shaped like `x` with half the size along `axis`.

    Example:
        >>> lamina.ops.glu(torch.tensor([[1.0, 2.0, 0.0, 100.0]]))
        tensor([[0.5000, 2.0000]])
    """
    return F.glu(_float(x), dim=axis)


@symbolic_op("hard_shrink")
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        threshold: the magnitude at or below which elements become 0 (default 0.5).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.hard_shrink(torch.tensor([-1.0, 0.3, 2.0]))
        tensor([-1.,  0.,  2.])
    """
    return F.hardshrink(_float(x), lambd=threshold)


@symbolic_op("soft_shrink")
def soft_shrink(x, threshold=0.5):
    """Move `x` toward 0 by `threshold`; elements within `threshold` of 0 become 0.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        threshold: the amount of shrinkage (default 0.5).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.soft_shrink(torch.tensor([-1.0, 0.3, 2.0]))
        tensor([-0.5000,  0.0000,  1.5000])
    """
    return F.softshrink(_float(x), lambd=threshold)


@symbolic_op("squareplus")
def squareplus(x, b=4):
    """Squareplus, `(x + sqrt(x**2 + b)) / 2`: a smooth ReLU.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        b: the smoothness; larger values curve more near 0 (default 4).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.squareplus(torch.tensor([-2.0, 0.0, 2.0]))
        tensor([0.4142, 1.0000, 2.4142])
    """
    x = _float(x)
    return (x + torch.sqrt(x * x + b)) / 2


@symbolic_op("threshold")
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`, element-wise.

    The result keeps `x`'s dtype (an integer `x` takes `default_value` cast to it, as Keras);
    `threshold` is compared as given, not truncated to an integer.

    Args:
        x: input tensor.
        threshold: elements above it are kept.
        default_value: the value the other elements take.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.threshold(torch.tensor([-1.0, 0.5, 2.0]), 0.5, -9.0)
        tensor([-9., -9.,  2.])
        >>> lamina.ops.threshold(np.array([1, 5], "uint8"), 2, 0)
        tensor([0, 5], dtype=torch.uint8)
    """
    x = tensor(x)
    if x.is_floating_point():
        return F.threshold(x, threshold, default_value)
    return torch.where(
        x > threshold, x, torch.as_tensor(default_value, device=x.device).to(x.dtype)
    )


@symbolic_op("sparsemax")
def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along an axis.

    Like softmax, the result is non-negative and sums to 1, but low scores get exactly 0.

    Args:
        x: input tensor of scores (integers are computed in float32).
        axis: the axis to normalize along (default -1).

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sparsemax(torch.tensor([[2.0, 1.5, -1.0]]))
        tensor([[0.7500, 0.2500, 0.0000]])
    """
    x = _float(x).movedim(axis, -1)
    if x.shape[-1] == 0:  # nothing to normalize
        return x.movedim(-1, axis)
    z, _ = torch.sort(x, dim=-1, descending=True)
    ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = torch.cumsum(z, dim=-1)
    support = (1 + ranks * z) > cumulative
    # at least one: NaN or infinite scores leave no support, which indexed past the start
    k = support.sum(dim=-1, keepdim=True).clamp(min=1)
    tau = (torch.gather(cumulative, -1, k - 1) - 1) / k.to(z.dtype)
    return torch.clamp(x - tau, min=0).movedim(-1, axis)


# --------------------------------------------------------------------------------------------------
# encodings, rearrangements and measures


@symbolic_op("multi_hot")
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Encode rows of integer labels as multi-hot vectors: 1 for each class present in a row.

    Args:
        inputs: `(batch, labels)` integer tensor, or 1-D for a single sample.
        num_classes: the length of the encoding (`num_tokens` is accepted as an alias).
        axis: where the class axis goes (default -1: last).
        dtype: dtype of the result (default None: float32).
        sparse: accepted for Keras compatibility; the result is always dense.
        **kwargs: `num_tokens`, Keras's older name for `num_classes`.

    Returns:
        A `(batch, num_classes)` tensor, or `(num_classes,)` for 1-D `inputs`.

    Example:
        >>> lamina.ops.multi_hot(np.array([[0, 2], [1, 1]]), num_classes=3)
        tensor([[1., 0., 1.],
                [0., 1., 0.]])
    """
    num_classes = kwargs.pop("num_tokens", num_classes)
    x = tensor(inputs)
    encoded = one_hot(x, num_classes, axis=axis, dtype=dtype)
    return torch.amax(encoded, dim=1 if x.dim() > 1 else 0)


def _blocks(x, block_size, data_format):
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 2:
        raise errors.value_error("block_size", "an int of at least 2", repr(block_size))
    channels_last = data_format == "channels_last"
    return (x if channels_last else x.permute(0, 2, 3, 1)), channels_last


@symbolic_op("depth_to_space")
def depth_to_space(x, block_size, data_format="channels_last"):
    """Rearrange channel blocks into `block_size x block_size` spatial tiles (TensorFlow's order).

    Args:
        x: 4-D image tensor, `(batch, height, width, channels)` for channels last (or channels
            first);
            the channel count must be divisible by `block_size**2`.
        block_size: the side of each spatial tile.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Returns:
        A tensor with height and width multiplied by `block_size` and channels divided by
        `block_size**2`.

    Example:
        >>> x = np.arange(4).reshape(1, 1, 1, 4)
        >>> lamina.ops.depth_to_space(x, 2)[0, :, :, 0]
        tensor([[0, 1],
                [2, 3]])
    """
    x, last = _blocks(tensor(x), block_size, data_format)
    b, h, w, c = x.shape
    s = int(block_size)
    y = x.reshape(b, h, w, s, s, c // (s * s)).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(b, h * s, w * s, c // (s * s))
    return y if last else y.permute(0, 3, 1, 2)


@symbolic_op("space_to_depth")
def space_to_depth(x, block_size, data_format="channels_last"):
    """Rearrange `block_size x block_size` spatial tiles into channels: the inverse of
    `depth_to_space`.

    Args:
        x: 4-D image tensor, `(batch, height, width, channels)` for channels last (or channels
            first);
            height and width must be divisible by `block_size`.
        block_size: the side of each spatial tile.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Returns:
        A tensor with height and width divided by `block_size` and channels multiplied by
        `block_size**2`.

    Example:
        >>> x = np.arange(4).reshape(1, 2, 2, 1)
        >>> lamina.ops.space_to_depth(x, 2)
        tensor([[[[0, 1, 2, 3]]]])
    """
    x, last = _blocks(tensor(x), block_size, data_format)
    b, h, w, c = x.shape
    s = int(block_size)
    y = x.reshape(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5)
    y = y.reshape(b, h // s, w // s, s * s * c)
    return y if last else y.permute(0, 3, 1, 2)


@symbolic_op("psnr")
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio between two images, in decibels.

    Computed as `20 * log10(max_val) - 10 * log10(mean((x1 - x2)**2))` over all elements.

    Args:
        x1: the first image tensor.
        x2: the second image tensor, shaped like `x1`.
        max_val: the largest possible pixel value (such as 1.0 or 255).

    Returns:
        A scalar floating tensor.

    Example:
        >>> lamina.ops.psnr(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.9]), max_val=1.0)
        tensor(23.0103)
    """
    a, b = _float(x1), _float(x2)
    mse = torch.mean((a - b) ** 2)
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=a.dtype)) - 10 * torch.log10(mse)


@symbolic_op("polar")
def polar(abs_, angle):
    """Build complex numbers from magnitudes and phase angles: `abs_ * exp(1j * angle)`.

    Args:
        abs_: the magnitudes (integers are computed in float32).
        angle: the phase angles in radians, shaped like `abs_`.

    Returns:
        A complex tensor shaped like `abs_`.

    Example:
        >>> lamina.ops.polar(torch.tensor([2.0]), torch.tensor([np.pi / 3]))
        tensor([1.0000+1.7321j])
    """
    abs_, angle = _float(abs_), _float(angle)
    dtype = torch.promote_types(abs_.dtype, angle.dtype)  # torch.polar wants one dtype
    return torch.polar(abs_.to(dtype), angle.to(dtype))


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
