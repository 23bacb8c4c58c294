"""Optimizer updates called straight from `Optimizer.step()`: torch's fused Adam, AdamW and SGD
kernels, and lamina's multi-tensor Keras rules (RMSprop, Adagrad, Adamax).

`torch.optim.Optimizer.step()` walks every parameter in Python on every call (its gradient, its
state, the lists it hands the kernel), groups the tensors by device and dtype, and wraps all of it
in hooks, a profiler label and a grad-mode switch: about 160 Python calls a step for a 6-weight
Adam model, more than a small model's forward. A straight step keeps the per-parameter state
between steps and runs the same update (`torch._fused_adam_` / `torch._fused_adamw_` /
`torch._fused_sgd_` with the same arguments that `step()` would pass, or the Keras rule's own
`_update`), so the weights and slots come out bit for bit the same.

It takes only the case where the two are the same: a plain optimizer of its class (`fused=True`
for torch's), every parameter of a group on one device with one floating dtype and holding a
gradient and its state, no step hook (global or the optimizer's, nor a patched `step`, as torch's
learning-rate schedulers install), float hyperparameters, no `grad_scale`, and the autograd
profiler off (its label is `step()`'s). A `found_inf` flag (LossScaleOptimizer's, on the weights'
device) goes into the fused kernels as `step()` hands it to them, which skip a non-finite step
themselves; a Keras rule refuses it. Anything else, and the first step (which creates
the state), goes through `torch_optimizer.step()`.
"""

from __future__ import annotations

import torch
from torch.autograd import profiler as autograd_profiler
from torch.optim import optimizer as torch_optimizer_module

from lamina.optimizers import keras_rules

_SCALARS = frozenset((float, int))


class _Group:
    """One param group's lists for the update, and what they were taken from."""

    __slots__ = ("group", "params", "slots", "names")

    def __init__(self, group, params, slots, names=()):
        self.group = group
        self.params = params
        self.slots = slots  # each parameter's state dict (torch may replace its tensors)
        self.names = names  # the state keys a Keras rule updates


class StraightStep:
    """The update of one torch optimizer without `step()`'s per-call walk: the checks and the
    lists every kind shares; a subclass says which optimizers and groups it takes and runs the
    update of one group.

    Args:
        torch_optimizer: the torch optimizer whose update this runs.
    """

    classes: tuple = ()  # the exact torch optimizer classes a subclass takes
    takes_found_inf = True  # whether its update takes loss scaling's `found_inf` flag

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
            or getattr(optimizer, "grad_scale", None) is not None
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
        found_inf = getattr(optimizer, "found_inf", None)  # set per step by loss scaling
        if found_inf is not None and not (
            self.takes_found_inf and isinstance(found_inf, torch.Tensor)
        ):
            return False
        gradients = []
        for entry in groups:
            group = entry.group
            if len(group["params"]) != len(entry.params):  # a parameter added to a group
                self._state = None
                return self()
            if group["lr"].__class__ not in _SCALARS or not self._ready(entry):
                return False  # a tensor rate: torch's step decides where it goes
            grads = [p.grad for p in entry.params if p.grad is not None]
            if len(grads) != len(entry.params):  # torch's step skips those without one
                return False
            if found_inf is not None and found_inf.device != entry.params[0].device:
                return False  # torch's step copies the flag to the weights' device first
            gradients.append(grads)
        restore = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)  # torch.no_grad() without its context manager's calls
        try:
            for entry, grads in zip(groups, gradients, strict=True):
                self._update(entry, grads, found_inf)
        finally:
            torch._C._set_grad_enabled(restore)
        return True

    def _take_groups(self) -> None:
        """Take the groups' lists (`_groups`) when every condition of the straight call holds
        (see the module's docstring), else set `_groups` to None; either answer stands until
        the state or the groups change."""
        self._groups = None
        optimizer = self.torch_optimizer
        state = optimizer.state
        self._state, self._param_groups = state, optimizer.param_groups
        self._size, self._group_count = len(state), len(optimizer.param_groups)
        if type(optimizer) not in self.classes:
            return
        if not self._ready_to_take(optimizer):
            self._state = None  # not yet: look again at the next step
            return
        groups = []
        for group in optimizer.param_groups:
            if not self._plain_group(group):
                return
            params = list(group["params"])
            if not params or not _one_kind(params):
                return
            slots = [state.get(p) for p in params]
            names = self._names(group)
            if names and not all(_holds(s, names) for s in slots):
                self._state = None  # no state yet: torch's step creates it; look again
                return
            groups.append(_Group(group, params, slots, names))
        self._groups = groups

    # What a subclass says -------------------------------------------------------------------------
    def _ready_to_take(self, optimizer) -> bool:
        """Whether the optimizer as a whole allows the straight call yet (when not, it is
        looked at again at the next step)."""
        return True

    def _plain_group(self, group: dict) -> bool:
        """Whether a group's options are the ones the straight update runs as `step()` does."""
        raise NotImplementedError

    def _names(self, group: dict) -> tuple:
        """The state keys (tensors) every parameter of `group` must hold before the straight
        call (an empty tuple: no state is needed)."""
        raise NotImplementedError

    def _ready(self, entry: _Group) -> bool:
        """The per-step check of a group's values (those that may change between steps)."""
        return True

    def _update(self, entry: _Group, grads, found_inf) -> None:
        """Update one group (`found_inf`: loss scaling's flag, or None)."""
        raise NotImplementedError


class FusedAdamStep(StraightStep):
    """torch's fused Adam / AdamW kernel, called straight.

    Args:
        torch_optimizer: a `torch.optim.Adam` or `AdamW` made with `fused=True`.

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

    classes = (torch.optim.Adam, torch.optim.AdamW)

    def _plain_group(self, group: dict) -> bool:
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

    def _names(self, group: dict) -> tuple:
        names = ("step", "exp_avg", "exp_avg_sq")
        return (*names, "max_exp_avg_sq") if group["amsgrad"] else names

    def _ready(self, entry: _Group) -> bool:
        # lamina's Adam changes eps every step; a tensor one is torch's step's to place.
        return entry.group["eps"].__class__ in _SCALARS

    def _update(self, entry: _Group, grads, found_inf) -> None:
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
            found_inf=found_inf,
        )
        if found_inf is not None:  # a skipped step does not count, as in torch's step
            torch._foreach_sub_(steps, [found_inf] * len(steps))


class FusedSGDStep(StraightStep):
    """torch's fused SGD kernel (`torch._fused_sgd_`), called straight.

    Without momentum SGD keeps no state, and the straight call runs from the second step (the
    first is torch's: it checks the parameters' device and dtype for the kernel once); with
    momentum, from the step after the one that created the momentum buffers.

    Args:
        torch_optimizer: a `torch.optim.SGD` made with `fused=True`.

    Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> sgd = torch.optim.SGD([w], lr=0.1, momentum=0.5, fused=True)
        >>> step = FusedSGDStep(sgd)
        >>> w.grad = torch.ones(2)
        >>> step()  # the first step creates the momentum buffers: torch's step() runs it
        False
        >>> sgd.step()
        >>> step()  # buffer 1 then 1.5: w = 1 - 0.1 - 0.15
        True
        >>> [round(v, 4) for v in w.tolist()]
        [0.75, 0.75]
    """

    classes = (torch.optim.SGD,)

    def _ready_to_take(self, optimizer) -> bool:
        # torch's first fused step checks every parameter's device and dtype for the kernel
        # (an SGD that is not fused lacks the flag: `_plain_group` refuses it for good).
        return not getattr(optimizer, "_need_device_dtype_check_for_fused", False)

    def _plain_group(self, group: dict) -> bool:
        scalars = (group["lr"], group["momentum"], group["dampening"], group["weight_decay"])
        return (
            group.get("fused") is True
            and isinstance(group.get("nesterov"), bool)
            and isinstance(group.get("maximize"), bool)
            and not group.get("differentiable", False)
            and all(value.__class__ in _SCALARS for value in scalars)
        )

    def _names(self, group: dict) -> tuple:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _ready(self, entry: _Group) -> bool:
        group = entry.group
        if group["momentum"].__class__ not in _SCALARS:
            return False
        if (group["momentum"] != 0) != bool(entry.names):
            # Momentum turned on (its buffers are torch's step's to make) or off: look again.
            self._state = None
            return False
        return True

    def _update(self, entry: _Group, grads, found_inf) -> None:
        group = entry.group
        buffers = [s["momentum_buffer"] for s in entry.slots] if entry.names else []
        torch._fused_sgd_(
            entry.params,
            grads,
            buffers,
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            lr=group["lr"],
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
            is_first_step=False,
            grad_scale=None,
            found_inf=found_inf,
        )


class RuleStep(StraightStep):
    """A Keras rule of `keras_rules` (RMSprop, Adagrad, Adamax), its `_update` called straight:
    the same multi-tensor update its `step()` runs, without the wrapper and the walk that
    gathers the slots.

    Args:
        torch_optimizer: a `keras_rules.RMSprop`, `Adagrad` or `Adamax`.

    Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> rule = keras_rules.RMSprop([w], lr=0.1, rho=0.0)
        >>> step = RuleStep(rule)
        >>> w.grad = torch.ones(2)
        >>> rule.step()  # the first step creates the slots
        >>> step()
        True
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, 0.8]
    """

    classes = (keras_rules.RMSprop, keras_rules.Adagrad, keras_rules.Adamax)
    takes_found_inf = False  # its step has no flag to skip by

    def _plain_group(self, group: dict) -> bool:
        return True  # the rule's `_update` is what its step() runs, whatever the options

    def _names(self, group: dict) -> tuple:
        return tuple(self.torch_optimizer._slots(group))

    def _ready(self, entry: _Group) -> bool:
        # An option that changes the slots (momentum, centered) since the lists were taken.
        if self._names(entry.group) != entry.names:
            self._state = None
            return False
        return True

    def _update(self, entry: _Group, grads, found_inf) -> None:
        self.torch_optimizer.refuse_sparse(grads)
        slots = {name: [s[name] for s in entry.slots] for name in entry.names}
        self.torch_optimizer._update(entry.group, entry.params, grads, slots)


def straight_step(torch_optimizer) -> StraightStep | None:
    """The straight step for `torch_optimizer`'s class, or None where there is none.

    Args:
        torch_optimizer: the torch optimizer lamina's `Optimizer` built.

    Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> type(straight_step(torch.optim.SGD([w], fused=True))).__name__
        'FusedSGDStep'
        >>> straight_step(torch.optim.Adadelta([w])) is None
        True
    """
    for kind in (FusedAdamStep, FusedSGDStep, RuleStep):
        if type(torch_optimizer) in kind.classes:
            return kind(torch_optimizer)
    return None


def _holds(state, names) -> bool:
    return state is not None and all(isinstance(state.get(n), torch.Tensor) for n in names)


def _one_kind(params) -> bool:
    first = params[0]
    return all(
        p.device == first.device
        and p.dtype == first.dtype
        and p.is_floating_point()
        and not p.is_complex()
        for p in params
    )
