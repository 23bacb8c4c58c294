"""Learning-rate schedules: a function of the optimizer's step counter, Keras's formulas.

A schedule is called with the step (a Python int, counted by the optimizer), so evaluating it never
touches a device tensor.
"""

from __future__ import annotations

import math


class LearningRateSchedule:
    """Base class: `schedule(step) -> learning rate`."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (floored with staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay decay_steps must be > 0; received {decay_steps}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        progress = step / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return self.initial_learning_rate * self.decay_rate**progress

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` to `alpha * initial` over `decay_steps`, after an
    optional linear warmup to `warmup_target` over `warmup_steps`."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay decay_steps must be > 0; received {decay_steps}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        if self.warmup_target is not None and step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return self.initial_learning_rate + fraction * (self.warmup_target - self.initial_learning_rate)
        start = self.warmup_target if self.warmup_target is not None else self.initial_learning_rate
        progress = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, CosineDecay)}


def register(cls):
    _SCHEDULES[cls.__name__] = cls
    return cls


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    return _SCHEDULES[config["class_name"]].from_config(config["config"])
