"""`Layer.stateless_call`: a call on weights given as arguments, leaving the layer as it was.

Keras documents `stateless_call(trainable_variables, non_trainable_variables, *args)` for every
backend: the layer computes with the given values in place of its weights, and the values its
call would have written into its non-trainable state (BatchNormalization's moving statistics,
a seed generator's counter) come back instead of landing in the layer. On torch the swap is
`torch.func.functional_call`, so gradients flow into the given tensors (`torch.func.grad` of a
loss written with `stateless_call` works); a seed generator's state, which is no module slot,
is swapped by hand.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from lamina.engine import errors, scopes
from lamina.engine.captured_step import _slot_names


class _CallWithLosses(nn.Module):
    """The layer's call and, when asked, its losses, as one module: functional_call swaps the
    weights for both, so the regularization penalties are computed from the given values."""

    def __init__(self, layer, return_losses: bool):
        super().__init__()
        self.layer = layer
        self.return_losses = return_losses

    def forward(self, args, kwargs):
        outputs = self.layer(*args, **kwargs)
        return outputs, (self.layer.losses if self.return_losses else None)


def stateless_call(layer, trainable_values, non_trainable_values, args, kwargs, return_losses):
    """`layer(*args, **kwargs)` computed with `trainable_values` and `non_trainable_values` in
    place of `layer.trainable_variables` and `layer.non_trainable_variables` (same order).

    Args:
        layer: a built lamina layer.
        trainable_values: tensors or arrays, one per `layer.trainable_variables`.
        non_trainable_values: one per `layer.non_trainable_variables`.
        args: the call's positional arguments.
        kwargs: its keyword arguments.
        return_losses: also return the losses the call added and the weight penalties.

    Returns:
        `(outputs, new non-trainable values)`, or with the losses third.

    Example:
        >>> layer = lamina.layers.Dense(1, kernel_initializer="ones")
        >>> _ = layer(torch.ones(1, 2))
        >>> kernel, bias = torch.full((2, 1), 3.0), torch.zeros(1)
        >>> outputs, _ = stateless_call(layer, [kernel, bias], [], (torch.ones(1, 2),), {}, False)
        >>> outputs.tolist(), layer.kernel.tolist()
        ([[6.0]], [[1.0], [1.0]])
    """
    if not layer.built:
        raise errors.value_error(
            layer,
            "to be built before stateless_call() (its variables must exist)",
            "an unbuilt layer",
            "call it once on data, or call build(input_shape) first.",
        )
    trainable = layer.trainable_variables
    non_trainable = layer.non_trainable_variables
    for argument, given, own in (
        ("trainable_variables", trainable_values, trainable),
        ("non_trainable_variables", non_trainable_values, non_trainable),
    ):
        if len(given) != len(own):
            raise errors.value_error(
                layer,
                f"`{argument}` to hold one value per layer.{argument} ({len(own)})",
                f"a list of {len(given)}",
                f"pass values in the order of layer.{argument}.",
            )
    trainable_values = [
        _as_value(v, w, copy=False) for v, w in zip(trainable_values, trainable, strict=True)
    ]
    # Copies: the call's in-place updates (moving statistics) must not reach the caller's
    # tensors, which are often the layer's own (`layer.non_trainable_variables`).
    non_trainable_values = [
        _as_value(v, w, copy=True) for v, w in zip(non_trainable_values, non_trainable, strict=True)
    ]
    wrapper = _CallWithLosses(layer, return_losses)
    slots = _slot_names(wrapper)
    generators = _seed_generators(layer)
    swapped, by_generator = {}, {}
    for tensor, value in [
        *zip(trainable, trainable_values, strict=True),
        *zip(non_trainable, non_trainable_values, strict=True),
    ]:
        if id(tensor) in slots:
            swapped.update(dict.fromkeys(slots[id(tensor)], value))
        elif id(tensor) in generators:
            by_generator[generators[id(tensor)]] = value
    with (
        _activity_losses_kept(layer),
        _seed_states_swapped(by_generator),
        scopes.StatelessScope(collect_losses=return_losses) as scope,
    ):
        outputs, penalties = torch.func.functional_call(
            wrapper, swapped, (tuple(args), dict(kwargs)), tie_weights=False, strict=False
        )
        new_seed_states = {id(g): g.state for g in by_generator}
    new_values = []
    for tensor, value in zip(non_trainable, non_trainable_values, strict=True):
        generator = generators.get(id(tensor))
        new_values.append(new_seed_states.get(id(generator), value) if generator else value)
    if return_losses:
        return outputs, new_values, [*scope.losses, *penalties]
    return outputs, new_values


def _as_value(value, weight: torch.Tensor, copy: bool) -> torch.Tensor:
    """`value` (a tensor, an array, a lamina Variable) as a tensor of `weight`'s dtype and
    device; a copy (of no autograd history) where the call may update it in place."""
    value = getattr(value, "value", value)  # a lamina Variable
    if not isinstance(value, torch.Tensor):
        return torch.as_tensor(value, dtype=weight.dtype, device=weight.device)
    value = value.to(device=weight.device, dtype=weight.dtype)
    return value.detach().clone() if copy else value


def _seed_generators(layer) -> dict:
    """{id of a seed generator's state: the generator} over the layer and its sub-layers."""
    from lamina.random import SeedGenerator

    return {
        id(value.state): value
        for module in layer.modules()
        for value in vars(module).values()
        if isinstance(value, SeedGenerator)
    }


@contextlib.contextmanager
def _seed_states_swapped(values: dict):
    """Each generator draws from its given state; its own comes back after the block."""
    kept = {generator: generator.state for generator in values}
    try:
        for generator, value in values.items():
            generator.state = value
        yield
    finally:
        for generator, state in kept.items():
            generator.state = state


@contextlib.contextmanager
def _activity_losses_kept(layer):
    """The losses of the layer's latest real call stay its own: the stateless call's go to the
    scope (when collected) and nowhere else."""
    kept = {m: m._activity_losses for m in layer.modules() if hasattr(m, "_activity_losses")}
    try:
        for module in kept:
            module._activity_losses = []
        yield
    finally:
        for module, losses in kept.items():
            module._activity_losses = losses
