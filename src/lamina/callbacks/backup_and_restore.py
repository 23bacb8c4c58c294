"""BackupAndRestore: a training process that dies (even by SIGKILL) resumes where its last backup
left it when the same command runs again, and finishes with exactly the weights of a run that was
never interrupted (on CPU, same seed)."""

from __future__ import annotations

import os
import shutil
import warnings

from lamina import backend
from lamina.callbacks.callback import Callback
from lamina.distribution import process_group, saving_rank
from lamina.metrics.metric import flatten_metrics
from lamina.saving import training_state
from lamina.saving.errors import FileFormatError

_LATEST = "training_state.h5"
_PREVIOUS = "training_state.previous.h5"


class BackupAndRestore(Callback):
    """Back up the whole training state; restore it when `fit` starts again after a crash.

    A backup holds the weights and buffers, the optimizer's state, the epoch and the number of
    batches done in it, the running totals of the epoch's metrics, the random generators' states
    (Python, NumPy, torch), the data pipelines' states (a `Dataset.shuffle`'s passes, a
    `PyDataset`'s reshuffles) and every stateful callback's `get_state()` (ReduceLROnPlateau,
    EarlyStopping, ModelCheckpoint, LearningRateScheduler, your own). On restart, `fit` replays
    the interrupted epoch's data order, skips the batches already trained and continues the
    random streams where they were, so shuffling and Dropout draw what an uninterrupted run would
    have drawn, and the callbacks decide what they would have decided.

    An epoch's backup (`save_freq="epoch"`) is written once every callback has ended the epoch,
    as the next one begins (or as training ends, with `delete_checkpoint=False`).

    Args:
        backup_dir: a folder for this run's backups only (not shared with another run or with
            ModelCheckpoint).
        save_freq: `"epoch"` (back up at each epoch's end), or an integer: back up every that many
            batches (a crash then loses at most that many batches of work).
        double_checkpoint: also keep the previous backup, and fall back to it when the latest
            cannot be read.
        delete_checkpoint: delete the backups when training finishes (the default), so the next
            run of the same command trains from the start.

    Examples:
        >>> model.fit(x, y, epochs=10,
        ...           callbacks=[BackupAndRestore("backup", save_freq=100)])  # doctest: +SKIP
    """

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError(  # Keras's words first, so code matching them matches these
                "Empty `backup_dir` argument passed: BackupAndRestore needs a backup_dir; "
                f"received backup_dir={backup_dir!r}."
            )
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                "Invalid value for argument `save_freq`: BackupAndRestore save_freq must be "
                f"'epoch' or a positive integer (batches); received save_freq={save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._latest = os.path.join(self.backup_dir, _LATEST)
        self._previous = os.path.join(self.backup_dir, _PREVIOUS)
        self._epoch = 0
        self._batches_seen = 0
        self._pending_metrics = None

    # ----------------------------------------------------------------------------------------------
    def _metrics(self):
        return flatten_metrics(self.model.metrics)  # compile_metrics's members, one by one

    def _candidates(self) -> list[str]:
        found = [p for p in (self._latest,) if os.path.exists(p)]
        if self.double_checkpoint and os.path.exists(self._previous):
            found.append(self._previous)
        return found

    def _read_backup(self):
        """The newest readable backup, or None when there is none."""
        candidates = self._candidates()
        for index, path in enumerate(candidates):
            try:
                return training_state.read(path, self.model)
            except FileFormatError as error:
                if index + 1 == len(candidates):
                    raise
                warnings.warn(
                    f"BackupAndRestore could not read {path} ({error}); restoring the previous "
                    "backup instead.",
                    stacklevel=2,
                )
        return None

    def on_train_begin(self, logs=None):
        self._epoch = 0
        self._batches_seen = 0
        self._pending_metrics = None
        self._epoch_ended = False
        state = self._read_backup()
        if state is None:
            return
        training_state.apply(state, self.model)
        self._batches_seen = state["batches_seen"]
        if state["step"] > 0:
            self._pending_metrics = state["metrics"]
        self.model.training_state.resume_from(
            state["epoch"],
            state["step"],
            state["epoch_start_rng"],
            # At an epoch boundary the stream continues from the new epoch's own draw.
            rng=state["rng"] if state["step"] > 0 else None,
            data=state["data"],
            callbacks=state["callbacks"],
        )

    def on_epoch_begin(self, epoch, logs=None):
        if self._epoch_ended:
            # The previous epoch's backup waits until now, so every callback has ended that epoch
            # (a ReduceLROnPlateau after this one in the list may have lowered the rate).
            self._epoch_ended = False
            self._backup(epoch, 0)
        self._epoch = epoch
        if self._pending_metrics is not None:
            # fit() reset the metrics for this epoch; put back the totals of the batches skipped.
            training_state.restore_metrics(self._pending_metrics, self._metrics())
            self._pending_metrics = None

    def on_train_batch_end(self, batch, logs=None):
        self._batches_seen += 1
        if self.save_freq != "epoch" and self._batches_seen % self.save_freq == 0:
            self._backup(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._epoch_ended = True

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            # Off rank 0 (under ModelParallel, rank_callbacks) the backup is rank 0's to remove.
            if process_group.is_chief() and os.path.isdir(self.backup_dir):
                shutil.rmtree(self.backup_dir, ignore_errors=True)
        elif self._epoch_ended:  # the last epoch's backup: the run is complete
            self._backup(self._epoch + 1, 0)

    # ----------------------------------------------------------------------------------------------
    def _backup(self, epoch, step) -> None:
        """Back up after `step` batches of `epoch` (step 0: as `epoch` begins, or after the last
        epoch ended)."""
        progress = self.model.training_state
        if progress.epoch == epoch:  # the states this epoch began with: it is replayed on resume
            epoch_start_rng, data = progress.epoch_start_rng, progress.epoch_start_data
        else:  # training ended: the next epoch would begin from now
            epoch_start_rng, data = backend.get_rng_state(), progress.data_state()
        # Off rank 0 this runs only under ModelParallel, to gather the sharded weights with
        # rank 0 (rank_callbacks): it writes a scratch copy there, deleted at once.
        with saving_rank.save_target(self.model, self._latest) as target:
            if target is None:
                return
            if target == self._latest and self.double_checkpoint and os.path.exists(target):
                # A rename is atomic: at every instant one complete backup exists.
                os.replace(self._latest, self._previous)
            training_state.write(
                target,
                self.model,
                epoch=epoch,
                step=step,
                batches_seen=self._batches_seen,
                epoch_start_rng=epoch_start_rng,
                rng=backend.get_rng_state(),
                metrics=self._metrics() if step > 0 else (),
                data=data,
                callbacks=progress.callback_states(),
            )
