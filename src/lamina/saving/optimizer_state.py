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

from lamina.optimizers import optimizer as optimizer_module
from lamina.optimizers import schedules


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
    raise TypeError(f"No Keras variable layout is known for optimizer {kind.__name__}.")


def _has_lr_variable(optimizer) -> bool:
    return not isinstance(optimizer._learning_rate, schedules.LearningRateSchedule)


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32, copy=False)


def _parameter_layouts(optimizer, model):
    """to_keras / from_keras of each optimized parameter (slots share their variable's layout)."""
    layouts = {}
    for layer in model.modules():
        for spec in getattr(layer, "_weight_specs", ()):
            layouts[id(getattr(layer, spec.name))] = (spec.to_keras, spec.from_keras)
    identity = (lambda t: t, lambda t: t)
    return [layouts.get(id(p), identity) for p in optimizer.parameters]


def _loss_scale(optimizer):
    """The LossScaleOptimizer `optimizer` is, or None. Keras lists its variables as its own
    (iteration, learning_rate, step_counter, dynamic_scale) and then the inner optimizer's."""
    from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

    return optimizer if isinstance(optimizer, LossScaleOptimizer) else None


def to_keras(optimizer, model) -> list[np.ndarray]:
    if _loss_scale(optimizer) is not None:
        own = [
            np.asarray(0, dtype=np.int32),  # Keras counts updates in the inner optimizer
            np.asarray(0.0, dtype=np.float32),
            np.asarray(int(optimizer.step_counter), dtype=np.int32),
            np.asarray(float(optimizer.dynamic_scale), dtype=np.float32),
        ]
        return own + to_keras(optimizer.inner_optimizer, model)
    # The momentum buffers were last scaled by the rate torch last applied.
    lr = optimizer.torch_optimizer.param_groups[0]["lr"]
    values = [np.asarray(_keras_iteration(optimizer), dtype=np.int32)]
    if _has_lr_variable(optimizer):
        values.append(np.asarray(optimizer.learning_rate, dtype=np.float32))
    parameters = optimizer.parameters
    layouts = _parameter_layouts(optimizer, model)
    if optimizer.moving_averages is not None:
        values.extend(
            _numpy(to_k(e)) for e, (to_k, _) in zip(optimizer.moving_averages, layouts, strict=True)
        )
    if optimizer.gradient_accumulation_steps:
        for p, (to_k, _) in zip(parameters, layouts, strict=False):
            buffer = (optimizer._accumulators or {}).get(id(p))
            values.append(_numpy(to_k(buffer if buffer is not None else torch.zeros_like(p))))
    state = optimizer.torch_optimizer.state
    for group in slot_groups(optimizer):
        for p, (to_k, _) in zip(parameters, layouts, strict=False):
            for key, (forward, _) in group:
                buffer = state.get(p, {}).get(key)
                if buffer is None:
                    buffer = _initial(optimizer, p)
                values.append(_numpy(to_k(forward(buffer, lr))))
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


def _initial(optimizer, parameter):
    if isinstance(optimizer, optimizer_module.Adagrad):
        return torch.full_like(parameter, optimizer.initial_accumulator_value)
    return torch.zeros_like(parameter)


def expected_count(optimizer) -> int:
    if _loss_scale(optimizer) is not None:
        return 4 + expected_count(optimizer.inner_optimizer)
    per_parameter = sum(len(group) for group in slot_groups(optimizer))
    per_parameter += (optimizer.moving_averages is not None) + bool(
        optimizer.gradient_accumulation_steps
    )
    return (
        1
        + _has_lr_variable(optimizer)
        + per_parameter * len(optimizer.parameters)
        + (type(optimizer) is optimizer_module.Nadam)
    )


def warn_skipped(optimizer, source: str, held, expected) -> None:
    """Warn that a file's optimizer state does not fit `optimizer` and is not loaded."""
    warnings.warn(
        f"Skipping the optimizer state in {source}: it holds {held}, the model's "
        f"{type(optimizer).__name__} expects {expected}. Training continues from a fresh "
        "optimizer.",
        stacklevel=4,
    )


def from_keras(optimizer, model, values, source: str = "") -> bool:
    """Load Keras-ordered `values` into a built optimizer; False (with a warning) if they do not
    fit it, in which case the optimizer is left untouched."""
    values = list(values)
    if _loss_scale(optimizer) is not None and optimizer.built and len(values) >= 4:
        if not from_keras(optimizer.inner_optimizer, model, values[4:], source):
            return False
        optimizer.step_counter.fill_(int(values[2]))
        optimizer.dynamic_scale.fill_(float(values[3]))
        return True
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
    layouts = _parameter_layouts(optimizer, model)
    schedule = optimizer._learning_rate
    if isinstance(schedule, schedules.LearningRateSchedule):
        lr = float(schedule(max(iterations - 1, 0)))
    else:
        lr = float(schedule() if callable(schedule) else schedule)
    for group in optimizer.torch_optimizer.param_groups:
        group["lr"] = lr  # the rate the loaded buffers were scaled with
    with torch.no_grad():
        if optimizer.moving_averages is not None:
            for ema, (_, from_k) in zip(optimizer.moving_averages, layouts, strict=False):
                ema.copy_(_tensor(from_k(values.pop(0)), ema))
        if optimizer.gradient_accumulation_steps:
            optimizer._accumulators = {
                id(p): _tensor(from_k(values.pop(0)), p)
                for p, (_, from_k) in zip(parameters, layouts, strict=False)
            }
        state = optimizer.torch_optimizer.state
        for group in slot_groups(optimizer):
            for p, (_, from_k) in zip(parameters, layouts, strict=False):
                for key, (_, backward) in group:
                    target = state[p][key]
                    target.copy_(_tensor(backward(from_k(values.pop(0)), lr), target))
        if type(optimizer) is optimizer_module.Nadam:
            mu_product = float(values.pop(0))
            for p in parameters:
                state[p]["mu_product"].fill_(mu_product)
        for p in parameters:
            if "step" in state[p]:
                state[p]["step"].fill_(iterations)
    optimizer.iterations = iterations
    return True


def _tensor(array, like) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array)).to(device=like.device, dtype=like.dtype)
