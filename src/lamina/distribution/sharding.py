"""Each rank's share of the data, so the ranks together see every sample once per epoch.

Arrays: `batch_size` is the global batch. Every rank draws the same epoch order (the random
generators are shared at each epoch's start), cuts the same global batches, and keeps its own
contiguous slice of each: with N ranks and a global batch of B samples, rank r keeps
`B // N` samples, plus one when `r < B % N`. In training, a last global batch with fewer samples
than ranks is dropped (a rank with nothing to train on would leave the others waiting); evaluation
and prediction keep every sample.

Datasets, generators, PyDatasets: every rank runs the same pipeline and keeps the batches of its
turn, r, r + N, r + 2N, ... (what tf.data calls sharding by data); the batch the pipeline yields is
then a per-rank batch. In training, a last round with fewer than N batches is dropped.
"""

from __future__ import annotations

import warnings

from lamina.distribution import data_parallel, reduction
from lamina.engine import data_adapter


def shard(data, mode: str):
    """This rank's view of `data` (an adapter of engine/data_adapter.py) for `mode` ("train",
    "evaluate" or "predict"); `data` itself in one process or with `auto_shard_dataset=False`."""
    parallel = data_parallel.sharding()
    if parallel is None or data is None:
        return data
    if isinstance(data, data_adapter.ArrayData):
        return ShardedArrayData.wrap(data, mode, parallel)
    if isinstance(data, data_adapter.IterableData):
        return ShardedIterableData.wrap(data, mode, parallel)
    return data


def share_bounds(size: int, world: int, rank: int) -> tuple[int, int]:
    """[start, stop) of rank `rank`'s contiguous share of `size` samples split over `world`.

    Example:
        >>> [share_bounds(5, 2, r) for r in range(2)]
        [(0, 3), (3, 5)]
    """
    base, extra = divmod(size, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _leading_size(x) -> int:
    leaf = data_adapter.flatten(x)[0]
    return int(leaf.shape[0]) if hasattr(leaf, "shape") else len(leaf)


class ShardedArrayData(data_adapter.ArrayData):
    """ArrayData cut per rank: each global batch's share of this rank."""

    @classmethod
    def wrap(cls, data, mode, parallel):
        sharded = cls.__new__(cls)
        sharded.__dict__.update(data.__dict__)
        sharded.mode, sharded.parallel, sharded.keys = mode, parallel, []
        world = parallel.world_size
        if mode == "train" and data.batch_size < world:
            raise ValueError(
                f"fit() expected a batch_size of at least the number of processes ({world}): "
                f"batch_size is the global batch, split over the processes; received "
                f"batch_size={data.batch_size}. Hint: pass batch_size={world * data.batch_size} "
                f"to keep {data.batch_size} per process."
            )
        if mode == "train" and data.batch_size % world:
            warnings.warn(
                f"batch_size={data.batch_size} does not divide over {world} processes: ranks "
                f"below {data.batch_size % world} train on one sample more per batch (the "
                "gradients are weighted by each rank's share, so the step is still the global "
                "batch's).",
                stacklevel=4,
            )
        return sharded

    def _global_sizes(self) -> list[int]:
        full, last = divmod(self.size, self.batch_size)
        return [self.batch_size] * full + ([last] if last else [])

    def __len__(self) -> int:
        world, rank = self.parallel.world_size, self.parallel.rank
        if self.mode == "train":
            return sum(1 for size in self._global_sizes() if size >= world)
        return sum(1 for size in self._global_sizes() if size > rank)

    def epoch_batches(self):
        if self.mode == "train":
            reduction.sync_rng()  # the same permutation on every rank
        return self._shares(super().epoch_batches())

    def _shares(self, batches):
        world, rank = self.parallel.world_size, self.parallel.rank
        self.keys = []
        for index, (x, y, sw) in enumerate(batches):
            size = _leading_size(x)
            if self.mode == "train" and size < world:
                continue  # a last batch too small to give every rank a sample
            start, stop = share_bounds(size, world, rank)
            if stop == start:
                continue
            if self.mode == "train":
                self.parallel.batch_fraction = (stop - start) / size
            self.keys.append((index, rank))
            yield self._slice(x, y, sw, start, stop)


class _Unconverted:
    """A batch as the source yielded it: converted to device tensors only by the rank keeping
    it."""

    __slots__ = ("batch",)

    def __init__(self, batch):
        self.batch = batch


class ShardedIterableData(data_adapter.IterableData):
    """IterableData taken in turns: rank r keeps batches r, r + N, r + 2N, ..."""

    @classmethod
    def wrap(cls, data, mode, parallel):
        sharded = cls.__new__(cls)
        sharded.__dict__.update(data.__dict__)
        sharded.mode, sharded.parallel, sharded.keys = mode, parallel, []
        if sharded.steps is not None:  # steps count global steps: N batches of the source each
            sharded.steps = int(sharded.steps) * parallel.world_size
        return sharded

    def _convert(self, batch):
        return _Unconverted(batch)

    def _device_batch(self, raw):
        return data_adapter.IterableData._convert(self, raw.batch)

    def first_batch(self):
        return self._device_batch(super().first_batch())

    def __len__(self):
        total = super().__len__()
        if total is None:
            return None
        world, rank = self.parallel.world_size, self.parallel.rank
        return total // world if self.mode == "train" else len(range(rank, total, world))

    def __iter__(self):
        world, rank = self.parallel.world_size, self.parallel.rank
        if self.mode == "train":
            reduction.sync_rng()  # the same shuffles on every rank
        self.keys = []
        stream = super().__iter__()
        if self.mode != "train":
            for index, raw in enumerate(stream):
                if index % world == rank:
                    self.keys.append((index, rank))
                    yield self._device_batch(raw)
            return
        round_ = []
        for index, raw in enumerate(stream):
            round_.append(raw)
            if len(round_) < world:
                continue
            sizes = [_leading_size(data_adapter.unpack(r.batch)[0]) for r in round_]
            self.parallel.batch_fraction = sizes[rank] / sum(sizes)
            self.keys.append((index - world + 1 + rank, rank))
            yield self._device_batch(round_[rank])
            round_ = []
