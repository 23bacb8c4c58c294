"""OrbaxCheckpoint: Keras 3's callback for numbered checkpoints of the whole training state,
written in the background, on lamina's own files.

Keras writes these with Orbax, a JAX library. lamina keeps the callback's name, arguments and
folder layout (`<directory>/<step>/`, one folder per saved step, the step being the epoch or the
count of batches seen) and writes each step as a `.keras` archive through
`lamina.saving.step_checkpoints`: atomic, loadable by `load_model(directory)` (the highest step),
and read without running code like every lamina file. With `save_on_background` the model's
state is copied to bytes at the step (so training may change the weights at once) and a single
writer thread puts them on disk, so steps land in order.
"""

from __future__ import annotations

import concurrent.futures
import warnings

from lamina.callbacks import monitor as monitoring
from lamina.distribution import process_group
from lamina.saving import keras_format, step_checkpoints
from lamina.utils.io_utils import print_msg


class OrbaxCheckpoint(monitoring.MonitorCallback):
    """Save the model's state in numbered step folders, as Keras's `OrbaxCheckpoint` does.

    Args:
        directory: the checkpoint directory; each save writes `<directory>/<step>/`.
        monitor: the logged quantity `save_best_only` compares.
        verbose: 1 prints a line at each save.
        save_best_only: save only when `monitor` improves on the best seen so far.
        mode: `"min"`, `"max"` or `"auto"`.
        save_freq: `"epoch"` (the step is the epoch, from 0) or an integer: save every that many
            batches (the step is the number of batches seen, counted on from
            `optimizer.iterations` for a reloaded model).
        initial_value_threshold: the value `monitor` must beat for the first save.
        max_to_keep: how many of the newest steps to keep (None keeps all; default 1).
        save_on_background: write the files in a background thread (default True); the state
            is taken at the step either way.
        save_weights_only: save only the weights (`model.weights.h5`); else the whole model
            with its optimizer state (`model.keras`).

    Example:
        >>> import os, tempfile
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save = OrbaxCheckpoint(folder, max_to_keep=2)
        ...     _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[save])
        ...     print(sorted(os.listdir(folder)))
        ...     restored = lamina.saving.load_model(folder)  # the highest step
        ['1', '2']
        >>> int(restored.optimizer.iterations)
        3
    """

    def __init__(
        self,
        directory,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        max_to_keep=1,
        save_on_background=True,
        save_weights_only=False,
    ):
        threshold = None if initial_value_threshold is None else float(initial_value_threshold)
        super().__init__(monitor, mode, best=threshold)
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. OrbaxCheckpoint's save_freq must be "
                "'epoch' or a positive integer (batches)."
            )
        if max_to_keep is not None and not (isinstance(max_to_keep, int) and max_to_keep > 0):
            raise ValueError(
                f"OrbaxCheckpoint's max_to_keep must be a positive integer or None (keep every "
                f"step); received max_to_keep={max_to_keep!r}."
            )
        self.directory = directory
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only
        self._batches_since_save = 0
        self._total_batches_seen = 0
        self._last_batch = None
        self._writer = None  # one thread, so that steps reach the disk in order
        self._pending = []

    def is_multihost_enabled(self) -> bool:
        """Whether this run spans several processes (torchrun); rank 0 then writes each step.

        Example:
            >>> OrbaxCheckpoint("checkpoints").is_multihost_enabled()
            False
        """
        return process_group.world_size() > 1

    def is_primary_host(self) -> bool:
        """Whether this process writes the checkpoints (rank 0, or the only process).

        Example:
            >>> OrbaxCheckpoint("checkpoints").is_primary_host()
            True
        """
        return process_group.is_chief()

    def set_model(self, model):
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:  # a reloaded model counts its steps on
            self._total_batches_seen = int(optimizer.iterations)

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # Counted from the batch index, as Keras does, so hooks called once per
        # `steps_per_execution` batches count every batch.
        seen = (
            batch + 1
            if self._last_batch is None or batch <= self._last_batch
            else (batch - self._last_batch)
        )
        self._last_batch = batch
        self._total_batches_seen += seen
        self._batches_since_save += seen
        if self._batches_since_save < self.save_freq:
            return
        self._batches_since_save = 0
        if self._improved(logs, f"batch {batch}"):
            self._save(self._total_batches_seen)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch" and self._improved(logs, f"epoch {epoch}"):
            self._save(epoch)

    def on_train_end(self, logs=None):
        self.wait_until_finished()

    def wait_until_finished(self):
        """Block until every background save has reached the disk; re-raise a save's error."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _improved(self, logs, where: str) -> bool:
        if not self.save_best_only:
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:  # Keras skips the save here (ModelCheckpoint saves anyway)
            warnings.warn(
                f"Can save best model only with {self.monitor} available, skipping save at "
                f"{where}.",
                stacklevel=3,
            )
            return False
        current = float(current)
        if not self._is_improvement(current, self.best):
            return False
        self.best = current
        return True

    def _save(self, step: int) -> None:
        self._raise_failed_saves()
        if self.save_weights_only:
            name, data = step_checkpoints.WEIGHTS_FILE, keras_format.weights_bytes(self.model)
        else:
            name, data = step_checkpoints.MODEL_FILE, keras_format.archive_bytes(self.model)
        if not process_group.is_chief():
            return  # under ModelParallel every rank gathers the shards above; rank 0 writes
        if self.verbose > 0:
            print_msg(f"\nOrbaxCheckpoint: saving step {step} to {self.directory}")
        if not self.save_on_background:
            self._write(step, name, data)
            return
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="lamina-checkpoint"
            )
        self._pending.append(self._writer.submit(self._write, step, name, data))

    def _write(self, step: int, name: str, data: bytes) -> None:
        step_checkpoints.write_step(self.directory, step, name, data)
        if self.max_to_keep is not None:
            step_checkpoints.prune(self.directory, self.max_to_keep)

    def _raise_failed_saves(self) -> None:
        """A background save that failed is reported at the next save, not lost."""
        done = [future for future in self._pending if future.done()]
        self._pending = [future for future in self._pending if not future.done()]
        for future in done:
            future.result()
