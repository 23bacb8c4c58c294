"""Callbacks that set the optimizer's learning rate: ReduceLROnPlateau, LearningRateScheduler."""

from __future__ import annotations

import warnings

import numpy as np

from lamina.callbacks import monitor as monitoring
from lamina.callbacks.callback import Callback
from lamina.engine import errors
from lamina.utils.io_utils import print_msg


def rate_holders(optimizer) -> list[tuple[str, object]]:
    """(log key, optimizer) for each optimizer whose learning rate the callbacks read and set:
    the model's own (`learning_rate`), or each sub-optimizer of a MultiOptimizer, which has no
    rate of its own (`learning_rate_<name>`, Keras's keys).

    Args:
        optimizer: the model's optimizer.

    Returns:
        The (key, optimizer) pairs.

    Example:
        >>> [key for key, _ in rate_holders(lamina.optimizers.SGD())]
        ['learning_rate']
    """
    members = getattr(optimizer, "optimizers", None)
    if members is None:
        return [("learning_rate", optimizer)]
    return [(f"learning_rate_{member.name}", member) for member in members]


def current_rate(optimizer) -> float:
    """The rate as Keras logs it: a float32 variable's value (5e-05 is 4.999999873689376e-05).

    Args:
        optimizer: an optimizer with one learning rate.

    Returns:
        The rate, as a Python float.

    Example:
        >>> current_rate(lamina.optimizers.SGD(learning_rate=0.5))
        0.5
    """
    return float(np.float32(optimizer.learning_rate))


def log_rates(model, logs) -> None:
    """Add each rate holder's current rate to `logs` (so `History` records it), as Keras.

    Args:
        model: the model whose optimizer holds the rates.
        logs: the epoch's logs (None: nothing to add to).

    Example:
        >>> log_rates(model, logs)  # doctest: +SKIP
    """
    if logs is not None:
        for key, optimizer in rate_holders(model.optimizer):
            logs[key] = current_rate(optimizer)


class ReduceLROnPlateau(monitoring.MonitorCallback):
    """Multiply the learning rate by `factor` when `monitor` stops improving.

    Args:
        monitor: the logged quantity to watch.
        factor: the multiplier, below 1 (`new_lr = lr * factor`).
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line at each reduction.
        mode: `"min"`, `"max"` or `"auto"`.
        min_delta: a change smaller than this does not count as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate never goes below this.
        **kwargs: `epsilon`, tf.keras's name for `min_delta`, is taken as it with a warning.

    Each epoch's logs gain `learning_rate` (so `History` records it), as in Keras. Under a
    MultiOptimizer each sub-optimizer's rate is reduced and logged (`learning_rate_<name>`).

    Examples:
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
        >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1.0)
        >>> _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[reduce])
        >>> model.optimizer.learning_rate < 0.1  # the loss never improved by 1.0: the rate was cut
        True
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        if "epsilon" in kwargs:
            # tf.keras's name for min_delta (Keras 3 drops it without a word; its meaning kept)
            min_delta = kwargs.pop("epsilon")
            warnings.warn(
                "ReduceLROnPlateau: `epsilon` is the Keras 2 name of `min_delta`; "
                "pass `min_delta=` instead.",
                stacklevel=2,
            )
        super().__init__(monitor, mode, min_delta)
        if kwargs:
            raise errors.unexpected_arguments("ReduceLROnPlateau()", kwargs)
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau does not support a factor >= 1.0 (it would raise the rate); "
                f"received factor={factor}."
            )
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = None  # any first value improves, as in Keras
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def get_state(self):
        """The best value, the epochs waited and the cooldown left (the rate itself is the
        optimizer's)."""
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        log_rates(self.model, logs)
        current = monitoring.read(logs, self.monitor, monitoring.MISSING_FOR_LR_REDUCTION)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        reduced = False
        for key, optimizer in rate_holders(self.model.optimizer):
            old_lr = current_rate(optimizer)
            # Keras compares in float32: a rate already at min_lr (as stored) is left alone.
            if old_lr > np.float32(self.min_lr):
                new_lr = max(old_lr * self.factor, self.min_lr)
                optimizer.learning_rate = new_lr
                reduced = True
                if self.verbose > 0:
                    whose = "" if key == "learning_rate" else f" of {optimizer.name}"
                    print_msg(
                        f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate{whose} "
                        f"to {new_lr}."
                    )
        if reduced:
            self.cooldown_counter = self.cooldown
            self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from `schedule(epoch, lr)` (or
    `schedule(epoch)`); under a MultiOptimizer, each sub-optimizer's from its own rate.

    Args:
        schedule: a function of the epoch index (from 0) and the current rate, returning a float.
        verbose: 1 prints the rate it sets.

    Examples:
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
        >>> halve = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr)
        >>> _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[halve])
        >>> round(model.optimizer.learning_rate, 6)
        0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        # The rate the last epoch began with, before the schedule set its own: a run resumed in
        # the middle of that epoch begins it again and must give the schedule the same input.
        self._epoch_start = None

    def get_state(self):
        """The epoch last begun and the rates it began with (one per rate holder; the current
        rates are the optimizer's)."""
        epoch, rates = self._epoch_start or (None, None)
        return {"epoch": epoch, "learning_rate": rates}

    def set_state(self, state):
        epoch, rates = state["epoch"], state["learning_rate"]
        if isinstance(rates, (int, float)):  # a state saved with one rate, before lists
            rates = [rates]
        self._epoch_start = None if epoch is None else (int(epoch), [float(r) for r in rates])

    def on_epoch_begin(self, epoch, logs=None):
        holders = rate_holders(self.model.optimizer)
        rates = [current_rate(optimizer) for _, optimizer in holders]
        if self._epoch_start is not None and self._epoch_start[0] == epoch:
            rates = self._epoch_start[1]
        self._epoch_start = (epoch, rates)
        for (key, optimizer), lr in zip(holders, rates, strict=True):
            lr = self._scheduled(epoch, lr)
            optimizer.learning_rate = lr
            if self.verbose > 0:
                whose = "" if key == "learning_rate" else f"{optimizer.name} "
                print_msg(
                    f"\nEpoch {epoch + 1}: LearningRateScheduler setting {whose}learning rate "
                    f"to {lr}."
                )

    def _scheduled(self, epoch, lr) -> float:
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # a one-argument schedule, as Keras allows
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.size == 1:
            lr = lr.item()
        if not isinstance(lr, (float, int, np.floating, np.integer)):
            raise ValueError(
                "LearningRateScheduler expects the schedule to return a float; received "
                f"{lr!r} of type {type(lr).__name__} for epoch {epoch}."
            )
        return float(lr)

    def on_epoch_end(self, epoch, logs=None):
        log_rates(self.model, logs)
