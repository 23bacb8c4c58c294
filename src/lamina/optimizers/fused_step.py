"""torch's fused Adam and AdamW update, called straight from `Optimizer.step()`.

`torch.optim.Adam.step()` walks every parameter in Python on every call (its gradient, its state,
the lists it hands the kernel), groups the tensors by device and dtype, and wraps all of it in
hooks, a profiler label and a grad-mode switch: about 160 Python calls a step for a 6-weight
model, more than a small model's forward. `FusedAdamStep` keeps the per-parameter state between
steps and calls the same fused kernel (`torch._fused_adam_` / `torch._fused_adamw_`) with the same
arguments that `step()` would pass it, so the weights and slots come out bit for bit the same.

It takes only the case where the two are the same: a plain `torch.optim.Adam` or `AdamW` with
`fused=True`, every parameter of a group on one device with one floating dtype and holding a
gradient and its state, no step hook (global or the optimizer's, nor a patched `step`, as torch's
learning-rate schedulers install), float hyperparameters, no `grad_scale` / `found_inf`, and the
autograd profiler off (its label is `step()`'s). Anything else, and the first step (which creates
the state), goes through `torch_optimizer.step()`.
"""

from __future__ import annotations

import torch
from torch.autograd import profiler as autograd_profiler
from torch.optim import optimizer as torch_optimizer_module

_PLAIN_CLASSES = (torch.optim.Adam, torch.optim.AdamW)
_SCALARS = frozenset((float, int))


class _Group:
    """One param group's lists for the kernel, and what they were taken from."""

    __slots__ = ("group", "params", "slots")

    def __init__(self, group, params, slots):
        self.group = group
        self.params = params
        self.slots = slots  # each parameter's state dict (torch may replace its tensors)


class FusedAdamStep:
    """The update of one fused `torch.optim.Adam` / `AdamW`, without `step()`'s per-call walk.

    Args:
        torch_optimizer: the torch optimizer whose update this runs.

    Example:
        >>> w = torch.nn.Parameter(torch.ones(3))
        >>> adam = torch.optim.Adam([w], lr=0.1, fused=True)
        >>> step = FusedAdamStep(adam)
        >>> w.grad = torch.ones(3)
        >>> step()  # the first step creates the state: torch's step() runs it
        False
        >>> adam.step()
        >>> step()  # from then on the kernel runs straight
        True
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, 0.8, 0.8]
    """

    def __init__(self, torch_optimizer):
        self.torch_optimizer = torch_optimizer
        self._groups: list[_Group] | None = None
        self._state = self._param_groups = None  # what the lists were taken from
        self._size = self._group_count = 0

    def __getstate__(self) -> dict:
        return {"torch_optimizer": self.torch_optimizer}  # the lists are taken again

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["torch_optimizer"])

    def __call__(self) -> bool:
        """Run the update if this optimizer's state allows it; False when the caller must run
        `torch_optimizer.step()` instead (nothing was changed then)."""
        optimizer = self.torch_optimizer
        if (
            autograd_profiler._is_profiler_enabled
            or optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks
            or torch_optimizer_module._global_optimizer_pre_hooks
            or torch_optimizer_module._global_optimizer_post_hooks
            or getattr(optimizer, "grad_scale", None) is not None  # set per step by loss scaling
            or getattr(optimizer, "found_inf", None) is not None
            or "step" in optimizer.__dict__  # a patched step (torch's LR schedulers wrap it)
        ):
            return False
        state = optimizer.state
        if (
            self._state is not state
            or self._param_groups is not optimizer.param_groups
            or self._size != len(state)  # torch's step made the state of new parameters
            or self._group_count != len(optimizer.param_groups)  # add_param_group
        ):
            self._take_groups()  # looked at again only when one of these changes
        groups = self._groups
        if groups is None:
            return False
        gradients = []
        for entry in groups:
            group = entry.group
            if len(group["params"]) != len(entry.params):  # a parameter added to a group
                self._state = None
                return self()
            if group["lr"].__class__ not in _SCALARS or group["eps"].__class__ not in _SCALARS:
                return False  # a tensor rate: torch's step decides where it goes
            grads = [p.grad for p in entry.params if p.grad is not None]
            if len(grads) != len(entry.params):  # torch's step skips those without one
                return False
            gradients.append(grads)
        restore = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)  # torch.no_grad() without its context manager's calls
        try:
            for entry, grads in zip(groups, gradients, strict=True):
                self._update(entry, grads)
        finally:
            torch._C._set_grad_enabled(restore)
        return True

    @staticmethod
    def _update(entry: _Group, grads) -> None:
        group, slots = entry.group, entry.slots
        steps = [s["step"] for s in slots]
        max_squares = [s["max_exp_avg_sq"] for s in slots] if group["amsgrad"] else []
        beta_1, beta_2 = group["betas"]
        torch._foreach_add_(steps, 1)
        kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
        kernel(
            entry.params,
            grads,
            [s["exp_avg"] for s in slots],
            [s["exp_avg_sq"] for s in slots],
            max_squares,
            steps,
            amsgrad=group["amsgrad"],
            lr=group["lr"],
            beta1=beta_1,
            beta2=beta_2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
            grad_scale=None,
            found_inf=None,
        )

    def _take_groups(self) -> None:
        """Take the groups' lists (`_groups`) when every condition of the straight call holds
        (see the module's docstring), else set `_groups` to None; either answer stands until
        the state or the groups change."""
        self._groups = None
        optimizer = self.torch_optimizer
        state = optimizer.state
        self._state, self._param_groups = state, optimizer.param_groups
        self._size, self._group_count = len(state), len(optimizer.param_groups)
        if type(optimizer) not in _PLAIN_CLASSES:
            return
        groups = []
        for group in optimizer.param_groups:
            if not _plain_group(group):
                return
            params = list(group["params"])
            if not params or not _one_kind(params):
                return
            slots = [state.get(p) for p in params]
            if any(not s or not isinstance(s.get("step"), torch.Tensor) for s in slots):
                self._state = None  # no state yet: torch's step creates it; look again
                return
            groups.append(_Group(group, params, slots))
        self._groups = groups


def _plain_group(group: dict) -> bool:
    scalars = (group["lr"], *group["betas"], group["eps"], group["weight_decay"])
    return (
        group.get("fused") is True
        # torch >= 2.6 says in the group which kernel step() calls (AdamW is Adam with this
        # key set); an older torch's groups lack it, and its step() stays the only way.
        and isinstance(group.get("decoupled_weight_decay"), bool)
        and isinstance(group.get("maximize"), bool)
        and isinstance(group.get("amsgrad"), bool)
        and not group.get("capturable", False)
        and not group.get("differentiable", False)
        and all(value.__class__ in _SCALARS for value in scalars)
    )


def _one_kind(params) -> bool:
    first = params[0]
    return all(
        p.device == first.device
        and p.dtype == first.dtype
        and p.is_floating_point()
        and not p.is_complex()
        for p in params
    )
