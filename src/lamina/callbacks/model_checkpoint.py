"""ModelCheckpoint: save the model (or its weights) during training, every epoch, every N batches,
or only when the monitored quantity improves. Every write is atomic (see `lamina.saving.atomic`):
a crash mid-save leaves the previous checkpoint intact."""

from __future__ import annotations

import os
import re

from lamina.callbacks import monitor as monitoring
from lamina.engine import errors
from lamina.utils.io_utils import print_msg


class ModelCheckpoint(monitoring.MonitorCallback):
    """Save the model or its weights at some frequency.

    Args:
        filepath: where to save; may hold `str.format` fields filled from the epoch (counted from
            1), the batch (with a step `save_freq`) and the logs, e.g.
            `"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`. The extension picks the format: `.keras`,
            `.h5` (Keras's legacy HDF5) or, with `save_weights_only`, `.weights.h5`.
        monitor: the logged quantity `save_best_only` compares.
        verbose: 1 prints a line at each save.
        save_best_only: save only when `monitor` improves on the best seen so far.
        save_weights_only: save only the weights (`model.save_weights`).
        mode: `"min"`, `"max"` or `"auto"`.
        save_freq: `"epoch"`, or an integer: save every that many batches.
        initial_value_threshold: the value `monitor` must beat for the first save.
        **kwargs: none is accepted; tf.keras 2's `period` and `frequency` (which tf 2.0
            ignored) are refused with an error naming `save_freq`.

    Examples:
        >>> import os, tempfile
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save = ModelCheckpoint(os.path.join(folder, "epoch{epoch}.weights.h5"),
        ...                            save_weights_only=True)
        ...     _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[save])
        ...     print(sorted(os.listdir(folder)))
        ['epoch1.weights.h5', 'epoch2.weights.h5']
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        **kwargs,
    ):
        _refuse_keras2_keywords(kwargs)
        # best: None until a first value is seen, as in Keras ("improved from None to 0.69846").
        threshold = None if initial_value_threshold is None else float(initial_value_threshold)
        super().__init__(monitor, mode, best=threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.initial_value_threshold = initial_value_threshold
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. ModelCheckpoint save_freq must be "
                f"'epoch' or a positive integer (batches); received save_freq={save_freq!r}."
            )
        self.save_freq = save_freq
        _check_extension(self.filepath, save_weights_only)
        self._batches_since_save = 0
        self._current_epoch = 0

    def get_state(self):
        """The best value so far and the batches since the last save."""
        return {"best": self.best, "batches_since_save": self._batches_since_save}

    def set_state(self, state):
        self.best = None if state["best"] is None else float(state["best"])
        self._batches_since_save = int(state["batches_since_save"])

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = dict(logs or {})
        path = self._file_path(epoch, batch, logs)
        current = None
        if self.save_best_only:
            current = monitoring.read(logs, self.monitor, monitoring.MISSING_FOR_CHECKPOINT)
        if current is not None:  # as Keras: without the quantity, it warns and saves anyway
            best = "None" if self.best is None else f"{self.best:.5f}"
            if not self._is_improvement(current, self.best):
                if self.verbose > 0:
                    print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                return
            if self.verbose > 0:
                print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0 and not self.save_best_only:
            # (Keras announces only plain saves: a best-only one whose quantity is missing warns,
            # then saves with just the "finished" line.)
            print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {path}")

    def _file_path(self, epoch, batch, logs) -> str:
        fields = {"epoch": epoch + 1, **logs}
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as missing:
            raise KeyError(
                f"ModelCheckpoint failed to format filepath {self.filepath!r}: the field "
                f"{missing} is not among the logs ({sorted(fields)})."
            ) from None


def _check_extension(filepath: str, weights_only: bool) -> None:
    # Strip template fields first: "ckpt-{val_loss:.2f}.keras" ends in ".keras".
    plain = re.sub(r"\{[^}]*\}", "x", filepath)
    if weights_only:
        if not plain.endswith(".weights.h5"):
            raise ValueError(
                "ModelCheckpoint with save_weights_only=True expects a filepath ending in "
                f"'.weights.h5'; received filepath={filepath!r}. Hint: tf.keras 2's TF-checkpoint "
                f"and '.h5' names became Keras 3's {_without_h5(filepath) + '.weights.h5'!r}."
            )
    elif not (plain.endswith(".keras") or plain.endswith(".h5")):
        raise ValueError(
            "ModelCheckpoint expects a filepath ending in '.keras' (or '.h5' for Keras's legacy "
            f"HDF5 format); received filepath={filepath!r}. Hint: tf.keras 2 wrote a SavedModel "
            f"folder here; Keras 3 takes {filepath.rstrip('/') + '.keras'!r}."
        )


def _without_h5(filepath: str) -> str:
    """The tf.keras 2 name without a plain '.h5' (whose weights Keras 3 names '.weights.h5')."""
    stem, extension = os.path.splitext(filepath)
    return stem if extension.lower() in (".h5", ".hdf5") else filepath


# tf.keras 2 took `period=N` (epochs between saves), and tf 2.0 silently ignored other keywords,
# so Imperial's TF2 course writes `ModelCheckpoint(..., frequency='epoch')`. Keras 3 refuses both.
_KERAS2_KEYWORDS = {
    "period": (
        "tf.keras 2's `period` (epochs between saves) is gone; Keras 3 takes save_freq='epoch' "
        "(every epoch) or save_freq=N (every N batches)"
    ),
    "frequency": (
        "tf.keras 2.0 ignored this unknown keyword; Keras 3 refuses it. The argument is "
        "save_freq='epoch' (or save_freq=N to save every N batches)"
    ),
}


def _refuse_keras2_keywords(kwargs) -> None:
    """lamina's error for unknown keywords (a TypeError, as Keras raises here), with the Keras 3
    spelling when one is a tf.keras 2 keyword."""
    if not kwargs:
        return
    hints = [_KERAS2_KEYWORDS[name] for name in sorted(kwargs) if name in _KERAS2_KEYWORDS]
    raise errors.unexpected_arguments("ModelCheckpoint()", kwargs, f"{hints[0]}." if hints else "")
