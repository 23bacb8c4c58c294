"""EarlyStopping: stop training when a monitored quantity stops improving."""

from __future__ import annotations

import numpy as np

from lamina.callbacks import monitor as monitoring
from lamina.utils.io_utils import print_msg


class EarlyStopping(monitoring.MonitorCallback):
    """Stop `fit()` once `monitor` has not improved for `patience` epochs.

    Args:
        monitor: the logged quantity to watch (`"val_loss"`, `"val_accuracy"`, ...).
        min_delta: a change smaller than this does not count as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: `"min"`, `"max"` or `"auto"` (from the name: accuracies up, losses down).
        baseline: a value to reach; training stops after `patience` epochs that do not beat it.
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        start_from_epoch: epochs to wait before watching at all (a warm-up).

    Examples:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta)
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def get_state(self):
        """The patience counter, the best value and epoch, and the best weights when kept."""
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
        }

    def set_state(self, state):
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else [np.asarray(w) for w in weights]

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if epoch < self.start_from_epoch:
            return
        current = monitoring.read(logs, self.monitor, monitoring.MISSING_FOR_EARLY_STOPPING)
        if current is None:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Something to restore even if no epoch ever improves on the baseline.
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only an epoch that also beats the baseline resets the patience counter.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        return monitoring.read(logs, self.monitor, monitoring.MISSING_FOR_EARLY_STOPPING)
