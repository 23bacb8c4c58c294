"""Whether a torch.func transform (grad, vjp, jvp, vmap, jacrev, jacfwd, ...) traces this call.

A lamina layer is an nn.Module, so `torch.func.functional_call`, `grad`, `vmap` and the rest
apply to it. Some of lamina's fast paths cannot follow: oneDNN's fused RNN kernels have no
forward-mode derivative and no vmap rule, the hand-written batch-norm backward and the fused
group norm (with its crash workaround) are autograd Functions that torch cannot batch or
differentiate twice, and in-place updates have no batching rule. Under a transform those layers
take plain-torch compositions instead, which torch batches and differentiates itself. The check is
one C call (0.1-0.3 us), made only by the layers that have such a path.

State written during a call (BatchNormalization's moving statistics, a seed counter) is a tensor
outside the transformed function; torch.func forbids mutating such captured tensors. `assign`
writes the value the tensor's own transform level sees (an unbatched one under `grad`, one per
ensemble member under `vmap` over stacked buffers), as the layer's eager call would.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch._C import _functorch
from torch._functorch import pyfunctorch
from torch.nn.attention import SDPBackend, sdpa_kernel

from lamina.engine import errors


def active() -> bool:
    """Whether the current code runs inside a torch.func transform.

    Always False while torch.compile traces (the captured step keeps its own paths).

    Example:
        >>> seen = []
        >>> _ = torch.func.grad(lambda x: seen.append(active()) or x.sum())(torch.ones(2))
        >>> seen, active()
        ([True], False)
    """
    if torch.compiler.is_compiling():
        return False
    return _functorch.maybe_current_level() is not None


def scaled_dot_product_attention(*args, **kwargs) -> torch.Tensor:
    """`F.scaled_dot_product_attention`, on its composite math backend under a transform: the
    fused CPU (flash) kernel has no forward-mode derivative and no vmap rule.

    Args:
        *args: F.scaled_dot_product_attention's arguments (query, key, value, ...).
        **kwargs: its keyword arguments (attn_mask, scale, ...).

    Example:
        >>> q = torch.ones(1, 1, 2, 4)
        >>> tuple(scaled_dot_product_attention(q, q, q).shape)
        (1, 1, 2, 4)
    """
    if not active():
        return F.scaled_dot_product_attention(*args, **kwargs)
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(*args, **kwargs)


def vmapping() -> bool:
    """Whether a `torch.func.vmap` is among the active transforms.

    Example:
        >>> seen = []
        >>> _ = torch.vmap(lambda x: seen.append(vmapping()) or x)(torch.ones(2))
        >>> seen, vmapping()
        ([True], False)
    """
    return active() and any(
        interpreter.key() == _functorch.TransformType.Vmap
        for interpreter in pyfunctorch.retrieve_all_functorch_interpreters()
    )


def assign(target: torch.Tensor, value: torch.Tensor, who, name: str) -> None:
    """`target.copy_(value)` for state a call writes (moving statistics, a power-iteration
    vector, a seed counter), also under a transform, where it is written at `target`'s level.

    `value` is lowered to that level: the wrappers of differentiating transforms are dropped
    (state is not differentiated), and the transforms above the level are set aside while it is
    copied, so torch does not see a captured tensor mutated.

    Args:
        target: the state tensor (a plain tensor, or a batched one inside its vmap).
        value: its new value, computed inside the transforms.
        who: the layer writing it, for the error.
        name: the state's name, for the error.

    Raises:
        ValueError: `value` is batched by a vmap that `target` is not (a value per vmapped call
            for one tensor).

    Example:
        >>> state = torch.zeros(2)
        >>> def loss(x):
        ...     assign(state, x.detach(), "example", "state")
        ...     return x.sum()
        >>> _ = torch.func.grad(loss)(torch.ones(2))
        >>> state
        tensor([1., 1.])
    """
    if not active():
        target.copy_(value)
        return
    level = _functorch.maybe_get_level(target)  # -1 for a plain tensor
    while _functorch.maybe_get_level(value) > level:  # -1 too once `value` is plain
        if _functorch.is_batchedtensor(value):
            raise errors.value_error(
                who,
                f"`{name}` batched like its new value when it is called with training=True "
                "under torch.func.vmap",
                f"one `{name}` for a new value per vmapped call",
                "call it with training=False (per-example gradients usually do), or map over "
                "stacked state too (torch.func.stack_module_state's buffers, in_dims=0).",
            )
        value = _functorch.get_unwrapped(value)
    with _interpreters_above(level):
        target.copy_(value)


@contextlib.contextmanager
def _interpreters_above(level: int):
    """The transforms above `level` set aside for the block (torch's own helper pops one)."""
    popped = []
    try:
        while (_functorch.maybe_current_level() or -1) > level:
            popped.append(pyfunctorch.pop_dynamic_layer_stack())
        yield
    finally:
        for interpreter in reversed(popped):
            pyfunctorch.push_dynamic_layer_stack(interpreter)
