"""PyDataset: Keras's base class for data that produces whole batches by index (Keras 2's
`Sequence`), which `fit` / `evaluate` / `predict` accept as `x`."""

from __future__ import annotations

import collections
import itertools
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

_HOOKS = ("on_epoch_begin", "on_epoch_end")


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

    Examples:
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
        if type(self).num_batches is not PyDataset.num_batches:  # Keras's other way to say it
            count = self.num_batches
            if count is not None:
                return count
            raise TypeError(
                f"{type(self).__name__} is infinite (its num_batches is None): it has no length."
            )
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__() or the num_batches property, "
            "returning the number of batches (num_batches may return None: an infinite dataset)."
        )

    @property
    def num_batches(self) -> int | None:
        """The number of batches; None for an infinite dataset (as Keras's property, which a
        subclass may define instead of `__len__`)."""
        return len(self)

    def __iter__(self):
        # Without it Python iterates through __getitem__ until an IndexError that never comes
        # (a batch index past len() is still "valid"), so `for batch in dataset` and every
        # `adapt(dataset)` ran forever; Keras's PyDataset yields one pass, as here.
        # An infinite dataset (num_batches None) yields for as long as it is read, as Keras's.
        infinite = type(self).num_batches is not PyDataset.num_batches and self.num_batches is None
        for index in itertools.count() if infinite else range(len(self)):
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called before the first batch of each epoch."""

    def on_epoch_end(self) -> None:
        """Called after the last batch of each epoch (reshuffle here)."""

    # ----------------------------------------------------------------------------------------------
    # Progress (for exact resumes)

    def get_state(self) -> dict:
        """Where the dataset stands between epochs, for `BackupAndRestore`.

        By default: the epoch hooks this subclass overrides that have run, each with the random
        generators (Python's, NumPy's, torch's) it changed, as they were before it ran. `set_state`
        on a freshly built dataset runs the same hooks again from the same generator states, so
        a reshuffle in `on_epoch_end` (with `np.random` or the dataset's own generator) ends in the
        same order. A subclass whose hooks depend on anything else overrides both methods.

        Examples:
            >>> import numpy as np
            >>> class Shuffled(PyDataset):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.order = np.arange(4)
            ...     def __len__(self):
            ...         return 4
            ...     def __getitem__(self, index):
            ...         return np.full((1, 1), self.order[index], "float32")
            ...     def on_epoch_end(self):
            ...         np.random.shuffle(self.order)
            >>> first = Shuffled()
            >>> _ = list(first.iter_epoch())
            >>> again = Shuffled()
            >>> again.set_state(first.get_state())
            >>> bool((again.order == first.order).all())
            True
        """
        return {"hooks": list(self._hook_log())}

    def set_state(self, state: dict) -> None:
        """Run again the epoch hooks that `state` records and this dataset has not run yet.

        Args:
            state: the dict `get_state` returned (from a dataset built the same way).
        """
        done, recorded = self._hook_log(), list(state["hooks"])
        if len(done) > len(recorded):
            raise ValueError(
                f"{type(self).__name__}.set_state received a state after {len(recorded)} epoch "
                f"hook calls, but this dataset has already run {len(done)}. Hint: restore into a "
                "freshly built dataset."
            )
        saved = _generator_states()
        try:
            for entry in recorded[len(done) :]:
                _set_generator_states(entry["rng"])
                getattr(self, entry["hook"])()
                done.append(entry)
        finally:
            _set_generator_states(saved)

    def _hook_log(self) -> list:
        # In __dict__ directly: a subclass that skipped super().__init__() has one too.
        return self.__dict__.setdefault("_lamina_hook_log", [])

    def _run_hook(self, hook: str) -> None:
        """Call an epoch hook; when the subclass overrides it, log the generator states it changed
        (as they were before), so `set_state` can run it again from them."""
        if getattr(type(self), hook) is getattr(PyDataset, hook):
            return
        before = _generator_states()
        getattr(self, hook)()
        after = _generator_states()
        changed = {k: v for k, v in before.items() if not _same_generator_state(v, after[k])}
        self._hook_log().append({"hook": hook, "rng": changed})

    def iter_epoch(self, order=None):
        """One epoch's batches, loaded `workers` at a time and at most `max_queue_size` ahead;
        `on_epoch_begin` before, `on_epoch_end` after the last.

        Args:
            order: the batch indices in the order to visit them (default: index order).
        """
        self._run_hook("on_epoch_begin")
        if order is None:
            count = self.num_batches
            order = itertools.count() if count is None else range(count)  # None: infinite
        indices = iter(order)
        if self.workers <= 1:
            for index in indices:
                yield self[index]
        else:
            ahead = max(self.max_queue_size, self.workers)
            with ThreadPoolExecutor(self.workers, thread_name_prefix="lamina-pydataset") as pool:
                pending = collections.deque(
                    pool.submit(self.__getitem__, i) for i in itertools.islice(indices, ahead)
                )
                try:
                    while pending:
                        batch = pending.popleft().result()  # a worker's exception surfaces here
                        following = next(indices, None)
                        if following is not None:
                            pending.append(pool.submit(self.__getitem__, following))
                        yield batch
                finally:
                    for future in pending:
                        future.cancel()
        self._run_hook("on_epoch_end")


# --------------------------------------------------------------------------------------------------
# The global random generators, as values `BackupAndRestore` can store (numbers and arrays)


def _generator_states() -> dict:
    version, internal, gauss_next = random.getstate()
    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": {
            "version": version,
            "internal": np.asarray(internal, dtype=np.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "keys": np.asarray(keys, dtype=np.uint32),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state().numpy(),
    }


def _set_generator_states(states: dict) -> None:
    if "python" in states:
        python = states["python"]
        internal = tuple(int(v) for v in python["internal"])
        random.setstate((int(python["version"]), internal, python["gauss_next"]))
    if "numpy" in states:
        numpy_state = states["numpy"]
        np.random.set_state(
            (
                "MT19937",
                np.asarray(numpy_state["keys"], dtype=np.uint32),
                int(numpy_state["position"]),
                int(numpy_state["has_gauss"]),
                float(numpy_state["cached_gaussian"]),
            )
        )
    if "torch" in states:
        torch.set_rng_state(torch.from_numpy(np.asarray(states["torch"], dtype=np.uint8).copy()))


def _same_generator_state(a: dict | np.ndarray, b: dict | np.ndarray) -> bool:
    if isinstance(a, dict):
        return all(_same_generator_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b
