"""Schedule-Free AdamW (Defazio et al., 2024), Keras 3's rule as a torch optimizer and its wrapper.

Three sequences per weight: `z` (the `momentum` slot, where Adam-scaled gradient steps land), `x`
(the running average of the z's, weight 1/t) and `y = (1 - beta_1) z + beta_1 x`, the point the
gradient is taken at, which the weight itself holds (as in Keras: there is no separate evaluation
copy to swap in). x is not stored: it is recovered from y and the z before this step's move.

One difference from Keras on the torch backend, on purpose: there Keras's eager update reads
`momentum.value` after its in-place `assign_sub` (torch's variables alias), so it recovers x from
the new z instead of the old one, unlike its own comment and its JAX and stateless runs
(`stateless_apply`). lamina follows the written algorithm; tests/optimizers compares against
Keras's stateless update.
"""

from __future__ import annotations

import torch

from lamina.optimizers.keras_rules import KerasRule
from lamina.optimizers.optimizer import Optimizer


class ScheduleFreeAdamWRule(KerasRule):
    """z -= lr_t * g / (sqrt(v / (1 - b2^t)) + eps); x = lerp(x, z, 1/t); y = lerp(z, x, b1),
    with v Adam's second moment and lr_t the rate times min(t / warmup_steps, 1)."""

    def __init__(self, params, lr=2.5e-3, betas=(0.9, 0.999), eps=1e-8, warmup_steps=0):
        super().__init__(
            params, {"lr": lr, "betas": tuple(betas), "eps": eps, "warmup": warmup_steps}
        )

    def _slots(self, group):
        return {}  # init_state creates them: z starts as the weight, not at zero

    def init_state(self) -> None:
        """Create every parameter's state without a step: `momentum` (z) starts as the weight."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = p.detach().clone(memory_format=torch.preserve_format)
                    state["velocity"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["step"] = torch.tensor(0.0)

    def _update(self, group, params, grads, slots):
        beta_1, beta_2 = group["betas"]
        self.init_state()
        momentums = [self.state[p]["momentum"] for p in params]
        steps = [self.state[p]["step"] for p in params]
        torch._foreach_add_(steps, 1.0)
        t = torch.stack(steps).double()  # CPU counts: no device read
        rate = torch.full_like(t, group["lr"])
        if group["warmup"] > 0:
            rate = rate * torch.clamp_max(t / group["warmup"], 1.0)
        velocities = [self.state[p]["velocity"] for p in params]
        torch._foreach_lerp_(velocities, torch._foreach_mul(grads, grads), 1.0 - beta_2)
        # sqrt(v / c2) + eps, c2 = 1 - beta_2^t
        denominators = torch._foreach_div(velocities, (1.0 - beta_2**t).tolist())
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, group["eps"])
        # x_old = (y - (1 - b1) z_old) / b1, from the z before this step's move
        averages = torch._foreach_add(params, momentums, alpha=-(1.0 - beta_1))
        torch._foreach_div_(averages, beta_1)
        torch._foreach_addcdiv_(momentums, grads, denominators, (-rate).tolist())
        torch._foreach_lerp_(averages, momentums, (1.0 / t).tolist())
        # y = (1 - b1) z + b1 x
        torch._foreach_mul_(averages, beta_1)
        torch._foreach_add_(averages, momentums, alpha=1.0 - beta_1)
        torch._foreach_copy_(params, averages)


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW: no learning-rate schedule needed; interpolation and averaging instead.

    The weights hold the interpolation between the gradient-step sequence (the `momentum` slot)
    and its running average, as Keras's do.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable (default 0.0025).
        beta_1: the interpolation between the step sequence and its average (default 0.9).
        beta_2: the second-moment decay (default 0.999).
        epsilon: added to the denominator (default 1e-8).
        warmup_steps: the rate rises linearly from 0 over this many steps (default 0: none).
        **kwargs: the options every optimizer takes (`weight_decay`, `clipnorm`, ...: see
            `Optimizer`).

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = ScheduleFreeAdamW(learning_rate=0.1)
        >>> opt.apply_gradients([(torch.tensor([3.0]), w)])
        >>> round(w.item(), 4)  # z moved by -0.1 (Adam's first step), y = 0.1 z + 0.9 x = z
        0.9
    """

    torch_class = ScheduleFreeAdamWRule
    takes_foreach_flag = False

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.warmup_steps = warmup_steps

    def torch_options(self):
        return {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }

    def step(self) -> None:
        # z starts as the weights before the first update's weight decay, as Keras's copy at
        # build (which Keras's fit does just before the first step).
        if self.built:
            self.torch_optimizer.init_state()
        super().step()

    def create_state(self) -> None:
        """Create the state directly (z = the weights, zeros, step 0): a zero-rate step would move
        the weights by rounding through x's recovery."""
        self.torch_optimizer.init_state()

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }
