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


class _Swapped(nn.Module):
    """The layer and a function of it as one module: functional_call swaps the layer's weights
    while the function runs (the call, and losses computed from the swapped weights)."""

    def __init__(self, layer, fn):
        super().__init__()
        self.layer = layer
        self.fn = fn

    def forward(self):
        return self.fn()


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

    def call():
        outputs = layer(*args, **kwargs)
        return outputs, (layer.losses if return_losses else None)

    (outputs, penalties), new_values, added = run_with_values(
        layer, trainable_values, non_trainable_values, call, return_losses
    )
    if return_losses:
        return outputs, new_values, [*added, *penalties]
    return outputs, new_values


def run_with_values(layer, trainable_values, non_trainable_values, fn, collect_losses=False):
    """`fn()` run while `layer`'s weights read the given values, the layer left as it was.

    Args:
        layer: a built lamina layer (a model).
        trainable_values: one value per `layer.trainable_variables`.
        non_trainable_values: one value per `layer.non_trainable_variables`.
        fn: what to run (a call, a loss computation), without arguments.
        collect_losses: whether `add_loss` inside goes to the returned list.

    Returns:
        `(fn's result, the non-trainable values after it, the losses added)`.

    Example:
        >>> layer = lamina.layers.Dense(1, kernel_initializer="ones")
        >>> layer.build((None, 2))
        >>> result, _, _ = run_with_values(
        ...     layer, [torch.zeros(2, 1), torch.ones(1)], [], lambda: layer(torch.ones(1, 2))
        ... )
        >>> result.tolist()
        [[1.0]]
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
    wrapper = _Swapped(layer, fn)
    slots = slot_names(wrapper)
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
        scopes.StatelessScope(collect_losses=collect_losses) as scope,
    ):
        result = torch.func.functional_call(wrapper, swapped, (), tie_weights=False, strict=False)
        new_seed_states = {id(g): g.state for g in by_generator}
    new_values = []
    for tensor, value in zip(non_trainable, non_trainable_values, strict=True):
        generator = generators.get(id(tensor))
        new_values.append(new_seed_states.get(id(generator), value) if generator else value)
    return result, new_values, scope.losses


def slot_names(module: torch.nn.Module) -> dict[int, list[str]]:
    """For each parameter and buffer (by id), one name per distinct slot that holds it.

    A sub-layer reachable by two paths (a feature model over a sub-model's layers) is one slot,
    named once: functional_call's own weight tying would swap it twice and restore the second
    swap's "original", the traced tensor, into the real model. A tensor held by two slots
    (weights tied on purpose) is named in both. The captured train step swaps by these names
    too (captured_step.py).

    Args:
        module: the module whose parameters and buffers are named.

    Example:
        >>> layer = lamina.layers.Dense(1)
        >>> layer.build((None, 2))
        >>> sorted(name for names in slot_names(layer).values() for name in names)
        ['bias', 'kernel']
    """
    seen, names = set(), {}
    for prefix, owner in module.named_modules(remove_duplicate=False):
        for store in (owner._parameters, owner._buffers):
            for key, tensor in store.items():
                if tensor is None or (id(owner), key) in seen:
                    continue
                seen.add((id(owner), key))
                names.setdefault(id(tensor), []).append(f"{prefix}.{key}" if prefix else key)
    return names


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
