"""CSVLogger: one row of logs per epoch."""

from __future__ import annotations

import collections.abc
import csv
import os

from lamina.callbacks.callback import Callback


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (`epoch` first, then the logs' keys sorted;
    without validation, Keras's `val_` columns too, filled with `NA`).

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: add to an existing file (without repeating its header) instead of overwriting it.

    Examples:
        >>> import os, tempfile
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "log.csv")
        ...     _ = model.fit(x, y, epochs=2, verbose=0,
        ...                   callbacks=[CSVLogger(path)])
        ...     print(open(path).read().splitlines()[0])
        epoch,loss,val_loss
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        # Keras's attributes: the open file and its csv writer during a run, and whether the
        # run writes the header (not when appending to a file that already has rows).
        self.csv_file = None
        self.writer = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                self.append_header = not existing.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(key.startswith("val_") for key in self.keys):
                # Keras's columns: a validation column for each key, "NA" when there is none.
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()  # a crash loses at most the current epoch

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _cell(value):
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
        return f'"[{", ".join(str(v) for v in value)}]"'
    return value
