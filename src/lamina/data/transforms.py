"""The stages that transform a pipeline: map, filter, batch, padded_batch, unbatch, shuffle, repeat,
take, take_while, skip, shard, cache, prefetch, enumerate. Each is a `Node` (sources.py) wrapping
the node before it."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from lamina import backend, tree
from lamina.data import structure, workers
from lamina.data.ragged_rows import RaggedRows
from lamina.data.sources import (
    INFINITE,
    UNKNOWN,
    Node,
    RandomNode,
    TensorSlices,
    iterate_plan,
)

AUTOTUNE = -1


def call_with_element(fn, element):
    """tf.data's convention: a tuple element is unpacked into positional arguments."""
    if isinstance(element, tuple):
        return fn(*element)
    return fn(element)


def predicate_holds(predicate, element) -> bool:
    """`predicate(element)` as a Python bool (a predicate may return a 0-d tensor)."""
    keep = call_with_element(predicate, element)
    return bool(keep.item() if isinstance(keep, torch.Tensor) else keep)


class Map(Node):
    def __init__(self, upstream: Node, fn, num_parallel_calls=None, vectorize=True):
        self.upstream = upstream
        self.fn = fn
        # May a following batch() run fn once per batch (data/fusion.py)?
        self.vectorize = bool(vectorize)
        if num_parallel_calls is None or num_parallel_calls == 1:
            self.workers = 1
        elif num_parallel_calls == AUTOTUNE:
            self.workers = workers.default_parallelism()
        elif int(num_parallel_calls) > 0:
            self.workers = int(num_parallel_calls)
        else:
            raise ValueError(
                "Dataset.map expects num_parallel_calls to be a positive int, AUTOTUNE or None; "
                f"received num_parallel_calls={num_parallel_calls!r}."
            )

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def apply(self, element):
        # Map functions prepare data: no autograd graph may leak from them into training.
        with torch.no_grad():
            return structure.to_element(call_with_element(self.fn, element))

    def iterate(self):
        if self.workers == 1:
            return map(self.apply, self.upstream.iterate())
        return workers.ordered_parallel_map(self.apply, self.upstream.iterate(), self.workers)


class Filter(Node):
    def __init__(self, upstream: Node, predicate):
        self.upstream = upstream
        self.predicate = predicate

    def iterate(self):
        for element in self.upstream.iterate():
            if predicate_holds(self.predicate, element):
                yield element


def stack_elements(elements: list):
    try:
        return structure.stack_structures(elements)
    except (RuntimeError, ValueError) as error:
        shapes = [tree.map_structure(structure.leaf_shape, e) for e in elements[:4]]
        raise ValueError(
            "Dataset.batch expects every element of a batch to have the same shape; received "
            f"elements of shapes {shapes}... Hint: make them equal inside map() (for images, "
            "Resizing or CenterCrop), or batch(1)."
        ) from error


class Batch(Node):
    def __init__(self, upstream: Node, batch_size: int, drop_remainder: bool = False):
        if isinstance(batch_size, bool) or int(batch_size) <= 0:
            raise ValueError(
                f"Dataset.batch expects a positive batch_size; received batch_size={batch_size!r}."
            )
        self.upstream = upstream
        self.batch_size = int(batch_size)
        self.drop_remainder = bool(drop_remainder)

    def cardinality(self) -> int:
        count = self.upstream.cardinality()
        if count < 0:
            return count
        if self.drop_remainder:
            return count // self.batch_size
        return -(-count // self.batch_size)

    def iterate(self):
        plan = self.upstream.plan()
        if plan is not None:
            return self._gather_batches(*plan)
        return self._stack_batches(self.upstream.iterate())

    def _gather_batches(self, source: TensorSlices, rows: np.ndarray):
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            if len(chunk) < self.batch_size and self.drop_remainder:
                return
            yield source.gather(chunk)

    def _stack_batches(self, elements):
        while True:
            chunk = list(itertools.islice(elements, self.batch_size))
            if not chunk or (len(chunk) < self.batch_size and self.drop_remainder):
                return
            yield self._collate(chunk)

    def _collate(self, chunk: list):
        """One batch from a list of like elements."""
        return stack_elements(chunk)


class PaddedBatch(Batch):
    """Batches of elements of different sizes, each padded to the batch's largest (or to
    `padded_shapes`) with `padding_values` (0, False or "" by default), as tf.data pads."""

    def __init__(self, upstream, batch_size, padded_shapes, padding_values, drop_remainder):
        super().__init__(upstream, batch_size, drop_remainder)
        self.padded_shapes = padded_shapes
        self.padding_values = padding_values

    def iterate(self):
        # Never gathered by row plan: rows of different sizes are padded one batch at a time.
        return self._stack_batches(self.upstream.iterate())

    def _per_leaf(self, value, element, name: str):
        """`value` given once for all components, or as a structure like the element's."""
        if value is None or not tree.is_nested(element):
            return tree.map_structure(lambda _: value, element)
        if name == "padding_values" and not tree.is_nested(value):
            return tree.map_structure(lambda _: value, element)
        try:
            return tree.map_structure_up_to(element, lambda _, v: v, element, value)
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(
                f"Dataset.padded_batch expects {name} to have the structure of an element "
                f"{tree.map_structure(structure.leaf_shape, element)}; received {value!r}."
            ) from error

    def _collate(self, chunk: list):
        """One batch, each component padded to a common shape."""
        shapes = self._per_leaf(self.padded_shapes, chunk[0], "padded_shapes")
        values = self._per_leaf(self.padding_values, chunk[0], "padding_values")
        return tree.map_structure_up_to(
            chunk[0],
            lambda shape, value, *leaves: _pad_leaves(list(leaves), shape, value),
            shapes,
            values,
            *chunk,
        )


class RaggedBatch(Batch):
    """Batches whose 1-D components may differ in length: each such component becomes
    `RaggedRows` (tf.data's `ragged_batch` gives a RaggedTensor); others stack as in `batch`."""

    def iterate(self):
        return self._stack_batches(self.upstream.iterate())

    def _collate(self, chunk: list):
        return tree.map_structure(lambda *leaves: _ragged_leaves(list(leaves)), *chunk)


def _ragged_leaves(leaves: list):
    shapes = [structure.leaf_shape(leaf) for leaf in leaves]
    if len(set(shapes)) == 1:
        return structure.stack(leaves)
    if any(len(shape) != 1 for shape in shapes):
        raise ValueError(
            "Dataset.ragged_batch expects components of one shape, or 1-D rows of different "
            f"lengths; received shapes {shapes[:4]}... Hint: padded_batch() pads any rank."
        )
    rows = [torch.as_tensor(leaf) for leaf in leaves]
    padded = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
    return RaggedRows.from_padded(padded, [len(row) for row in rows])


def _pad_leaves(leaves: list, padded_shape, value):
    """Leaves of one component, of equal rank, as one batch padded to a common shape."""
    ranks = {len(structure.leaf_shape(leaf)) for leaf in leaves}
    if len(ranks) != 1:
        raise ValueError(
            "Dataset.padded_batch expects each component to have the same rank in every element; "
            f"received shapes {[structure.leaf_shape(leaf) for leaf in leaves[:4]]}..."
        )
    longest = [max(sizes) for sizes in zip(*(structure.leaf_shape(x) for x in leaves), strict=True)]
    target = longest if padded_shape is None else list(padded_shape)
    if len(target) != len(longest):
        raise ValueError(
            f"Dataset.padded_batch received padded_shapes {tuple(padded_shape)} for a component "
            f"of rank {len(longest)}. Hint: give one size per axis, None to pad to the longest."
        )
    target = [n if s is None or s == -1 else int(s) for s, n in zip(target, longest, strict=True)]
    if any(n > s for n, s in zip(longest, target, strict=True)):
        raise ValueError(
            f"Dataset.padded_batch received a component of shape {tuple(longest)} (largest in the "
            f"batch), larger than its padded_shapes {tuple(target)}. Hint: truncate it in map() "
            "or use None for axes that vary."
        )
    first = leaves[0]
    if isinstance(first, torch.Tensor):
        fill = 0 if value is None else value
        out = torch.full((len(leaves), *target), fill, dtype=first.dtype)
    else:
        # Text of every length fits: the widest string dtype among the leaves.
        dtype = np.result_type(*(np.asarray(leaf).dtype for leaf in leaves))
        fill = value if value is not None else ("" if dtype.kind in "US" else 0)
        out = np.full((len(leaves), *target), fill, dtype=dtype)
    for row, leaf in enumerate(leaves):
        out[(row, *(slice(0, n) for n in structure.leaf_shape(leaf)))] = leaf
    return out


class Unbatch(Node):
    def __init__(self, upstream: Node):
        self.upstream = upstream

    def iterate(self):
        for element in self.upstream.iterate():
            leaves = tree.flatten(element)
            sizes = {structure.leaf_shape(leaf)[:1] for leaf in leaves}
            if len(sizes) != 1 or () in sizes:
                raise ValueError(
                    "Dataset.unbatch expects every component to have the same first (batch) "
                    f"dimension; received shapes {[structure.leaf_shape(x) for x in leaves]}."
                )
            for row in range(next(iter(sizes))[0]):
                yield tree.map_structure(lambda leaf, r=row: structure.row_of(leaf, r), element)


def buffer_shuffle(items, buffer_size: int, rng: np.random.Generator):
    """tf.data's shuffle: keep `buffer_size` items, emit a random one, refill from the stream."""
    buffer: list = []
    uniforms = iter(())
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        pick = _random_index(uniforms, len(buffer))
        if pick is None:
            uniforms = iter(rng.random(4096).tolist())
            pick = _random_index(uniforms, len(buffer))
        yield buffer[pick]
        buffer[pick] = item
    draws = rng.random(len(buffer)).tolist()
    while buffer:
        pick = int(draws.pop() * len(buffer))
        buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
        yield buffer.pop()


def _random_index(uniforms, size):
    draw = next(uniforms, None)
    return None if draw is None else int(draw * size)


class Shuffle(RandomNode):
    def __init__(self, upstream: Node, buffer_size: int, seed=None, reshuffle_each_iteration=True):
        if isinstance(buffer_size, bool) or int(buffer_size) <= 0:
            raise ValueError(
                "Dataset.shuffle expects a positive buffer_size; received "
                f"buffer_size={buffer_size!r}. Hint: buffer_size=len(dataset) shuffles fully."
            )
        self.upstream = upstream
        self.buffer_size = int(buffer_size)
        super().__init__(seed)
        self.reshuffle = bool(reshuffle_each_iteration)

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def plan(self):
        upstream_plan = self.upstream.plan()
        if upstream_plan is None:
            return None
        source, rows = upstream_plan
        rng = self._next_rng(same_each_pass=not self.reshuffle)
        shuffled = np.fromiter(
            buffer_shuffle(rows.tolist(), self.buffer_size, rng),
            dtype=np.int64,
            count=len(rows),
        )
        return source, shuffled

    def iterate(self):
        plan = self.plan()
        if plan is not None:
            return iterate_plan(plan)
        rng = self._next_rng(same_each_pass=not self.reshuffle)
        return buffer_shuffle(self.upstream.iterate(), self.buffer_size, rng)


class Repeat(Node):
    def __init__(self, upstream: Node, count=None):
        self.upstream = upstream
        self.count = None if count is None or int(count) < 0 else int(count)

    def cardinality(self) -> int:
        inner = self.upstream.cardinality()
        if self.count is None:
            return 0 if inner == 0 else (UNKNOWN if inner == UNKNOWN else INFINITE)
        return inner * self.count if inner >= 0 else inner

    def plan(self):
        if self.count is None:
            return None
        plans = [self.upstream.plan() for _ in range(self.count)]
        if not plans or plans[0] is None:
            return None
        return plans[0][0], np.concatenate([rows for _, rows in plans])

    def iterate(self):
        if self.count is not None:
            return itertools.chain.from_iterable(self.upstream.iterate() for _ in range(self.count))
        return self._forever()

    def _forever(self):
        while True:
            produced = False
            for element in self.upstream.iterate():
                produced = True
                yield element
            if not produced:  # an empty dataset repeated forever is still empty
                return


class Take(Node):
    def __init__(self, upstream: Node, count: int):
        self.upstream = upstream
        self.count = int(count)

    def cardinality(self) -> int:
        inner = self.upstream.cardinality()
        if self.count < 0:
            return inner
        if inner == UNKNOWN:
            return UNKNOWN
        return self.count if inner == INFINITE else min(self.count, inner)

    def plan(self):
        plan = self.upstream.plan()
        if plan is None or self.count < 0:
            return plan
        return plan[0], plan[1][: self.count]

    def iterate(self):
        if self.count < 0:
            return self.upstream.iterate()
        return itertools.islice(self.upstream.iterate(), self.count)


class TakeWhile(Node):
    """Elements up to the first for which `predicate` is false."""

    def __init__(self, upstream: Node, predicate):
        self.upstream = upstream
        self.predicate = predicate

    def iterate(self):
        for element in self.upstream.iterate():
            if not predicate_holds(self.predicate, element):
                return
            yield element


class Skip(Node):
    def __init__(self, upstream: Node, count: int):
        self.upstream = upstream
        self.count = int(count)

    def cardinality(self) -> int:
        inner = self.upstream.cardinality()
        if self.count < 0:
            return 0
        return max(inner - self.count, 0) if inner >= 0 else inner

    def plan(self):
        plan = self.upstream.plan()
        if plan is None:
            return None
        return plan[0], plan[1][len(plan[1]) if self.count < 0 else self.count :]

    def iterate(self):
        if self.count < 0:
            return iter(())
        return itertools.islice(self.upstream.iterate(), self.count, None)


class Shard(Node):
    """Every `num_shards`-th element, from element `index` on: one worker's share."""

    def __init__(self, upstream: Node, num_shards: int, index: int):
        if isinstance(num_shards, bool) or int(num_shards) <= 0:
            raise ValueError(
                f"Dataset.shard expects a positive num_shards; received num_shards={num_shards!r}."
            )
        if not 0 <= int(index) < int(num_shards):
            raise ValueError(
                f"Dataset.shard expects 0 <= index < num_shards ({num_shards}); received "
                f"index={index!r}."
            )
        self.upstream = upstream
        self.num_shards = int(num_shards)
        self.index = int(index)

    def cardinality(self) -> int:
        inner = self.upstream.cardinality()
        if inner < 0:
            return inner
        return max(0, -(-(inner - self.index) // self.num_shards))

    def plan(self):
        plan = self.upstream.plan()
        if plan is None:
            return None
        return plan[0], plan[1][self.index :: self.num_shards]

    def iterate(self):
        return itertools.islice(self.upstream.iterate(), self.index, None, self.num_shards)


class Cache(Node):
    """Keeps the elements of the first complete pass in memory; later passes read them back."""

    def __init__(self, upstream: Node):
        self.upstream = upstream
        self.elements: list | None = None
        self.slices: TensorSlices | None = None

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def plan(self):
        return self.slices.plan() if self.slices is not None else None

    def iterate(self):
        if self.slices is not None:
            return self.slices.iterate()
        if self.elements is not None:
            return iter(self.elements)
        return self._fill()

    def _fill(self):
        elements = []
        for element in self.upstream.iterate():
            elements.append(element)
            yield element
        # Only a complete pass is kept, as tf.data does: a pass cut short may miss elements.
        try:
            # Stacked, later passes can shuffle and batch by gathering rows (see sources.py).
            self.slices = TensorSlices(stack_elements(elements)) if elements else None
        except ValueError:  # ragged elements stay a list
            self.slices = None
        self.elements = elements if self.slices is None else None


class Prefetch(Node):
    def __init__(self, upstream: Node, buffer_size):
        self.upstream = upstream
        if buffer_size is None or buffer_size == AUTOTUNE:
            buffer_size = 4
        if int(buffer_size) <= 0:
            raise ValueError(
                "Dataset.prefetch expects a positive buffer_size or AUTOTUNE; received "
                f"buffer_size={buffer_size!r}."
            )
        self.buffer_size = int(buffer_size)

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def iterate(self):
        pin = backend.default_device().type == "cuda"
        return workers.PrefetchIterator(self.upstream.iterate(), self.buffer_size, pin_memory=pin)


class Enumerate(Node):
    def __init__(self, upstream: Node, start: int = 0):
        self.upstream = upstream
        self.start = int(start)

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def iterate(self):
        for index, element in enumerate(self.upstream.iterate(), self.start):
            yield torch.tensor(index, dtype=torch.int64), element
