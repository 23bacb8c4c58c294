"""Which callbacks act on which rank: those that write or print act on rank 0 only.

On the other ranks, the progress bar, ModelCheckpoint, OrbaxCheckpoint, CSVLogger, TensorBoard
and RemoteMonitor are replaced by silent stand-ins, and BackupAndRestore keeps only its reading
side (every rank restores the backup rank 0 wrote, so all resume from the same step). A stand-in
keeps its callback's class name and `get_state()`, so a backup's callback states restore on every
rank. Every other callback (History, EarlyStopping, ReduceLROnPlateau, yours) runs on every rank
and sees the same all-reduced epoch logs, so each rank decides the same.

Under ModelParallel a save gathers the sharded weights, a collective every rank must make, so
ModelCheckpoint, OrbaxCheckpoint and BackupAndRestore run on every rank (silenced): rank 0
writes, the others gather with it and write nothing (`saving_rank.save_target`). A stand-in
there would leave rank 0 waiting in the gather forever.
"""

from __future__ import annotations

from lamina.callbacks.callback import Callback
from lamina.distribution import data_parallel, process_group
from lamina.engine import fit_state

# Hooks BackupAndRestore runs on every rank: reading the backup and putting the metrics back.
_RESTORING_HOOKS = ("on_train_begin", "on_epoch_begin")


def _chief_only_kinds() -> tuple:
    from lamina import callbacks

    return (
        callbacks.ProgbarLogger,
        callbacks.ModelCheckpoint,
        callbacks.OrbaxCheckpoint,
        callbacks.CSVLogger,
        callbacks.TensorBoard,
        callbacks.RemoteMonitor,
        callbacks.BackupAndRestore,
    )


def _saving_kinds() -> tuple:
    from lamina import callbacks

    return (callbacks.ModelCheckpoint, callbacks.OrbaxCheckpoint, callbacks.BackupAndRestore)


def for_this_rank(callback_list) -> None:
    """Replace, off rank 0, the callbacks that write or print by their silent stand-ins."""
    if process_group.is_chief():
        return
    kinds = _chief_only_kinds()
    gathering = _saving_kinds() if data_parallel.weights_sharded() else ()
    kept = []
    for callback in callback_list.callbacks:
        if isinstance(callback, gathering):
            if hasattr(callback, "verbose"):
                callback.verbose = 0  # this rank's own instance: rank 0 reports the saves
            kept.append(callback)
        else:
            kept.append(_stand_in(callback) if isinstance(callback, kinds) else callback)
    callback_list.callbacks = kept


def _stand_in(callback):
    from lamina.callbacks import BackupAndRestore

    kept = _RESTORING_HOOKS if isinstance(callback, BackupAndRestore) else ()
    attributes = {hook: _forward(hook) for hook in kept}
    if fit_state.has_state(callback):
        attributes["get_state"] = lambda self: self.wrapped.get_state()
        attributes["set_state"] = lambda self, state: self.wrapped.set_state(state)
    kind = type(type(callback).__name__, (_Silent,), attributes)
    return kind(callback)


def _forward(hook):
    def call(self, *args, **kwargs):
        return getattr(self.wrapped, hook)(*args, **kwargs)

    call.__name__ = hook
    return call


class _Silent(Callback):
    """A callback's stand-in off rank 0: its hooks do nothing unless forwarded."""

    def __init__(self, wrapped):
        super().__init__()
        self.wrapped = wrapped

    def set_model(self, model):
        super().set_model(model)
        self.wrapped.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.wrapped.set_params(params)
