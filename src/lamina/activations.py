"""Activations by name: `get('relu')` -> the function, `serialize(fn)` -> its name.

Each function follows Keras's definition (softmax over the last axis, `hard_sigmoid` as
`relu6(x + 3) / 6`, `gelu` exact by default, `leaky_relu` with slope 0.2, `elu` with alpha 1).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from lamina.engine import errors, keras_tensor, saved_logits
from lamina.engine.variable_base import VariableBase


def _takes_any_array(fn):
    """Keras's activations are ops: they also take Variables, NumPy arrays, Python numbers and
    symbolic tensors. Tensors go straight through (the layers' hot path)."""

    @functools.wraps(fn)
    def activation(x, *args, **kwargs):
        if isinstance(x, torch.Tensor):
            return fn(x, *args, **kwargs)
        if isinstance(x, keras_tensor.KerasTensor):
            return keras_tensor.record_operation(fn, x, *args, name=fn.__name__, **kwargs)
        if isinstance(x, VariableBase):
            return fn(x.value, *args, **kwargs)
        array = np.asarray(x)
        if not isinstance(x, np.ndarray):
            # Python numbers and lists: floatx and int32, as Keras converts them
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            elif array.dtype == np.int64:
                array = array.astype(np.int32)
        # (ascontiguousarray would make a 0-d array 1-d: a Python scalar keeps its shape ())
        array = array if array.flags.c_contiguous else np.ascontiguousarray(array)
        return fn(torch.from_numpy(array), *args, **kwargs)

    return activation


@_takes_any_array
def linear(x):
    """The identity: returns `x` unchanged (the activation of a layer built without one).

    Args:
        x: input tensor.

    Examples:
        >>> linear(torch.tensor([-1.0, 2.0])).tolist()
        [-1.0, 2.0]
    """
    return x


@_takes_any_array
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: `max(x, 0)`, with Keras's optional slope, cap and threshold.

    Args:
        x: input tensor.
        negative_slope: slope below `threshold` (default 0: a plain ReLU).
        max_value: the largest output, or None for no cap.
        threshold: values at or below it are mapped to `negative_slope * (x - threshold)`.

    Returns:
        A tensor shaped like `x`.

    Examples:
        >>> relu(torch.tensor([-2.0, 0.5, 8.0])).tolist()
        [0.0, 0.5, 8.0]
        >>> relu(torch.tensor([-2.0, 0.5, 8.0]), negative_slope=0.5, max_value=6.0).tolist()
        [-1.0, 0.5, 6.0]
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return F.relu(x)
    # Keras's order: keep x above the threshold (x at it becomes +0, as below), clip the kept
    # part to [0, max_value], then add the slope's part below the threshold.
    y = F.relu(x) if threshold == 0.0 else torch.where(x > threshold, x, torch.zeros_like(x))
    if max_value is not None:
        # an integer input stays integer, as in Keras (a float cap would promote it)
        y = y.clamp(min=0.0, max=max_value).to(y.dtype)
    if negative_slope != 0.0:
        y = y - negative_slope * F.relu(threshold - x)
    return y


@_takes_any_array
def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Args:
        x: input tensor.

    Examples:
        >>> relu6(torch.tensor([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    return F.relu6(x)


@_takes_any_array
def sigmoid(x):
    """Logistic sigmoid: `1 / (1 + exp(-x))`.

    As Keras on TensorFlow, the output remembers `x`, so a binary cross-entropy loss computes from
    the logits, exactly, in one fused kernel (`lamina.engine.saved_logits`).

    Args:
        x: input tensor.

    Examples:
        >>> sigmoid(torch.tensor([0.0])).tolist()
        [0.5]
    """
    return saved_logits.attach(torch.sigmoid(x), x, "sigmoid")


@_takes_any_array
def tanh(x):
    """Hyperbolic tangent.

    Args:
        x: input tensor.

    Examples:
        >>> tanh(torch.tensor([0.0])).tolist()
        [0.0]
    """
    return torch.tanh(x)


@_takes_any_array
def softmax(x, axis=-1):
    """Softmax along `axis`: `exp(x) / sum(exp(x))`, so each slice sums to 1.

    As Keras on TensorFlow, the output remembers `x` (and `axis`), so a categorical cross-entropy
    loss computes from the logits, exactly, in one fused kernel (`lamina.engine.saved_logits`).

    Args:
        x: input tensor.
        axis: the axis normalized over (default the last, as Keras), or a tuple of axes
            normalized together.

    Examples:
        >>> [round(p, 4) for p in softmax(torch.tensor([0.0, float(np.log(3.0))])).tolist()]
        [0.25, 0.75]
    """
    if isinstance(axis, (tuple, list)):  # one distribution over several axes (torch takes one)
        return torch.exp(x - torch.logsumexp(x, dim=tuple(axis), keepdim=True))
    return saved_logits.attach(torch.softmax(x, dim=axis), x, "softmax", axis)


@_takes_any_array
def log_softmax(x, axis=-1):
    """Log of the softmax along `axis`, computed stably.

    Args:
        x: input tensor.
        axis: the axis normalized over (default the last), or a tuple of axes normalized
            together.

    Examples:
        >>> [round(p, 4) for p in log_softmax(torch.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    if isinstance(axis, (tuple, list)):
        return x - torch.logsumexp(x, dim=tuple(axis), keepdim=True)
    return torch.log_softmax(x, dim=axis)


@_takes_any_array
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for x > 0, `alpha * (exp(x) - 1)` otherwise.

    Args:
        x: input tensor.
        alpha: the scale of the negative part (default 1).

    Examples:
        >>> [round(v, 4) for v in elu(torch.tensor([-1.0, 2.0])).tolist()]
        [-0.6321, 2.0]
    """
    return F.elu(x, alpha=alpha)


@_takes_any_array
def selu(x):
    """Scaled ELU (Klambauer et al., 2017) with its fixed `alpha` and `scale`.

    Args:
        x: input tensor.

    Examples:
        >>> [round(v, 4) for v in selu(torch.tensor([0.0, 1.0])).tolist()]
        [0.0, 1.0507]
    """
    return F.selu(x)


@_takes_any_array
def gelu(x, approximate=False):
    """Gaussian error linear unit: `x * Phi(x)`, exact unless `approximate=True` (the tanh form).

    Args:
        x: input tensor.
        approximate: use the tanh approximation (Keras's default for the function is False).

    Examples:
        >>> [round(v, 4) for v in gelu(torch.tensor([0.0, 1.0])).tolist()]
        [0.0, 0.8413]
    """
    return F.gelu(x, approximate="tanh" if approximate else "none")


@_takes_any_array
def silu(x):
    """Sigmoid linear unit (swish): `x * sigmoid(x)`; `swish` is the same function.

    Args:
        x: input tensor.

    Examples:
        >>> [round(v, 4) for v in silu(torch.tensor([0.0, 1.0])).tolist()]
        [0.0, 0.7311]
    """
    return F.silu(x)


swish = silu


@_takes_any_array
def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: `x` for x >= 0, `negative_slope * x` otherwise.

    Args:
        x: input tensor.
        negative_slope: slope of the negative part (default 0.2, as Keras).

    Examples:
        >>> [round(v, 4) for v in leaky_relu(torch.tensor([-1.0, 3.0])).tolist()]
        [-0.2, 3.0]
    """
    return F.leaky_relu(x, negative_slope=negative_slope)


@_takes_any_array
def softplus(x):
    """Softplus: `log(1 + exp(x))`.

    Args:
        x: input tensor.

    Examples:
        >>> [round(v, 4) for v in softplus(torch.tensor([0.0])).tolist()]
        [0.6931]
    """
    return F.softplus(x)


@_takes_any_array
def softsign(x):
    """Softsign: `x / (1 + |x|)`.

    Args:
        x: input tensor.

    Examples:
        >>> softsign(torch.tensor([-1.0, 3.0])).tolist()
        [-0.5, 0.75]
    """
    return F.softsign(x)


@_takes_any_array
def exponential(x):
    """Exponential: `exp(x)`.

    Args:
        x: input tensor.

    Examples:
        >>> exponential(torch.tensor([0.0])).tolist()
        [1.0]
    """
    return torch.exp(x)


@_takes_any_array
def hard_sigmoid(x):
    # Keras 3: relu6(x + 3) / 6, which torch's hardsigmoid computes in one kernel.
    """Piecewise-linear sigmoid, Keras 3's `relu6(x + 3) / 6`.

    Args:
        x: input tensor.

    Examples:
        >>> hard_sigmoid(torch.tensor([-4.0, 0.0, 4.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return F.hardsigmoid(x)


@_takes_any_array
def hard_silu(x):
    """Hard SiLU (hard swish): `x * hard_sigmoid(x)`; `hard_swish` is the same function.

    Args:
        x: input tensor.

    Examples:
        >>> hard_silu(torch.tensor([-4.0, 0.0, 4.0])).tolist()
        [-0.0, 0.0, 4.0]
    """
    return F.hardswish(x)


hard_swish = hard_silu


@_takes_any_array
def mish(x):
    """Mish: `x * tanh(softplus(x))`.

    Args:
        x: input tensor.

    Examples:
        >>> [round(v, 4) for v in mish(torch.tensor([0.0, 1.0])).tolist()]
        [0.0, 0.8651]
    """
    return F.mish(x)


@_takes_any_array
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)`.

    Args:
        x: input tensor.
        alpha: the scale of the negative part (default 1).

    Examples:
        >>> [round(v, 4) for v in celu(torch.tensor([-1.0, 2.0])).tolist()]
        [-0.6321, 2.0]
    """
    return F.celu(x, alpha=alpha)


@_takes_any_array
def glu(x, axis=-1):
    """Gated linear unit: the first half of `axis` times the sigmoid of the second half.

    Args:
        x: input tensor; its size along `axis` must be even.
        axis: the axis split in two (default the last).

    Examples:
        >>> glu(torch.tensor([2.0, 0.0])).tolist()
        [1.0]
    """
    return F.glu(x, dim=axis)


@_takes_any_array
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0.

    Args:
        x: input tensor.
        threshold: the half-width of the zeroed band (default 0.5).

    Examples:
        >>> hard_shrink(torch.tensor([-1.0, 0.25, 2.0])).tolist()
        [-1.0, 0.0, 2.0]
    """
    return F.hardshrink(x, lambd=threshold)


@_takes_any_array
def soft_shrink(x, threshold=0.5):
    """`x` shrunk towards 0 by `threshold`, and 0 inside `[-threshold, threshold]`.

    Args:
        x: input tensor.
        threshold: the amount of shrinkage (default 0.5).

    Examples:
        >>> soft_shrink(torch.tensor([-1.0, 0.25, 2.0])).tolist()
        [-0.5, 0.0, 1.5]
    """
    return F.softshrink(x, lambd=threshold)


@_takes_any_array
def hard_tanh(x):
    """`x` clipped to `[-1, 1]`.

    Args:
        x: input tensor.

    Examples:
        >>> hard_tanh(torch.tensor([-3.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    return F.hardtanh(x)


@_takes_any_array
def tanh_shrink(x):
    """`x - tanh(x)`.

    Args:
        x: input tensor.

    Examples:
        >>> tanh_shrink(torch.tensor([0.0])).tolist()
        [0.0]
    """
    return x - torch.tanh(x)


@_takes_any_array
def log_sigmoid(x):
    """`log(sigmoid(x))`, computed without overflow.

    Args:
        x: input tensor.

    Examples:
        >>> [round(v, 4) for v in log_sigmoid(torch.tensor([0.0, -200.0])).tolist()]
        [-0.6931, -200.0]
    """
    return F.logsigmoid(x)


@_takes_any_array
def sparse_plus(x):
    """0 for x <= -1, `(x + 1)^2 / 4` for -1 < x < 1, `x` for x >= 1 (a smooth ReLU).

    Args:
        x: input tensor.

    Examples:
        >>> sparse_plus(torch.tensor([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.25, 2.0]
    """
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


@_takes_any_array
def sparse_sigmoid(x):
    """0 for x <= -1, `(x + 1) / 2` for -1 < x < 1, 1 for x >= 1.

    Args:
        x: input tensor.

    Examples:
        >>> sparse_sigmoid(torch.tensor([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return (0.5 * (x + 1)).clamp(0.0, 1.0)


@_takes_any_array
def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2`, a smooth ReLU.

    Args:
        x: input tensor.
        b: the smoothness (default 4); `b=0` gives ReLU.

    Examples:
        >>> squareplus(torch.tensor([0.0])).tolist()
        [1.0]
    """
    return (x + torch.sqrt(x * x + b)) / 2


@_takes_any_array
def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`.

    Like softmax, but with exact zeros outside the support (Martins and Astudillo, 2016). Keras
    3.15's torch backend sums the cumulative sums of the whole support where the threshold needs the
    one at its edge, so its outputs need not sum to 1; lamina follows the paper.

    Args:
        x: input tensor.
        axis: the axis projected along (default the last).

    Examples:
        >>> [round(v, 4) for v in sparsemax(torch.tensor([1.0, 0.8, 0.1, -1.0])).tolist()]
        [0.6, 0.4, 0.0, 0.0]
    """
    ordered = torch.sort(x, dim=axis, descending=True).values
    cumulative = ordered.cumsum(dim=axis)
    shape = [1] * x.dim()
    shape[axis] = -1
    ranks = torch.arange(1, x.shape[axis] + 1, device=x.device, dtype=x.dtype).view(shape)
    support = (1 + ranks * ordered) > cumulative
    # at least one: NaN or infinite scores leave no support, which indexed past the start
    size = support.sum(dim=axis, keepdim=True).clamp(min=1)
    tau = (cumulative.gather(axis, size - 1) - 1) / size.to(x.dtype)
    return (x - tau).clamp_min(0.0)


@_takes_any_array
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`.

    Args:
        x: input tensor.
        threshold: the value `x` must exceed to pass through.
        default_value: what replaces the values that do not.

    Examples:
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

# Activations computed value by value, which give the same result on any view of their input: a
# layer may apply them in torch's channels-first layout (layers/spatial.py). Not the sigmoid,
# whose output remembers its logits (saved_logits) where a view of it would not.
_ELEMENTWISE = frozenset(
    {linear, relu, relu6, tanh, elu, selu, gelu, silu, swish, leaky_relu, softplus, softsign}
    | {exponential, hard_sigmoid, hard_silu, hard_swish, mish, celu, hard_tanh}
)


def is_elementwise(activation) -> bool:
    """Whether `activation` is one of lamina's value-by-value activations (see `_ELEMENTWISE`).

    Args:
        activation: any callable, as `get` returns it.

    Example:
        >>> is_elementwise(relu), is_elementwise(softmax), is_elementwise(lambda x: x)
        (True, False, False)
    """
    try:
        return activation in _ELEMENTWISE
    except TypeError:  # an unhashable callable
        return False


def elementwise_kernel(activation):
    """What computes a value-by-value `activation` on a tensor, with no wrapper around it.

    The activations take NumPy arrays, Variables and symbolic tensors too, through a wrapper
    (Keras's activations are ops); ReLU's default form is torch's own `torch.relu` underneath.
    A layer applying its activation on every step calls this instead: one call, not four, of
    host time a GPU step waits on.

    Args:
        activation: any callable, as `get` returns it.

    Returns:
        `torch.relu` for `relu`, the activation itself for the other value-by-value ones
        (`is_elementwise`), None for any other callable.

    Example:
        >>> elementwise_kernel(relu) is torch.relu, elementwise_kernel(softmax)
        (True, None)
    """
    if activation is relu:
        return torch.relu
    return activation if is_elementwise(activation) else None


def get(identifier):
    """An activation function from a name, a callable or None.

    Args:
        identifier: None (gives `linear`), a name such as `"relu"` (case-insensitive) or a
            callable (returned as it is).

    Returns:
        The activation function.

    Examples:
        >>> get("relu") is relu, get(None) is linear
        (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _ACTIVATIONS:
            found = _registered_function(identifier)
            if found is not None:
                return found
            raise errors.unknown_name("activation", identifier, _ACTIVATIONS)
        return _ACTIVATIONS[key]
    if callable(identifier):
        return identifier
    raise TypeError(
        f"activation must be a name or a callable; received {identifier!r} "
        f"of type {type(identifier).__name__}."
    )


def serialize(activation):
    """The name an activation function is saved under (`swish` saves as `"silu"`, as Keras);
    a function registered with `register_keras_serializable` saves as Keras's dict naming it by
    its registered name (`"MyPkg>my_fn"`), and an object with `get_config` (a layer such as
    `ReLU()`) as Keras's dict of its class and config.

    Args:
        activation: one of this module's functions, any named callable, or a callable object
            with `get_config`.

    Examples:
        >>> serialize(relu), serialize(swish)
        ('relu', 'silu')
    """
    for name, fn in _ACTIVATIONS.items():
        if fn is activation:
            return name if name != "swish" else "silu"
    from lamina.saving.object_registration import registered_function_config

    registered = registered_function_config(activation)
    if registered is not None:  # a function registered with register_keras_serializable
        return registered
    if callable(getattr(activation, "get_config", None)):
        # An object (a layer such as ReLU(), a configurable class) saves as Keras saves any
        # object: its class and config, which `deserialize` rebuilds.
        from lamina.saving.keras_entry import serialize_keras_object

        return serialize_keras_object(activation)
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name.")
    return name


def deserialize(config, custom_objects=None):
    """A name (or Keras's `{"class_name": "function", "config": name}` form) -> the function;
    an object's dict (`serialize(ReLU())`) -> the object, rebuilt as loading rebuilds layers.

    Args:
        config: the activation's name or its serialized dict.
        custom_objects: optional mapping of names to user functions.

    Examples:
        >>> deserialize("celu") is celu
        True
    """
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        from lamina.saving.object_serialization import deserialize_keras_object

        return deserialize_keras_object(config, custom_objects=custom_objects)
    if isinstance(config, dict):
        config = config.get("config", config.get("class_name"))
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    if not isinstance(config, str):
        raise TypeError(f"Could not interpret activation config: {config!r}.")
    return get(config)


def _registered_function(name: str):
    """The function registered (register_keras_serializable) as `name`, else None."""
    from lamina.saving.object_registration import get_registered_object

    found = get_registered_object(name)
    return found if callable(found) and not isinstance(found, type) else None


def names() -> list[str]:
    """The sorted names `get` accepts.

    Examples:
        >>> "sparsemax" in names()
        True
    """
    return sorted(_ACTIVATIONS)
