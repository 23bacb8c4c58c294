"""An optimizer's state as Keras 3 lists its variables, so a compiled model's file resumes training
in lamina and in Keras.

Keras's list: `iteration` (calls, not updates, with gradient accumulation), `learning_rate` (absent
with a schedule), the EMA averages (with `use_ema`), the gradient accumulators (with
`gradient_accumulation_steps`), then the slot groups of each optimizer. Slots added together are
interleaved per variable (Adam: `w_momentum`, `w_velocity`, `b_momentum`, ...); separate groups
follow one another (RMSprop: all velocities, then all momentums). Each slot maps to a key of torch's
per-parameter state, with a conversion where the formulas differ (Keras's SGD momentum holds `-lr *
b` where torch holds `b`). RMSprop, Adagrad and Adamax run on `optimizers.keras_rules`, whose slots
are Keras's own (same names, same meaning), so they travel unconverted.

`variables_of` makes that list as `StateView`s over lamina's state (`optimizer.variables`);
`to_keras` reads their values and `from_keras` loads values into the optimizer.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from lamina import backend
from lamina.engine.naming import to_snake_case, unique_name
from lamina.optimizers import keras_variables, schedules
from lamina.optimizers import optimizer as optimizer_module
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.multi_optimizer import MultiOptimizer
from lamina.optimizers.muon import Muon
from lamina.optimizers.schedule_free import ScheduleFreeAdamW
from lamina.optimizers.sign_and_trust import Lamb, Lion
from lamina.optimizers.state_views import StateView, held
from lamina.optimizers.variable_paths import path_of
from lamina.saving import h5_guard


def _scaled(factor_of_lr):
    # Keras slot = factor(lr) * torch buffer.
    return (lambda b, lr: b * factor_of_lr(lr)), (lambda k, lr: k / factor_of_lr(lr))


_IDENTITY = ((lambda b, lr: b), (lambda k, lr: k))
_SGD_MOMENTUM = _scaled(lambda lr: -lr)


def slot_groups(optimizer) -> list[list[tuple[str, tuple]]]:
    """Keras's slot groups for `optimizer`: lists of (torch state key, conversions)."""
    kind = type(optimizer)
    if issubclass(kind, optimizer_module.Adam):  # Adam and AdamW
        groups = [[("exp_avg", _IDENTITY), ("exp_avg_sq", _IDENTITY)]]
        if optimizer.amsgrad:
            groups.append([("max_exp_avg_sq", _IDENTITY)])
        return groups
    if kind is optimizer_module.SGD:
        return [[("momentum_buffer", _SGD_MOMENTUM)]] if optimizer.momentum else []
    if kind is optimizer_module.RMSprop:
        groups = [[("velocity", _IDENTITY)]]
        if optimizer.momentum:
            groups.append([("momentum", _IDENTITY)])
        if optimizer.centered:
            groups.append([("average_gradient", _IDENTITY)])
        return groups
    if kind is optimizer_module.Adagrad:
        return [[("accumulator", _IDENTITY)]]
    if kind is optimizer_module.Adadelta:
        return [[("square_avg", _IDENTITY), ("acc_delta", _IDENTITY)]]
    if kind is optimizer_module.Adamax:
        return [[("momentum", _IDENTITY), ("norm", _IDENTITY)]]
    if kind is optimizer_module.Nadam:
        return [[("exp_avg", _IDENTITY), ("exp_avg_sq", _IDENTITY)]]
    if kind is ScheduleFreeAdamW or kind is Lamb:
        return [[("momentum", _IDENTITY), ("velocity", _IDENTITY)]]
    if kind is Lion:
        return [[("momentum", _IDENTITY)]]
    if kind is Ftrl:
        return [[("accumulator", _IDENTITY), ("linear", _IDENTITY)]]
    raise TypeError(f"No Keras variable layout is known for optimizer {kind.__name__}.")


def slot_order(optimizer) -> list[tuple[int, str, tuple]]:
    """Keras's optimizer slots in its order: (parameter index, torch state key, conversions).
    Muon gives each weight a `momentum` and, when it takes the AdamW step, a `velocity` next
    to it; the others follow `slot_groups`."""
    parameters = optimizer.parameters
    if type(optimizer) is Adafactor:
        # Each weight's r, c (0-d for a weight of rank < 2) and v, weight after weight.
        return [
            (index, key, _IDENTITY) for index in range(len(parameters)) for key in ("r", "c", "v")
        ]
    if type(optimizer) is Muon:
        order = []
        for index, p in enumerate(parameters):
            order.append((index, "momentum", _IDENTITY))
            if optimizer.uses_adamw(p):
                order.append((index, "velocity", _IDENTITY))
        return order
    return [
        (index, key, conversions)
        for group in slot_groups(optimizer)
        for index in range(len(parameters))
        for key, conversions in group
    ]


def _has_lr_variable(optimizer) -> bool:
    # Keras keeps a float rate in a variable; a schedule or a callable is read, not stored.
    return not callable(optimizer._learning_rate)


def _array(view) -> np.ndarray:
    # Slots as float32 whatever their dtype (bfloat16 and float16 widen exactly); counters stay.
    array = backend.as_numpy(view.value)
    return array if np.issubdtype(array.dtype, np.integer) else array.astype(np.float32, copy=False)


def _loss_scale(optimizer):
    """The LossScaleOptimizer `optimizer` is, or None. Keras lists its variables as its own
    (iteration, learning_rate, step_counter, dynamic_scale) and then the inner optimizer's."""
    from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

    return optimizer if isinstance(optimizer, LossScaleOptimizer) else None


def to_keras(optimizer) -> list[np.ndarray]:
    """The values of `optimizer.variables` (Keras's order and layout), as NumPy arrays."""
    return [_array(view) for view in optimizer.variables]


# Keras's slot names where torch's state keys differ.
KERAS_SLOT_NAMES = {
    "exp_avg": "momentum",
    "exp_avg_sq": "velocity",
    "max_exp_avg_sq": "velocity_hat",
    "momentum_buffer": "momentum",
    "square_avg": "accumulated_grad",
    "acc_delta": "accumulated_delta_var",
    "v": "velocity",  # Adafactor's
}


def variables_of(optimizer) -> list[StateView]:
    """`optimizer.variables` as Keras lists them: `iteration`, `learning_rate` (absent with a
    schedule), then once built the moving averages, the gradient accumulators and the slots, each
    a `StateView` over lamina's state, named and pathed as in Keras. A `LossScaleOptimizer` lists
    its own four (its `iteration` and `learning_rate` unused, as in Keras) before its inner
    optimizer's; a `MultiOptimizer` its own two before each sub-optimizer's. The views are made
    once per build, so reading the list costs no more than a list copy."""
    if _loss_scale(optimizer) is not None:
        optimizer.settle_iterations()  # the steps it skipped on the device leave the count
        own = _kept(optimizer, (optimizer.name, optimizer.built), _loss_scale_views)
        inner = optimizer.inner_optimizer.variables
        if _lists_u_product(optimizer.inner_optimizer):
            # Keras's LossScaleOptimizer does not track its inner Nadam's momentum product (made
            # outside the optimizers' scopes): its list and its files go without it.
            inner = inner[:-1]
        return own + inner
    if isinstance(optimizer, MultiOptimizer):
        own = _kept(optimizer, (optimizer.name,), _multi_views)
        return own + [view for member in optimizer.optimizers for view in member.variables]
    key = (
        optimizer.name,
        optimizer.torch_optimizer,  # a new build makes new views
        _has_lr_variable(optimizer),
        len(optimizer._added_variables),
    )
    return _kept(optimizer, key, _views)


def _kept(optimizer, key, make) -> list[StateView]:
    kept = optimizer.__dict__.get("_keras_views")
    if kept is None or kept[0] != key:
        kept = (key, make(optimizer))
        optimizer.__dict__["_keras_views"] = kept
    return list(kept[1])


def _views(optimizer) -> list[StateView]:
    prefix = optimizer.name
    views = [
        StateView(
            f"{prefix}/iteration",
            read=lambda: torch.tensor(_keras_iteration(optimizer), dtype=torch.int32),
            write=lambda value: _set_iteration(optimizer, int(value)),
        )
    ]
    if _has_lr_variable(optimizer):
        views.append(
            StateView(
                f"{prefix}/learning_rate",
                read=lambda: torch.tensor(float(optimizer.learning_rate), dtype=torch.float32),
                write=lambda value: setattr(optimizer, "learning_rate", float(value)),
            )
        )
    if not optimizer.built:
        return views + list(optimizer._added_variables)
    parameters = optimizer.parameters
    if optimizer.moving_averages is not None:
        views.extend(
            StateView(f"{prefix}/{_slot_prefix(p)}_average", stored=lambda i=i: optimizer._ema[i])
            for i, p in enumerate(parameters)
        )
    if optimizer.gradient_accumulation_steps:
        views.extend(
            StateView(
                f"{prefix}/{_slot_prefix(p)}_gradient_accumulator",
                stored=lambda p=p: optimizer.gradient_accumulators()[id(p)],
            )
            for p in parameters
        )
    if optimizer_module.runs_update_step(optimizer):
        return views + list(optimizer._added_variables)  # a custom optimizer's own
    optimizer.create_state()
    views.extend(_slot_view(optimizer, *slot) for slot in slot_order(optimizer))
    if _lists_u_product(optimizer):
        views.append(_u_product_view(optimizer))
    return views


def _lists_u_product(optimizer) -> bool:
    return (
        type(optimizer) is optimizer_module.Nadam and optimizer.built and bool(optimizer.parameters)
    )


def _slot_prefix(parameter) -> str:
    return (path_of(parameter) or "variable").replace("/", "_")


def _slot_view(optimizer, index, key, conversions) -> StateView:
    """The view of one slot: torch's state tensor itself where Keras keeps the same, else one
    converted at each read and assignment (SGD's momentum is `-lr * b`, where torch keeps `b`, lr
    the rate torch last applied; Adafactor's row and column factors of a vector are Keras's int32
    zeros, kept by lamina as float zeros it never reads)."""
    parameter = optimizer.parameters[index]

    def stored():
        state = optimizer.torch_optimizer.state[parameter]
        if key not in state:  # e.g. after loading a torch state without this weight's
            optimizer.create_state()
        return state[key]

    if type(optimizer) is Adafactor and key in ("r", "c"):
        name = path_of(parameter).rpartition("/")[2] or "variable"
        if parameter.dim() >= 2:
            return StateView(f"{optimizer.name}/{name}", stored=stored)
        return StateView(  # outside the optimizer's name scope, as Keras makes them
            name, read=lambda: stored().to(torch.int32), write=lambda value: stored().copy_(value)
        )
    path = f"{optimizer.name}/{_slot_prefix(parameter)}_{KERAS_SLOT_NAMES.get(key, key)}"
    if conversions is _IDENTITY:
        return StateView(path, stored=stored)
    forward, backward = conversions

    def rate():
        return optimizer.torch_optimizer.param_groups[0]["lr"]

    return StateView(
        path,
        read=lambda: forward(stored(), rate()),
        write=lambda value: stored().copy_(backward(value, rate())),
    )


def _u_product_view(optimizer) -> StateView:
    """Nadam's product of its momentum schedule: one Keras variable, made outside the
    optimizer's name scope (so named `variable`, `variable_1`, ...); torch keeps one copy per
    weight, all equal, which an assignment fills alike."""
    state = optimizer.torch_optimizer.state
    parameters = optimizer.parameters

    def write(value):
        for p in parameters:
            state[p]["mu_product"].fill_(float(value))

    return StateView(
        unique_name("variable"),
        read=lambda: torch.as_tensor(state[parameters[0]]["mu_product"], dtype=torch.float32),
        write=write,
    )


def _loss_scale_views(optimizer) -> list[StateView]:
    prefix = optimizer.name
    views = [
        held(f"{prefix}/iteration", torch.tensor(0, dtype=torch.int32)),
        held(f"{prefix}/learning_rate", torch.tensor(0.0)),
    ]
    if optimizer.built:
        views += [
            StateView(f"{prefix}/step_counter", stored=lambda: optimizer.step_counter),
            StateView(f"{prefix}/dynamic_scale", stored=lambda: optimizer.dynamic_scale),
        ]
    return views


def _multi_views(optimizer) -> list[StateView]:
    return [
        StateView(
            f"{optimizer.name}/iteration",
            read=lambda: torch.tensor(int(optimizer.iterations), dtype=torch.int32),
            write=lambda value: setattr(optimizer, "iterations", int(value)),
        ),
        held(f"{optimizer.name}/learning_rate", torch.tensor(0.0)),
    ]


def _keras_iteration(optimizer) -> int:
    # With gradient accumulation Keras's `iteration` variable counts calls (its `iterations`
    # property divides by the steps); lamina counts updates and the calls since the last one.
    if optimizer.gradient_accumulation_steps:
        steps = optimizer.gradient_accumulation_steps
        return optimizer.iterations * steps + optimizer._accumulated_calls
    return optimizer.iterations


def _set_iteration(optimizer, iteration: int) -> None:
    """Set Keras's `iteration` (calls, with gradient accumulation): lamina's update count, and
    the step count torch keeps per weight (its bias corrections read it)."""
    if optimizer.gradient_accumulation_steps:
        iteration, optimizer._accumulated_calls = divmod(
            iteration, optimizer.gradient_accumulation_steps
        )
    optimizer.iterations = iteration
    if optimizer.torch_optimizer is None or optimizer_module.runs_update_step(optimizer):
        return
    with torch.no_grad():
        for state in optimizer.torch_optimizer.state.values():
            step = state.get("step")
            if isinstance(step, torch.Tensor):
                step.fill_(iteration)
            elif step is not None:
                state["step"] = iteration


def expected_count(optimizer) -> int:
    # (A sub-optimizer no variable was assigned to stays unbuilt: Keras lists only its
    # `iteration` and `learning_rate`, as its `variables` do.)
    return len(optimizer.variables)


def warn_skipped(optimizer, source: str, held, expected) -> None:
    """Warn that a file's optimizer state does not fit `optimizer` and is not loaded."""
    warnings.warn(
        f"Skipping the optimizer state in {source}: it holds {held}, the model's "
        f"{type(optimizer).__name__} expects {expected}. Training continues from a fresh "
        "optimizer.",
        stacklevel=4,
    )


def from_keras(optimizer, values, source: str = "") -> bool:
    """Load Keras-ordered `values` into a built optimizer; False (with a warning) if they do not
    fit it, in which case the optimizer is left untouched."""
    values = list(values)
    if _loss_scale(optimizer) is not None and optimizer.built and len(values) >= 4:
        inner = values[4:]
        if _lists_u_product(optimizer.inner_optimizer):  # kept as it is (see `variables_of`)
            inner.append(_array(optimizer.inner_optimizer.variables[-1]))
        if not from_keras(optimizer.inner_optimizer, inner, source):
            return False
        for view, value in zip(optimizer.variables[:2], values[:2], strict=True):
            view.assign(value)  # its own iteration and learning rate, which nothing reads
        optimizer.step_counter.fill_(int(values[2]))
        optimizer.dynamic_scale.fill_(float(values[3]))
        return True
    if isinstance(optimizer, MultiOptimizer) and optimizer.built:
        return _multi_from_keras(optimizer, values, source)
    if not optimizer.built or len(values) != expected_count(optimizer):
        warn_skipped(
            optimizer,
            source,
            f"{len(values)} variables",
            f"{expected_count(optimizer)} variables" if optimizer.built else "an unbuilt state",
        )
        return False
    optimizer.create_state()
    iteration = int(values.pop(0))
    iterations = iteration // (optimizer.gradient_accumulation_steps or 1)
    if _has_lr_variable(optimizer):
        stored = float(values.pop(0))
        # The file holds the rate in float32: a rate that rounds to it is the same rate, kept as
        # compiled (0.001, not 0.0010000000474974513 in get_config after loading).
        if np.float32(optimizer._learning_rate) != np.float32(stored):
            optimizer._learning_rate = stored
    parameters = optimizer.parameters
    schedule = optimizer._learning_rate
    if isinstance(schedule, schedules.LearningRateSchedule):
        lr = float(schedule(max(iterations - 1, 0)))
    else:
        lr = float(schedule() if callable(schedule) else schedule)
    for group in optimizer.torch_optimizer.param_groups:
        group["lr"] = lr  # the rate the loaded buffers were scaled with
    with torch.no_grad():
        if optimizer.moving_averages is not None:
            for ema in optimizer.moving_averages:
                ema.copy_(_tensor(values.pop(0), ema))
        if optimizer.gradient_accumulation_steps:
            optimizer._accumulators = {id(p): _tensor(values.pop(0), p) for p in parameters}
        if optimizer_module.runs_update_step(optimizer):
            for variable in optimizer._added_variables:
                variable.value.copy_(_tensor(values.pop(0), variable.value))
            _set_iteration(optimizer, iteration)
            return True
        state = optimizer.torch_optimizer.state
        for index, key, (_, backward) in slot_order(optimizer):
            target = state[parameters[index]][key]
            target.copy_(_tensor(backward(values.pop(0), lr), target))
        if type(optimizer) is optimizer_module.Nadam:
            mu_product = float(values.pop(0))
            for p in parameters:
                state[p]["mu_product"].fill_(mu_product)
    _set_iteration(optimizer, iteration)
    return True


def member_groups(optimizer) -> list[tuple[str, list[np.ndarray]]]:
    """A MultiOptimizer's sub-optimizers as Keras files them: (key, variables), the key the
    snake-case class name, numbered on repeats (`adam`, `adam_1`); [] for other optimizers."""
    if not isinstance(optimizer, MultiOptimizer):
        return []
    values = to_keras(optimizer)[2:]
    groups, used = [], {}
    for member in optimizer.optimizers:
        base = to_snake_case(type(member).__name__)
        used[base] = used.get(base, -1) + 1
        count = expected_count(member)
        groups.append((base if used[base] == 0 else f"{base}_{used[base]}", values[:count]))
        values = values[count:]
    return groups


def _multi_from_keras(optimizer, values, source) -> bool:
    if len(values) != expected_count(optimizer):
        warn_skipped(
            optimizer, source, f"{len(values)} variables", f"{expected_count(optimizer)} variables"
        )
        return False
    start = 2
    for member in optimizer.optimizers:
        count = expected_count(member)
        if member.built and not from_keras(member, values[start : start + count], source):
            return False
        start += count
    optimizer.iterations = int(values[0])
    return True


def _tensor(array, like) -> torch.Tensor:
    # (np.ascontiguousarray makes a 0-d array 1-d: the shape is put back.)
    return h5_guard.to_tensor(np.asarray(array)).to(device=like.device, dtype=like.dtype)


# `Optimizer.set_weights`, `save_own_variables`, `load_own_variables` and `stateless_apply` take
# the variables in this order too (the optimizers cannot import this module: it imports them).
keras_variables.KERAS_ORDER.update(to_keras=to_keras, from_keras=from_keras, variables=variables_of)
