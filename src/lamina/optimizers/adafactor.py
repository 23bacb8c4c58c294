"""Adafactor (Shazeer and Stern, 2018), Keras 3's rule as a torch optimizer and its wrapper.

For weights of rank >= 2 the second moment is kept factored: a row statistic `r` (the last axis
averaged away) and a column statistic `c` (the second-to-last averaged away), so memory grows with
rows + columns instead of rows x columns. A per-weight step count is a tensor (`step`), so the
decay schedule needs no host read.

The axes factored are the weight's last two. Every lamina weight has Keras's shape (a conv kernel
is (kh, kw, in, out), whatever memory order torch's convolution reads), so `r`, `c` and `v` have
Keras's shapes and its statistics are Keras's.
"""

from __future__ import annotations

import torch

from lamina.optimizers.keras_rules import KerasRule
from lamina.optimizers.optimizer import Optimizer


def _rms(x):
    return x.square().mean().sqrt()


class AdafactorRule(KerasRule):
    """Keras's Adafactor step; `relative_step` caps the rate at 1 / sqrt(step)."""

    def __init__(
        self,
        params,
        lr=1e-3,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
    ):
        defaults = {
            "lr": lr,
            "beta_2_decay": beta_2_decay,
            "epsilon_1": epsilon_1,
            "epsilon_2": epsilon_2,
            "clip_threshold": clip_threshold,
            "relative_step": relative_step,
        }
        super().__init__(params, defaults)

    def _slots(self, group):
        return {}

    def _update(self, group, params, grads, slots):
        for p, g in zip(params, grads, strict=True):
            state = self.state[p]
            shape = g.shape
            if "step" not in state:
                state["step"] = torch.zeros((), dtype=p.dtype, device=p.device)
                # A weight of rank < 2 is not factored; Keras still keeps a 0-d r and c for it.
                factored = p.dim() >= 2
                r_shape = shape[:-1] if factored else ()
                c_shape = (*shape[:-2], shape[-1]) if factored else ()
                state["r"] = torch.zeros(r_shape, dtype=p.dtype, device=p.device)
                state["c"] = torch.zeros(c_shape, dtype=p.dtype, device=p.device)
                state["v"] = torch.zeros(shape, dtype=p.dtype, device=p.device)
            state["step"] += 1
            step = state["step"]
            # Keras's rho = min(lr, 1 / sqrt(step)), relative_step's cap of lr at 1 / sqrt(step)
            # included. The learning rate stays a Python number: a tensor made from it at every
            # step would be a copy from the host for the device to wait on.
            rho = step.rsqrt().clamp(max=group["lr"])
            alpha = torch.clamp_min(_rms(p), group["epsilon_2"]) * rho
            squared = g * g + group["epsilon_1"]
            beta_2 = 1.0 - step.pow(group["beta_2_decay"])
            v = state["v"]
            if p.dim() >= 2:
                r, c = state["r"], state["c"]
                r.copy_(beta_2 * r + (1.0 - beta_2) * squared.mean(dim=-1))
                c.copy_(beta_2 * c + (1.0 - beta_2) * squared.mean(dim=-2))
                v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
            else:
                v.copy_(beta_2 * v + (1.0 - beta_2) * squared)
            update = g / v.sqrt()
            update = update / torch.clamp_min(_rms(update) / group["clip_threshold"], 1.0)
            p.sub_(alpha * update)


class Adafactor(Optimizer):
    """The Adafactor optimizer: Adam-like steps with a factored second moment (little memory).

    Args:
        learning_rate: a float or a LearningRateSchedule.
        beta_2_decay: the second moment decays with 1 - step ** beta_2_decay.
        epsilon_1: added to the squared gradient.
        epsilon_2: the floor of the weight's RMS in the step size.
        clip_threshold: the largest RMS of a step, before scaling.
        relative_step: cap a float learning rate at 1 / sqrt(step).
        **kwargs: Keras's common options (weight_decay, clipnorm, use_ema, ...).

    Examples:
        >>> w = torch.ones(2, 2, requires_grad=True)
        >>> opt = Adafactor(learning_rate=0.1)
        >>> opt.build([w])
        >>> w.grad = torch.full((2, 2), 0.5)
        >>> opt.step()
        >>> [round(v, 4) for v in w.detach().flatten().tolist()]
        [0.9, 0.9, 0.9, 0.9]
    """

    torch_class = AdafactorRule
    takes_foreach_flag = False

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def torch_options(self):
        # Keras caps only a float rate at 1/sqrt(step); a schedule's rate is used as given.
        relative = self.relative_step and not callable(self._learning_rate)
        return {
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": relative,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }
