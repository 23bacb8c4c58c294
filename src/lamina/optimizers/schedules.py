"""Learning-rate schedules: a function of the optimizer's step counter, Keras's formulas.

A schedule is called with the step (a Python int, counted by the optimizer), so evaluating it never
touches a device tensor. Every schedule serializes to `{"class_name", "config"}` as Keras's does, so
an optimizer's config (and a `.keras` file) carries it.

Examples:
    >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    >>> schedule(9), schedule(10)
    (0.1, 0.05)
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from lamina.engine import errors


class LearningRateSchedule:
    """Base class: `schedule(step) -> learning rate` (a Python float).

    Subclasses implement `__call__(step)` and `get_config()`; pass an instance as an optimizer's
    `learning_rate` and it is read from the optimizer's step counter at every step.

    Examples:
        >>> class Halving(LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * 0.5 ** (step // 10)
        >>> Halving()(25)
        0.025
    """

    def __call__(self, step) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _over_steps(call):
    """Let a built-in schedule take an array of steps too (`schedule(np.linspace(0, 1e5))`, to
    plot the curve, as TF's tutorials do): the rate of each step, a float32 tensor of the same
    shape, as Keras's schedules give. A single step still gives a Python float."""

    @functools.wraps(call)
    def schedule_at(self, step):
        if getattr(step, "ndim", 0) == 0:
            return call(self, step)
        steps = step.detach().cpu().numpy() if isinstance(step, torch.Tensor) else np.asarray(step)
        rates = [call(self, s) for s in steps.reshape(-1).tolist()]
        return torch.tensor(rates, dtype=torch.float32).reshape(steps.shape)

    return schedule_at


def _positive(schedule: str, argument: str, value) -> None:
    if value is None or value <= 0:
        raise ValueError(f"{schedule} {argument} must be > 0; received {argument}={value}.")


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per factor of `decay_rate`.
        decay_rate: the factor.
        staircase: floor `step / decay_steps`, so the rate changes every `decay_steps` steps.

    Examples:
        >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
        >>> round(schedule(20), 6)
        0.025
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        _positive("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    @_over_steps
    def __call__(self, step):
        progress = float(step) / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        try:
            factor = self.decay_rate**progress
        except OverflowError:  # a growing rate past a float's range: inf, as Keras's float32
            factor = math.inf
        return self.initial_learning_rate * factor

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`, ...

    Args:
        boundaries: increasing step counts, one fewer than `values`.
        values: the rate in each interval.

    Examples:
        >>> schedule = PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
        >>> schedule(50), schedule(150), schedule(250)
        (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay expects one more value than boundaries; received "
                f"{len(boundaries)} boundaries and {len(values)} values."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    @_over_steps
    def __call__(self, step):
        step = float(step)
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, held at `end` afterwards.

    Args:
        initial_learning_rate, decay_steps, end_learning_rate, power: as the formula.
        cycle: instead of holding at `end`, restart with `decay_steps` stretched to the next
            multiple that covers `step`.

    Examples:
        >>> schedule = PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=1.0)
        >>> schedule(5), schedule(50)
        (0.5, 0.0)
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    @_over_steps
    def __call__(self, step):
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            # Step 0 counts as the first cycle (a multiplier of 1, not 0).
            decay_steps *= max(1.0, math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        remaining = (1.0 - step / decay_steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * remaining + (
            self.end_learning_rate
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with staircase).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the number of steps one unit of `decay_rate` takes (> 0).
        decay_rate: how fast the rate falls.
        staircase: use `floor(step / decay_steps)`, so the rate falls in steps.
        name: the schedule's name.

    Examples:
        >>> schedule = InverseTimeDecay(1.0, decay_steps=10, decay_rate=1.0)
        >>> schedule(10), schedule(30)
        (0.5, 0.25)
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        _positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    @_over_steps
    def __call__(self, step):
        progress = float(step) / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return self.initial_learning_rate / (1.0 + self.decay_rate * progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _cosine(fraction: float, alpha: float) -> float:
    """Half a cosine from 1 to `alpha` as `fraction` goes from 0 to 1."""
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay to `alpha * start` over `decay_steps`, after an optional linear warmup.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the cosine.
        alpha: the final rate as a fraction of the rate the cosine starts from.
        warmup_target: with it, the rate rises linearly from `initial_learning_rate` to
            `warmup_target` over `warmup_steps`, and the cosine starts from `warmup_target`.
        warmup_steps: length of the warmup (used only with `warmup_target`).

    Examples:
        >>> schedule = CosineDecay(1.0, decay_steps=10)
        >>> schedule(0), round(schedule(5), 4), schedule(10)
        (1.0, 0.5, 0.0)
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        _positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    @_over_steps
    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            # Keras ignores warmup_steps without a warmup_target.
            fraction = min(step, self.decay_steps) / self.decay_steps
            return self.initial_learning_rate * _cosine(fraction, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        fraction = (step - self.warmup_steps) / self.decay_steps
        return self.warmup_target * _cosine(fraction, self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts `first_decay_steps * t_mul**i`
    steps and starts from `initial_learning_rate * m_mul**i`.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: length of the first period.
        t_mul: factor on each period's length.
        m_mul: factor on each period's starting rate.
        alpha: the final rate of each period as a fraction of `initial_learning_rate`.

    Examples:
        >>> schedule = CosineDecayRestarts(1.0, first_decay_steps=10)
        >>> round(schedule(5), 4), schedule(10)  # the second period starts again from the top
        (0.5, 1.0)
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    @_over_steps
    def __call__(self, step):
        fraction = float(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restarts = math.floor(fraction)
            fraction -= restarts
        else:
            # Periods grow geometrically: find the period `fraction` falls in, and where in it.
            restarts = math.floor(
                math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul)
            )
            elapsed = (1.0 - self.t_mul**restarts) / (1.0 - self.t_mul)
            fraction = (fraction - elapsed) / self.t_mul**restarts
        peak = self.m_mul**restarts
        cosine = 0.5 * peak * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def register(cls):
    """Make a custom schedule class loadable from a config by its class name.

    Args:
        cls: the `LearningRateSchedule` subclass.

    Returns:
        `cls` itself, so it can decorate the class.

    Examples:
        >>> register(ExponentialDecay) is ExponentialDecay
        True
    """
    _SCHEDULES[cls.__name__] = cls
    return cls


def serialize(schedule: LearningRateSchedule) -> dict:
    """A schedule as Keras writes it: `{"module", "class_name", "config", "registered_name"}`.

    Args:
        schedule: the `LearningRateSchedule` to describe.

    Examples:
        >>> serialize(ExponentialDecay(0.1, 10, 0.5))["class_name"]
        'ExponentialDecay'
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(schedule)


def deserialize(config: dict, custom_objects=None) -> LearningRateSchedule:
    """`{"class_name", "config"}` (lamina's or Keras's) -> a schedule.

    Args:
        config: the dict `serialize` (or Keras) wrote.
        custom_objects: optional mapping of class names to user schedule classes.

    Examples:
        >>> config = {"class_name": "ExponentialDecay", "config": {
        ...     "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}}
        >>> deserialize(config)(10)
        0.05
    """
    known = {**_SCHEDULES, **(custom_objects or {})}
    name = config.get("class_name")
    if name not in known:
        raise errors.unknown_name("learning-rate schedule", name, known)
    return known[name].from_config(config.get("config", {}))


__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "register",
    "serialize",
]
