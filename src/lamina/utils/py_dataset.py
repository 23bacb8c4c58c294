"""PyDataset: Keras's base class for data that produces whole batches by index (Keras 2's
`Sequence`), which `fit` / `evaluate` / `predict` accept as `x`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def _check_positive(value, argument: str, who: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"{who} {argument} must be a positive integer; received {argument}={value!r}."
        )
    return value


class PyDataset:
    """A dataset of batches: subclass it, implement `__len__` (the number of batches) and
    `__getitem__(index)` (the batch at `index`: `x`, `(x, y)` or `(x, y, sample_weight)`), and
    optionally `on_epoch_begin` / `on_epoch_end` (e.g. to reshuffle).

    Args:
        workers: how many batches are loaded at once (in threads; NumPy, Pillow and torch release
            the interpreter lock while they work). 1 loads them one after another.
        use_multiprocessing: accepted for Keras compatibility; lamina's workers are threads, so the
            dataset is never copied into other processes.
        max_queue_size: how many batches may be loaded ahead of training (with `workers > 1`).

    Example:
        >>> import numpy as np
        >>> class Squares(PyDataset):
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, index):
        ...         x = np.arange(4, dtype="float32")[:, None] + 4 * index
        ...         return x, x**2
        >>> [len(x) for x, _ in Squares(workers=2).iter_epoch()]
        [4, 4, 4]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        name = type(self).__name__
        self._workers = _check_positive(workers, "workers", name)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = _check_positive(max_queue_size, "max_queue_size", name)

    # A subclass that forgot super().__init__() still works, with Keras's defaults.
    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value) -> None:
        self._workers = _check_positive(value, "workers", type(self).__name__)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(index), returning the batch at "
            "`index` as x, (x, y) or (x, y, sample_weight)."
        )

    def __len__(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__(), returning the number of batches."
        )

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before the first batch of each epoch."""

    def on_epoch_end(self) -> None:
        """Called after the last batch of each epoch (reshuffle here)."""

    def iter_epoch(self):
        """One epoch's batches in index order, loaded `workers` at a time and at most
        `max_queue_size` ahead; `on_epoch_begin` before, `on_epoch_end` after the last."""
        self.on_epoch_begin()
        count = len(self)
        if self.workers <= 1:
            for index in range(count):
                yield self[index]
        else:
            ahead = max(self.max_queue_size, self.workers)
            with ThreadPoolExecutor(self.workers, thread_name_prefix="lamina-pydataset") as pool:
                pending = [pool.submit(self.__getitem__, i) for i in range(min(ahead, count))]
                try:
                    for index in range(count):
                        batch = pending[index].result()  # a worker's exception surfaces here
                        if index + ahead < count:
                            pending.append(pool.submit(self.__getitem__, index + ahead))
                        pending[index] = None  # let the batch go once yielded
                        yield batch
                finally:
                    for future in pending:
                        if future is not None:
                            future.cancel()
        self.on_epoch_end()
