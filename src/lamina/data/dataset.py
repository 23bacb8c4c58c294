"""`lamina.data.Dataset`: tf.data's input pipeline, on torch tensors and Python threads.

Elements are CPU torch tensors (text stays NumPy string arrays), nested in tuples or dicts as the
user gave them. Map functions receive torch tensors, so lamina layers (augmentation, Normalization)
can be called inside `map`. Iterating a Dataset from Python yields those elements; `fit`,
`evaluate` and `predict` accept it directly, batches of `(x, y)` or `(x, y, sample_weight)`.
"""

from __future__ import annotations

from lamina.data import fusion, sources, structure, transforms
from lamina.data.sources import INFINITE, UNKNOWN
from lamina.data.transforms import AUTOTUNE

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN


class Dataset:
    """A re-iterable sequence of elements, built by chaining transformations.

    Each pass (`for element in dataset`) runs the pipeline afresh: shuffles reshuffle, generators
    restart, caches replay. Build one with `from_tensor_slices`, `from_generator`, `range` or
    `zip`, never with the constructor.

    Examples:
        >>> import numpy as np
        >>> ds = Dataset.from_tensor_slices((np.arange(6.0), np.arange(6)))
        >>> [tuple(x.shape) for x, y in ds.map(lambda x, y: (x * 2, y)).batch(4)]
        [(4,), (2,)]

    Args:
        node: the pipeline's last stage (internal: use the builders above).
    """

    def __init__(self, node: sources.Node):
        self._node = node

    # ----------------------------------------------------------------------------------------------
    # Sources

    @staticmethod
    def from_tensor_slices(tensors) -> Dataset:
        """One element per row of `tensors` (an array, or a tuple / dict of arrays of equal length).

        NumPy arrays become torch tensors without a copy where possible; dtypes are kept (float64
        stays float64; the trainer casts inputs to the model's dtype).
        """
        return Dataset(sources.TensorSlices(tensors))

    @staticmethod
    def from_generator(
        generator, output_signature=None, output_types=None, output_shapes=None, args=None
    ) -> Dataset:
        """Elements yielded by `generator(*args)`; the callable is called again for every pass.

        `output_signature`, `output_types` and `output_shapes` are accepted for tf.data
        compatibility; elements are converted from what the generator yields.
        """
        return Dataset(sources.Generator(generator, args))

    @staticmethod
    def range(*args) -> Dataset:
        """`range(stop)`, `range(start, stop)` or `range(start, stop, step)`: int64 scalars."""
        bounds = slice(*args)
        start = 0 if bounds.start is None else bounds.start
        step = 1 if bounds.step is None else bounds.step
        return Dataset(sources.Range(start, bounds.stop, step))

    @staticmethod
    def zip(*datasets) -> Dataset:
        """Pair elements of several datasets: `zip((a, b))`, `zip(a, b)` or `zip({"x": a, ...})`."""
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list, dict)):
            datasets = datasets[0]
        if isinstance(datasets, dict):
            keys = list(datasets)
            members = [datasets[k] for k in keys]

            def rebuild(elements):
                return dict(zip(keys, elements, strict=True))
        else:
            members = list(datasets)

            def rebuild(elements):
                return tuple(elements)

        for member in members:
            if not isinstance(member, Dataset):
                raise TypeError(
                    "Dataset.zip expects Dataset objects; received "
                    f"{type(member).__name__}. Hint: wrap arrays with "
                    "Dataset.from_tensor_slices first."
                )
        return Dataset(sources.Zip([m._node for m in members], rebuild))

    def concatenate(self, dataset, name=None) -> Dataset:
        """This dataset's elements, then `dataset`'s (of the same structure).

        Examples:
            >>> [int(v) for v in Dataset.range(2).concatenate(Dataset.range(5, 7))]
            [0, 1, 5, 6]

        Args:
            dataset: the Dataset whose elements follow.
            name: accepted for tf.data compatibility.
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"Dataset.concatenate expects a Dataset; received {type(dataset).__name__}. "
                "Hint: wrap arrays with Dataset.from_tensor_slices first."
            )
        return Dataset(sources.Concatenate(self._node, dataset._node))

    # ----------------------------------------------------------------------------------------------
    # Transformations

    def map(
        self, map_func, num_parallel_calls=None, deterministic=None, name=None, vectorize=True
    ) -> Dataset:
        """Apply `map_func` to each element (a tuple element is unpacked into arguments).

        Args:
            map_func: a function of torch tensors returning tensors, arrays or numbers.
            num_parallel_calls: how many elements (or batches, see below) are mapped at once, by
                threads; `AUTOTUNE` uses one thread per core. Order is kept (`deterministic` is
                accepted and ignored).
            vectorize: (lamina) when `batch` follows, run `map_func` once per batch through
                torch.func.vmap, with per-element semantics for tensor ops and random draws, and
                fall back to element-by-element calls if vmap cannot batch the function. As with
                tf.data's traced functions, Python side effects then run once per batch; pass
                False when they must run per element (data/fusion.py).
        """
        return Dataset(transforms.Map(self._node, map_func, num_parallel_calls, vectorize))

    def filter(self, predicate, name=None) -> Dataset:
        """Keep the elements for which `predicate(element)` is true."""
        return Dataset(transforms.Filter(self._node, predicate))

    def batch(
        self,
        batch_size,
        drop_remainder=False,
        num_parallel_calls=None,
        deterministic=None,
        name=None,
    ) -> Dataset:
        """Stack `batch_size` consecutive elements; the last batch may be smaller unless
        `drop_remainder`."""
        if fusion.can_fuse(self._node):
            return Dataset(fusion.MapAndBatch(self._node, batch_size, drop_remainder))
        return Dataset(transforms.Batch(self._node, batch_size, drop_remainder))

    def unbatch(self, name=None) -> Dataset:
        """Split each element along its first axis: the inverse of `batch`."""
        return Dataset(transforms.Unbatch(self._node))

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> Dataset:
        """Shuffle with a buffer of `buffer_size` elements (a full shuffle when it is at least the
        dataset's size). A new order each pass unless `reshuffle_each_iteration=False`; the orders
        are the same from run to run when `seed` is given (or `set_random_seed` was called)."""
        return Dataset(transforms.Shuffle(self._node, buffer_size, seed, reshuffle_each_iteration))

    def repeat(self, count=None, name=None) -> Dataset:
        """Repeat the dataset `count` times (forever when None or -1)."""
        return Dataset(transforms.Repeat(self._node, count))

    def take(self, count, name=None) -> Dataset:
        """The first `count` elements (all when -1)."""
        return Dataset(transforms.Take(self._node, count))

    def skip(self, count, name=None) -> Dataset:
        """All but the first `count` elements (none when -1)."""
        return Dataset(transforms.Skip(self._node, count))

    def cache(self, filename="", name=None) -> Dataset:
        """Keep the elements in memory after the first complete pass.

        Only the in-memory cache exists: a `filename` raises (lamina writes no opaque cache files).
        """
        if filename:
            raise ValueError(
                "Dataset.cache keeps elements in memory only; received "
                f"filename={filename!r}. Hint: call cache() without a filename."
            )
        return Dataset(transforms.Cache(self._node))

    def prefetch(self, buffer_size=AUTOTUNE, name=None) -> Dataset:
        """Prepare up to `buffer_size` elements ahead in a background thread, so the consumer (the
        training loop) never waits on data that could have been prepared while it computed."""
        return Dataset(transforms.Prefetch(self._node, buffer_size))

    def enumerate(self, start=0, name=None) -> Dataset:
        """Pairs `(index, element)`."""
        return Dataset(transforms.Enumerate(self._node, start))

    def apply(self, transformation_func) -> Dataset:
        """`transformation_func(self)`: chain a function that transforms a whole Dataset."""
        return transformation_func(self)

    # ----------------------------------------------------------------------------------------------
    # Progress (for exact resumes)

    def _stateful_nodes(self) -> list:
        """The pipeline's nodes that keep a state across passes, upstream first."""
        found, seen = [], set()

        def visit(node):
            if id(node) in seen:
                return
            seen.add(id(node))
            for upstream in getattr(node, "nodes", None) or [getattr(node, "upstream", None)]:
                if upstream is not None:
                    visit(upstream)
            if hasattr(node, "get_state"):
                found.append(node)

        visit(self._node)
        return found

    def get_state(self) -> dict:
        """Where the pipeline stands between passes: each `shuffle`'s seed and passes begun.

        `BackupAndRestore` saves it as each epoch begins; `set_state` on the same pipeline built
        afresh (in a restarted process) makes its next pass repeat the saved one exactly.

        Examples:
            >>> ds = Dataset.range(5).shuffle(5, seed=1)
            >>> state = ds.get_state()
            >>> first = [int(v) for v in ds]
            >>> ds.set_state(state)
            >>> [int(v) for v in ds] == first
            True
        """
        nodes = self._stateful_nodes()
        return {
            "stages": [type(n).__name__ for n in nodes],
            "states": [n.get_state() for n in nodes],
        }

    def set_state(self, state: dict) -> None:
        """Take back a state from `get_state` of a pipeline built the same way.

        Args:
            state: the dict `get_state` returned.
        """
        nodes = self._stateful_nodes()
        stages = [type(n).__name__ for n in nodes]
        if list(state["stages"]) != stages:
            raise ValueError(
                "Dataset.set_state received the state of a pipeline with stages "
                f"{state['stages']}; this one has {stages}. Hint: build the dataset the same way "
                "as the run that saved it."
            )
        for node, node_state in zip(nodes, state["states"], strict=True):
            node.set_state(node_state)

    # ----------------------------------------------------------------------------------------------
    # Reading

    def __iter__(self):
        return iter(self._node.iterate())

    def as_numpy_iterator(self):
        """Iterate with every tensor converted to a NumPy array."""
        for element in self:
            yield structure.to_numpy(element)

    def cardinality(self) -> int:
        """The number of elements, `INFINITE_CARDINALITY` (-1) or `UNKNOWN_CARDINALITY` (-2)."""
        return self._node.cardinality()

    def __len__(self) -> int:
        count = self.cardinality()
        if count == INFINITE:
            raise TypeError("The dataset is infinite (repeat() without a count): it has no len().")
        if count == UNKNOWN:
            raise TypeError(
                "The dataset's length is unknown (from_generator, filter or unbatch): it has no "
                "len(). Hint: pass steps_per_epoch= to fit(), or apply take(n)."
            )
        return count

    def __bool__(self) -> bool:
        # Without this, Python's truth test would call __len__ and fail on infinite datasets.
        return True

    def __repr__(self) -> str:
        count = self.cardinality()
        size = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(count, str(count))
        return f"<Dataset cardinality={size} ({type(self._node).__name__})>"
