"""Rematerialization (gradient checkpointing): `remat(f)` and `RematScope`.

`remat(f)` runs `f` under `torch.utils.checkpoint`: the forward keeps only `f`'s inputs, and the
backward pass runs `f` again to get the activations its gradients need. Values and gradients are
the same as without it (dropout draws the same mask again: the random state is replayed).

A layer created inside `RematScope(mode=...)` remembers the mode, as in Keras, and its calls are
checkpointed by it wherever they run (`Layer.forward` asks `rematerialized_call`).
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import NamedTuple

import torch
import torch.utils.checkpoint
from torch import nn

from lamina.engine import scopes

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)


def remat(f, seed_generators=()):
    """Wrap `f` so that its activations are recomputed in the backward pass, not stored.

    Memory for computation: a wrapped block keeps only its inputs for backpropagation. Outside
    autograd (inference, `torch.no_grad()`) the function simply runs.

    Args:
        f: a callable of tensors (a function, a layer, a layer's `call`).
        seed_generators: the `SeedGenerator`s `f` draws from (a seeded Dropout's): the
            recomputation replays their draws, so it sees the masks the forward saw (torch
            already replays its own global generator).

    Returns:
        A callable with `f`'s arguments and results.

    Example:
        >>> block = remat(lambda x: torch.tanh(x) * 2.0)
        >>> x = torch.ones(3, requires_grad=True)
        >>> block(x).sum().backward()
        >>> torch.allclose(x.grad, 2.0 * (1 - torch.tanh(torch.ones(3)) ** 2))
        True
    """

    @functools.wraps(f)
    def rematerialized(*args, **kwargs):
        if not torch.is_grad_enabled():
            return f(*args, **kwargs)
        if not seed_generators:
            return torch.utils.checkpoint.checkpoint(f, *args, use_reentrant=False, **kwargs)
        states = [generator.state.clone() for generator in seed_generators]
        return torch.utils.checkpoint.checkpoint(
            f,
            *args,
            use_reentrant=False,
            context_fn=lambda: (contextlib.nullcontext(), _replayed(seed_generators, states)),
            **kwargs,
        )

    return rematerialized


@contextlib.contextmanager
def _replayed(seed_generators, states):
    """The generators at `states` for the block, then back where they were."""
    after = [generator.state.clone() for generator in seed_generators]
    for generator, state in zip(seed_generators, states, strict=True):
        generator.state.copy_(state)
    try:
        yield
    finally:
        for generator, state in zip(seed_generators, after, strict=True):
            generator.state.copy_(state)


class RematMode(NamedTuple):
    """The settings of the innermost `RematScope` when a layer was created."""

    mode: str | None
    output_size_threshold: int
    layer_names: list


class RematScope:
    """Layers created inside this scope run rematerialized (gradient checkpointing).

    The mode is taken when a layer is created, as in Keras, and applies to every later call.

    Args:
        mode: `"full"` (every layer), `"activations"` (the activation function of layers that
            have one, e.g. `Dense(..., activation="relu")`), `"larger_than"` (layers whose output
            has more than `output_size_threshold` elements, the batch axis counted as 1 when
            unknown), `"list_of_layers"` (the layers named in `layer_names`), or `None` (none,
            e.g. to switch it off inside an enclosing scope).
        output_size_threshold: the element count `"larger_than"` compares with.
        layer_names: the layer names `"list_of_layers"` rematerializes.

    Example:
        >>> with RematScope(mode="full"):
        ...     dense = lamina.layers.Dense(4, activation="relu")
        >>> x = torch.ones(2, 3, requires_grad=True)
        >>> dense(x).shape
        torch.Size([2, 4])
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(
                f"RematScope(): expected `mode` to be one of {list(_MODES)}; received "
                f"mode={mode!r}."
            )
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc_info):
        _stack().pop()
        return False


def _stack() -> list:
    return scopes.thread_stack("remat")


def current_mode() -> RematMode | None:
    """The innermost open `RematScope`'s settings, or None outside any.

    Example:
        >>> with RematScope(mode="larger_than", output_size_threshold=8):
        ...     current_mode().output_size_threshold
        8
    """
    stack = _stack()
    if not stack:
        return None
    scope = stack[-1]
    return RematMode(scope.mode, scope.output_size_threshold, scope.layer_names)


def rematerialized_call(layer, call, inputs):
    """`call` as the layer's remat mode wants it run on `inputs` (checkpointed, or unchanged)."""
    settings = layer._remat_mode
    mode = settings.mode
    generators = [
        module.seed_generator
        for module in layer.modules()
        if getattr(module, "seed_generator", None) is not None
    ]
    if mode == "full":
        return remat(call, generators)
    if mode == "list_of_layers":
        return remat(call, generators) if layer.name in settings.layer_names else call
    if mode == "larger_than":
        size = _output_size(layer, inputs)
        return remat(call, generators) if size > settings.output_size_threshold else call
    if mode == "activations":
        activation = getattr(layer, "activation", None)
        if activation is None or isinstance(activation, nn.Module):
            return call

        @functools.wraps(call)
        def with_rematerialized_activation(*args, **kwargs):
            layer.activation = remat(activation)
            try:
                return call(*args, **kwargs)
            finally:
                layer.activation = activation

        return with_rematerialized_activation
    return call


def _output_size(layer, inputs) -> int:
    """Elements of the layer's output for these inputs, from its output shape (cached by shape)."""
    input_shape = _shape_of(inputs)
    cache = layer.__dict__.setdefault("_remat_output_sizes", {})
    key = repr(input_shape)
    if key not in cache:
        cache[key] = 0  # a shape probe that calls the layer again finds no remat to decide
        try:
            output_shape = layer.compute_output_shape(input_shape)
        except (ValueError, RuntimeError, TypeError, NotImplementedError):
            return 0  # a shape lamina cannot infer: the layer runs as it is
        cache[key] = sum(math.prod(d or 1 for d in shape) for shape in _shapes(output_shape))
    return cache[key]


def _shape_of(inputs):
    """Keras's input shape of a call: a tensor's shape, or the shapes of a list or dict."""
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {key: _shape_of(x) for key, x in inputs.items()}
    return tuple(inputs.shape)


def _shapes(structure):
    if isinstance(structure, tuple) and all(d is None or isinstance(d, int) for d in structure):
        return [structure]
    if isinstance(structure, dict):
        structure = list(structure.values())
    return [shape for item in structure for shape in _shapes(item)]
