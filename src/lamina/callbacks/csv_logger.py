"""CSVLogger: one row of logs per epoch."""

from __future__ import annotations

import collections.abc
import csv
import os

from lamina.callbacks.callback import Callback


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (`epoch` first, then the logs' keys sorted).

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
        epoch,loss
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None
        self._header_written = False

    def on_train_begin(self, logs=None):
        self._header_written = (
            self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        )
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file, fieldnames=["epoch", *self.keys], delimiter=self.sep
            )
            if not self._header_written:
                self._writer.writeheader()
                self._header_written = True
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self._writer.writerow(row)
        self._file.flush()  # a crash loses at most the current epoch

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


def _cell(value):
    if isinstance(value, collections.abc.Iterable) and not isinstance(value, str):
        return f'"[{", ".join(str(v) for v in value)}]"'
    return value
