"""The optimizers' updates as plain tensor ops, for the captured train step of
`compile(jit_compile=True)` (engine/captured_step.py), where torch.compile fuses them into the
step's graph.

Each rule updates, in place, the parameters' storage and the torch optimizer's own per-parameter
state tensors (same keys, same meaning as the eager path's), so `optimizer.variables`, saving, a
later eager step and `Optimizer._on_lr_change` all see one state. The learning rate arrives as a
0-d tensor, so a schedule or ReduceLROnPlateau changes a value, never the graph. The formulas are
the eager path's, written once more as ops the compiler can fuse (the eager path keeps torch's
fused and foreach kernels, which beat any composition of elementwise ops there):

    SGD      torch's buffer b = m*b + g (unscaled by lr); w -= lr*b, or lr*(g + m*b) with nesterov
    Adam     Keras's rule: w -= lr*sqrt(1 - b2^t)/(1 - b1^t) * m/(sqrt(v) + eps) (amsgrad: max v)
    AdamW    Adam after torch's decoupled decay w *= 1 - lr*wd
    RMSprop  optimizers.keras_rules.RMSprop (eps inside the square root, lr-scaled momentum)
    Adagrad  optimizers.keras_rules.Adagrad
    ScheduleFreeAdamW  optimizers.schedule_free (its state created up front: z is the weight)
    Muon     optimizers.muon, its own weight decay per kind; a weight without a `velocity` slot
             (None) takes the Newton-Schulz step, one with it AdamW's

`weight_decay` of the other optimizers is Keras's decoupled decay before the update, as
`Optimizer.step()` applies it. Optimizers without a rule here (Adadelta, Nadam, Adamax,
MultiOptimizer, user subclasses) make the trainer take the eager step.
"""

from __future__ import annotations

import math

import torch

from lamina.optimizers import muon as muon_module
from lamina.optimizers import optimizer as optimizer_module
from lamina.optimizers.schedule_free import ScheduleFreeAdamW


def _sgd_slots(optimizer) -> list[str]:
    return ["momentum_buffer"] if optimizer.momentum else []


def _sgd(optimizer, params, grads, slots, lr) -> None:
    momentum = optimizer.momentum
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        direction = grad
        if momentum:
            buffer = slots["momentum_buffer"][index]
            buffer.mul_(momentum).add_(grad)
            direction = grad.add(buffer, alpha=momentum) if optimizer.nesterov else buffer
        param.sub_(direction * lr)


def _adam_slots(optimizer) -> list[str]:
    return ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if optimizer.amsgrad else [])


def _adam(optimizer, params, grads, slots, lr) -> None:
    beta_1, beta_2 = optimizer.beta_1, optimizer.beta_2
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        step = slots["step"][index]
        step.add_(1)
        first, second = slots["exp_avg"][index], slots["exp_avg_sq"][index]
        first.lerp_(grad, 1.0 - beta_1)
        second.mul_(beta_2).addcmul_(grad, grad, value=1.0 - beta_2)
        if optimizer.amsgrad:
            peak = slots["max_exp_avg_sq"][index]
            peak.copy_(torch.maximum(peak, second))
            second = peak
        # The bias corrections in float64, as torch's fused kernel computes them: 1 - 0.999 in
        # float32 is off by 1e-5 relative.
        t = step.to(torch.float64)
        scale = lr.to(torch.float64) * torch.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
        param.sub_(scale.to(param.dtype) * first / (second.sqrt() + optimizer.epsilon))


def _rmsprop_slots(optimizer) -> list[str]:
    slots = ["velocity"]
    if optimizer.momentum:
        slots.append("momentum")
    if optimizer.centered:
        slots.append("average_gradient")
    return slots


def _rmsprop(optimizer, params, grads, slots, lr) -> None:
    rho, eps = optimizer.rho, optimizer.epsilon
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        velocity = slots["velocity"][index]
        velocity.mul_(rho).addcmul_(grad, grad, value=1.0 - rho)
        if optimizer.centered:
            average = slots["average_gradient"][index]
            average.lerp_(grad, 1.0 - rho)
            denominator = (velocity - average * average + eps).sqrt()
        else:
            denominator = (velocity + eps).sqrt()
        step = grad * lr / denominator
        if optimizer.momentum:
            momentum = slots["momentum"][index]
            momentum.mul_(optimizer.momentum).add_(step)
            step = momentum
        param.sub_(step)


def _adagrad(optimizer, params, grads, slots, lr) -> None:
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        accumulator = slots["accumulator"][index]
        accumulator.addcmul_(grad, grad)
        param.sub_(grad * lr / (accumulator + optimizer.epsilon).sqrt())


def _schedule_free(optimizer, params, grads, slots, lr) -> None:
    beta_1, beta_2 = optimizer.beta_1, optimizer.beta_2
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        step = slots["step"][index]
        step.add_(1)
        t = step.to(torch.float64)
        rate = lr.to(torch.float64)
        if optimizer.warmup_steps > 0:
            rate = rate * torch.clamp_max(t / optimizer.warmup_steps, 1.0)
        z, velocity = slots["momentum"][index], slots["velocity"][index]
        velocity.lerp_(grad * grad, 1.0 - beta_2)
        correction = (1.0 - beta_2**t).to(param.dtype)
        denominator = (velocity / correction).sqrt() + optimizer.epsilon
        average = (param - (1.0 - beta_1) * z) / beta_1  # x, from the z before this step
        z.sub_(rate.to(param.dtype) * grad / denominator)
        average = average.lerp(z, (1.0 / t).to(param.dtype))
        param.copy_((1.0 - beta_1) * z + beta_1 * average)


def _muon(optimizer, params, grads, slots, lr) -> None:
    beta_1, beta_2 = optimizer.adam_beta_1, optimizer.adam_beta_2
    coefficients = (optimizer.muon_a, optimizer.muon_b, optimizer.muon_c)
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        momentum, velocity = slots["momentum"][index], slots["velocity"][index]
        adamw = velocity is not None  # the weights Muon.uses_adamw picked have a velocity
        decay = optimizer.adam_weight_decay if adamw else optimizer.weight_decay
        if decay and id(param) not in optimizer._decay_excluded:
            param.mul_(1.0 - lr * decay)
        if adamw:
            step = slots["step"][index]
            step.add_(1)
            t = step.to(torch.float64)
            scale = (
                lr.to(torch.float64)
                * optimizer.adam_lr_ratio
                * torch.sqrt(1.0 - beta_2**t)
                / (1.0 - beta_1**t)
            )
            momentum.lerp_(grad, 1.0 - beta_1)
            velocity.mul_(beta_2).addcmul_(grad, grad, value=1.0 - beta_2)
            param.sub_(scale.to(param.dtype) * momentum / (velocity.sqrt() + optimizer.epsilon))
            continue
        momentum.mul_(optimizer.momentum).add_(grad)
        direction = grad + optimizer.momentum * momentum if optimizer.nesterov else momentum
        update = muon_module.orthogonalize(direction, optimizer.ns_steps, coefficients)
        if optimizer.rms_rate is not None:
            update = update * (math.sqrt(max(param.shape[0], param.shape[1])) * optimizer.rms_rate)
        param.sub_(lr * update)


# Exact types: a user's subclass may change the update, so it takes the eager step.
_RULES = {
    optimizer_module.SGD: (_sgd_slots, _sgd),
    optimizer_module.Adam: (_adam_slots, _adam),
    optimizer_module.AdamW: (_adam_slots, _adam),
    optimizer_module.RMSprop: (_rmsprop_slots, _rmsprop),
    optimizer_module.Adagrad: (lambda optimizer: ["accumulator"], _adagrad),
    ScheduleFreeAdamW: (lambda optimizer: ["step", "momentum", "velocity"], _schedule_free),
    muon_module.Muon: (lambda optimizer: ["step", "momentum", "velocity"], _muon),
}

# Optimizers whose rule applies its own weight decay (Muon: a rate per kind of weight).
_OWN_DECAY = (muon_module.Muon,)


def supports(optimizer) -> bool:
    return type(optimizer) in _RULES


def slot_keys(optimizer) -> list[str]:
    """The torch state keys the rule reads and updates, per parameter."""
    return _RULES[type(optimizer)][0](optimizer)


def apply(optimizer, params, grads, slots, lr) -> None:
    """One update (call it under torch.no_grad): Keras's decoupled weight decay, then the rule.
    `slots` maps each key of `slot_keys` to the state tensors in `params`' order."""
    if optimizer.weight_decay and type(optimizer) not in _OWN_DECAY:
        excluded = optimizer._decay_excluded  # exclude_from_weight_decay's: fixed at build
        for param in params:
            if id(param) not in excluded:
                param.mul_(1.0 - lr * optimizer.weight_decay)
    _RULES[type(optimizer)][1](optimizer, params, grads, slots, lr)


def prime_state(optimizer) -> None:
    """Create the torch state the rule writes into (Optimizer.create_state), if it has any."""
    if slot_keys(optimizer):
        optimizer.create_state()
