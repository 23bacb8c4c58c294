"""LossScaleOptimizer: dynamic loss scaling around another optimizer, for float16 training.

Keras's rule: the loss is multiplied by a scale before the backward pass so that small float16
gradients do not flush to zero; each step divides the gradients by the scale again. A step whose
gradients hold an inf or a NaN is skipped and halves the scale; `dynamic_growth_steps` finite steps
in a row double it. The unscaling, the non-finite check and the scale update are torch's own
kernels, the ones `torch.amp.GradScaler` runs, so they stay on the device. So does the skip. With
torch's fused Adam, AdamW or SGD (lamina's default for them) the flag goes into the fused kernel,
which skips the update itself, as GradScaler hands it. Otherwise the update runs at every step
and `torch.where` puts the weights and the optimizer's state back where the gradients were not
finite. Either way no step waits for the device to say whether they were. The skipped steps are
counted on the device too and taken off `iterations` when it is read. (An inner optimizer
that keeps state on the host, accumulates gradients or is not a plain torch-backed one takes the
older path: one flag read on the host per step, as `GradScaler.step` does.)
"""

from __future__ import annotations

import torch

from lamina.engine.naming import unique_name
from lamina.optimizers import registry
from lamina.optimizers.given_tensors import as_gradient, torch_variable
from lamina.optimizers.optimizer import Optimizer

# The base optimizer's arguments Keras lets a saved LossScaleOptimizer config carry, with the only
# values it accepts (older Keras versions wrote them all).
_BASE_DEFAULTS = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


@registry.register_wrapper
class LossScaleOptimizer(Optimizer):
    """An optimizer that scales the loss dynamically to keep float16 gradients from underflowing.

    `compile()` wraps the optimizer in one automatically when the model's dtype policy is
    "mixed_float16" (unless `auto_scale_loss=False`), as Keras does.

    Args:
        inner_optimizer: the `lamina.optimizers.Optimizer` that makes the updates.
        initial_scale: the first loss scale (2**15); best high, since a scale too high falls
            fast (it halves at each overflow) and one too low rises slowly.
        dynamic_growth_steps: the scale doubles after this many finite steps in a row.
        name: the optimizer's name.

    Example:
    >>> optimizer = LossScaleOptimizer(lamina.optimizers.SGD(0.1), dynamic_growth_steps=100)
    >>> optimizer.get_config()["initial_scale"]
    32768.0
    """

    def __init__(
        self,
        inner_optimizer,
        initial_scale=2.0**15,
        dynamic_growth_steps=2000,
        name=None,
        **kwargs,
    ):
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer scales dynamically only (dynamic=False is not supported). "
                "Hint: for a fixed scale, set loss_scale_factor= on the inner optimizer."
            )
        for argument, default in _BASE_DEFAULTS.items():
            if argument in kwargs and kwargs.pop(argument) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not take `{argument}`. "
                    f"Hint: set `{argument}` on the inner optimizer."
                )
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not take the arguments {sorted(kwargs)}.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(
                "LossScaleOptimizer expected inner_optimizer to be a lamina.optimizers.Optimizer; "
                f"received {inner_optimizer!r}."
            )
        if int(dynamic_growth_steps) < 1:
            raise ValueError(
                "LossScaleOptimizer expected dynamic_growth_steps >= 1; "
                f"received {dynamic_growth_steps!r}."
            )
        # Keras's own values of the base options it refuses (its `clipnorm` is None whatever the
        # inner optimizer's): set here, so they do not reach the inner optimizer's.
        for argument, default in _BASE_DEFAULTS.items():
            setattr(self, argument, default)
        # No Optimizer.__init__: the hyperparameters, parameters and torch state are the inner
        # optimizer's, reached through __getattr__.
        self.name = name or unique_name("loss_scale_optimizer")
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        # Scaling twice would be wrong: the inner optimizer's own fixed factor is switched off.
        inner_optimizer.loss_scale_factor = None
        self.dynamic_scale: torch.Tensor | None = None  # float32 scalar, on the weights' device
        self.step_counter: torch.Tensor | None = None  # finite steps since the last change
        # Steps skipped on the device that `inner_optimizer.iterations` still counts.
        self.skipped_steps: torch.Tensor | None = None

    def __getattr__(self, name):
        inner = self.__dict__.get("inner_optimizer")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    # ----------------------------------------------------------------------------------------------
    def set_constraints(self, constraints) -> None:
        self.inner_optimizer.set_constraints(constraints)

    def build(self, var_list, constraints=None) -> None:
        parameters = [torch_variable(variable) for variable in var_list]
        if constraints is not None:
            self.inner_optimizer.set_constraints(constraints)
        self.inner_optimizer.build(parameters)  # a custom inner optimizer's build(var_list)
        first = next((p for p in parameters if p.requires_grad), None)
        device = first.device if first is not None else torch.device("cpu")
        self.dynamic_scale = torch.tensor(self.initial_scale, dtype=torch.float32, device=device)
        self.step_counter = torch.zeros((), dtype=torch.int32, device=device)
        self.skipped_steps = torch.zeros((), dtype=torch.int64, device=device)

    @property
    def built(self) -> bool:
        return self.inner_optimizer.built and self.dynamic_scale is not None

    def follow_parameters(self) -> None:
        self.inner_optimizer.follow_parameters()
        parameters = self.inner_optimizer.parameters
        if parameters and self.dynamic_scale is not None:
            self.dynamic_scale = self.dynamic_scale.to(parameters[0].device)
            self.step_counter = self.step_counter.to(parameters[0].device)
            self.skipped_steps = self.skipped_steps.to(parameters[0].device)

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def iterations(self) -> int:
        """The inner optimizer's update count: a skipped step does not count."""
        self.settle_iterations()
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value) -> None:
        self.settle_iterations()
        self.inner_optimizer.iterations = value

    def settle_iterations(self) -> None:
        """Take the steps skipped on the device off the inner optimizer's count (one host read,
        made when the count is asked for, not at every step).

        Example:
        >>> optimizer.settle_iterations()  # doctest: +SKIP
        >>> optimizer.inner_optimizer.iterations == optimizer.iterations  # doctest: +SKIP
        True
        """
        if self.skipped_steps is not None:
            skipped = int(self.skipped_steps)
            if skipped:
                self.inner_optimizer.iterations -= skipped
                self.skipped_steps.zero_()

    def check_finite(self, grads) -> torch.Tensor:
        """Whether every gradient is finite (no inf or NaN), as a boolean tensor on the device
        (no host read): the test deciding whether a step is applied or skipped.

        Args:
            grads: a list of gradient tensors (None entries are ignored).

        Example:
        >>> optimizer = LossScaleOptimizer(lamina.optimizers.SGD())
        >>> bool(optimizer.check_finite([torch.ones(2), torch.tensor([float("inf")])]))
        False
        """
        finite = [torch.isfinite(g).all() for g in grads if g is not None]
        return torch.stack(finite).all() if finite else torch.tensor(True)

    # ----------------------------------------------------------------------------------------------
    def scale_loss(self, loss):
        """The loss times the current scale (the initial one before the first build)."""
        scale = self.dynamic_scale if self.dynamic_scale is not None else self.initial_scale
        return loss * scale

    def zero_grad(self) -> None:
        self.inner_optimizer.zero_grad()

    def create_state(self) -> None:
        self.inner_optimizer.create_state()

    def step(self) -> None:
        """Unscale the gradients; update with them if all are finite, else skip; adjust the
        scale."""
        parameters = [p for p in self.inner_optimizer.parameters if p.grad is not None]
        overwritten = [p.grad for p in self.inner_optimizer.overwritten if p.grad is not None]
        if not parameters and not overwritten:
            return
        found_inf = torch.zeros(1, dtype=torch.float32, device=self.dynamic_scale.device)
        inverse = self.dynamic_scale.double().reciprocal().float()
        by_device: dict[tuple, list[torch.Tensor]] = {}
        for parameter in parameters:
            by_device.setdefault((parameter.grad.device, parameter.grad.dtype), []).append(
                parameter.grad
            )
        for (device, _), grads in by_device.items():
            if device == found_inf.device:  # the usual case: no copy between devices
                torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inverse)
                continue
            found = torch.zeros_like(found_inf, device=device)
            torch._amp_foreach_non_finite_check_and_unscale_(grads, found, inverse.to(device))
            found_inf += found.to(found_inf.device)
        if overwritten:
            # Not unscaled (they are values, not gradients of the loss), but checked: Keras
            # skips the whole step, these included, when any gradient is not finite.
            one = torch.ones((), dtype=torch.float32, device=found_inf.device)
            torch._amp_foreach_non_finite_check_and_unscale_(overwritten, found_inf, one)
        if self._fused_kernel_skips(found_inf.device):
            self._fused_step(found_inf)
            protected = []
        else:
            protected = self._device_protected(found_inf.device)
        if protected is None:
            if not bool(found_inf.item()):  # the one host read per step (see the module's doc)
                self.inner_optimizer.step()
        elif protected:
            self._step_or_restore(protected, found_inf)
        torch._amp_update_scale_(
            self.dynamic_scale, self.step_counter, found_inf, 2.0, 0.5, self.dynamic_growth_steps
        )

    def _fused_kernel_skips(self, device) -> bool:
        """Whether the inner step is torch's fused kernel alone, which skips a non-finite step
        itself when handed the flag (as `torch.amp.GradScaler` hands it): Adam, AdamW or SGD
        with fused=True, on `device`, without what lamina adds around the kernel (weight decay
        applied before it, constraints, moving averages)."""
        inner = self.inner_optimizer
        torch_optimizer = getattr(inner, "torch_optimizer", None)
        return (
            torch_optimizer is not None
            and getattr(torch_optimizer, "_step_supports_amp_scaling", False)
            and all(group.get("fused") for group in torch_optimizer.param_groups)
            and not inner.gradient_accumulation_steps
            and not (inner.weight_decay and not inner.decoupled_weight_decay_in_torch)
            and not inner.has_constraints
            and inner.moving_averages is None
            and not inner.overwritten  # the kernel would not skip their overwrite
            and all(p.device == device for p in inner.parameters)
        )

    def _fused_step(self, found_inf) -> None:
        """The inner step with the flag in the kernel: no copy of the weights, no host read."""
        torch_optimizer = self.inner_optimizer.torch_optimizer
        torch_optimizer.found_inf = found_inf.reshape(())  # read by the fused kernel (the grads are
        try:  # already unscaled, so no grad_scale)
            self.inner_optimizer.step()
        finally:
            torch_optimizer.found_inf = None
        self.skipped_steps += (found_inf.reshape(()) > 0).long()

    def _device_protected(self, device) -> list[torch.Tensor] | None:
        """The tensors an inner step changes (the weights, the torch optimizer's state, the
        moving averages), when all live on `device` and the step changes nothing else that the
        count of steps cannot fix; else None (the host decides)."""
        inner = self.inner_optimizer
        if getattr(inner, "torch_optimizer", None) is None or inner.gradient_accumulation_steps:
            return None
        inner.create_state()  # the state a step would create, made now so it can be put back
        protected = [*inner.parameters, *inner.overwritten]
        for state in inner.torch_optimizer.state.values():
            protected.extend(v for v in state.values() if isinstance(v, torch.Tensor))
        protected.extend(inner.moving_averages or [])
        if any(t.device != device for t in protected):
            return None
        return protected

    def _step_or_restore(self, protected, found_inf) -> None:
        """Run the inner step, then put back what it changed where `found_inf` is set."""
        with torch.no_grad():
            before = [t.detach().clone() for t in protected]
            self.inner_optimizer.step()
            skip = found_inf.reshape(()) > 0
            for tensor, saved in zip(protected, before, strict=True):
                tensor.detach().copy_(torch.where(skip, saved, tensor.detach()))
            self.skipped_steps += skip.long()

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's API: apply (gradient, variable) pairs of the *scaled* loss."""
        pairs = [(grad, torch_variable(variable)) for grad, variable in grads_and_vars]
        if not self.built:
            self.build([v for _, v in pairs])
        for grad, variable in pairs:
            variable.grad = as_gradient(grad, variable)
        self.step()

    def finalize_variable_values(self, var_list=None) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # ----------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        inner = registry.serialize(self.inner_optimizer)
        return {
            "name": self.name,
            "inner_optimizer": {"module": "keras.optimizers", **inner, "registered_name": None},
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = registry.deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)

    def state_dict(self) -> dict:
        self.settle_iterations()
        return {
            "inner": self.inner_optimizer.state_dict(),
            "dynamic_scale": None if self.dynamic_scale is None else float(self.dynamic_scale),
            "step_counter": None if self.step_counter is None else int(self.step_counter),
        }

    def load_state_dict(self, state: dict) -> None:
        self.inner_optimizer.load_state_dict(state["inner"])
        if self.skipped_steps is not None:  # the loaded count is already net of skipped steps
            self.skipped_steps.zero_()
        if state.get("dynamic_scale") is not None and self.dynamic_scale is not None:
            self.dynamic_scale.fill_(state["dynamic_scale"])
            self.step_counter.fill_(state["step_counter"])
