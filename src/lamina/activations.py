"""Activations by name: `get('relu')` -> the function, `serialize(fn)` -> its name.

Each function follows Keras's definition (softmax over the last axis, `hard_sigmoid` as
`relu6(x + 3) / 6`, `gelu` exact by default, `leaky_relu` with slope 0.2, `elu` with alpha 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    below = x < threshold
    y = torch.where(below, negative_slope * (x - threshold), x)
    if max_value is not None:
        y = y.clamp(max=max_value)
    return y


def relu6(x):
    return F.relu6(x)


def sigmoid(x):
    return torch.sigmoid(x)


def tanh(x):
    return torch.tanh(x)


def softmax(x, axis=-1):
    return torch.softmax(x, dim=axis)


def log_softmax(x, axis=-1):
    return torch.log_softmax(x, dim=axis)


def elu(x, alpha=1.0):
    return F.elu(x, alpha=alpha)


def selu(x):
    return F.selu(x)


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def silu(x):
    return F.silu(x)


swish = silu


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(x, negative_slope=negative_slope)


def softplus(x):
    return F.softplus(x)


def softsign(x):
    return F.softsign(x)


def exponential(x):
    return torch.exp(x)


def hard_sigmoid(x):
    # Keras 3: relu6(x + 3) / 6, which torch's hardsigmoid computes in one kernel.
    return F.hardsigmoid(x)


def hard_silu(x):
    return F.hardswish(x)


hard_swish = hard_silu


def mish(x):
    return F.mish(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)."""
    return F.celu(x, alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: the first half of `axis` times the sigmoid of the second half.

    Example:
    >>> glu(torch.tensor([2.0, 0.0])).tolist()
    [1.0]
    """
    return F.glu(x, dim=axis)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return F.hardshrink(x, lambd=threshold)


def soft_shrink(x, threshold=0.5):
    """x shrunk towards 0 by `threshold`, and 0 inside [-threshold, threshold]."""
    return F.softshrink(x, lambd=threshold)


def hard_tanh(x):
    """x clipped to [-1, 1]."""
    return F.hardtanh(x)


def tanh_shrink(x):
    """x - tanh(x)."""
    return x - torch.tanh(x)


def log_sigmoid(x):
    """log(sigmoid(x)), computed without overflow."""
    return F.logsigmoid(x)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1 (a smooth ReLU).

    Example:
    >>> sparse_plus(torch.tensor([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.25, 2.0]
    """
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 for -1 < x < 1, 1 for x >= 1."""
    return (0.5 * (x + 1)).clamp(0.0, 1.0)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth ReLU.

    Example:
    >>> squareplus(torch.tensor([0.0])).tolist()
    [1.0]
    """
    return (x + torch.sqrt(x * x + b)) / 2


def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along `axis` (Martins and
    Astudillo, 2016): like softmax, but exact zeros outside the support.

    Keras 3.15's torch backend sums the cumulative sums of the whole support where the threshold
    needs the one at its edge, so its outputs need not sum to 1; lamina follows the paper.

    Example:
    >>> [round(v, 4) for v in sparsemax(torch.tensor([1.0, 0.8, 0.1, -1.0])).tolist()]
    [0.6, 0.4, 0.0, 0.0]
    """
    ordered = torch.sort(x, dim=axis, descending=True).values
    cumulative = ordered.cumsum(dim=axis)
    shape = [1] * x.dim()
    shape[axis] = -1
    ranks = torch.arange(1, x.shape[axis] + 1, device=x.device, dtype=x.dtype).view(shape)
    support = (1 + ranks * ordered) > cumulative
    size = support.sum(dim=axis, keepdim=True)
    tau = (cumulative.gather(axis, size - 1) - 1) / size.to(x.dtype)
    return (x - tau).clamp_min(0.0)


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`.

    Example:
    >>> threshold(torch.tensor([0.5, 2.0]), 1.0, -1.0).tolist()
    [-1.0, 2.0]
    """
    return F.threshold(x, threshold, default_value)


_ACTIVATIONS = {
    "linear": linear,
    "relu": relu,
    "relu6": relu6,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "silu": silu,
    "swish": swish,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
    "softsign": softsign,
    "exponential": exponential,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "mish": mish,
    "celu": celu,
    "glu": glu,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "hard_tanh": hard_tanh,
    "tanh_shrink": tanh_shrink,
    "log_sigmoid": log_sigmoid,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "squareplus": squareplus,
    "sparsemax": sparsemax,
    "threshold": threshold,
}


def get(identifier):
    """None -> linear; a name -> its function; a callable -> itself."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _ACTIVATIONS:
            raise errors.unknown_name("activation", identifier, _ACTIVATIONS)
        return _ACTIVATIONS[key]
    if callable(identifier):
        return identifier
    raise TypeError(
        f"activation must be a name or a callable; received {identifier!r} "
        f"of type {type(identifier).__name__}."
    )


def serialize(activation) -> str:
    for name, fn in _ACTIVATIONS.items():
        if fn is activation:
            return name if name != "swish" else "silu"
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name.")
    return name


def deserialize(config, custom_objects=None):
    """A name (or Keras's `{"class_name": "function", "config": name}` form) -> the function.

    Args:
        config: the activation's name or its serialized dict.
        custom_objects: optional mapping of names to user functions.

    Example:
    >>> deserialize("celu") is celu
    True
    """
    if isinstance(config, dict):
        config = config.get("config", config.get("class_name"))
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    if not isinstance(config, str):
        raise TypeError(f"Could not interpret activation config: {config!r}.")
    return get(config)


def names() -> list[str]:
    return sorted(_ACTIVATIONS)
