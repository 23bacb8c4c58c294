"""`lamina.data.Dataset`: tf.data's input pipeline, on torch tensors and Python threads.

Elements are CPU torch tensors (text stays NumPy string arrays), nested in tuples or dicts as the
user gave them. Map functions receive torch tensors, so lamina layers (augmentation, Normalization)
can be called inside `map`. Iterating a Dataset from Python yields those elements; `fit`,
`evaluate` and `predict` accept it directly, batches of `(x, y)` or `(x, y, sample_weight)`.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from lamina import tree
from lamina.data import combine, element_spec, fusion, grouping, sources, structure, transforms
from lamina.data.sources import INFINITE, UNKNOWN
from lamina.data.transforms import AUTOTUNE
from lamina.engine import errors, hyperparameters

INFINITE_CARDINALITY = INFINITE
UNKNOWN_CARDINALITY = UNKNOWN


class Cardinality(int):
    """A dataset's size: an int that, like the scalar tensor tf.data returns, has `.numpy()`, so
    `ds.cardinality().numpy()` and `int(ds.cardinality())` both work.

    Examples:
        >>> Dataset.range(5).cardinality().numpy()
        np.int64(5)

    Args:
        value: the number of elements, -1 (infinite) or -2 (unknown).
    """

    def numpy(self) -> np.int64:
        return np.int64(self)


class NumpyIterator:
    """What `as_numpy_iterator()` returns: an iterator of NumPy elements that, as tf.data's, also
    answers `.next()` (`ds.as_numpy_iterator().next()` takes the first element).

    Examples:
        >>> int(Dataset.range(3).as_numpy_iterator().next())
        0

    Args:
        elements: the iterator of converted elements.
    """

    def __init__(self, elements):
        self._elements = iter(elements)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._elements)

    def next(self):
        return next(self._elements)


class Dataset:
    """A re-iterable sequence of elements, built by chaining transformations.

    Each pass (`for element in dataset`) runs the pipeline afresh: shuffles reshuffle, generators
    restart, caches replay. Build one with `from_tensor_slices`, `from_tensors`, `from_generator`,
    `range`, `zip`, `list_files`, `sample_from_datasets`, `choose_from_datasets` or
    `TextLineDataset`, never with the constructor.

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

    @staticmethod
    def from_tensors(tensors) -> Dataset:
        """A dataset of one element: `tensors` whole (an array, or a tuple / dict of them).

        Examples:
            >>> [tuple(x.shape) for x in Dataset.from_tensors(np.zeros((2, 3)))]
            [(2, 3)]
        """
        return Dataset(combine.FromTensors(tensors))

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None) -> Dataset:
        """The paths matching `file_pattern` (a glob, or a list of globs), as 0-d str arrays.

        Shuffled unless `shuffle=False`, as tf.data does (each pass in a new order; `seed` makes
        the orders repeatable); sorted otherwise. No match raises, naming the pattern.

        Args:
            file_pattern: a glob pattern (`"data/*.txt"`) or a list of them.
            shuffle: whether to shuffle the paths (default True).
            seed: the shuffle's seed.
            name: accepted for tf.data compatibility.
        """
        paths = sources.matching_files(file_pattern, "Dataset.list_files")
        dataset = Dataset.from_tensor_slices(np.asarray(paths))
        if shuffle is None or shuffle:
            dataset = dataset.shuffle(len(paths), seed=seed)
        return dataset

    @staticmethod
    def sample_from_datasets(
        datasets,
        weights=None,
        seed=None,
        stop_on_empty_dataset=False,
        rerandomize_each_iteration=None,
    ) -> Dataset:
        """Each element from one of `datasets`, drawn at random with probabilities `weights`.

        A dataset that runs dry leaves the draw (the others' weights are renormalised) unless
        `stop_on_empty_dataset`, which ends the whole dataset there. Each pass draws afresh;
        `seed` makes the draws repeatable.

        Args:
            datasets: a list of Datasets with elements of the same structure.
            weights: one non-negative weight per dataset (uniform when None).
            seed: the draws' seed.
            stop_on_empty_dataset: end when the drawn dataset has no element left.
            rerandomize_each_iteration: accepted for tf.data compatibility (passes draw afresh).
        """
        return Dataset(
            combine.SampleFrom(
                _nodes(datasets, "sample_from_datasets"), weights, seed, stop_on_empty_dataset
            )
        )

    @staticmethod
    def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True) -> Dataset:
        """Each element from `datasets[i]`, for each int64 `i` that `choice_dataset` yields.

        Examples:
            >>> letters = [Dataset.from_tensors(np.array(c)).repeat() for c in "ab"]
            >>> choices = Dataset.from_tensor_slices(np.array([0, 1, 1, 0]))
            >>> [str(x) for x in Dataset.choose_from_datasets(letters, choices)]
            ['a', 'b', 'b', 'a']

        Args:
            datasets: a list of Datasets with elements of the same structure.
            choice_dataset: a Dataset of int64 scalars in `[0, len(datasets))`.
            stop_on_empty_dataset: end when the chosen dataset has no element left (otherwise
                that choice is skipped).
        """
        return Dataset(
            combine.ChooseFrom(
                _nodes(datasets, "choose_from_datasets"),
                _nodes([choice_dataset], "choose_from_datasets")[0],
                stop_on_empty_dataset,
            )
        )

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
        _function(map_func, "map_func", "map")
        return Dataset(transforms.Map(self._node, map_func, num_parallel_calls, vectorize))

    def filter(self, predicate, name=None) -> Dataset:
        """Keep the elements for which `predicate(element)` is true."""
        _function(predicate, "predicate", "filter")
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
        _count(batch_size, "batch_size", "batch", 1)
        if fusion.can_fuse(self._node):
            return Dataset(fusion.MapAndBatch(self._node, batch_size, drop_remainder))
        return Dataset(transforms.Batch(self._node, batch_size, drop_remainder))

    def padded_batch(
        self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False, name=None
    ) -> Dataset:
        """Batch elements whose sizes differ, padding each component to the longest in its batch.

        Examples:
            >>> rows = Dataset.range(1, 4).map(lambda n: np.arange(int(n)) + 1)
            >>> [x.tolist() for x in rows.padded_batch(3)]
            [[[1, 0, 0], [1, 2, 0], [1, 2, 3]]]

        Args:
            batch_size: elements per batch.
            padded_shapes: the shape to pad each component to, a structure like the element's:
                None (or -1) for an axis pads to the longest in the batch; None for the whole
                component pads every axis so.
            padding_values: the value to pad with, once for every component or a structure like
                the element's (0, False, or "" for text, by default).
            drop_remainder: drop a last batch smaller than `batch_size`.
            name: accepted for tf.data compatibility.
        """
        return Dataset(
            transforms.PaddedBatch(
                self._node, batch_size, padded_shapes, padding_values, drop_remainder
            )
        )

    def ragged_batch(
        self, batch_size, drop_remainder=False, row_splits_dtype=None, name=None
    ) -> Dataset:
        """Batch 1-D rows of different lengths (token ids) without padding them, as tf.data's
        `ragged_batch`: each such component of a batch is a `RaggedRows` (rows without padding
        when indexed, iterated or `.numpy()`'d; padded with 0 for torch ops).

        Example:
            >>> rows = Dataset.range(1, 4).map(lambda n: np.arange(int(n)) + 1)
            >>> next(iter(rows.ragged_batch(3))).to_list()
            [[1], [1, 2], [1, 2, 3]]

        Args:
            batch_size: elements per batch.
            drop_remainder: drop a last batch smaller than `batch_size`.
            row_splits_dtype, name: accepted for tf.data compatibility.
        """
        _count(batch_size, "batch_size", "ragged_batch", 1)
        return Dataset(transforms.RaggedBatch(self._node, batch_size, drop_remainder))

    def unbatch(self, name=None) -> Dataset:
        """Split each element along its first axis: the inverse of `batch`."""
        return Dataset(transforms.Unbatch(self._node))

    def rebatch(self, batch_size, drop_remainder=False, name=None) -> Dataset:
        """Re-cut a batched dataset into batches of `batch_size` (tf.data: `unbatch().batch()`),
        e.g. the 32-image batches of `image_dataset_from_directory` into another size."""
        _count(batch_size, "batch_size", "rebatch", 1)
        return self.unbatch().batch(batch_size, drop_remainder=drop_remainder)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> Dataset:
        """Shuffle with a buffer of `buffer_size` elements (a full shuffle when it is at least the
        dataset's size). A new order each pass unless `reshuffle_each_iteration=False`; the orders
        are the same from run to run when `seed` is given (or `set_random_seed` was called)."""
        return Dataset(transforms.Shuffle(self._node, buffer_size, seed, reshuffle_each_iteration))

    def repeat(self, count=None, name=None) -> Dataset:
        """Repeat the dataset `count` times (forever when None or -1)."""
        _count(count, "count", "repeat", -1, optional=True)
        return Dataset(transforms.Repeat(self._node, count))

    def take(self, count, name=None) -> Dataset:
        """The first `count` elements (all when -1)."""
        _count(count, "count", "take", -1)
        return Dataset(transforms.Take(self._node, count))

    def take_while(self, predicate, name=None) -> Dataset:
        """The elements before the first one for which `predicate(element)` is false."""
        _function(predicate, "predicate", "take_while")
        return Dataset(transforms.TakeWhile(self._node, predicate))

    def skip(self, count, name=None) -> Dataset:
        """All but the first `count` elements (none when -1)."""
        _count(count, "count", "skip", -1)
        return Dataset(transforms.Skip(self._node, count))

    def shard(self, num_shards, index, name=None) -> Dataset:
        """Every `num_shards`-th element starting at element `index`: one worker's share.

        Examples:
            >>> [int(x) for x in Dataset.range(10).shard(3, 1)]
            [1, 4, 7]

        Args:
            num_shards: how many shares the elements are dealt into.
            index: which share this is, `0 <= index < num_shards`.
            name: accepted for tf.data compatibility.
        """
        return Dataset(transforms.Shard(self._node, num_shards, index))

    def concatenate(self, dataset, name=None) -> Dataset:
        """This dataset's elements, then `dataset`'s (of the same structure).

        Examples:
            >>> [int(v) for v in Dataset.range(2).concatenate(Dataset.range(5, 7))]
            [0, 1, 5, 6]

        Args:
            dataset: the Dataset whose elements follow.
            name: accepted for tf.data compatibility.
        """
        return Dataset(combine.Concatenate(_nodes([self, dataset], "concatenate")))

    def flat_map(self, map_func, name=None) -> Dataset:
        """The elements of `map_func(element)` (a Dataset) for each element, one after another.

        Examples:
            >>> ds = Dataset.range(1, 3).flat_map(lambda n: Dataset.range(int(n)))
            >>> [int(x) for x in ds]
            [0, 0, 1]

        Args:
            map_func: a function of an element returning a Dataset.
            name: accepted for tf.data compatibility.
        """
        return Dataset(combine.FlatMap(self._node, map_func))

    def interleave(
        self,
        map_func,
        cycle_length=None,
        block_length=None,
        num_parallel_calls=None,
        deterministic=None,
        name=None,
    ) -> Dataset:
        """`map_func(element)` (a Dataset) for `cycle_length` elements at once, `block_length`
        elements taken from each in turn, in tf.data's order.

        Examples:
            >>> ds = Dataset.range(1, 4).interleave(
            ...     lambda n: Dataset.from_tensors(n).repeat(2), cycle_length=2, block_length=1)
            >>> [int(x) for x in ds]
            [1, 2, 1, 2, 3, 3]

        Args:
            map_func: a function of an element returning a Dataset.
            cycle_length: how many elements' datasets are read side by side (default: one per
                CPU core, as tf.data; `AUTOTUNE` means the same).
            block_length: consecutive elements taken from each before moving on (default 1).
            num_parallel_calls: accepted for tf.data compatibility; elements are read in order.
            deterministic: accepted for tf.data compatibility.
            name: accepted for tf.data compatibility.
        """
        if cycle_length is None or cycle_length == AUTOTUNE:
            cycle_length = os.cpu_count() or 1
        block_length = 1 if block_length is None else block_length
        return Dataset(combine.Interleave(self._node, map_func, cycle_length, block_length))

    def window(self, size, shift=None, stride=1, drop_remainder=False, name=None) -> Dataset:
        """Windows of `size` elements, each a Dataset (a structure of Datasets shaped like the
        element, for tuple or dict elements), a new window every `shift` elements.

        Examples:
            >>> windows = Dataset.range(6).window(3, shift=2)
            >>> [[int(x) for x in w] for w in windows]
            [[0, 1, 2], [2, 3, 4], [4, 5]]
            >>> [b.tolist() for b in windows.flat_map(lambda w: w.batch(3))]
            [[0, 1, 2], [2, 3, 4], [4, 5]]

        Args:
            size: elements per window.
            shift: how many elements each window starts after the one before (default `size`).
            stride: the step between the elements a window takes (default 1: consecutive).
            drop_remainder: drop windows at the end that hold fewer than `size` elements.
            name: accepted for tf.data compatibility.
        """
        return Dataset(
            grouping.Window(self._node, size, shift, stride, drop_remainder, wrap=Dataset)
        )

    def group_by_window(
        self, key_func, reduce_func, window_size=None, window_size_func=None, name=None
    ) -> Dataset:
        """Group elements by `key_func`; each group of `window_size` elements (and at the end, each
        group's rest, in key order) goes as a Dataset to `reduce_func`, whose elements follow.

        Examples:
            >>> ds = Dataset.range(10).group_by_window(
            ...     key_func=lambda x: x % 2, reduce_func=lambda key, w: w.batch(3), window_size=3)
            >>> [b.tolist() for b in ds]
            [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]

        Args:
            key_func: a function of an element returning its group, an int64 scalar.
            reduce_func: a function of (key, window Dataset) returning a Dataset.
            window_size: elements per group before it is reduced.
            window_size_func: instead of `window_size`, a function of the key giving the size.
            name: accepted for tf.data compatibility.
        """
        return Dataset(
            grouping.GroupByWindow(
                self._node, key_func, reduce_func, window_size, window_size_func, wrap=Dataset
            )
        )

    def bucket_by_sequence_length(
        self,
        element_length_func,
        bucket_boundaries,
        bucket_batch_sizes,
        padded_shapes=None,
        padding_values=None,
        pad_to_bucket_boundary=False,
        no_padding=False,
        drop_remainder=False,
        name=None,
    ) -> Dataset:
        """Batch elements of similar length together, so padding stays small: an element of length
        `n` goes to bucket `i` where `bucket_boundaries[i-1] <= n < bucket_boundaries[i]`, and
        each bucket is padded-batched by its own `bucket_batch_sizes[i]`.

        Examples:
            >>> rows = Dataset.from_tensor_slices(np.array([1, 5, 2, 6, 1, 7]))
            >>> rows = rows.map(lambda n: np.ones(int(n)))
            >>> ds = rows.bucket_by_sequence_length(lambda x: x.shape[0], [4], [2, 2])
            >>> [tuple(b.shape) for b in ds]
            [(2, 2), (2, 6), (1, 1), (1, 7)]

        Args:
            element_length_func: a function of an element returning its length (an int).
            bucket_boundaries: increasing upper length bounds (exclusive) of the buckets.
            bucket_batch_sizes: one batch size per bucket, `len(bucket_boundaries) + 1` of them.
            padded_shapes: as in `padded_batch`.
            padding_values: as in `padded_batch`.
            pad_to_bucket_boundary: pad to the bucket's boundary minus 1 rather than to the
                longest element in the batch (every element must then be shorter than the last
                boundary). Without `padded_shapes`, the first axis of each component is the one
                padded so.
            no_padding: batch with `batch` (elements of equal shape) instead of padding.
            drop_remainder: drop each bucket's last batch if it is smaller than its size.
            name: accepted for tf.data compatibility.
        """
        boundaries = [int(b) for b in bucket_boundaries]
        if boundaries != sorted(set(boundaries)):
            raise ValueError(
                "Dataset.bucket_by_sequence_length expects bucket_boundaries to increase "
                f"strictly; received {list(bucket_boundaries)}."
            )
        sizes = [int(s) for s in bucket_batch_sizes]
        if len(sizes) != len(boundaries) + 1:
            raise ValueError(
                "Dataset.bucket_by_sequence_length expects len(bucket_batch_sizes) == "
                f"len(bucket_boundaries) + 1 (one per bucket); received {len(sizes)} sizes for "
                f"{len(boundaries)} boundaries."
            )

        def bucket_of(*element):
            length = int(element_length_func(*element))
            if pad_to_bucket_boundary and length >= boundaries[-1]:
                raise ValueError(
                    "Dataset.bucket_by_sequence_length with pad_to_bucket_boundary=True expects "
                    f"every element shorter than the last boundary {boundaries[-1]}; received "
                    f"one of length {length}. Hint: add a larger boundary."
                )
            return int(np.searchsorted(boundaries, length, side="right"))

        def batch_bucket(bucket, window):
            size = sizes[int(bucket)]
            if no_padding:
                return window.batch(size, drop_remainder=drop_remainder)
            shapes = padded_shapes
            if pad_to_bucket_boundary:
                fill = boundaries[int(bucket)] - 1
                shapes = _to_boundary(padded_shapes, window, fill)
            return window.padded_batch(size, shapes, padding_values, drop_remainder)

        return self.group_by_window(
            bucket_of, batch_bucket, window_size_func=lambda bucket: sizes[int(bucket)]
        )

    def rejection_resample(
        self, class_func, target_dist, initial_dist=None, seed=None, name=None
    ) -> Dataset:
        """Pairs `(class, element)` resampled so that the classes follow `target_dist`.

        With `initial_dist` (the classes' frequencies in this dataset), tf.data's scheme: each
        pair comes from the data as it is with probability `m = min(target / initial)`, else
        from a second pass that keeps an element of class `i` with probability
        `(r_i - m) / (max r - m)`, `r = target / initial`; the mixture's classes follow
        `target_dist` exactly, with as few elements dropped as possible. Without it, the
        frequencies are estimated from the classes seen so far and elements are kept with
        probability `r_i / max r`. Two passes are read side by side, so the dataset must be
        re-iterable (every lamina Dataset is).

        Examples:
            >>> labels = Dataset.from_tensor_slices(np.array([0] * 90 + [1] * 10)).repeat()
            >>> balanced = labels.rejection_resample(
            ...     lambda y: y, target_dist=[0.5, 0.5], initial_dist=[0.9, 0.1], seed=0)
            >>> classes = [int(c) for c, _ in balanced.take(2000)]
            >>> round(sum(classes) / len(classes), 1)
            0.5

        Args:
            class_func: a function of an element returning its class, an int scalar.
            target_dist: the wanted probability of each class.
            initial_dist: the classes' probabilities in this dataset, if known.
            seed: the draws' seed (None: from NumPy's global state, so `set_random_seed`
                governs it).
            name: accepted for tf.data compatibility.
        """
        target = _distribution(target_dist, "target_dist")
        seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))
        if initial_dist is None:
            return Dataset(combine.RejectionFilter(self._node, class_func, target, None, seed))
        initial = _distribution(initial_dist, "initial_dist")
        if initial.shape != target.shape:
            raise ValueError(
                "Dataset.rejection_resample expects initial_dist and target_dist for the same "
                f"classes; received {len(initial)} and {len(target)} probabilities."
            )
        if ((initial == 0) & (target > 0)).any():
            raise ValueError(
                "Dataset.rejection_resample cannot reach target_dist: a class has probability 0 "
                f"in initial_dist={initial.tolist()} but not in target_dist={target.tolist()}."
            )
        # Classes absent from the data (and so from the target) keep a ratio of 0.
        ratio = np.divide(target, initial, out=np.zeros_like(target), where=initial > 0)
        present = ratio[initial > 0]
        lowest, highest = present.min(), present.max()
        if highest == lowest:  # already the target: every element as it comes
            accept = np.ones_like(ratio)
        else:
            accept = np.clip((ratio - lowest) / (highest - lowest), 0.0, 1.0)
        # The data as it comes (every element kept) and the filtered second pass, mixed.
        as_is = combine.RejectionFilter(self._node, class_func, target, np.ones_like(ratio), seed)
        filtered = combine.RejectionFilter(self._node, class_func, target, accept, seed + 1)
        return Dataset(
            combine.SampleFrom([as_is, filtered], [lowest, 1.0 - lowest], seed + 2, True)
        )

    def scan(self, initial_state, scan_func, name=None) -> Dataset:
        """Carry a state through the elements: `state, out = scan_func(state, element)`, yielding
        each `out`.

        Examples:
            >>> running = Dataset.range(1, 5).scan(0, lambda total, x: (total + x, total + x))
            >>> [int(x) for x in running]
            [1, 3, 6, 10]

        Args:
            initial_state: the state before the first element (a tensor, number or structure).
            scan_func: a function of (state, element) returning (new state, output element).
            name: accepted for tf.data compatibility.
        """
        return Dataset(grouping.Scan(self._node, initial_state, scan_func))

    def unique(self, name=None) -> Dataset:
        """Each distinct element once, in order of first appearance (integer or string scalars).

        Examples:
            >>> [int(x) for x in Dataset.from_tensor_slices(np.array([2, 1, 2, 3, 1])).unique()]
            [2, 1, 3]

        Args:
            name: accepted for tf.data compatibility.
        """
        return Dataset(grouping.Unique(self._node))

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
            upstreams = [*getattr(node, "nodes", ()), getattr(node, "upstream", None)]
            for upstream in [*upstreams, getattr(node, "choices", None)]:
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

    def reduce(self, initial_state, reduce_func):
        """Fold the elements into one value: `state = reduce_func(state, element)` from
        `initial_state` on; returns the final state.

        Examples:
            >>> int(Dataset.range(5).reduce(0, lambda total, x: total + x))
            10

        Args:
            initial_state: the starting value (a tensor, number or structure of them).
            reduce_func: a function of (state, element) returning the next state.
        """
        state = structure.to_element(initial_state)
        for element in self:
            state = structure.to_element(reduce_func(state, element))
        return state

    def get_single_element(self, name=None):
        """The dataset's only element; raises unless it has exactly one."""
        elements = list(self.take(2))
        if len(elements) != 1:
            raise ValueError(
                "Dataset.get_single_element expects a dataset of exactly one element; this one "
                f"has {'none' if not elements else 'more than one'}. Hint: batch() it or take(1)."
            )
        return elements[0]

    def as_numpy_iterator(self) -> NumpyIterator:
        """Iterate with every tensor converted to a NumPy array."""
        return NumpyIterator(structure.to_numpy(element) for element in self)

    @property
    def element_spec(self):
        """tf.data's `element_spec`: the elements' structure of `TensorSpec(shape, dtype)`,
        the batch axis None where a `batch()` may leave a shorter last batch."""
        return element_spec.element_spec(self)

    def cardinality(self) -> Cardinality:
        """The number of elements, `INFINITE_CARDINALITY` (-1) or `UNKNOWN_CARDINALITY` (-2): an
        int that also answers tf.data's `.numpy()`."""
        return Cardinality(self._node.cardinality())

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


def _distribution(probabilities, argument: str) -> np.ndarray:
    """A class distribution given as a list, array or tensor: non-negative, summing to 1."""
    if isinstance(probabilities, torch.Tensor):
        probabilities = probabilities.detach().cpu().numpy()
    values = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if values.size == 0 or (values < 0).any() or not np.isclose(values.sum(), 1.0, atol=1e-3):
        raise ValueError(
            f"Dataset.rejection_resample expects {argument} to be class probabilities summing to "
            f"1; received {np.asarray(probabilities).tolist()}."
        )
    return values / values.sum()


def _to_boundary(padded_shapes, window: Dataset, fill: int):
    """`padded_shapes` with each None axis set to `fill`; without them, the first axis of every
    component of rank >= 1 (the sequence axis) padded to `fill` and the rest to the longest."""
    if padded_shapes is not None:
        return tree.map_shape_structure(
            lambda shape: [fill if n is None or n == -1 else n for n in shape], padded_shapes
        )
    first = next(iter(window))
    return tree.map_structure(
        lambda leaf: (
            [fill] + [None] * (len(structure.leaf_shape(leaf)) - 1)
            if structure.leaf_shape(leaf)
            else []
        ),
        first,
    )


def _nodes(datasets, method: str) -> list:
    """The pipelines of `datasets`, each checked to be a Dataset."""
    for member in datasets:
        if not isinstance(member, Dataset):
            raise TypeError(
                f"Dataset.{method} expects Dataset objects; received {type(member).__name__}. "
                "Hint: wrap arrays with Dataset.from_tensor_slices first."
            )
    return [member._node for member in datasets]


class TextLineDataset(Dataset):
    """The lines of one or more text files, each a 0-d str array without its line ending.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        >>> _ = path.write_text("first\\nsecond\\n")
        >>> [str(line) for line in TextLineDataset(str(path))]
        ['first', 'second']

    Args:
        filenames: a path or a list of paths, read one after another.
        compression_type: only None or "" (uncompressed) is read.
        buffer_size: accepted for tf.data compatibility.
        num_parallel_reads: accepted for tf.data compatibility; files are read in order.
        name: accepted for tf.data compatibility.
    """

    def __init__(
        self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None
    ):
        if compression_type:
            raise ValueError(
                f"TextLineDataset reads uncompressed files; received compression_type="
                f"{compression_type!r}. Hint: decompress the file first (gzip -d)."
            )
        super().__init__(sources.TextLines(filenames))


def _count(value, argument: str, method: str, minimum: int, optional: bool = False) -> None:
    """An element count of a Dataset method: an integer (not a string or a float, which tf.data
    refuses too and `int()` would have read silently: `skip(1.5)` skipped one)."""
    hyperparameters.count(value, argument, f"Dataset.{method}()", minimum, optional=optional)


def _function(value, argument: str, method: str) -> None:
    """A function argument, refused when the Dataset is made rather than at the first element."""
    if not callable(value):
        raise errors.value_error(
            f"Dataset.{method}()",
            f"`{argument}` to be a function",
            f"{argument}={value!r} of type {type(value).__name__}",
        )
