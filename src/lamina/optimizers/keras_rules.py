"""Keras 3's update rules where torch.optim's differ: RMSprop, Adagrad and Adamax as multi-tensor
torch optimizers.

Why they exist. torch adds epsilon outside the square root, Keras inside (or, for Adamax, after
the running maximum rather than into it):

    RMSprop  torch: g / (sqrt(v) + eps)          Keras: g / sqrt(v + eps)
    Adagrad  torch: g / (sqrt(acc) + eps)        Keras: g / sqrt(acc + eps)
    Adamax   torch: u = max(b2*u, |g| + eps)     Keras: u = max(b2*u, |g|); m / (u + eps)

With Keras's eps=1e-7 the two agree while v >> 1e-7 and part ways on weights whose accumulators
are near zero (units that see tiny or no gradients). Measured against Keras 3.15.1 under
torch.optim's rules: on the per-update parity problem of tests/optimizers (20 steps, one column
without gradient but for a 1e-6 one every seventh step, one with gradients ~1e-4) weights ended up
1.2 apart (RMSprop, lr 0.1), 2.4 with momentum and 0.21 (Adagrad with initial_accumulator_value=0);
on the make_moons MLP (40 steps) 0.13 (RMSprop) and 0.30 (with momentum and centered). With these
classes: 1e-7 and 4e-7. Adamax's difference is small (relative eps/|g|; 7e-7 on the parity problem)
but its rule costs nothing to get right. Keras's RMSprop also keeps its momentum scaled by the
learning rate (m = momentum*m + lr*g/sqrt(v + eps)) where torch keeps it unscaled, which matters
when the rate changes. These classes keep Keras's slots under Keras's names
(`velocity`, `momentum`, `average_gradient`, `accumulator`, `norm`), so a Keras file's optimizer
variables load into them unconverted.

Each `step()` gathers the parameters that have gradients and updates all of them with torch's
`_foreach_*` kernels (no Python loop over the arithmetic, no host read of a device tensor). The
learning rate is read from `param_groups` as in torch.optim, so lamina's `Optimizer` wrapper applies
schedules, weight decay, clipping, EMA, gradient accumulation and loss scaling around them
unchanged. Speed (`bench/bench_optimizer_step.py`, the seeds' CNN parameters, 1 CPU thread, a
shared machine): 642 us per RMSprop step against torch.optim's 671 (for-loop) and 651 (foreach),
580 per Adagrad step against 603 and 692, Adamax on par (587 against 599 and 583).
"""

from __future__ import annotations

import torch


class KerasRule(torch.optim.Optimizer):
    """Shared plumbing: the closure, the parameters with gradients, their slots created lazily."""

    def _slots(self, group) -> dict[str, float]:
        """The slot names this group needs, each with its initial value."""
        raise NotImplementedError

    def _update(self, group, params, grads, slots: dict[str, list[torch.Tensor]]) -> None:
        raise NotImplementedError

    def refuse_sparse(self, grads) -> None:
        """The rules update dense tensors only (`step` and the straight step both ask).

        Args:
            grads: the gradients of one update.

        Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> RMSprop([w]).refuse_sparse([torch.ones(2)])  # dense: nothing happens
        """
        if any(g.is_sparse for g in grads):
            raise RuntimeError(f"{type(self).__name__} does not support sparse gradients.")

    def create_slots(self) -> None:
        """Create every parameter's slots at their initial values, without a step (for rules
        a zero-rate step cannot run, such as Ftrl's division by the rate)."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                for name, initial in self._slots(group).items():
                    if name not in state:
                        state[name] = torch.full_like(
                            p, initial, memory_format=torch.preserve_format
                        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            self.refuse_sparse(grads)
            names = self._slots(group)
            slots: dict[str, list[torch.Tensor]] = {name: [] for name in names}
            for p in params:
                state = self.state[p]
                for name, initial in names.items():
                    if name not in state:
                        state[name] = torch.full_like(
                            p, initial, memory_format=torch.preserve_format
                        )
                    slots[name].append(state[name])
            self._update(group, params, grads, slots)
        return loss


def _check(owner: str, name: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{owner}: {name} must be {bound}; received {name}={value}.")


class RMSprop(KerasRule):
    """Keras 3's RMSprop.

    v = rho*v + (1-rho)*g^2; centered: a = rho*a + (1-rho)*g and d = v - a^2 + eps, else
    d = v + eps; step = lr*g/sqrt(d); with momentum m = momentum*m + step and w -= m,
    else w -= step. The momentum slot holds lr-scaled steps, as Keras's does.
    """

    def __init__(self, params, lr=1e-3, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
        _check(type(self).__name__, "lr", lr, 0.0)
        _check(type(self).__name__, "rho", rho, 0.0, 1.0)
        _check(type(self).__name__, "momentum", momentum, 0.0, 1.0)
        _check(type(self).__name__, "eps", eps, 0.0)
        defaults = {"lr": lr, "rho": rho, "momentum": momentum, "eps": eps, "centered": centered}
        super().__init__(params, defaults)

    def _slots(self, group):
        slots = {"velocity": 0.0}
        if group["momentum"]:
            slots["momentum"] = 0.0
        if group["centered"]:
            slots["average_gradient"] = 0.0
        return slots

    def _update(self, group, params, grads, slots):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        velocities = slots["velocity"]
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - rho)
        if group["centered"]:
            averages = slots["average_gradient"]
            torch._foreach_lerp_(averages, grads, 1.0 - rho)
            denominators = torch._foreach_addcmul(velocities, averages, averages, value=-1.0)
            torch._foreach_add_(denominators, eps)
        else:
            denominators = torch._foreach_add(velocities, eps)
        torch._foreach_sqrt_(denominators)
        if group["momentum"]:
            momentums = slots["momentum"]
            torch._foreach_mul_(momentums, group["momentum"])
            torch._foreach_addcdiv_(momentums, grads, denominators, value=lr)
            torch._foreach_sub_(params, momentums)
        else:
            torch._foreach_addcdiv_(params, grads, denominators, value=-lr)


class Adagrad(KerasRule):
    """Keras 3's Adagrad: acc += g^2; w -= lr*g/sqrt(acc + eps), acc starting at
    `initial_accumulator_value`."""

    def __init__(self, params, lr=1e-3, initial_accumulator_value=0.1, eps=1e-7):
        _check(type(self).__name__, "lr", lr, 0.0)
        _check(type(self).__name__, "initial_accumulator_value", initial_accumulator_value, 0.0)
        _check(type(self).__name__, "eps", eps, 0.0)
        defaults = {
            "lr": lr,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
        }
        super().__init__(params, defaults)

    def _slots(self, group):
        return {"accumulator": group["initial_accumulator_value"]}

    def _update(self, group, params, grads, slots):
        accumulators = slots["accumulator"]
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, group["eps"])
        torch._foreach_sqrt_(denominators)
        torch._foreach_addcdiv_(params, grads, denominators, value=-group["lr"])


class Adamax(KerasRule):
    """Keras 3's Adamax: m = m + (g - m)*(1-b1); u = max(b2*u, |g|);
    w -= lr/(1 - b1^t) * m/(u + eps), t counting this parameter's updates."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
        _check(type(self).__name__, "lr", lr, 0.0)
        _check(type(self).__name__, "beta_1", betas[0], 0.0, 1.0)
        _check(type(self).__name__, "beta_2", betas[1], 0.0, 1.0)
        _check(type(self).__name__, "eps", eps, 0.0)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    def _slots(self, group):
        return {"momentum": 0.0, "norm": 0.0}

    def _update(self, group, params, grads, slots):
        beta_1, beta_2 = group["betas"]
        momentums, norms = slots["momentum"], slots["norm"]
        # The step counts live on the CPU (as torch.optim's do), so reading them is no device sync.
        steps = []
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.tensor(0.0)
            steps.append(state["step"])
        torch._foreach_add_(steps, 1.0)
        torch._foreach_lerp_(momentums, grads, 1.0 - beta_1)
        torch._foreach_mul_(norms, beta_2)
        torch._foreach_maximum_(norms, torch._foreach_abs(grads))
        denominators = torch._foreach_add(norms, group["eps"])
        corrections = 1.0 - beta_1 ** torch.stack(steps).double()
        step_sizes = (-group["lr"] / corrections).tolist()
        torch._foreach_addcdiv_(params, momentums, denominators, step_sizes)
