"""Keras's way of writing an optimizer, `update_step(gradient, variable, learning_rate)`, run as a
torch optimizer.

Keras documents a custom optimizer as a subclass of `Optimizer` whose `build(var_list)` makes slots
with `add_variable_from_reference` and whose `update_step` updates one variable with `assign*`.
lamina's `Optimizer` builds such a subclass (one that defines `update_step` and no `torch_class`)
over `UpdateStepRule`, a torch optimizer whose `step()` calls the subclass's `update_step` for each
parameter that has a gradient. Everything lamina does around a torch optimizer (clipping, weight
decay, EMA, gradient accumulation, loss scaling, constraints, the step counter) then runs around
the user's rule unchanged, as Keras runs it around `update_step`.

The slots are `SlotVariable`s: Keras variables whose tensor is an entry of the torch optimizer's
per-parameter state. `state_dict`, the saved files, `MultiOptimizer` and `LossScaleOptimizer` see
them as any torch optimizer's state; the variable looks its tensor up at each use, so torch's
`load_state_dict` (which replaces the tensors) and a move to another device keep it current.
"""

from __future__ import annotations

import torch

from lamina.engine.variable import Variable


class UpdateStepRule(torch.optim.Optimizer):
    """A torch optimizer whose step is a Keras `update_step`, called per parameter.

    Args:
        params: the parameters (or param groups) to update.
        lr: the learning rate handed to `update_step` (lamina's `Optimizer` keeps it current).
        update_step: `update_step(gradient, variable, learning_rate)`, updating in place.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> rule = UpdateStepRule([w], 0.5, lambda g, v, lr: v.sub_(lr * g))
        >>> w.grad = torch.tensor([2.0])
        >>> rule.step()
        >>> w.item()
        0.0
    """

    def __init__(self, params, lr, update_step):
        super().__init__(params, {"lr": lr})
        self._update_step = update_step

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    self._update_step(parameter.grad, parameter, group["lr"])
        return loss


class SlotVariable(Variable):
    """An optimizer variable made for one weight (Keras's `add_variable_from_reference`), whose
    tensor is that weight's entry `key` in the optimizer's torch state.

    Args:
        owner: the lamina `Optimizer` (its `torch_optimizer` holds the tensor).
        parameter: the weight the slot belongs to.
        key: the slot's key in the weight's torch state.
        initial: the initial tensor, laid out as the weight (it becomes the state entry).
        name: the variable's name (Keras's `<weight path>_<slot name>`).

    Example:
        >>> opt = lamina.optimizers.SGD()
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> w.path = "dense/bias"
        >>> opt.build([w])
        >>> slot = opt.add_variable_from_reference(w, "momentum")
        >>> slot.numpy(), slot.name
        (array([0., 0.], dtype=float32), 'dense_bias_momentum')
    """

    def __init__(self, owner, parameter, key, initial, name):
        super().__init__(torch.zeros((), dtype=initial.dtype), trainable=False, name=name)
        self._owner, self._parameter, self._key = owner, parameter, key
        self._tensor = None  # the state entry is the one tensor
        owner.torch_optimizer.state[parameter][key] = initial

    def _stored(self) -> torch.Tensor:
        return self._owner.torch_optimizer.state[self._parameter][self._key]

    @property
    def reference(self) -> torch.Tensor:
        """The weight this slot belongs to."""
        return self._parameter
