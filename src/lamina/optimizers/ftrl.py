"""FTRL-Proximal (McMahan et al., 2013), Keras 3's rule as a torch optimizer and its wrapper.

Slots under Keras's names: `accumulator` (the sum of squared gradients, from
`initial_accumulator_value`) and `linear`; every update is a device op.
"""

from __future__ import annotations

from lamina.optimizers.keras_rules import KerasRule, _check
from lamina.optimizers.optimizer import Optimizer


class FtrlRule(KerasRule):
    """Keras's FTRL step: accumulate g^2, update `linear`, solve for the weight in closed form."""

    def __init__(
        self,
        params,
        lr=1e-3,
        lr_power=-0.5,
        initial_accumulator_value=0.1,
        l1=0.0,
        l2=0.0,
        l2_shrinkage=0.0,
        beta=0.0,
    ):
        defaults = {
            "lr": lr,
            "lr_power": lr_power,
            "initial_accumulator_value": initial_accumulator_value,
            "l1": l1,
            "l2": l2,
            "l2_shrinkage": l2_shrinkage,
            "beta": beta,
        }
        super().__init__(params, defaults)

    def _slots(self, group):
        return {"accumulator": group["initial_accumulator_value"], "linear": 0.0}

    def _update(self, group, params, grads, slots):
        lr, power = group["lr"], -group["lr_power"]
        l1 = group["l1"]
        l2 = group["l2"] + group["beta"] / (2.0 * lr)
        for p, g, accumulator, linear in zip(
            params, grads, slots["accumulator"], slots["linear"], strict=True
        ):
            shrunk_grad = g + 2.0 * group["l2_shrinkage"] * p
            new_accumulator = accumulator + g * g
            new_power = new_accumulator.pow(power)
            linear.add_(shrunk_grad - (new_power - accumulator.pow(power)) / lr * p)
            quadratic = new_power / lr + 2.0 * l2
            p.copy_((linear.clamp(-l1, l1) - linear) / quadratic)
            accumulator.copy_(new_accumulator)


class Ftrl(Optimizer):
    """The FTRL-Proximal optimizer, suited to shallow models with large sparse feature spaces.

    Args:
        learning_rate: a float or a LearningRateSchedule.
        learning_rate_power: <= 0; how the per-weight rate shrinks with the accumulator
            (-0.5 by default; 0 keeps it fixed).
        initial_accumulator_value: >= 0; the accumulators' starting value.
        l1_regularization_strength: >= 0; the L1 penalty (drives weights to exactly 0).
        l2_regularization_strength: >= 0; the L2 penalty.
        l2_shrinkage_regularization_strength: >= 0; an L2 penalty on the gradient's magnitude.
        beta: added to the L2 term as beta / (2 * lr), as in the paper.
        **kwargs: Keras's common options (weight_decay, clipnorm, use_ema, ...).

    Examples:
        >>> import torch
        >>> w = torch.zeros(2, requires_grad=True)
        >>> opt = Ftrl(learning_rate=0.1, l1_regularization_strength=0.5)
        >>> opt.build([w])
        >>> w.grad = torch.tensor([0.2, -2.0])
        >>> opt.step()
        >>> [round(v, 4) for v in w.detach().tolist()]
        [0.0, 0.0741]
    """

    torch_class = FtrlRule
    takes_foreach_flag = False

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        _check("Ftrl", "initial_accumulator_value", initial_accumulator_value, 0.0)
        _check("Ftrl", "l1_regularization_strength", l1_regularization_strength, 0.0)
        _check("Ftrl", "l2_regularization_strength", l2_regularization_strength, 0.0)
        _check(
            "Ftrl",
            "l2_shrinkage_regularization_strength",
            l2_shrinkage_regularization_strength,
            0.0,
        )
        if learning_rate_power > 0.0:
            raise ValueError(
                "Ftrl: learning_rate_power must be <= 0; "
                f"received learning_rate_power={learning_rate_power}."
            )
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def torch_options(self):
        return {
            "lr_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1": self.l1_regularization_strength,
            "l2": self.l2_regularization_strength,
            "l2_shrinkage": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }

    def create_state(self) -> None:
        """Create the slots directly: Ftrl's step divides by the rate, so the zero-rate step
        `Optimizer.create_state` takes cannot run."""
        self.torch_optimizer.create_slots()

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
