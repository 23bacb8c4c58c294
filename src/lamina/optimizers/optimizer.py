"""The one wrapper over torch.optim: Keras's names, defaults and options on torch's fused kernels.

An `Optimizer` holds Keras's hyperparameters until `build(parameters)` creates the torch optimizer
(fused where torch has a fused kernel; `keras_rules` where torch's formula is not Keras's: RMSprop,
Adagrad, Adamax; `update_step_rule` for a custom optimizer written as Keras documents it, with
`update_step`). `step()` applies Keras's extras around torch's update:
gradient clipping (`clipnorm`, `clipvalue`, `global_clipnorm`), decoupled `weight_decay`, a learning
rate schedule read from the step counter, constraints and EMA. Nothing here reads a tensor value
on the host.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings

import torch

from lamina.engine import errors
from lamina.engine.naming import to_snake_case, unique_name
from lamina.optimizers import argument_checks as check
from lamina.optimizers import keras_rules, schedules
from lamina.optimizers.fused_step import StraightStep, straight_step
from lamina.optimizers.given_tensors import as_gradient, torch_variable
from lamina.optimizers.keras_variables import KERAS_ORDER, KerasVariables
from lamina.optimizers.memory_layout import slots_like_parameters
from lamina.optimizers.scalar_variables import LearningRate, StepCounter
from lamina.optimizers.update_step_rule import UpdateStepRule
from lamina.optimizers.variable_paths import path_of


class Optimizer(KerasVariables):
    """Base class of lamina's optimizers: Keras's hyperparameters over a torch optimizer.

    The torch optimizer is created by `build(parameters)` (`compile`/`fit` call it); `step()` then
    applies Keras's extras around torch's update in Keras's order: loss-scale undo, gradient
    accumulation, clipping, decoupled weight decay, the update, constraints, the moving average.
    Subclasses set `torch_class` and map their arguments in `torch_options()`; a custom optimizer
    written for Keras defines `build(var_list)` and `update_step(gradient, variable,
    learning_rate)` instead, and runs unchanged (see `update_step_rule`).

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable returning the rate.
        weight_decay: decoupled weight decay (`w -= lr * weight_decay * w`), or None.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm.
        use_ema: keep an exponential moving average of the weights (copied into them at the end of
            `fit`, as Keras).
        ema_momentum: the moving average's momentum.
        ema_overwrite_frequency: copy the average into the weights every this many steps, or None.
        loss_scale_factor: the factor the loss was multiplied by; gradients are divided by it.
        gradient_accumulation_steps: update once every this many calls, with the mean gradient.
        name: the optimizer's name (the class name in lower case by default).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
        >>> optimizer = SGD(learning_rate=0.1, clipvalue=1.0)
        >>> optimizer.apply_gradients([(torch.tensor([5.0, -0.5]), w)])
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -0.95]
    """

    torch_class: type[torch.optim.Optimizer] | None = None
    supports_fused = False
    # Whether DTensor (ModelParallel's weights) has a sharding rule for the fused kernel.
    fused_takes_dtensor = True
    # torch.optim's classes take a `foreach` flag; keras_rules' are always multi-tensor.
    takes_foreach_flag = True
    # Keras applies `weight_decay` decoupled (var -= lr * wd * var) in every optimizer.
    decoupled_weight_decay_in_torch = False

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if "decay" in kwargs:
            # Keras 3 dropped Keras 2's per-step decay but still accepts the argument.
            kwargs.pop("decay")
            warnings.warn(
                "Argument `decay` is no longer supported and will be ignored.", stacklevel=2
            )
        if kwargs:
            hint = ""
            if "lr" in kwargs:
                hint = "`lr` is the Keras 2 name: pass `learning_rate=` instead."
            raise errors.unexpected_arguments(f"{type(self).__name__}()", kwargs, hint)
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Use only one of clipnorm, clipvalue and global_clipnorm.")
        check.common_options(self, locals())  # the arguments above, by name
        self.name = name or unique_name(to_snake_case(type(self).__name__))  # Keras's
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._iterations = 0
        self.torch_optimizer: torch.optim.Optimizer | None = None
        # The update without torch's step() walk (fused Adam / SGD, the Keras rules).
        self._straight_update: StraightStep | None = None
        self._parameters: list[torch.Tensor] = []
        self._ema: list[torch.Tensor] | None = None
        self._constraints: list = []
        self._accumulators: dict | None = None
        self._accumulated_calls = 0
        # id(weight) -> the updates it had no gradient for, still to add to torch's step count
        self._missed_updates: dict[int, int] = {}
        # id(weight) -> the update count when it left a build (frozen), and its torch state
        self._left_at: dict[int, int] = {}
        self._parked_state: dict[int, dict] = {}
        self._overwritten: list[torch.Tensor] = []
        self._overwrite_maxima: dict = {}
        self._trainable: list[torch.Tensor] = []  # as `build` got them, overwritten included
        self._variable_index: dict[int, int] = {}  # id(weight) -> its index in `_trainable`
        self._added_variables: list = []  # add_variable*'s, in Keras's (creation) order
        self._decay_exclusions: tuple = ((), None)  # exclude_from_weight_decay: ids, pattern
        self._decay_excluded: set[int] = set()  # ids of the weights weight decay skips

    # ----------------------------------------------------------------------------------------------
    def torch_options(self) -> dict:
        """Keras hyperparameters -> torch optimizer keyword arguments (learning rate aside)."""
        return {}

    def build(self, var_list, constraints=None) -> None:
        """Create the torch optimizer over `var_list` (compile/fit call it once built). Those
        flagged `overwrite_with_gradient` stay out of it (see `overwritten`).

        A subclass written as Keras documents it overrides `build(self, var_list)`, calls
        `super().build(var_list)` and then makes its slots with `add_variable_from_reference`
        or `add_optimizer_variables`.

        Args:
            var_list: the weights to optimize (those not requiring grad are left out).
            constraints: `(weight, projection)` pairs applied after each update; None keeps
                those given to `set_constraints`.

        Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> optimizer = lamina.optimizers.Adam()
        >>> optimizer.build([w])
        >>> optimizer.built
        True
        """
        var_list = list(var_list)
        if constraints is None and not self._constraints:
            # Keras projects every variable that carries a `constraint` after its update; the
            # model's come through `set_constraints`, a bare Variable's only from here.
            constraints = _own_constraints(var_list)
        var_list = [torch_variable(variable) for variable in var_list]
        trainable = [p for p in var_list if p.requires_grad]
        previous = (self.torch_optimizer, self._parameters, self._ema)
        self._trainable = trainable
        self._variable_index = {id(p): index for index, p in enumerate(trainable)}
        self._added_variables = []
        self._overwritten = [p for p in trainable if getattr(p, "overwrite_with_gradient", False)]
        self._parameters = trainable
        if self._overwritten:
            kept = {id(p) for p in self._overwritten}
            self._parameters = [p for p in trainable if id(p) not in kept]
        if constraints is not None:
            self._constraints = list(constraints)
        self._decay_excluded = self._excluded_from_decay()
        params = self._torch_params()
        if self._decay_excluded and self.decoupled_weight_decay_in_torch:
            params = _without_decay(params, self._decay_excluded)
        params = params or [torch.zeros(0, requires_grad=True)]
        if self.torch_class is None and not runs_update_step(self):
            raise NotImplementedError(
                f"{type(self).__name__} has neither a `torch_class` nor an `update_step`: it "
                "cannot update weights. Hint: define `update_step(self, gradient, variable, "
                "learning_rate)` (and `build(self, var_list)` for its slots), as in Keras."
            )
        if runs_update_step(self):
            self.torch_optimizer = UpdateStepRule(params, self._current_lr(), self.update_step)
        else:
            options = self.torch_options()
            fused = self.supports_fused and self._parameters
            if fused and _fused_ok(self._parameters, self.fused_takes_dtensor):
                options["fused"] = True
            elif self.takes_foreach_flag and self._parameters and self._parameters[0].is_cuda:
                options["foreach"] = True
            self.torch_optimizer = self.torch_class(params, lr=self._current_lr(), **options)
            if previous[0] is not None:
                self._carry_state(*previous)
        self._straight_update = straight_step(self.torch_optimizer)
        if self.use_ema:
            averages = {}
            if previous[2] is not None:
                averages = dict(zip(map(id, previous[1]), previous[2], strict=False))
            self._ema = [averages.get(id(p), p.detach()).clone() for p in self._parameters]

    def _carry_state(self, torch_optimizer, parameters, averages) -> None:
        """A build over another set of weights (freezing changed, compile again with this
        optimizer): Keras's optimizer keeps its slots and counts, so the weights built before keep
        their torch state. A weight frozen meanwhile sat out the updates made since it left."""
        now = {id(p) for p in self._parameters}
        left_at, parked = self._left_at, self._parked_state
        for p in parameters:
            if id(p) not in now:
                left_at[id(p)] = self._iterations
                if torch_optimizer.state.get(p):
                    parked[id(p)] = torch_optimizer.state[p]
        for p in self._parameters:
            state = torch_optimizer.state.get(p) or parked.pop(id(p), None)
            if state:
                self.torch_optimizer.state[p] = state
            left = left_at.pop(id(p), None)
            if state and left is not None and self._iterations > left:
                missed = self._missed_updates.get(id(p), 0)
                self._missed_updates[id(p)] = missed + self._iterations - left

    def hand_over_state(self, replacements: dict, convert) -> None:
        """Weights replaced by others (ModelParallel puts DTensors in their place): each one's
        torch state, converted by `convert(value, new_weight)`, waits for its replacement and is
        taken up by the next `build`, so slots and step counts (a resumed run's) survive.

        Args:
            replacements: `{id(old weight): new weight}`.
            convert: makes one state tensor fit the new weight.

        Example:
            >>> old = torch.nn.Parameter(torch.ones(2))
            >>> optimizer = lamina.optimizers.Adam()
            >>> optimizer.apply([torch.ones(2)], [old])
            >>> new = torch.nn.Parameter(old.detach().clone())
            >>> optimizer.hand_over_state({id(old): new}, lambda value, weight: value.clone())
            >>> optimizer.build([new])
            >>> optimizer.torch_optimizer.state[new]["exp_avg"]
            tensor([0.1000, 0.1000])
        """
        if self.torch_optimizer is None:
            return
        state = self.torch_optimizer.state
        for old in self._parameters:
            new = replacements.get(id(old))
            if new is None or not state.get(old):
                continue
            self._parked_state[id(new)] = {
                key: convert(value, new)
                if isinstance(value, torch.Tensor) and value.shape == old.shape
                else value
                for key, value in state.pop(old).items()
            }
            if id(old) in self._missed_updates:
                self._missed_updates[id(new)] = self._missed_updates.pop(id(old))

    def set_constraints(self, constraints) -> None:
        """Set the weight constraints applied after each update (compile/fit pass the model's,
        before `build`, so a Keras-style `build(var_list)` override needs no argument for them).

        Args:
            constraints: `(weight, projection)` pairs (see `lamina.constraints.collect`).

        Example:
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.set_constraints([])
        >>> optimizer.has_constraints
        False
        """
        self._constraints = list(constraints)

    # ----------------------------------------------------------------------------------------------
    # Keras's API for writing an optimizer: slots, in-place assignment, the per-variable rule.

    def update_step(self, gradient, variable, learning_rate) -> None:
        """Update one weight from its gradient by this optimizer's rule alone (no clipping, weight
        decay, moving average or step count: `apply` adds those). A custom optimizer overrides
        it, as in Keras, and lamina then runs it as its torch optimizer (`UpdateStepRule`).

        Args:
            gradient: the weight's gradient.
            variable: a weight the optimizer was built with.
            learning_rate: the rate of this step.

        Example:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build([w])
        >>> optimizer.update_step(torch.tensor([2.0]), w, 0.1)
        >>> round(w.item(), 4)
        0.8
        """
        self._check_built("update_step")
        parameter = torch_variable(variable)
        torch_optimizer = self.torch_optimizer
        saved_grads = [p.grad for p in self._parameters]
        saved_lrs = [group["lr"] for group in torch_optimizer.param_groups]
        try:
            for p in self._parameters:
                p.grad = None
            parameter.grad = as_gradient(gradient, parameter)
            for group in torch_optimizer.param_groups:
                group["lr"] = float(learning_rate)
            self._prepare_torch_step()
            torch_optimizer.step()
        finally:
            parameter.grad = None
            for p, grad in zip(self._parameters, saved_grads, strict=True):
                p.grad = grad
            for group, lr in zip(torch_optimizer.param_groups, saved_lrs, strict=True):
                group["lr"] = lr

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keep weights out of `weight_decay`: those in `var_list`, and those whose name matches
        any of `var_names` (regular expressions searched in the name, as Keras). Call it before
        the optimizer is built.

        Args:
            var_list: weights (or variables) to exclude.
            var_names: strings; a weight whose name contains one is excluded (`["bias"]`).

        Example:
        >>> optimizer = lamina.optimizers.AdamW(weight_decay=0.1)
        >>> optimizer.exclude_from_weight_decay(var_names=["bias"])
        """
        if self.built:
            raise ValueError(
                f"{type(self).__name__}.exclude_from_weight_decay() was called after the "
                "optimizer was built; it must come before. Hint: call it before `fit` (or "
                "`build`), e.g. right after creating the optimizer."
            )
        ids = {id(getattr(v, "value", v)) for v in var_list or ()}
        pattern = re.compile("|".join(sorted(set(var_names)))) if var_names else None
        self._decay_exclusions = (ids, pattern)

    def _excluded_from_decay(self) -> set[int]:
        ids, pattern = self._decay_exclusions
        return {
            id(p)
            for p in self._parameters
            # Keras searches the name: the last part of the path (a plain tensor has no name)
            if id(p) in ids
            or (pattern is not None and pattern.search(path_of(p).rpartition("/")[2]))
        }

    def _torch_params(self) -> list:
        """What the torch optimizer is created over: the parameters, or param groups (dicts)
        where an optimizer treats kinds of weights apart (Muon)."""
        return self._parameters

    @property
    def built(self) -> bool:
        return self.torch_optimizer is not None

    @property
    def parameters(self) -> list[torch.Tensor]:
        """The weights this optimizer updates (set by `build`), in their update order.

        Example:
        >>> optimizer = lamina.optimizers.SGD()  # doctest: +SKIP
        >>> optimizer.build([weight])  # doctest: +SKIP
        >>> optimizer.parameters[0] is weight  # doctest: +SKIP
        True
        """
        return self._parameters

    @property
    def overwritten(self) -> list[torch.Tensor]:
        """The weights flagged `overwrite_with_gradient` (float8's scales and amax histories),
        set by `build`: each step writes their gradient over them, outside the update rule (no
        slots, clipping, weight decay, loss-scale division, constraint or moving average).

        Example:
        >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> model.quantize("float8")
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build(model.trainable_weights)
        >>> len(optimizer.overwritten), optimizer.overwritten[0].name
        (6, 'inputs_scale')
        """
        return self._overwritten

    def built_for(self, weights) -> bool:
        """Whether `build` was given exactly these trainable weights, in this order.

        Args:
            weights: the model's trainable weights.

        Example:
        >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build(model.trainable_weights)
        >>> optimizer.built_for(model.trainable_weights), optimizer.built_for([])
        (True, False)
        """
        return self.built and list(map(id, weights)) == list(map(id, self._trainable))

    @property
    def moving_averages(self) -> list[torch.Tensor] | None:
        """The exponential moving averages of `parameters` (`use_ema=True`, once built), one per
        parameter in the same order; None without EMA. Updated in place by each step.

        Example:
        >>> optimizer = lamina.optimizers.SGD(use_ema=True)  # doctest: +SKIP
        >>> optimizer.build([weight])  # doctest: +SKIP
        >>> optimizer.moving_averages[0].shape == weight.shape  # doctest: +SKIP
        True
        """
        return self._ema

    @property
    def has_constraints(self) -> bool:
        """Whether weight constraints (`kernel_constraint`, ...) run after each update."""
        return bool(self._constraints)

    def clip_gradients(self, grads) -> None:
        """Clip `grads` in place by `global_clipnorm`, `clipnorm` or `clipvalue` (Keras's rule);
        traceable by torch.compile (no host read).

        Args:
            grads: a list of gradient tensors, modified in place.

        Example:
        >>> optimizer = lamina.optimizers.SGD(clipvalue=0.5)
        >>> grads = [torch.tensor([2.0, -0.1])]
        >>> optimizer.clip_gradients(grads)
        >>> grads[0].tolist()
        [0.5, -0.10000000149011612]
        """
        self._clip(grads)

    def refresh_learning_rate(self) -> None:
        """Write the current learning rate (a schedule's value at `iterations`) into the torch
        optimizer, as `step()` does before each update.

        Example:
        >>> optimizer.refresh_learning_rate()  # doctest: +SKIP
        """
        self._apply_lr()

    def follow_parameters(self) -> None:
        """After the model moved (`model.to("cuda")`), move the state to its parameters' device:
        torch's own load_state_dict does the casting (keeping `step` where each rule wants it)."""
        if self.torch_optimizer is not None:
            self.torch_optimizer.load_state_dict(self.torch_optimizer.state_dict())
            slots_like_parameters(self.torch_optimizer)
        if self._ema is not None:
            self._ema = [e.to(p.device) for e, p in zip(self._ema, self._parameters, strict=True)]
        if self._accumulators is not None:
            by_id = {id(p): p for p in self._parameters}
            self._accumulators = {
                key: value.to(by_id[key].device) for key, value in self._accumulators.items()
            }

    # ----------------------------------------------------------------------------------------------
    # Learning rate: a float or a schedule of the step counter; readable and settable in training.

    def _schedule_step(self) -> int:
        """The step a schedule is read at: Keras's `iteration` variable, which counts calls, not
        updates, with gradient accumulation (its documented rule: schedules see the "real"
        iterations). During an update it is the number of calls before this one."""
        steps = self.gradient_accumulation_steps
        if steps:
            return self._iterations * steps + self._accumulated_calls
        return self._iterations

    def _current_lr(self) -> float:
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return float(self._learning_rate(self._schedule_step()))
        if callable(self._learning_rate):
            return float(self._learning_rate())
        return float(self._learning_rate)

    @property
    def learning_rate(self) -> LearningRate:
        return LearningRate(self._current_lr(), self, "learning_rate")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if callable(value):  # a schedule or a zero-argument callable, read at each update
            self._learning_rate = value
        elif isinstance(self._learning_rate, schedules.LearningRateSchedule):
            # Keras's rule: a schedule owns the rate (ReduceLROnPlateau and
            # LearningRateScheduler then fail here, loudly, instead of being ignored).
            raise TypeError(
                f"{type(self).__name__} was created with a LearningRateSchedule "
                f"({type(self._learning_rate).__name__}) as its learning_rate, so its learning "
                f"rate cannot be set to {value!r}. Hint: create the optimizer with a float "
                "learning_rate to change it during training (e.g. with ReduceLROnPlateau)."
            )
        else:
            check.learning_rate(value, self)
            self._learning_rate = float(value)
        self._apply_lr()

    lr = learning_rate

    @property
    def iterations(self) -> StepCounter:
        """The number of updates applied (Keras counts updates, not accumulation calls)."""
        return StepCounter(self._iterations, self, "iterations")

    @iterations.setter
    def iterations(self, value) -> None:
        self._iterations = int(value)

    def align_step_counts(self) -> None:
        """Set the step count torch keeps per weight to `iterations`, as after Keras's
        `optimizer.iterations.assign(n)`: Keras's bias corrections (Adam, Nadam, Adamax,
        Adafactor, Muon, ...) read `iterations`, torch's read their own count.

        Example:
            >>> optimizer.iterations.assign(100)  # calls it  # doctest: +SKIP
        """
        if self.torch_optimizer is None or runs_update_step(self):
            return
        with torch.no_grad():
            for state in self.torch_optimizer.state.values():
                step = state.get("step")
                if isinstance(step, torch.Tensor):
                    step.fill_(self._iterations)
                elif step is not None:
                    state["step"] = self._iterations

    def _apply_lr(self) -> None:
        if self.torch_optimizer is not None:
            lr = self._current_lr()
            previous = self.torch_optimizer.param_groups[0]["lr"]
            if lr != previous:
                self._on_lr_change(previous, lr)
            for group in self.torch_optimizer.param_groups:
                group["lr"] = lr
            if lr != 0:
                self._momentum_lr = lr

    def _on_lr_change(self, previous: float, lr: float) -> None:
        """Keras's SGD keeps lr-scaled steps in its momentum (v = -lr_old * b); torch keeps
        unscaled ones and multiplies by the current lr. When the rate changes, rescale torch's
        buffer by lr_old / lr_new so the next step equals Keras's. A zero rate leaves the buffer
        in the units of the last non-zero one (`_momentum_lr`), which SGD coasts on (Keras: v =
        m*v, w += v); the next non-zero rate rescales from there. (keras_rules.RMSprop keeps
        Keras's lr-scaled momentum itself, under another name.)"""
        if lr == 0 or runs_update_step(self):  # a custom rule's slots are its own business
            return
        if previous == 0:
            previous = self.__dict__.get("_momentum_lr", 0.0)
        buffers = [
            state["momentum_buffer"]
            for state in self.torch_optimizer.state.values()
            if isinstance(state.get("momentum_buffer"), torch.Tensor)
        ]
        if buffers:
            torch._foreach_mul_(buffers, previous / lr)

    # ----------------------------------------------------------------------------------------------
    def create_state(self) -> None:
        """Have the torch optimizer create the state of the parameters that have none yet (its
        own keys, dtypes and devices) without changing anything: one step of zero gradients at
        a zero learning rate for those parameters only, with the step counters it started set
        back to zero (and NAdam's momentum product back to one). Loading a saved state and the
        captured step write into that state.
        (A custom optimizer's `build` made its slots already.)"""
        if runs_update_step(self):
            return
        torch_optimizer = self.torch_optimizer
        fresh = {id(p) for p in self._parameters if not torch_optimizer.state.get(p)}
        if not fresh:
            return
        saved_lr = [group["lr"] for group in torch_optimizer.param_groups]
        saved_grads = [p.grad for p in self._parameters]
        for group in torch_optimizer.param_groups:
            group["lr"] = 0.0
        for p in self._parameters:  # a parameter without a gradient is skipped by torch
            p.grad = torch.zeros_like(p) if id(p) in fresh else None
        try:
            torch_optimizer.step()
        finally:
            for group, lr in zip(torch_optimizer.param_groups, saved_lr, strict=True):
                group["lr"] = lr
            for p, grad in zip(self._parameters, saved_grads, strict=True):
                p.grad = grad
        with torch.no_grad():
            for p in self._parameters:
                state = torch_optimizer.state[p] if id(p) in fresh else {}
                if isinstance(state.get("step"), torch.Tensor):
                    state["step"].zero_()
                if isinstance(state.get("mu_product"), torch.Tensor):  # NAdam's, even at lr 0
                    state["mu_product"].fill_(1.0)

    def zero_grad(self) -> None:
        torch_optimizer = self.torch_optimizer
        if (
            type(torch_optimizer).zero_grad is _TORCH_ZERO_GRAD
            and not torch.autograd.profiler._is_profiler_enabled
        ):
            # What torch's zero_grad(set_to_none=True) does, without its per-call wrappers.
            for group in torch_optimizer.param_groups:
                for parameter in group["params"]:
                    parameter.grad = None
        else:
            torch_optimizer.zero_grad(set_to_none=True)
        for weight in self._overwritten:  # outside the torch optimizer
            weight.grad = None

    def scale_loss(self, loss):
        """Keras's `loss_scale_factor`: the trainer scales the loss up, `step()` divides it back."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def step(self) -> None:
        """One update from the gradients already in `.grad`, in Keras's order: unscale, accumulate,
        clip, decay the weights, update, constrain, track the moving average. The weights
        flagged `overwrite_with_gradient` take their gradient first, as Keras does."""
        if self._overwritten:
            self._overwrite_with_gradients()
        parameters = [p for p in self._parameters if p.grad is not None]
        if not parameters:
            return
        grads = [p.grad for p in parameters]
        if self.loss_scale_factor is not None:
            torch._foreach_div_(grads, self.loss_scale_factor)
        updates_before = self._iterations
        if self.gradient_accumulation_steps and not self._accumulate(parameters, grads):
            if self._ema is not None:  # Keras averages after every call, updating or not
                self._update_ema(updates_before)
            return
        if callable(self._learning_rate):  # a schedule, or Keras's zero-argument callable
            self._apply_lr()
        self._clip(grads)
        if self.weight_decay and not self.decoupled_weight_decay_in_torch:
            decayed = parameters
            if self._decay_excluded:
                decayed = [p for p in parameters if id(p) not in self._decay_excluded]
            with torch.no_grad():
                torch._foreach_mul_(decayed, 1.0 - self._current_lr() * self.weight_decay)
        if len(parameters) < len(self._parameters) or self._missed_updates:
            self._catch_up_step_counts(parameters)
        self._prepare_torch_step()
        straight = self._straight_update
        if (
            straight is None
            or straight.torch_optimizer is not self.torch_optimizer
            or not straight()
        ):
            self.torch_optimizer.step()
        self._iterations += 1
        self._accumulated_calls = 0  # the update's call closes the window (see _accumulate)
        if self._constraints:
            with torch.no_grad():
                for parameter, constraint in self._constraints:
                    parameter.copy_(constraint(parameter))
        if self._ema is not None:
            self._update_ema(updates_before)

    def _catch_up_step_counts(self, parameters) -> None:
        """Keras's bias corrections read the optimizer's `iterations`; torch's read a count per
        weight, which a weight without a gradient does not advance. Count the updates each weight
        sat out (host numbers) and add them to its torch count when it next updates (a weight's
        first update creates its state first), so its correction is Keras's. NAdam's momentum
        product, one variable in Keras, is copied from a weight that did not sit out."""
        present = {id(p) for p in parameters}
        missed = self._missed_updates
        behind = [p for p in parameters if id(p) in missed]
        for p in self._parameters:
            if id(p) not in present:
                missed[id(p)] = missed.get(id(p), 0) + 1
        if not behind or runs_update_step(self):
            return
        self.create_state()
        states = self.torch_optimizer.state
        in_step = next((p for p in parameters if id(p) not in missed), None)
        with torch.no_grad():
            for p in behind:
                state = states[p]
                count = missed.pop(id(p))
                step = state.get("step")
                if isinstance(step, torch.Tensor):
                    step.add_(count)
                elif step is not None:
                    state["step"] = step + count
                if in_step is not None and isinstance(state.get("mu_product"), torch.Tensor):
                    state["mu_product"].copy_(states[in_step]["mu_product"])

    def _prepare_torch_step(self) -> None:
        """Set per-step hyperparameters of the torch optimizer (host floats only)."""

    def _moves_at_zero_rate(self) -> bool:
        """Whether a step at a zero learning rate still moves the weights (SGD's momentum), which
        the captured step's rules leave to the eager step."""
        return False

    def _accumulate(self, parameters, grads) -> bool:
        """Sum gradients over `gradient_accumulation_steps` calls; True when it is time to update
        (the `.grad`s then hold the mean). Keras counts `iterations` in updates, not calls. The
        updating call leaves `_accumulated_calls` at steps - 1 until the update is made (`step`
        zeroes it), so a schedule reads the rate at the calls made before it, as Keras does."""
        accumulators = self.gradient_accumulators()
        buffers = [accumulators[id(p)] for p in parameters]
        torch._foreach_add_(buffers, grads)
        if self._accumulated_calls + 1 < self.gradient_accumulation_steps:
            self._accumulated_calls += 1
            for parameter in parameters:
                parameter.grad = None
            return False
        torch._foreach_div_(buffers, float(self.gradient_accumulation_steps))
        torch._foreach_copy_(grads, buffers)
        torch._foreach_zero_(buffers)
        return True

    def gradient_accumulators(self) -> dict:
        """The sums of gradients `gradient_accumulation_steps` keeps between updates, by the id
        of their weight (made at the first call that needs them: zeros).

        Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> optimizer = lamina.optimizers.SGD(gradient_accumulation_steps=2)
        >>> optimizer.apply_gradients([(torch.ones(2), w)])
        >>> optimizer.gradient_accumulators()[id(w)].tolist()
        [1.0, 1.0]
        """
        if self._accumulators is None:
            self._accumulators = {id(p): torch.zeros_like(p) for p in self._parameters}
        return self._accumulators

    def _overwrite_with_gradients(self) -> None:
        """Keras's `overwrite_with_gradient`: the gradient (float8's next scale or history)
        replaces the weight. With gradient accumulation the elementwise maximum over the window
        does, at the window's last call (Keras accumulates these by max)."""
        weights = [p for p in self._overwritten if p.grad is not None]
        if not weights:
            return
        grads = [p.grad for p in weights]
        with torch.no_grad():
            if not self.gradient_accumulation_steps:
                torch._foreach_copy_(weights, grads)
                return
            maxima = [
                self._overwrite_maxima.setdefault(id(p), torch.zeros_like(p)) for p in weights
            ]
            torch._foreach_maximum_(maxima, grads)
            if self._accumulated_calls + 1 >= self.gradient_accumulation_steps:
                torch._foreach_copy_(weights, maxima)
                torch._foreach_zero_(maxima)

    def _clip(self, grads) -> None:
        # Keras's rule: g * c / max(norm, c); computed on device, no host read.
        if self.global_clipnorm is not None:
            norms = torch._foreach_norm(grads)
            total = torch.linalg.vector_norm(torch.stack(norms))
            scale = self.global_clipnorm / torch.clamp_min(total, self.global_clipnorm)
            torch._foreach_mul_(grads, scale)
        elif self.clipnorm is not None:
            norms = torch._foreach_norm(grads)
            scales = [self.clipnorm / torch.clamp_min(n, self.clipnorm) for n in norms]
            torch._foreach_mul_(grads, scales)
        elif self.clipvalue is not None:
            torch._foreach_clamp_min_(grads, -self.clipvalue)
            torch._foreach_clamp_max_(grads, self.clipvalue)

    def _update_ema(self, updates_before: int) -> None:
        """Keras's rule, keyed to the updates made before this call: the average starts as a
        copy while there were none, and overwrites the weights when (updates_before + 1) is a
        multiple of `ema_overwrite_frequency` (with accumulation, on every call of that window)."""
        with torch.no_grad():
            current = [p.detach() for p in self._parameters]
            if updates_before == 0:
                torch._foreach_copy_(self._ema, current)
            else:
                torch._foreach_lerp_(self._ema, current, 1.0 - self.ema_momentum)
            frequency = self.ema_overwrite_frequency
            if frequency and (updates_before + 1) % frequency == 0:
                torch._foreach_copy_(current, self._ema)

    def finalize_variable_values(self, var_list=None) -> None:
        """With use_ema, copy the moving averages into the model's weights (Keras's name)."""
        if self._ema is not None:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self._parameters], self._ema)

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's API: apply a list of (gradient, variable) pairs."""
        given = list(grads_and_vars)
        missing = [variable for grad, variable in given if grad is None]
        if missing:
            _report_missing_gradients(self, missing, everything=len(missing) == len(given))
        if not self.built:  # the variables as given: a Variable's `constraint` counts
            self.build([variable for _, variable in given])
        for grad, variable in given:
            variable = torch_variable(variable)
            variable.grad = as_gradient(grad, variable)
        self.step()

    def apply(self, grads, trainable_variables=None) -> None:
        self.apply_gradients(zip(grads, trainable_variables or self._trainable, strict=False))

    # ----------------------------------------------------------------------------------------------
    # The variables in Keras's order (`keras.optimizers.Optimizer.variables`): what a Keras
    # optimizer's `set_weights`, `save_own_variables` and `stateless_apply` take.

    # ----------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def state_dict(self) -> dict:
        """Everything needed to continue training: torch's state, the step counter, EMA and
        gradient accumulators (tensors on the CPU)."""
        accumulators = None
        if self._accumulators is not None:
            accumulators = [self._accumulators[id(p)].detach().cpu() for p in self._parameters]
        maxima = self._overwrite_maxima
        return {
            "iterations": self._iterations,
            "learning_rate": None if callable(self._learning_rate) else float(self._learning_rate),
            "torch": self.torch_optimizer.state_dict() if self.torch_optimizer else None,
            "ema": [t.detach().cpu() for t in self._ema] if self._ema is not None else None,
            "accumulators": accumulators,
            "accumulated_calls": self._accumulated_calls,
            "missed_updates": [self._missed_updates.get(id(p), 0) for p in self._parameters],
            "overwrite_maxima": [
                self._overwrite_maxima[id(p)].detach().cpu() if id(p) in maxima else None
                for p in self._overwritten
            ],
            # a custom optimizer's `add_variable`s (its slots are in torch's state)
            "own_variables": [v.value.detach().cpu() for v in self._own_variables()],
        }

    def load_state_dict(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        if state.get("learning_rate") is not None and not callable(self._learning_rate):
            self._learning_rate = float(state["learning_rate"])
        if state.get("torch") is not None and self.torch_optimizer is not None:
            self.torch_optimizer.load_state_dict(state["torch"])
            slots_like_parameters(self.torch_optimizer)
        with torch.no_grad():
            if state.get("ema") is not None and self._ema is not None:
                saved = [t.to(e.device) for t, e in zip(state["ema"], self._ema, strict=True)]
                torch._foreach_copy_(self._ema, saved)
            if state.get("accumulators") is not None:
                self._accumulators = {
                    id(p): t.to(p.device).clone()
                    for p, t in zip(self._parameters, state["accumulators"], strict=False)
                }
            maxima = state.get("overwrite_maxima") or []
            self._overwrite_maxima = {
                id(p): t.to(p.device).clone()
                for p, t in zip(self._overwritten, maxima, strict=False)
                if t is not None
            }
            for variable, saved in zip(
                self._own_variables(), state.get("own_variables") or [], strict=False
            ):
                variable.value.copy_(saved)
        self._accumulated_calls = int(state.get("accumulated_calls", 0))
        self._missed_updates = {
            id(p): int(count)
            for p, count in zip(self._parameters, state.get("missed_updates") or [], strict=False)
            if count
        }
        self._apply_lr()

    @property
    def variables(self) -> list:
        """The optimizer's variables as Keras lists them: `iteration`, `learning_rate` (absent
        with a schedule), then, once built, the moving averages (`use_ema`), the gradient
        accumulators and the slots, named and pathed as in Keras (`adam/dense_kernel_momentum`).

        Each is a `lamina.Variable` over the optimizer's own state (`StateView`): `numpy()` reads
        it and `assign` writes it. A slot torch keeps as Keras does is the torch state tensor
        itself; the others convert at each read and assignment (the step count and rate are host
        numbers; SGD's momentum is Keras's `-learning_rate * b` of torch's buffer `b`).

        Example:
            >>> w = torch.nn.Parameter(torch.zeros(2))
            >>> w.path = "dense/bias"
            >>> optimizer = lamina.optimizers.Adam(name="adam")
            >>> [v.path for v in optimizer.variables]
            ['adam/iteration', 'adam/learning_rate']
            >>> optimizer.build([w])
            >>> [v.name for v in optimizer.variables][2:]
            ['dense_bias_momentum', 'dense_bias_velocity']
        """
        return KERAS_ORDER["variables"](self)


def runs_update_step(optimizer) -> bool:
    """Whether `optimizer` is a Keras-style custom optimizer: its class defines `update_step`,
    which lamina runs as its torch optimizer (`UpdateStepRule`).

    Args:
        optimizer: a lamina optimizer.

    Example:
        >>> runs_update_step(SGD())
        False
    """
    return type(optimizer).update_step is not Optimizer.update_step


def _report_missing_gradients(optimizer, variables, everything: bool) -> None:
    """Keras's check of `apply_gradients`: no gradient at all is an error, some missing a
    warning (those variables keep their values)."""
    names = [getattr(v, "path", None) or getattr(v, "name", None) or "?" for v in variables]
    if everything:
        raise ValueError(
            f"{type(optimizer).__name__}.apply_gradients(): No gradients provided for any "
            f"variable; received None for {names}. Hint: check that the loss depends on "
            "the variables and that their gradients were computed."
        )
    warnings.warn(
        f"{type(optimizer).__name__}.apply_gradients(): gradients do not exist for variables "
        f"{names}; they keep their values. Hint: check that the loss depends on them.",
        stacklevel=3,
    )


def _own_constraints(var_list) -> list:
    """`(tensor, constraint)` for each trainable variable of `var_list` with a `constraint`."""
    pairs = []
    for variable in var_list:
        constraint = getattr(variable, "constraint", None)
        tensor = torch_variable(variable)
        if constraint is not None and getattr(tensor, "requires_grad", False):
            pairs.append((tensor, constraint))
    return pairs


def _without_decay(params, excluded) -> list:
    """Param groups in which the weights excluded from weight decay have their own group
    with `weight_decay=0` (for the optimizers that decay inside their torch rule)."""
    groups = params if params and isinstance(params[0], dict) else [{"params": params}]
    split = []
    for group in groups:
        kept = [p for p in group["params"] if id(p) not in excluded]
        dropped = [p for p in group["params"] if id(p) in excluded]
        if kept:
            split.append({**group, "params": kept})
        if dropped:
            split.append({**group, "params": dropped, "weight_decay": 0.0})
    return split


_TORCH_ZERO_GRAD = torch.optim.Optimizer.zero_grad


def _fused_ok(parameters, takes_dtensor: bool) -> bool:
    first = parameters[0]
    return all(
        p.is_floating_point()
        and p.device == first.device
        and p.device.type in ("cpu", "cuda")
        and (takes_dtensor or not hasattr(p, "placements"))  # a DTensor (ModelParallel)
        for p in parameters
    )


# --------------------------------------------------------------------------------------------------
# The optimizers. Keras's defaults; the comments say where torch's formula differs.


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Args:
        learning_rate: the step size (default 0.01).
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum.
        **kwargs: the options every optimizer takes (`weight_decay`, `clipnorm`, ...: see
            `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> SGD(learning_rate=0.1).apply_gradients([(torch.tensor([2.0]), w)])
        >>> round(w.item(), 4)
        0.8
    """

    torch_class = torch.optim.SGD
    supports_fused = True
    fused_takes_dtensor = False  # DTensor registers no strategy for aten._fused_sgd_

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.number(momentum, "momentum", self, 0, 1)  # Keras's range
        self.momentum = momentum
        self.nesterov = nesterov

    def torch_options(self):
        # Keras: v = m*v - lr*g; w += v. torch: b = m*b + g; w -= lr*b. Equal for a constant lr;
        # `Optimizer._on_lr_change` rescales b when the rate changes.
        # Without momentum Keras's Nesterov step is the plain step; torch refuses the pair.
        return {"momentum": self.momentum, "nesterov": self.nesterov and bool(self.momentum)}

    def _moves_at_zero_rate(self) -> bool:
        return bool(self.momentum) and bool(self.__dict__.get("_momentum_lr"))

    def _prepare_torch_step(self):
        # At a zero rate Keras's velocity still carries the weights (v = m*v; w += v); torch's
        # step would not move them. Its step with zero gradients at the rate the buffer is in
        # units of is Keras's, Nesterov's included.
        momentum_lr = self.__dict__.get("_momentum_lr", 0.0)
        if not self.momentum or not momentum_lr or self._current_lr() != 0:
            return
        for group in self.torch_optimizer.param_groups:
            group["lr"] = momentum_lr
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.grad = torch.zeros_like(parameter.grad)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2014): steps scaled by running estimates of the gradient's moments.

    Args:
        learning_rate: the step size (default 0.001).
        beta_1: the first moment's decay (default 0.9).
        beta_2: the second moment's decay (default 0.999).
        epsilon: added for numerical stability (default 1e-7, Keras's).
        amsgrad: use the AMSGrad variant (the running maximum of the second moment).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> Adam(learning_rate=0.1).apply_gradients([(torch.tensor([3.0]), w)])
        >>> round(w.item(), 4)  # Adam's first step has the size of the learning rate
        0.9
    """

    torch_class = torch.optim.Adam
    supports_fused = True

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.moments(self, beta_1, beta_2, epsilon)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def torch_options(self):
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "amsgrad": self.amsgrad}

    def _prepare_torch_step(self):
        # Keras: w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps); torch divides
        # sqrt(v) by sqrt(1 - b2^t) and adds eps after. Handing torch eps / sqrt(1 - b2^t) makes
        # its (fused) update Keras's: without it, weights whose sqrt(v) is near eps drift apart
        # (0.046 after 20 steps of the optimizer parity test's near-dead column).
        correction = 1.0 - self.beta_2 ** (self._iterations + 1)
        if correction > 0.0:
            eps = self.epsilon / math.sqrt(correction)
            for group in self.torch_optimizer.param_groups:
                group["eps"] = eps

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2017).

    Args:
        learning_rate: the step size (default 0.001).
        weight_decay: the decoupled decay factor (default 0.004, Keras's).
        beta_1: the first moment's decay (default 0.9).
        beta_2: the second moment's decay (default 0.999).
        epsilon: added for numerical stability (default 1e-7).
        amsgrad: use the AMSGrad variant.
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients([(torch.tensor([0.0]), w)])
        >>> round(w.item(), 4)  # no gradient: only the decay, w * (1 - 0.1 * 0.5)
        0.95
    """

    torch_class = torch.optim.AdamW
    decoupled_weight_decay_in_torch = True

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        **kwargs,
    ):
        # AdamW is Adam with its decay: Keras refuses None (Adam(weight_decay=...) is the
        # optional form).
        if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real):
            raise ValueError(
                "AdamW expects `weight_decay` to be a float; received "
                f"weight_decay={weight_decay!r}. Hint: for no decay use Adam, or weight_decay=0."
            )
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )

    def torch_options(self):
        return {**super().torch_options(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    # torch's RMSprop adds eps outside the square root: keras_rules says why that matters.
    """RMSprop with Keras's rule: `g / sqrt(v + eps)` (torch adds eps outside the square root).

    Args:
        learning_rate: the step size (default 0.001).
        rho: the decay of the running mean of squared gradients (default 0.9).
        momentum: momentum of the update (default 0).
        epsilon: added inside the square root (default 1e-7).
        centered: divide by the gradient's running variance instead of its second moment.
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> RMSprop(learning_rate=0.01, rho=0.0).apply_gradients([(torch.tensor([2.0]), w)])
        >>> round(w.item(), 4)  # rho=0: v = g ** 2, a step of lr * g / |g|
        0.99
    """

    torch_class = keras_rules.RMSprop
    takes_foreach_flag = False

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.number(rho, "rho", self, 0, 1)
        check.number(momentum, "momentum", self, 0)
        check.number(epsilon, "epsilon", self, 0)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def torch_options(self):
        return {
            "rho": self.rho,
            "eps": self.epsilon,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad with Keras's rule: steps divided by `sqrt(sum of squared gradients + eps)`.

    Args:
        learning_rate: the step size (default 0.001).
        initial_accumulator_value: the sum's starting value (default 0.1).
        epsilon: added inside the square root (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0)
        >>> opt.apply_gradients([(torch.tensor([2.0]), w)])
        >>> round(w.item(), 4)  # 1 - 0.1 * 2 / sqrt(4)
        0.9
    """

    torch_class = keras_rules.Adagrad
    takes_foreach_flag = False

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.number(initial_accumulator_value, "initial_accumulator_value", self, 0)
        check.number(epsilon, "epsilon", self, 0)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def torch_options(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): steps scaled by the ratio of running RMS of updates and gradients.

    Args:
        learning_rate: the step size (default 0.001).
        rho: the decay of both running means (default 0.95).
        epsilon: added for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> Adadelta(learning_rate=1.0).apply_gradients([(torch.tensor([1.0]), w)])
        >>> w.item() < 1.0
        True
    """

    torch_class = torch.optim.Adadelta

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.number(rho, "rho", self, 0, 1)
        check.number(epsilon, "epsilon", self, 0)
        self.rho, self.epsilon = rho, epsilon

    def torch_options(self):
        return {"rho": self.rho, "eps": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum, with Keras's `0.96 ** t` momentum schedule.

    Args:
        learning_rate: the step size (default 0.001).
        beta_1: the first moment's decay (default 0.9).
        beta_2: the second moment's decay (default 0.999).
        epsilon: added for numerical stability (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> Nadam(learning_rate=0.1).apply_gradients([(torch.tensor([3.0]), w)])
        >>> w.item() < 1.0
        True
    """

    torch_class = torch.optim.NAdam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check.moments(self, beta_1, beta_2, epsilon)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def torch_options(self):
        # Keras 3's momentum schedule is beta_1 * (1 - 0.5 * 0.96 ** t): torch's
        # 0.96 ** (t * momentum_decay) with momentum_decay=1 (torch's default 0.004 is Keras 2's).
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "momentum_decay": 1.0}

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adamax(Optimizer):
    """Adamax with Keras's rule: `u = max(beta_2 * u, |g|)`, step `m / (u + eps)`.

    Args:
        learning_rate: the step size (default 0.001).
        beta_1: the first moment's decay (default 0.9).
        beta_2: the decay of the running maximum (default 0.999).
        epsilon: added after the maximum (default 1e-7).
        **kwargs: the options every optimizer takes (see `Optimizer`).

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> Adamax(learning_rate=0.1).apply_gradients([(torch.tensor([3.0]), w)])
        >>> round(w.item(), 4)  # the first step has the size of the learning rate
        0.9
    """

    torch_class = keras_rules.Adamax
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
