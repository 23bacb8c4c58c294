"""Lion (sign of an interpolated momentum) and Lamb (Adam scaled by a per-weight trust ratio),
Keras 3's rules as torch optimizers, wrapped with Keras's names, arguments and defaults.

Both keep their slots under Keras's names (`momentum`, `velocity`) and update with device ops
only; Lamb's bias corrections use a per-weight step count kept as a tensor (`step`), so nothing
is read on the host.
"""

from __future__ import annotations

import torch

from lamina.optimizers import argument_checks as check
from lamina.optimizers.keras_rules import KerasRule, _check
from lamina.optimizers.optimizer import Optimizer


class LionRule(KerasRule):
    """w -= lr * sign(b1 * m + (1 - b1) * g); then m = b2 * m + (1 - b2) * g."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.99)):
        _check("Lion", "beta_1", betas[0], 0.0, 1.0)
        _check("Lion", "beta_2", betas[1], 0.0, 1.0)
        super().__init__(params, {"lr": lr, "betas": betas})

    def _slots(self, group):
        return {"momentum": 0.0}

    def _update(self, group, params, grads, slots):
        beta_1, beta_2 = group["betas"]
        momentum = slots["momentum"]
        direction = torch._foreach_mul(momentum, beta_1)
        torch._foreach_add_(direction, grads, alpha=1.0 - beta_1)
        torch._foreach_sign_(direction)
        torch._foreach_add_(params, direction, alpha=-group["lr"])
        torch._foreach_mul_(momentum, beta_2)
        torch._foreach_add_(momentum, grads, alpha=1.0 - beta_2)


class LambRule(KerasRule):
    """Adam's bias-corrected step, rescaled per weight by ||w|| / ||step|| (1 if either is 0)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    def _slots(self, group):
        return {"momentum": 0.0, "velocity": 0.0}

    def _update(self, group, params, grads, slots):
        beta_1, beta_2 = group["betas"]
        for p, g, m, v in zip(params, grads, slots["momentum"], slots["velocity"], strict=True):
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.zeros((), dtype=p.dtype, device=p.device)
            state["step"] += 1
            m.add_((g - m) * (1 - beta_1))
            v.add_((g * g - v) * (1 - beta_2))
            m_hat = m / (1 - beta_1 ** state["step"])
            update = m_hat / ((v / (1 - beta_2 ** state["step"])).sqrt() + group["eps"])
            weight_norm = p.norm()
            update_norm = update.norm()
            ones = torch.ones_like(weight_norm)
            ratio = torch.where(
                (weight_norm > 0) & (update_norm > 0), weight_norm / update_norm, ones
            )
            p.sub_(ratio * group["lr"] * update)


class Lion(Optimizer):
    """The Lion optimizer (Chen et al., 2023): signed updates from an interpolated momentum.

    Use a learning rate 3-10x smaller than AdamW's, and a larger weight decay.

    Args:
        learning_rate: a float or a LearningRateSchedule.
        beta_1: the interpolation factor between momentum and gradient for the step.
        beta_2: the decay of the momentum.
        **kwargs: Keras's common options (weight_decay, clipnorm, use_ema, ...).

    Examples:
        >>> w = torch.ones(2, requires_grad=True)
        >>> opt = Lion(learning_rate=0.1)
        >>> opt.build([w])
        >>> w.grad = torch.tensor([0.5, -2.0])
        >>> opt.step()
        >>> w.detach().tolist()
        [0.8999999761581421, 1.100000023841858]
    """

    torch_class = LionRule
    takes_foreach_flag = False

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.number(beta_1, "beta_1", self, 0, 1, open_low=True)  # Keras's range: (0, 1]
        check.number(beta_2, "beta_2", self, 0, 1)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def torch_options(self):
        return {"betas": (self.beta_1, self.beta_2)}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Optimizer):
    """The LAMB optimizer (You et al., 2019): Adam with a layer-wise trust ratio, for large batches.

    Args:
        learning_rate: a float or a LearningRateSchedule.
        beta_1: the decay of the first-moment estimate.
        beta_2: the decay of the second-moment estimate.
        epsilon: added to the square root of the second moment.
        **kwargs: Keras's common options (weight_decay, clipnorm, use_ema, ...).

    Examples:
        >>> w = torch.tensor([3.0, 4.0], requires_grad=True)
        >>> opt = Lamb(learning_rate=0.1)
        >>> opt.build([w])
        >>> w.grad = torch.tensor([1.0, 1.0])
        >>> opt.step()
        >>> [round(v, 4) for v in w.detach().tolist()]
        [2.6464, 3.6464]
    """

    torch_class = LambRule
    takes_foreach_flag = False

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.moments(self, beta_1, beta_2, epsilon)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def torch_options(self):
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
