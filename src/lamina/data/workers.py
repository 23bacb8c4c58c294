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
import contextlib
import os
import queue
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import torch

from lamina import tree

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


# How many consumers that keep every core busy are iterating right now (see inline_work_while).
_busy_consumers = 0
_busy_lock = threading.Lock()


@contextlib.contextmanager
def inline_work_while(consumer_uses_every_core: bool):
    """While active, prefetch and parallel map stages created anywhere run in the thread that
    asks for their elements instead of in background threads.

    Background data work only pays where a core is free to do it. When the consumer (a training
    loop on the CPU whose torch kernels already use every core) has none to spare, a data thread
    preempts one of the kernels' OpenMP threads and every parallel region waits for it: measured on
    2 cores, 2 torch threads, the seeds' augmentation in `Dataset.map` cost 1.52x the plain epoch
    from background threads and 1.13x inline (in-model layers: 1.05x). With a free core (1 torch
    thread, or a model on a GPU) the background threads overlap and the augmented epoch costs
    no more than the plain one. The trainer enters this for the datasets `fit` iterates.
    """
    global _busy_consumers
    if not consumer_uses_every_core:
        yield
        return
    with _busy_lock:
        _busy_consumers += 1
    try:
        yield
    finally:
        with _busy_lock:
            _busy_consumers -= 1


def work_inline() -> bool:
    return _busy_consumers > 0


class _Failure:
    """An exception caught in a worker, carried to the consumer."""

    def __init__(self, error: BaseException):
        self.error = error


def _pin(element):
    """Page-locked host memory makes the trainer's non-blocking copy to the GPU truly async."""
    return tree.map_structure(
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
        self._inline = iter(source) if work_inline() else None
        self._finished = False
        if self._inline is not None:  # no core to spare: elements are made on demand
            return
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(buffer_size)))
        self._stop = threading.Event()
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
        if self._inline is not None:
            return next(self._inline)
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
        if self._inline is not None:
            close = getattr(self._inline, "close", None)
            if close is not None:
                close()
            return
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
    if work_inline():
        yield from map(fn, source)
        return
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
