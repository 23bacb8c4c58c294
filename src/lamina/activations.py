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


def names() -> list[str]:
    return sorted(_ACTIVATIONS)
