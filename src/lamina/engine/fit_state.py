"""`model.training_state`: where a running `fit` is, for callbacks that back a run up and resume it.

A resumed run is bit-exact only if everything that decides the next step is put back: weights and
optimizer (saved by `BackupAndRestore`), the random generators, the data pipelines' positions
(a `Dataset.shuffle`'s pass counter, a `PyDataset`'s reshuffles) and the callbacks' own counters
(`ReduceLROnPlateau`'s patience, `EarlyStopping`'s best value). Each of those objects describes
itself with `get_state()` (a dict of numbers, strings, None, lists and arrays) and takes it back
with `set_state(state)`; this object collects them at the right moments, so a callback never reads
the trainer's private attributes.
"""

from __future__ import annotations

import warnings

from lamina import backend


def has_state(obj) -> bool:
    """Whether `obj` describes itself with `get_state()` / `set_state()` (a callback that only
    inherits `Callback`'s stateless defaults does not)."""
    from lamina.callbacks.callback import Callback

    if isinstance(obj, Callback):
        return type(obj).get_state is not Callback.get_state
    return callable(getattr(obj, "get_state", None)) and callable(getattr(obj, "set_state", None))


class TrainingState:
    """The progress of one `fit` call, published as `model.training_state` before
    `on_train_begin`.

    Attributes:
        epoch: the epoch being trained (from 0); None before the first one begins.
        epoch_start_rng: the random generators' states (`backend.get_rng_state()`) when this epoch
            began, before its data order was drawn.
        epoch_start_data: the data pipelines' states when this epoch began (`data_state()`).
        callbacks: the callbacks of this `fit`, in calling order (History and the progress bar
            included).
        data: `{"train": ..., "validation": ...}`, the user's data objects that keep a state
            (`lamina.data.Dataset`, `lamina.utils.PyDataset`), or None for stateless ones (arrays).

    Example:
        >>> class ShowEpoch(lamina.callbacks.Callback):  # doctest: +SKIP
        ...     def on_epoch_begin(self, epoch, logs=None):
        ...         print(self.model.training_state.epoch)
    """

    def __init__(self, callbacks=(), train=None, validation=None):
        self.epoch = None
        self.epoch_start_rng = None
        self.epoch_start_data = None
        self.callbacks = list(callbacks)
        self.data = {
            "train": train if has_state(train) else None,
            "validation": validation if has_state(validation) else None,
        }
        self._resume = None

    # ----------------------------------------------------------------------------------------------
    # Reading the state

    def data_state(self) -> dict:
        """Each data object's `get_state()` now (None for the stateless ones)."""
        return {key: None if d is None else d.get_state() for key, d in self.data.items()}

    def callback_states(self) -> list:
        """`[class name, get_state()]` of every callback that keeps a state, in calling order."""
        return [[type(c).__name__, c.get_state()] for c in self.callbacks if has_state(c)]

    def begin_epoch(self, epoch: int) -> None:
        """Called by `fit` as an epoch begins, before `on_epoch_begin`."""
        self.epoch = epoch
        self.epoch_start_rng = backend.get_rng_state()
        self.epoch_start_data = self.data_state()

    # ----------------------------------------------------------------------------------------------
    # Resuming

    def resume_from(self, epoch, step, epoch_start_rng, rng=None, data=None, callbacks=None):
        """Ask `fit` (from `on_train_begin`) to continue a backed-up run.

        Args:
            epoch: the epoch to continue.
            step: batches of it already trained; their data is produced again and skipped.
            epoch_start_rng: the generator states the epoch began with (its data order is drawn
                again from them).
            rng: the generator states to continue from after the skipped batches (None: the
                epoch's own stream, for `step=0`).
            data: `data_state()` as the epoch began.
            callbacks: `callback_states()` at the backup.
        """
        self._resume = {
            "epoch": int(epoch),
            "step": int(step),
            "epoch_start_rng": epoch_start_rng,
            "rng": rng,
            "data": data,
            "callbacks": callbacks,
        }

    def take_resume(self):
        """Called by `fit` once every `on_train_begin` ran (so no callback's own reset undoes what
        is restored): put the data and callback states back, return the resume point or None."""
        point, self._resume = self._resume, None
        if point is None:
            return None
        for key, state in (point["data"] or {}).items():
            target = self.data.get(key)
            if state is not None and target is not None:
                target.set_state(state)
        if point["callbacks"] is not None:
            self._restore_callbacks(point["callbacks"])
        return point

    def _restore_callbacks(self, saved) -> None:
        stateful = [c for c in self.callbacks if has_state(c)]
        names = [type(c).__name__ for c in stateful]
        if names != [name for name, _ in saved]:
            warnings.warn(
                f"The backup holds the states of callbacks {[n for n, _ in saved]}, but this fit "
                f"has {names}: their states are not restored, so the resumed run may differ from "
                "an uninterrupted one. Hint: resume with the same callbacks in the same order.",
                stacklevel=3,
            )
            return
        for callback, (_, state) in zip(stateful, saved, strict=True):
            callback.set_state(state)
