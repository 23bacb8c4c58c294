"""Background work for the Dataset pipeline: a prefetching thread and an ordered parallel map.

Threads, not processes: the heavy work in a map (torch ops, Pillow decoding, NumPy) releases the
GIL, elements stay in shared memory (no pickling), and a thread cannot outlive the process.

Lifecycle rules, each tested in tests/data/test_workers.py:
- a worker stops when its consumer finishes, breaks out of the loop, or drops the iterator;
- an exception in a worker is raised in the consumer's thread with the worker's traceback;
- at interpreter exit every live prefetcher is told to stop and joined, so nothing hangs.
"""

from __future__ import annotations

import atexit
import collections
import os
import queue
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import torch

from lamina.data import structure

# How long a blocked worker waits before it looks at its stop flag again (seconds).
_POLL = 0.05
_END = object()

_live_prefetchers: weakref.WeakSet = weakref.WeakSet()


def default_parallelism() -> int:
    """Threads for AUTOTUNE: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Failure:
    """An exception caught in a worker, carried to the consumer."""

    def __init__(self, error: BaseException):
        self.error = error


def _pin(element):
    """Page-locked host memory makes the trainer's non-blocking copy to the GPU truly async."""
    return structure.map_structure(
        lambda leaf: leaf.pin_memory() if isinstance(leaf, torch.Tensor) else leaf, element
    )


class PrefetchIterator:
    """Runs `source` (an iterator) in a background thread, `buffer_size` elements ahead.

    Args:
        source: the upstream iterator; it is advanced only by the worker thread.
        buffer_size: how many prepared elements may wait for the consumer.
        pin_memory: pin every tensor (worthwhile only when a CUDA device will read them).
    """

    def __init__(self, source, buffer_size: int, pin_memory: bool = False):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(buffer_size)))
        self._stop = threading.Event()
        self._finished = False
        # The thread holds the source, the queue and the flag, never `self`: dropping the
        # iterator lets the finalizer below stop the thread.
        self._thread = threading.Thread(
            target=_produce,
            args=(source, self._queue, self._stop, pin_memory),
            name="lamina-data-prefetch",
            daemon=True,
        )
        self._thread.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._queue, self._thread)
        _live_prefetchers.add(self)

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            # Raising the worker's exception object keeps its traceback (the worker frames)
            # and adds the consumer's frames on top.
            raise item.error
        return item

    def close(self) -> None:
        """Stop the worker and wait for it; safe to call twice."""
        self._finished = True
        self._finalizer()


def _produce(source, out: queue.Queue, stop: threading.Event, pin_memory: bool) -> None:
    try:
        for element in source:
            if pin_memory:
                element = _pin(element)
            if not _put(out, element, stop):
                return
        _put(out, _END, stop)
    except BaseException as error:  # noqa: BLE001 - every failure must reach the consumer
        _put(out, _Failure(error), stop)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _put(out: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless told to stop; False when stopped."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _shutdown(stop: threading.Event, out: queue.Queue, thread: threading.Thread) -> None:
    stop.set()
    # Drain so a worker blocked on a full queue sees the flag at once.
    while True:
        try:
            out.get_nowait()
        except queue.Empty:
            break
    if thread is not threading.current_thread():
        thread.join(timeout=10.0)


@atexit.register
def _stop_all_prefetchers() -> None:
    for prefetcher in list(_live_prefetchers):
        prefetcher.close()


def ordered_parallel_map(fn, source, workers: int):
    """Yield `fn(element)` for each element of `source`, computed by `workers` threads, in order.

    At most `2 * workers` calls are in flight, so memory stays bounded on an endless source.
    """
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lamina-data-map")
    pending: collections.deque = collections.deque()
    try:
        for element in source:
            pending.append(executor.submit(fn, element))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
