"""Moving statistics (BatchNormalization's), updated once per training forward for all layers.

Keras's update is `moving = moving * momentum + batch * (1 - momentum)`, with the biased batch
variance, which torch's kernels do not give: from the inverse standard deviation that
`native_batch_norm` returns it is `inverse_std ** -2 - epsilon`. Done per layer that is three
ops (pow, sub, lerp) per BatchNormalization per step; a ResNet of 15 of them paid 45 tiny ops,
each a kernel launch on a GPU and 6-8% of its host time per step on the CPU
(bench/bench_host_overhead.py, resnet).

Inside `deferred()`, which the trainer opens around its training forward, the layers' updates
wait and are applied together when the forward returns: one multi-tensor op each for the pow,
the sub and the lerp, whatever the number of layers. Outside it (a layer called with
`training=True` by hand, a custom train step) each update is applied at once, as before; either
way the moving statistics hold the new values when the outermost call returns.

Under a torch.func transform (`grad` of a loss written with `stateless_call`, `vmap` over an
ensemble's stacked weights) each update is applied at once, one layer at a time: the multi-tensor
ops have no vmap rule, and a deferred update would outlive the transform's tensors. The new values
are written in place into the tensors the layer holds (under `stateless_call`, the copies it hands
back). Under `vmap` that needs moving statistics batched like the batch statistics (an ensemble's
stacked buffers); one moving mean cannot take one batch mean per vmapped call: an error.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import torch

from lamina.engine import func_transforms

_state = threading.local()


class _Update(NamedTuple):
    """One layer's batch statistics: the variance, or the inverse std it is computed from."""

    layer: object
    mean: torch.Tensor
    variance: torch.Tensor | None
    inverse_std: torch.Tensor | None


class _Pending:
    """The updates waiting for the end of the forward, in call order."""

    def __init__(self):
        self.updates: list[_Update] = []
        self.layers: set[int] = set()

    def add(self, update: _Update) -> None:
        if id(update.layer) in self.layers:  # a layer called twice: its first update lands first
            self.apply()
        self.layers.add(id(update.layer))
        self.updates.append(update)

    def apply(self) -> None:
        if self.updates:
            _apply(self.updates)
        self.updates, self.layers = [], set()


def _apply(updates: list[_Update]) -> None:
    """Apply the updates in three multi-tensor ops (pow, sub, lerp)."""
    inverse_stds = [u for u in updates if u.variance is None]
    if inverse_stds:
        variances = torch._foreach_pow([u.inverse_std for u in inverse_stds], -2.0)
        torch._foreach_sub_(variances, [u.layer.epsilon for u in inverse_stds])
        computed = iter(variances)
    movings, batch, cast = [], [], False
    for u in updates:
        # Each layer's own dict: the weights' attribute lookups skip Module.__getattr__.
        own = u.layer._buffers
        moving_mean, moving_variance = own.get("moving_mean"), own.get("moving_variance")
        if moving_mean is None or moving_variance is None:  # a subclass keeps them elsewhere
            moving_mean, moving_variance = u.layer.moving_mean, u.layer.moving_variance
        variance = u.variance if u.variance is not None else next(computed)
        movings += (moving_mean, moving_variance)
        batch += (u.mean, variance)
        cast = cast or u.mean.dtype != moving_mean.dtype or variance.dtype != moving_variance.dtype
    if cast:
        batch = [s.to(m.dtype) for s, m in zip(batch, movings, strict=True)]  # float64 stats...
    weights = [1.0 - u.layer.momentum for u in updates]
    if all(w == weights[0] for w in weights):
        torch._foreach_lerp_(movings, batch, weights[0])
        return
    for i, weight in enumerate(weights):  # layers with different momenta
        torch._foreach_lerp_(movings[2 * i : 2 * i + 2], batch[2 * i : 2 * i + 2], weight)


def _apply_each(update: _Update) -> None:
    """One layer's update with single-tensor ops, which torch.func transforms can batch."""
    layer = update.layer
    variance = update.variance
    if variance is None:
        variance = update.inverse_std.pow(-2.0) - layer.epsilon
    weight = 1.0 - layer.momentum
    for name, batch in (("moving_mean", update.mean), ("moving_variance", variance)):
        moving = getattr(layer, name)
        func_transforms.assign(moving, moving.lerp(batch.to(moving.dtype), weight), layer, name)


def _detached(tensor):
    return None if tensor is None else tensor.detach()


def update(layer, mean: torch.Tensor, variance=None, inverse_std=None) -> None:
    """Move `layer.moving_mean` / `moving_variance` towards a batch's statistics, as Keras does.

    Args:
        layer: a layer with `moving_mean`, `moving_variance`, `momentum` and `epsilon`.
        mean: the batch mean per channel.
        variance: the batch's biased variance per channel; or, instead,
        inverse_std: the batch's `1 / sqrt(variance + epsilon)` per channel, as
            `torch.native_batch_norm` returns it.
    """
    if func_transforms.active():
        _apply_each(_Update(layer, *(_detached(t) for t in (mean, variance, inverse_std))))
        return
    # Statistics that carry no graph (native_batch_norm's mean and inverse std) are kept as
    # they are: a detach each was two more ops per layer per step.
    entry = _Update(
        layer,
        mean.detach() if mean.requires_grad else mean,
        variance.detach() if variance is not None and variance.requires_grad else variance,
        inverse_std.detach()
        if inverse_std is not None and inverse_std.requires_grad
        else inverse_std,
    )
    pending = getattr(_state, "pending", None)
    if pending is None:
        _apply([entry])
    else:
        pending.add(entry)


class deferred:
    """Within it, `update` waits; on a normal exit every waiting update is applied.

    Example:
        >>> with deferred():
        ...     y = model(x, training=True)  # doctest: +SKIP
    """

    def __enter__(self):
        self._outer = getattr(_state, "pending", None)
        _state.pending = _Pending()
        return self

    def __exit__(self, kind, value, traceback):
        pending, _state.pending = _state.pending, self._outer
        if kind is None:
            pending.apply()
        return False
