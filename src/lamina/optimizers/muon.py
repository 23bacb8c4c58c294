"""Muon (Jordan et al., 2024): momentum orthogonalised by a Newton-Schulz iteration, for matrices;
Keras 3's AdamW step for every other weight.

Which weights take AdamW is Keras's rule: every weight that is not 2-D, with `exclude_embeddings`
every weight whose path holds "embedding", and every weight whose path matches one of the
`exclude_layers` regular expressions (`re.search`). Paths are Keras's (`sequential/dense/kernel`,
see `variable_paths`); lamina writes them into the weights when `compile`/`fit` build the optimizer.

torch 2.13 has a `torch.optim.Muon`, but it takes matrices only, runs the Newton-Schulz iteration
in bfloat16 (Keras: the weight's dtype) and keeps its momentum as a running average (`lerp`), where
Keras keeps a running sum (`m = momentum * m + g`): the two momentum slots differ by the factor
(1 - momentum), and Keras's files hold Keras's. So the rule is written here:
the matrices are orthogonalised one by one (each its own matmuls), the AdamW weights updated
together with torch's multi-tensor (`_foreach_*`) kernels.
"""

from __future__ import annotations

import math
import re

import torch

from lamina.optimizers import variable_paths
from lamina.optimizers.keras_rules import KerasRule
from lamina.optimizers.optimizer import Optimizer


def orthogonalize(x: torch.Tensor, steps: int, coefficients=(3.4445, -4.7750, 2.0315)):
    """Keras's quintic Newton-Schulz iteration: x scaled to spectral norm <= 1, then `steps` times
    x <- a x + (b A + c A A) x with A = x x^T, which drives x's singular values towards 1.

    Args:
        x: a tensor of rank >= 2 (the last two axes are the matrix).
        steps: the number of iterations.
        coefficients: the iteration's (a, b, c).

    Example:
        >>> x = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
        >>> [round(v, 1) for v in orthogonalize(x, 5).diagonal().tolist()]
        [0.7, 1.0]
    """
    if x.dim() < 2:
        raise ValueError(
            f"orthogonalize expects a tensor of rank >= 2; received shape {tuple(x.shape)}."
        )
    a, b, c = coefficients
    wide = x.shape[-2] <= x.shape[-1]
    if not wide:
        x = x.mT
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x if wide else x.mT


class MuonRule(KerasRule):
    """The update: param groups flagged `use_adamw` take Keras's AdamW step (learning rate times
    `adam_lr_ratio`), the others Muon's. Each group's decoupled `weight_decay` comes first."""

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.95,
        nesterov=True,
        ns_steps=5,
        coefficients=(3.4445, -4.7750, 2.0315),
        rms_rate=0.2,
        betas=(0.9, 0.999),
        eps=1e-7,
        adam_lr_ratio=1.0,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_steps": ns_steps,
            "coefficients": tuple(coefficients),
            "rms_rate": rms_rate,
            "betas": tuple(betas),
            "eps": eps,
            "adam_lr_ratio": adam_lr_ratio,
            "use_adamw": False,
            "weight_decay": None,
        }
        super().__init__(params, defaults)

    def _slots(self, group):
        return {"momentum": 0.0, "velocity": 0.0} if group["use_adamw"] else {"momentum": 0.0}

    def _update(self, group, params, grads, slots):
        lr = group["lr"]
        if group["weight_decay"]:
            torch._foreach_mul_(params, 1.0 - lr * group["weight_decay"])
        if group["use_adamw"]:
            self._adamw(group, params, grads, slots)
            return
        momentum = group["momentum"]
        for p, g, m in zip(params, grads, slots["momentum"], strict=True):
            m.mul_(momentum).add_(g)
            direction = g.add(m, alpha=momentum) if group["nesterov"] else m
            update = orthogonalize(direction, group["ns_steps"], group["coefficients"])
            if group["rms_rate"] is not None:
                update = update * (math.sqrt(max(p.shape[0], p.shape[1])) * group["rms_rate"])
            p.sub_(update, alpha=lr)

    def _adamw(self, group, params, grads, slots):
        beta_1, beta_2 = group["betas"]
        lr = group["lr"] * group["adam_lr_ratio"]
        momentums, velocities = slots["momentum"], slots["velocity"]
        # Per-weight step counts on the CPU, as torch.optim keeps them: no device read.
        steps = []
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.tensor(0.0)
            steps.append(state["step"])
        torch._foreach_add_(steps, 1.0)
        torch._foreach_lerp_(momentums, grads, 1.0 - beta_1)
        torch._foreach_mul_(velocities, beta_2)
        torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - beta_2)
        denominators = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominators, group["eps"])
        t = torch.stack(steps).double()
        alphas = (-lr * torch.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)).tolist()
        torch._foreach_addcdiv_(params, momentums, denominators, alphas)


class Muon(Optimizer):
    """The Muon optimizer: Newton-Schulz orthogonalised momentum for matrices, AdamW for the rest.

    Weights that are not 2-D, embeddings (with `exclude_embeddings`) and weights whose path
    matches one of `exclude_layers` take the AdamW step; pass the name of the output layer there,
    as the authors advise (`exclude_layers=["output_dense"]`).

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable (default 0.001).
        adam_beta_1: the AdamW step's first-moment decay (default 0.9).
        adam_beta_2: the AdamW step's second-moment decay (default 0.999).
        adam_weight_decay: decoupled weight decay of the AdamW weights (default 0.004).
        epsilon: added to the AdamW step's denominator (default 1e-7).
        weight_decay: decoupled weight decay of the Muon weights (default 0.004).
        exclude_layers: regular expressions; weights whose path matches one take AdamW.
        exclude_embeddings: weights whose path holds "embedding" take AdamW (default True).
        muon_a: the Newton-Schulz coefficient a (default 3.4445).
        muon_b: the Newton-Schulz coefficient b (default -4.7750).
        muon_c: the Newton-Schulz coefficient c (default 2.0315).
        adam_lr_ratio: the AdamW step's learning rate, relative to `learning_rate` (default 1).
        momentum: the Muon momentum (default 0.95).
        ns_steps: Newton-Schulz iterations per step (default 5).
        nesterov: use Nesterov momentum (default True).
        rms_rate: scale the step by `sqrt(max(rows, columns)) * rms_rate` (Liu et al., 2025),
            so Muon can share AdamW's learning rate; None turns it off (default 0.2).
        **kwargs: the options every optimizer takes (`clipnorm`, `use_ema`, ...: see `Optimizer`).

    Example:
        >>> w = torch.nn.Parameter(torch.eye(2))
        >>> opt = Muon(learning_rate=0.1, weight_decay=None, rms_rate=None, nesterov=False)
        >>> opt.apply_gradients([(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), w)])
        >>> # 0.1 times the orthogonalised gradient: ~1.1 * identity after 5 Newton-Schulz steps
        >>> [round(v, 2) for v in w.detach().flatten().tolist()]
        [0.89, 0.0, 0.0, 0.89]
    """

    torch_class = MuonRule
    takes_foreach_flag = False
    decoupled_weight_decay_in_torch = True  # per weight kind, inside the rule

    def __init__(
        self,
        learning_rate=0.001,
        adam_beta_1=0.9,
        adam_beta_2=0.999,
        adam_weight_decay=0.004,
        epsilon=1e-7,
        weight_decay=0.004,
        exclude_layers=None,
        exclude_embeddings=True,
        muon_a=3.4445,
        muon_b=-4.7750,
        muon_c=2.0315,
        adam_lr_ratio=1,
        momentum=0.95,
        ns_steps=5,
        nesterov=True,
        rms_rate=0.2,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1, self.adam_beta_2 = adam_beta_1, adam_beta_2
        self.adam_weight_decay, self.epsilon = adam_weight_decay, epsilon
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum = adam_lr_ratio, momentum
        self.ns_steps, self.nesterov, self.rms_rate = ns_steps, nesterov, rms_rate

    def uses_adamw(self, variable) -> bool:
        """Whether `variable` takes the AdamW step (Keras's rule: not 2-D, an embedding, or a
        path matching `exclude_layers`).

        Args:
            variable: a weight; its path is read from its `path` attribute.

        Example:
            >>> Muon().uses_adamw(torch.zeros(3))
            True
        """
        if variable.dim() != 2:
            return True
        path = variable_paths.path_of(variable)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def transpose_last_axis(self, X):
        """`X` with its last two axes swapped (Keras's helper of the Newton-Schulz iteration).

        Args:
            X: a tensor of rank >= 2.

        Example:
            >>> Muon().transpose_last_axis(torch.zeros(2, 3, 4)).shape
            torch.Size([2, 4, 3])
        """
        return torch.as_tensor(X).transpose(-2, -1)

    def lr_adjust(self, x):
        """Moonlight's scaling of an orthogonalized update: `x * sqrt(max(n, m)) * rms_rate` for
        an `(n, m)` matrix, so Muon can share Adam's learning rate; `x` itself when `rms_rate`
        is None.

        Args:
            x: an update of rank 2.

        Example:
            >>> Muon(rms_rate=0.2).lr_adjust(torch.ones(4, 1)).tolist()
            [[0.4000000059604645], [0.4000000059604645], [0.4000000059604645], [0.4000000059604645]]
        """
        if self.rms_rate is None:
            return x
        return x * math.sqrt(max(x.shape[0], x.shape[1])) * self.rms_rate

    def zeropower_via_newtonschulz5(self, x, steps: int):
        """The quintic Newton-Schulz orthogonalization Muon's step applies (`orthogonalize`),
        with this optimizer's `muon_a`, `muon_b`, `muon_c`.

        Args:
            x: a tensor of rank >= 2.
            steps: the number of iterations.

        Example:
            >>> Muon().zeropower_via_newtonschulz5(torch.eye(2) * 3.0, 5).shape
            torch.Size([2, 2])
        """
        return orthogonalize(torch.as_tensor(x), steps, (self.muon_a, self.muon_b, self.muon_c))

    def _torch_params(self):
        groups = []
        for use_adamw in (False, True):
            chosen = [p for p in self._parameters if self.uses_adamw(p) == use_adamw]
            if chosen:
                decay = self.adam_weight_decay if use_adamw else self.weight_decay
                groups.append({"params": chosen, "use_adamw": use_adamw, "weight_decay": decay})
        return groups

    def torch_options(self):
        return {
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "ns_steps": self.ns_steps,
            "coefficients": (self.muon_a, self.muon_b, self.muon_c),
            "rms_rate": self.rms_rate,
            "betas": (self.adam_beta_1, self.adam_beta_2),
            "eps": self.epsilon,
            "adam_lr_ratio": self.adam_lr_ratio,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": list(self.exclude_layers),
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
        }
