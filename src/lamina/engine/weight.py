"""Keras's variable API on a layer's weights, which stay plain torch tensors to torch.

`Layer.add_weight` returns a `TrainableWeight` (an `nn.Parameter`) or a `NonTrainableWeight` (a
tensor registered as a buffer). To torch, autograd, `torch.optim` and `torch.compile` they are
ordinary tensors: neither subclass overrides `__torch_function__`, so ops on them return plain
tensors and never call back into Python. (A subclass still costs CPython a slower attribute
lookup: about 0.3 us more per weight passed to an op, 3 % of the peer MLP's eager epoch.) They
also answer Keras's variable API, so the Keras programs that write `v.value.grad`,
`self.total.assign_add(...)`, `v.path` or `v.numpy()` run unchanged:

    gradients = [v.value.grad for v in model.trainable_weights]  # Keras's torch training loop

A weight has Keras's shape (a Dense kernel is `(input_dim, units)`), and so do these methods, as
`layer.get_weights()` / `set_weights()` and the saved files. A kernel's memory stays in the
order torch's kernels take where they want another (convolutions and recurrent cells:
`Layer.add_weight`'s `layout`, the Keras-shaped tensor a permuted view), so a layer hands
torch a contiguous view and never copies it.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from lamina import backend
from lamina.engine.variable_base import VariableBase

_storage_generation = 0


def storage_generation() -> int:
    """A count that changes whenever a layer's weights may have moved to new storage
    (`module.to(...)`, `.half()`, ...: `Layer._apply`): what holds views of them re-makes them.

    Example:
        >>> before = storage_generation()
        >>> _ = lamina.layers.Dense(1).to(torch.float64)
        >>> storage_generation() > before
        True
    """
    return _storage_generation


def note_new_storage() -> None:
    """Count one move of weights to new storage (see `storage_generation`)."""
    global _storage_generation
    _storage_generation += 1


def stored_weight(layer, name: str, default=None):
    """The tensor registered on `layer` as its weight `name` (a Parameter or a buffer), whatever
    the attribute `layer.<name>` reads: a LoRA layer's `kernel` reads the merged kernel, as
    Keras's property does, while the stored weight is the frozen base. `default` when no such
    weight is registered and the attribute is missing.

    Args:
        layer: the layer (an `nn.Module`).
        name: the weight's registered name.
        default: what to return when neither a weight nor an attribute has that name.

    Returns:
        The registered tensor, or the attribute's value, or `default`.

    Example:
        >>> layer = lamina.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> stored_weight(layer, "kernel") is layer.kernel
        True
    """
    parameters = layer.__dict__.get("_parameters")  # None: not a module (a stand-in layer)
    if parameters is not None:
        tensor = parameters.get(name)
        if tensor is None:
            tensor = layer.__dict__["_buffers"].get(name)
        if tensor is not None:
            return tensor
    return getattr(layer, name, default)


class WeightSlot(property):
    """A class-level property over a weight registered under the same name, for a layer class
    whose attribute reads a value computed from the weight (Keras's `kernel` properties): the
    weight is still registered under `name` by `add_weight`, and `stored_weight` finds it.

    While the layer's attribute `flag` is true the attribute reads `compute(layer)`; otherwise
    it reads the stored weight (or a plain value set on the layer, such as a `None`
    placeholder before build).

    Args:
        name: the weight's (and the attribute's) name.
        compute: `compute(layer)`, the value to read instead of the stored weight.
        flag: the name of the layer's attribute that says when to compute it.

    Example:
        >>> class Doubled(lamina.layers.Layer):
        ...     doubled = False
        ...     w = WeightSlot("w", lambda layer: stored_weight(layer, "w") * 2, "doubled")
        >>> layer = Doubled()
        >>> _ = layer.add_weight(shape=(1,), initializer="ones", name="w")
        >>> layer.w.tolist(), [name for name, _ in layer.named_parameters()]
        ([1.0], ['w'])
        >>> layer.doubled = True
        >>> layer.w.tolist()
        [2.0]
    """

    def __init__(self, name: str, compute, flag: str):
        def read(layer):
            found = layer._parameters.get(name)
            if found is None:
                found = layer._buffers.get(name)
            if found is not None:
                return compute(layer) if getattr(layer, flag) else found
            try:
                return layer.__dict__[name]
            except KeyError:
                raise AttributeError(
                    f"'{type(layer).__name__}' object has no attribute '{name}'"
                ) from None

        def write(layer, value):  # a plain value (a placeholder); weights register themselves
            layer.__dict__[name] = value

        def delete(layer):
            try:
                del layer.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None

        super().__init__(read, write, delete, f"The layer's `{name}` weight.")
        self.slot_name = name


class KerasVariableMethods:
    """Keras's `Variable` methods for the two weight classes (mixed into torch tensors).

    `path` (Keras's `"layer/name"`) is an instance attribute, set when the weight is made from
    the name scopes then open (every layer whose call or build made it, as in Keras).

    Example:
        >>> layer = lamina.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> kernel = layer.kernel
        >>> kernel.value is kernel, kernel.name, kernel.path
        (True, 'kernel', 'dense/kernel')
    """

    path: str = ""
    # Keras's flag: an optimizer writes this weight's gradient over it instead of taking a step
    # (float8's scales and amax histories, whose "gradient" is their next value).
    overwrite_with_gradient: bool = False
    # Keras's variable attributes: what `add_weight` was given (the layer applies them).
    constraint = None
    regularizer = None

    @property
    def value(self) -> torch.Tensor:
        """The tensor itself (Keras's `variable.value`: `v.value.grad` is its gradient)."""
        return self

    @property
    def name(self) -> str:
        """The last part of `path` (`"kernel"`)."""
        return self.path.rpartition("/")[2]

    def assign(self, value):
        """Set the value in place; `value` has this weight's shape (Keras's).

        Args:
            value: a number, array, tensor or variable of the same shape.

        Returns:
            This weight.
        """
        value = self._converted(value)
        if value.shape != self.shape:
            raise ValueError(
                f"Weight '{self.path}': assign() expected a value of shape {tuple(self.shape)} "
                f"(the weight's own, as Keras lays it out); received one of shape "
                f"{tuple(value.shape)}. Hint: `layer.get_weights()` shows each weight's shape."
            )
        with torch.no_grad():
            self.copy_(value)
        return self

    def assign_add(self, value):
        """Add `value` (broadcast to this shape) in place.

        Args:
            value: a number, array, tensor or variable.

        Returns:
            This weight.
        """
        with torch.no_grad():
            self.add_(self._converted(value))
        return self

    def assign_sub(self, value):
        """Subtract `value` (broadcast to this shape) in place.

        Args:
            value: a number, array, tensor or variable.

        Returns:
            This weight.
        """
        with torch.no_grad():
            self.sub_(self._converted(value))
        return self

    # torch's operators answer NotImplemented to a NumPy array or a list, so `weight * mask` would
    # fall to NumPy's reflected operator: computed on a detached copy (no gradient) and wrapped
    # back with a deprecation warning. A Keras variable converts the operand and stays a tensor.
    def __add__(self, other):
        return torch.Tensor.__add__(self, _operand(other, self))

    def __sub__(self, other):
        return torch.Tensor.__sub__(self, _operand(other, self))

    def __mul__(self, other):
        return torch.Tensor.__mul__(self, _operand(other, self))

    def __truediv__(self, other):
        return torch.Tensor.__truediv__(self, _operand(other, self))

    def __pow__(self, other):
        return torch.Tensor.__pow__(self, _operand(other, self))

    def __matmul__(self, other):
        return torch.Tensor.__matmul__(self, _operand(other, self))

    def get_shape(self) -> torch.Size:
        """The shape, as `shape` (tf.Variable's name, kept for tf.keras programs such as a
        masked convolution's `kernel_shape = self.conv.kernel.get_shape()`; Keras 3 dropped it).

        Example:
            >>> layer = lamina.layers.Conv2D(4, 3)
            >>> layer.build((None, 8, 8, 2))
            >>> tuple(layer.kernel.get_shape())
            (3, 3, 2, 4)
        """
        return self.shape

    def numpy(self) -> np.ndarray:
        """A NumPy copy of the value, from any device, gradient or not (Keras's layout).

        Returns:
            The array (bfloat16 as `ml_dtypes.bfloat16`).
        """
        return np.array(backend.as_numpy(self))

    def __repr__(self) -> str:
        # Keras's form (torch's would read "Parameter containing: Parameter(TrainableWeight(").
        # Keras names every weight, trainable or not, `Variable` (`print(layer.variables)`).
        value = "(on the meta device)" if self.is_meta else self.numpy()
        return (
            f"<Variable path={self.path}, shape={tuple(self.shape)}, "
            f"dtype={backend.dtype_name(self.dtype)}, value={value}>"
        )

    def _converted(self, value) -> torch.Tensor:
        """`value` as a tensor of this weight's dtype and device."""
        if isinstance(value, VariableBase):
            value = value.value
        if isinstance(value, torch.Tensor):
            return value.detach().to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(value), device=self.device).to(self.dtype)

    def _copied(self, memo: dict, data: torch.Tensor):
        """`copy.deepcopy` of a weight: its class, value and attributes (torch's own deepcopy of
        a Parameter keeps neither the subclass's attributes nor, for a buffer, the subclass)."""
        if id(self) in memo:
            return memo[id(self)]
        grad = self.requires_grad if isinstance(self, nn.Parameter) else None
        copied = as_weight(data.clone(memory_format=torch.preserve_format), type(self), None, grad)
        memo[id(self)] = copied
        copied.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return copied


class TrainableWeight(KerasVariableMethods, nn.Parameter):
    """A trainable weight: an `nn.Parameter` with Keras's variable API.

    Args:
        data: the tensor.
        requires_grad: whether autograd computes its gradient (default True).

    Example:
        >>> w = TrainableWeight(torch.zeros(2))
        >>> _ = w.assign_add([1.0, 2.0])
        >>> w.numpy(), w.trainable, isinstance(w, torch.nn.Parameter)
        (array([1., 2.], dtype=float32), True, True)
    """

    def __new__(cls, data=None, requires_grad=True):
        return super().__new__(cls, data, requires_grad)

    @property
    def trainable(self) -> bool:
        """Whether training updates it (its `requires_grad`; a frozen layer's are False)."""
        return self.requires_grad

    @trainable.setter
    def trainable(self, value) -> None:
        self.requires_grad_(bool(value))

    def __deepcopy__(self, memo):
        return self._copied(memo, self.data)

    def __reduce_ex__(self, protocol):
        # nn.Parameter's own pickling rebuilds a plain Parameter.
        return (_rebuild_weight, (type(self), self.data, self.requires_grad, self.__dict__))


class NonTrainableWeight(KerasVariableMethods, torch.Tensor):
    """A weight training does not update (moving statistics, counters): a buffer tensor with
    Keras's variable API. Build one with `as_weight(tensor, NonTrainableWeight)`.

    Example:
        >>> total = as_weight(torch.zeros(2), NonTrainableWeight)
        >>> _ = total.assign_add(torch.ones(2))
        >>> total.numpy(), total.trainable
        (array([1., 1.], dtype=float32), False)
    """

    # Ops on it run as on a plain tensor and return plain tensors.
    __torch_function__ = torch._C._disabled_torch_function_impl

    trainable = False

    def __deepcopy__(self, memo):
        return self._copied(memo, self.detach())


def as_weight(
    tensor: torch.Tensor, cls: type, path: str | None = None, requires_grad: bool | None = None
) -> torch.Tensor:
    """`tensor` as a weight of class `cls`, sharing its storage.

    Args:
        tensor: the value (already on its device, in its dtype and layout).
        cls: `TrainableWeight` or `NonTrainableWeight`.
        path: Keras's path for it (`"dense/kernel"`), or None to leave it unset.
        requires_grad: for a `TrainableWeight`; by default whether its dtype can have a gradient
            (floating or complex).

    Returns:
        The weight (`tensor` itself when it already is one of class `cls`).

    Example:
        >>> w = as_weight(torch.ones(2), TrainableWeight, "dense/bias")
        >>> w.name, w.requires_grad
        ('bias', True)
    """
    if type(tensor) is not cls:
        if cls is TrainableWeight:
            if requires_grad is None:
                requires_grad = tensor.is_floating_point() or tensor.is_complex()
            tensor = TrainableWeight(tensor.detach(), requires_grad=requires_grad)
        else:
            tensor = tensor.detach().as_subclass(NonTrainableWeight)
    elif requires_grad is not None:
        tensor.requires_grad_(requires_grad)
    if path is not None:
        tensor.path = path
    return tensor


def keep_weight_class(tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`tensor` as the same kind of weight as `like`, with its attributes, when `like` was one:
    torch's `.to(...)` of a buffer, or its re-creation of a Parameter, returns a plain tensor.

    Args:
        tensor: the new tensor (e.g. a buffer after `module.to(device)`).
        like: the weight it replaces.

    Returns:
        `tensor`, as a weight when `like` was one.

    Example:
        >>> old = as_weight(torch.zeros(1), NonTrainableWeight, "bn/moving_mean")
        >>> keep_weight_class(old.to(torch.float64), old).path
        'bn/moving_mean'
    """
    cls = type(like)
    if tensor is like or not issubclass(cls, KerasVariableMethods) or type(tensor) is cls:
        return tensor
    kept = as_weight(
        tensor, cls, requires_grad=tensor.requires_grad if cls is TrainableWeight else None
    )
    kept.__dict__.update(like.__dict__)
    return kept


def _operand(other, weight: torch.Tensor):
    """`other` as a tensor on `weight`'s device when it is a NumPy array or a list (which
    torch's operators refuse); anything else as it came."""
    if isinstance(other, np.ndarray):
        return torch.as_tensor(other, device=weight.device)
    if isinstance(other, (list, tuple)):
        return torch.tensor(other, device=weight.device)  # Python floats: float32, as in Keras
    return other


def _rebuild_weight(cls, data, requires_grad, attributes):
    weight = as_weight(data, cls, requires_grad=requires_grad)
    weight.__dict__.update(attributes)
    return weight
