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
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from lamina import backend
from lamina.engine.naming import to_snake_case
from lamina.optimizers import keras_variables, schedules
from lamina.optimizers import optimizer as optimizer_module
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.multi_optimizer import MultiOptimizer
from lamina.optimizers.muon import Muon
from lamina.optimizers.schedule_free import ScheduleFreeAdamW
from lamina.optimizers.sign_and_trust import Lamb, Lion
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
    return not isinstance(optimizer._learning_rate, schedules.LearningRateSchedule)


def _numpy(tensor) -> np.ndarray:
    # float32 whatever the slot's dtype (bfloat16 and float16 widen exactly)
    return backend.as_numpy(tensor).astype(np.float32, copy=False)


def _loss_scale(optimizer):
    """The LossScaleOptimizer `optimizer` is, or None. Keras lists its variables as its own
    (iteration, learning_rate, step_counter, dynamic_scale) and then the inner optimizer's."""
    from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

    return optimizer if isinstance(optimizer, LossScaleOptimizer) else None


def to_keras(optimizer) -> list[np.ndarray]:
    if _loss_scale(optimizer) is not None:
        optimizer.settle_iterations()  # the steps it skipped on the device leave the inner count
        own = [
            np.asarray(0, dtype=np.int32),  # Keras counts updates in the inner optimizer
            np.asarray(0.0, dtype=np.float32),
            np.asarray(int(optimizer.step_counter), dtype=np.int32),
            np.asarray(float(optimizer.dynamic_scale), dtype=np.float32),
        ]
        return own + to_keras(optimizer.inner_optimizer)
    if isinstance(optimizer, MultiOptimizer):
        # Keras: its own `iteration` and (unused) `learning_rate`, then each sub-optimizer's.
        values = [np.asarray(optimizer.iterations, dtype=np.int32), np.asarray(0.0, np.float32)]
        for member in optimizer.optimizers:
            if member.built:
                values.extend(to_keras(member))
            else:
                values.append(np.asarray(member.iterations, dtype=np.int32))
                if _has_lr_variable(member):
                    values.append(np.asarray(member.learning_rate, dtype=np.float32))
        return values
    # The momentum buffers were last scaled by the rate torch last applied.
    lr = optimizer.torch_optimizer.param_groups[0]["lr"]
    values = [np.asarray(_keras_iteration(optimizer), dtype=np.int32)]
    if _has_lr_variable(optimizer):
        values.append(np.asarray(optimizer.learning_rate, dtype=np.float32))
    parameters = optimizer.parameters
    if optimizer.moving_averages is not None:
        values.extend(_numpy(average) for average in optimizer.moving_averages)
    if optimizer.gradient_accumulation_steps:
        for p in parameters:
            buffer = (optimizer._accumulators or {}).get(id(p))
            values.append(_numpy(buffer if buffer is not None else torch.zeros_like(p)))
    if optimizer_module.runs_update_step(optimizer):
        # A custom optimizer's variables (`add_variable*`), in the order they were made.
        values.extend(_numpy(variable.value) for variable in optimizer._added_variables)
        return values
    state = optimizer.torch_optimizer.state
    for index, key, (forward, _) in slot_order(optimizer):
        p = parameters[index]
        buffer = state.get(p, {}).get(key)
        if buffer is None:
            buffer = _initial(optimizer, p, key)
        values.append(_numpy(forward(buffer, lr)))
    if type(optimizer) is optimizer_module.Nadam:
        mu_product = next((s["mu_product"] for s in state.values() if "mu_product" in s), None)
        values.append(
            np.asarray(1.0 if mu_product is None else float(mu_product), dtype=np.float32)
        )
    return values


def _keras_iteration(optimizer) -> int:
    # With gradient accumulation Keras's `iteration` variable counts calls (its `iterations`
    # property divides by the steps); lamina counts updates and the calls since the last one.
    if optimizer.gradient_accumulation_steps:
        steps = optimizer.gradient_accumulation_steps
        return optimizer.iterations * steps + optimizer._accumulated_calls
    return optimizer.iterations


def _initial(optimizer, parameter, key):
    if isinstance(optimizer, Adafactor):  # zeros of Keras's shapes
        shape = parameter.shape
        if key != "v":
            shape = () if len(shape) < 2 else shape[:-1] if key == "r" else (*shape[:-2], shape[-1])
        return torch.zeros(shape, dtype=parameter.dtype, device=parameter.device)
    if isinstance(optimizer, (optimizer_module.Adagrad, Ftrl)) and key != "linear":
        return torch.full_like(parameter, optimizer.initial_accumulator_value)
    if isinstance(optimizer, ScheduleFreeAdamW) and key == "momentum":
        return parameter.detach()  # Keras starts z as a copy of the weight
    return torch.zeros_like(parameter)


def expected_count(optimizer) -> int:
    if _loss_scale(optimizer) is not None:
        return 4 + expected_count(optimizer.inner_optimizer)
    if isinstance(optimizer, MultiOptimizer):
        return 2 + sum(_member_count(member) for member in optimizer.optimizers)
    per_parameter = (optimizer.moving_averages is not None) + bool(
        optimizer.gradient_accumulation_steps
    )
    custom = optimizer_module.runs_update_step(optimizer)
    return (
        1
        + _has_lr_variable(optimizer)
        + per_parameter * len(optimizer.parameters)
        + (len(optimizer._added_variables) if custom else len(slot_order(optimizer)))
        + (type(optimizer) is optimizer_module.Nadam)
    )


def _member_count(member) -> int:
    # A sub-optimizer no variable was assigned to stays unbuilt: Keras lists only its
    # `iteration` and `learning_rate`.
    return expected_count(member) if member.built else 1 + _has_lr_variable(member)


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
        if not from_keras(optimizer.inner_optimizer, values[4:], source):
            return False
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
    iterations = int(values.pop(0))
    if optimizer.gradient_accumulation_steps:
        iterations, optimizer._accumulated_calls = divmod(
            iterations, optimizer.gradient_accumulation_steps
        )
    if _has_lr_variable(optimizer):
        optimizer._learning_rate = float(values.pop(0))
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
            optimizer.iterations = iterations
            return True
        state = optimizer.torch_optimizer.state
        for index, key, (_, backward) in slot_order(optimizer):
            target = state[parameters[index]][key]
            target.copy_(_tensor(backward(values.pop(0), lr), target))
        if type(optimizer) is optimizer_module.Nadam:
            mu_product = float(values.pop(0))
            for p in parameters:
                state[p]["mu_product"].fill_(mu_product)
        for p in parameters:
            if "step" in state[p]:
                state[p]["step"].fill_(iterations)
    optimizer.iterations = iterations
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
        count = _member_count(member)
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
        count = _member_count(member)
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
keras_variables.KERAS_ORDER.update(to_keras=to_keras, from_keras=from_keras)
