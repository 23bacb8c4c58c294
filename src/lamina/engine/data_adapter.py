"""Everything fit / evaluate / predict accept, turned into batches of device tensors.

Arrays (NumPy or torch, nested in lists/tuples/dicts) are checked once, moved to the device once,
and sliced per batch after one shuffle per epoch: no per-batch host work. Iterables (generators,
Keras-style sequences with `__len__`/`__getitem__`, `lamina.data.Dataset`, torch DataLoaders) are
converted batch by batch.
"""

from __future__ import annotations

import collections.abc
import itertools
import math
import random

import numpy as np
import torch

from lamina import backend, tree
from lamina.data import workers
from lamina.data.structure import is_dataframe, is_strings
from lamina.engine import errors

# --------------------------------------------------------------------------------------------------
# Nested structures: lamina.tree's, whose `flatten` lists a dict's values by sorted key, as Keras's
# does: trainer.py pairs flattened labels and predictions with output names in that order.

map_structure = tree.map_structure
flatten = tree.flatten


def is_array_like(x) -> bool:
    """Arrays, or a list / dict of them; a None among them is an optional input left out
    (`Input(optional=True)`), as Keras takes it, but not every one may be None."""
    if isinstance(x, (np.ndarray, torch.Tensor)) or is_dataframe(x):
        return True
    children = x if isinstance(x, (list, tuple)) else x.values() if isinstance(x, dict) else None
    if not children:
        return False
    given = [v for v in children if v is not None]
    return bool(given) and all(is_array_like(v) for v in given)


def batch_size_of(x) -> int:
    """The batch size of a structure of inputs: its first given one's (an optional input left
    out is None)."""
    return next(leaf for leaf in flatten(x) if leaf is not None).shape[0]


def _map_given(func, structure):
    """`func` over a structure's arrays, its None leaves (optional inputs left out) kept."""
    return tree.map_structure(func, structure, none_is_leaf=False)


def to_tensors(structure, device, name="x"):
    """`to_tensor` over a structure of arrays (None leaves kept); a lone array, the usual
    batch, without a walk of the structure.

    Args:
        structure: an array, tensor, or a nested list / tuple / dict of them.
        device: where the tensors go.
        name: the argument named in errors (`x`, `y`).

    Example:
    >>> to_tensors({"a": np.ones(2), "b": None}, "cpu")
    {'a': tensor([1., 1.]), 'b': None}
    """
    if isinstance(structure, (np.ndarray, torch.Tensor)):
        return to_tensor(structure, device, name)
    return tree.map_structure(
        lambda a: None if a is None else to_tensor(a, device, name), structure
    )


def to_tensor(value, device, name="x") -> torch.Tensor:
    """NumPy / pandas / lists / tensors -> a tensor on `device`; floats of another width (float64,
    float16, bfloat16) become the weights' floatx, as Keras casts inputs to the compute dtype.

    Strings in `x` stay a NumPy array on the host: torch has no string tensors, and a model's
    string `Input` hands them to its StringLookup / TextVectorization layers as they are."""
    if isinstance(value, torch.Tensor):
        # Data, not a node of the caller's graph: `encoder(X)` fed to another model's fit (as in
        # training stacked autoencoders one at a time) would be backpropagated into each step.
        tensor = value.detach() if value.requires_grad else value
    else:
        if type(value) is np.ndarray:  # the usual batch: no pandas or list to convert
            array = value
        else:
            array = value.to_numpy() if is_dataframe(value) else np.asarray(value)
        if name == "x" and array.dtype.kind in "USO" and is_strings(array):
            return array.astype(str)
        if array.dtype == object:
            raise errors.value_error(
                name,
                "a numeric array",
                f"an object array of shape {array.shape}",
                "pad ragged sequences first (lamina.preprocessing.sequence.pad_sequences).",
            )
        if array.dtype.kind == "U" or array.dtype.kind == "S":
            raise errors.value_error(name, "a numeric array", f"an array of strings {array.shape}")
        if not array.flags.writeable:  # pandas' or a memory map's read-only view
            array = array.copy()
        # ml_dtypes' bfloat16 (predict's output of a bfloat16 model). `kind` first: NumPy's
        # `dtype.name` is a Python property, about 3 us, and a generator's batches pay it each.
        if array.dtype.kind == "V" and array.dtype.name == "bfloat16":
            tensor = backend.from_numpy(array)
        else:
            tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point() and tensor.dtype != backend.to_torch_dtype(None):
        tensor = tensor.to(backend.to_torch_dtype(None))
    if tensor.device != device:
        # A plain copy: pinning first pays a page-locked allocation and a host copy of the whole
        # array for one transfer, slower than the copy itself (pinning pays off only for buffers
        # reused transfer after transfer, as the prefetching pipeline's are).
        tensor = tensor.to(device)
    return tensor


def _take(leaf, permutation: torch.Tensor):
    """Rows of a batchable leaf in `permutation`'s order: a tensor's on its device, strings'
    (a NumPy array on the host) by the same order."""
    if isinstance(leaf, np.ndarray):
        return leaf[permutation.cpu().numpy()]
    return leaf.index_select(0, permutation)


def unpack(data):
    """A batch `(x,)`, `(x, y)` or `(x, y, sample_weight)` -> the three (None when absent)."""
    if isinstance(data, (list, tuple)):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data[0], data[1], data[2]
        raise errors.value_error(
            "data",
            "batches shaped (x,), (x, y) or (x, y, sample_weight)",
            f"a tuple of {len(data)}",
        )
    return data, None, None


# --------------------------------------------------------------------------------------------------
# Arrays


def check_finite(x, name="x") -> None:
    """NaN or inf in the inputs: stop before training turns every weight into NaN."""
    for leaf in tree.flatten(x):
        if leaf is None:  # an optional input left out
            continue
        if isinstance(leaf, torch.Tensor):
            bad = leaf.is_floating_point() and not bool(torch.isfinite(leaf).all())
        else:
            array = backend.as_plain_numpy(leaf)  # bfloat16 (ml_dtypes) as float32
            bad = array.dtype.kind == "f" and not np.isfinite(array).all()
        if bad:
            count = int((~np.isfinite(backend.as_numpy(leaf))).sum())
            raise errors.value_error(
                name,
                "finite numbers",
                f"{count} NaN or inf value(s) in an array of shape {tuple(leaf.shape)}",
                f"clean or impute the data first, e.g. {name} = np.nan_to_num({name}) "
                "or drop those rows.",
            )


def flat_list_as_array(x):
    """A flat Python list of texts (`export_model.predict(["great!", "awful..."])`, TF's text
    tutorial) or of numbers (`model.predict([10.0])`, DeepLearning.AI's first lesson) as a NumPy
    array: such a list can only be one batch of samples, never one array per input (an input's
    array has a batch axis, a number has none), so it is read as tf.keras read it. Nested lists
    and anything else come back as they are."""
    if not isinstance(x, (list, tuple)) or not x:
        return x
    if all(isinstance(item, str) for item in x):
        return np.asarray(x, dtype=np.str_)
    if all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in x):
        return np.asarray(x)
    return x


def check_not_a_list_of_numbers(value, name: str) -> None:
    """A Python list of numbers is one array's data, but a list is also how several inputs or
    outputs are passed: as Keras, lamina does not guess; it says what to do."""
    if not isinstance(value, (list, tuple)) or not value:
        return
    if not any(isinstance(leaf, (bool, int, float, complex)) for leaf in tree.flatten(value)):
        return
    rows = [len(row) for row in value if isinstance(row, (list, tuple))]
    ragged = len(set(rows)) > 1
    raise errors.value_error(
        name,
        "arrays (NumPy, torch, pandas) with the samples on the first axis, or a list of "
        "such arrays, one per model input or output",
        f"a Python {type(value).__name__} of numbers"
        + (f" whose rows differ in length ({sorted(set(rows))})" if ragged else ""),
        "pad the rows to one length first (lamina.utils.pad_sequences), then np.array(...)."
        if ragged
        else f"convert it first: {name} = np.array({name}).",
    )


def num_samples(structure, name: str) -> int:
    sizes = {len(leaf) for leaf in tree.flatten(structure) if leaf is not None}
    if len(sizes) > 1:
        raise errors.value_error(
            name, "arrays with the same number of samples", f"lengths {sorted(sizes)}"
        )
    return sizes.pop()


def _per_output(sample_weight) -> bool:
    """Whether `sample_weight` holds one array per output (a dict by name, or a list of arrays)
    rather than one array (a plain list of numbers is one)."""
    if isinstance(sample_weight, dict):
        return True
    return isinstance(sample_weight, (list, tuple)) and any(
        w is not None and np.ndim(w) > 0 for w in sample_weight
    )


def _cut_weights(cut, sample_weight):
    """`cut` applied to the one weights array, or to each output's."""
    return _map_given(cut, sample_weight) if _per_output(sample_weight) else cut(sample_weight)


def _weight_arrays(sample_weight) -> list:
    """The arrays of `sample_weight`: one, or one per output."""
    if sample_weight is None:
        return []
    if _per_output(sample_weight):
        items = sample_weight.values() if isinstance(sample_weight, dict) else sample_weight
        return [w for w in items if w is not None]
    return [sample_weight]


class StepsPerEpoch:
    """`steps_per_epoch` as Keras's epoch iterator counts it: consecutive epochs share one pass
    over the data; the epoch that reaches the pass's end stops there (`cut_short`, the trainer
    warns and goes on) and the next epoch starts a new pass. A pass that yields nothing (a
    consumed generator) sets `ran_out`: the trainer warns and stops.

    Subclasses set `steps` (None: every epoch is one whole pass) and call `_init_passes()`.

    Example:
    >>> data = ArrayData(np.zeros((10, 1)), batch_size=4, steps=2)  # 3 batches a pass
    >>> [len(list(data)) for _ in range(3)]  # the second epoch reaches the end after 1 step
    [2, 1, 2]
    """

    def _init_passes(self) -> None:
        self._pass = None  # the current pass's batch iterator, shared across epochs
        self._pass_steps = 0  # how many batches of it the epochs took
        self.ran_out = False
        self.cut_short = False

    def restart(self) -> None:
        """End the current pass: the next epoch starts at the data's beginning (a
        validation does each time, as in Keras, so every epoch is scored on the same batches).
        """
        self.close()
        self._init_passes()

    def close(self) -> None:
        """End the pass the epochs share, now: a pipeline's background stages (prefetch
        threads, parallel maps) stop here rather than whenever the garbage collector reaches
        an iterator caught in a reference cycle. A one-shot iterator the user passed stays
        open: it is theirs, and Keras leaves it as it is too.
        """
        current, self._pass = self._pass, None
        if current is not None and not self._one_shot():
            _close_iterator(current)

    def _batches_per_pass(self) -> int | None:
        """The number of batches of one pass, or None where the data does not say."""
        raise NotImplementedError

    def _one_shot(self) -> bool:
        """Whether the data cannot be passed over again (a generator)."""
        return False

    def _steps_of_pass(self, new_pass):
        """This epoch's `steps` batches, from the current pass (`new_pass()` starts one)."""
        self.cut_short = False
        known = self._batches_per_pass()
        if self._pass is None:
            self._pass, self._pass_steps = new_pass(), 0
        for _ in range(int(self.steps)):
            if known is not None and self._pass_steps >= known:
                self.cut_short = True
                break
            try:
                batch = next(self._pass)
            except StopIteration:
                # Nothing this epoch, or a one-shot iterator's end: no later epoch gets data.
                self.ran_out = self._pass_steps == 0 or self._one_shot()
                self.cut_short = not self.ran_out
                self._pass = None
                return
            self._pass_steps += 1
            yield batch
        if known is not None and self._pass_steps >= known:
            self._pass = None


class ArrayData(StepsPerEpoch):
    """Arrays held on the device, cut into batches; one permutation per epoch when shuffling
    (per pass over the arrays, when `steps` epochs share one)."""

    def __init__(
        self,
        x,
        y=None,
        sample_weight=None,
        batch_size=32,
        shuffle=False,
        device=None,
        check=True,
        steps=None,
    ):
        self.steps = steps
        self._init_passes()
        self.device = device or backend.default_device()
        if check:
            check_finite(x, "x")
            if y is not None:
                check_finite(y, "y")
        n_x = num_samples(x, "x")
        if n_x == 0:
            raise errors.value_error(
                "x", "at least one sample", "arrays with 0 samples", "check the data's filtering."
            )
        if y is not None:
            n_y = num_samples(y, "y")
            if n_x != n_y:
                raise errors.value_error(
                    "fit()/evaluate() data",
                    "x and y with the same number of samples",
                    f"{n_x} samples in x and {n_y} in y",
                    "check that the labels belong to these inputs (e.g. a split applied to only "
                    "one).",
                )
        for weights in _weight_arrays(sample_weight):  # one array, or one per output
            if len(weights) != n_x:
                raise errors.value_error(
                    "sample_weight", f"one weight per sample ({n_x})", f"{len(weights)} weights"
                )
        self.size = n_x
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.x = _map_given(lambda a: to_tensor(a, self.device, "x"), x)
        self.y = (
            None if y is None else tree.map_structure(lambda a: to_tensor(a, self.device, "y"), y)
        )
        self.sample_weight = None
        if _per_output(sample_weight):
            as_tensor = lambda a: to_tensor(a, self.device).float()  # noqa: E731
            self.sample_weight = _map_given(as_tensor, sample_weight)
        elif sample_weight is not None:
            self.sample_weight = to_tensor(sample_weight, self.device).float()

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def first_batch(self):
        return self._slice(self.x, self.y, self.sample_weight, 0, min(self.batch_size, self.size))

    @staticmethod
    def _slice(x, y, sw, start, stop):
        def cut(structure):  # a lone tensor (the usual x and y) skips the tree walk
            if isinstance(structure, torch.Tensor):
                return structure[start:stop]
            return _map_given(lambda t: t[start:stop], structure)

        return cut(x), None if y is None else cut(y), None if sw is None else cut(sw)

    def __iter__(self):
        if self.steps is None:
            return self.epoch_batches()
        return self._steps_of_pass(self.epoch_batches)

    def _batches_per_pass(self):
        return len(self)

    def epoch_batches(self):
        """Draw this epoch's order now (so a resume can replay it), return the batch iterator."""
        x, y, sw = self.x, self.y, self.sample_weight
        if self.shuffle == "batch":
            order = torch.randperm(len(self)).tolist()
        else:
            order = range(len(self))
            if self.shuffle:
                # One gather per epoch, then zero-copy slices per batch.
                permutation = torch.randperm(self.size, device=self.device)
                take = lambda t: _take(t, permutation)  # noqa: E731
                x = _map_given(take, x)
                y = None if y is None else tree.map_structure(take, y)
                sw = None if sw is None else _map_given(take, sw)
        if all(part is None or isinstance(part, torch.Tensor) for part in (x, y, sw)):
            return _tensor_batches(x, y, sw, self.batch_size, order)
        return (
            self._slice(x, y, sw, i * self.batch_size, min((i + 1) * self.batch_size, self.size))
            for i in order
        )


def _tensor_batches(x, y, sw, batch_size: int, order):
    """The batches of lone tensors (the usual x, y and sample weights): one slice of each per
    batch, the last one clamped by the slice itself (about 1 us a batch less than `_slice`)."""
    for i in order:
        start = i * batch_size
        stop = start + batch_size
        yield (
            x[start:stop],
            None if y is None else y[start:stop],
            None if sw is None else sw[start:stop],
        )


def split_validation(x, y, sample_weight, validation_split: float):
    """Keras's rule: the last `validation_split` fraction of the arrays, taken before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise errors.value_error("validation_split", "a float in (0, 1)", f"{validation_split}")
    n = num_samples(x, "x")
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise errors.value_error(
            "validation_split",
            f"a split that leaves samples on both sides of {n}",
            f"{validation_split}",
        )
    head = lambda a: a[:split_at]  # noqa: E731
    tail = lambda a: a[split_at:]  # noqa: E731
    train = (
        _map_given(head, x),
        None if y is None else tree.map_structure(head, y),
        None if sample_weight is None else _cut_weights(head, sample_weight),
    )
    valid = (
        _map_given(tail, x),
        None if y is None else tree.map_structure(tail, y),
        None if sample_weight is None else _cut_weights(tail, sample_weight),
    )
    return train, valid


# --------------------------------------------------------------------------------------------------
# Iterables


class IterableData(StepsPerEpoch):
    """Generators, Keras-style sequences, lamina Datasets, DataLoaders: batch by batch to the
    device."""

    def __init__(self, source, steps=None, device=None, shuffle=False):
        self.source = source
        self.steps = steps
        self.device = device or backend.default_device()
        self._peeked = None
        self._init_passes()
        indexable = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        self._is_sequence = _is_keras_sequence(source) or (
            indexable and not hasattr(source, "__iter__")
        )
        # fit(shuffle=True) visits a sequence's batches in a new order each epoch, as Keras does;
        # other iterables keep their own order.
        self.shuffle = bool(shuffle) and self._is_sequence

    def __len__(self):
        if self.steps is not None:
            return int(self.steps)
        return self._source_length()

    def _source_length(self):
        """The source's number of batches; None when unknown or infinite (a generator, a
        PyDataset whose num_batches is None)."""
        if hasattr(self.source, "iter_epoch"):  # lamina.utils.PyDataset
            return self.source.num_batches
        try:
            return len(self.source)
        except TypeError:
            return None

    def _convert(self, batch):
        x, y, sw = unpack(batch)
        return (
            to_tensors(x, self.device, "x"),
            None if y is None else to_tensors(y, self.device, "y"),
            None if sw is None else to_tensor(sw, self.device, "sample_weight").float(),
        )

    def _batches(self):
        """One pass over the source's batches."""
        if self._is_sequence:
            return self._sequence_batches()
        # A one-shot iterator's first batch, taken to build, comes first. `chain`, not a
        # generator's `yield from`: a pass that steps_per_epoch leaves unfinished must not close
        # the user's generator when it is dropped. Otherwise the source's own iterator, which
        # `close` can reach.
        if self._peeked is None:
            return iter(self.source)
        first, self._peeked = self._peeked, None
        return itertools.chain([first], self.source)

    def _sequence_batches(self):
        count = self._source_length()
        if count is None:  # an infinite PyDataset: index after index until the steps end
            yield from workers.PrefetchIterator(self.source.iter_epoch(None), 2)
            return
        order = list(range(count))
        if self.shuffle:
            # Python's generator, as Keras's: set_random_seed() makes the order reproducible.
            random.shuffle(order)
        # Prepare the next batches in a background thread while the current one trains.
        if hasattr(self.source, "iter_epoch"):  # lamina.utils.PyDataset: workers, epoch hooks
            yield from workers.PrefetchIterator(self.source.iter_epoch(order), 2)
            return
        batches = (self.source[i] for i in order)
        yield from workers.PrefetchIterator(batches, 2)
        if hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    def __iter__(self):
        # A model on the CPU whose kernels use every core leaves no core for background data
        # threads: the pipeline's prefetch and parallel map then run inline (data/workers.py).
        cores_busy = (
            torch.device(self.device).type == "cpu"
            and torch.get_num_threads() >= workers.default_parallelism()
        )
        with workers.inline_work_while(cores_busy):
            yield from self._iterate()

    def _iterate(self):
        if self.steps is None:
            for batch in self._batches():
                yield self._convert(batch)
            return
        for batch in self._steps_of_pass(lambda: iter(self._batches())):
            yield self._convert(batch)

    def _one_shot(self) -> bool:
        return isinstance(self.source, collections.abc.Iterator)

    def _batches_per_pass(self):
        return self._source_length()  # None: a generator, an infinite or unknown-length source

    def first_batch(self):
        """One batch to build the model from (a sequence is indexed directly: no worker thread)."""
        if self._is_sequence:
            if self._source_length() == 0:
                raise ValueError("The data source yielded no batch.")
            return self._convert(self.source[0])
        # A one-shot iterator (a generator) keeps the batch for the first epoch. (Asking a
        # re-iterable source `iter(source) is source` would start a pass of its pipeline.)
        if isinstance(self.source, collections.abc.Iterator):
            try:
                self._peeked = next(self.source)
            except StopIteration:
                raise ValueError("The data source yielded no batch.") from None
            return self._convert(self._peeked)
        # One batch is needed: no background stage should start preparing more.
        with workers.inline_work_while(True):
            batches = self._batches()
            try:
                for batch in batches:
                    return self._convert(batch)
            finally:
                _close_iterator(batches)
        raise ValueError("The data source yielded no batch.")


def _close_iterator(iterator) -> None:
    """Close an iterator lamina made (a generator, a Dataset's): its stages stop now."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _is_keras_sequence(source) -> bool:
    return (
        hasattr(source, "__getitem__")
        and hasattr(source, "__len__")
        and hasattr(source, "on_epoch_end")
    )


def adapt(
    x,
    y=None,
    sample_weight=None,
    batch_size=None,
    shuffle=False,
    steps=None,
    device=None,
    check=True,
):
    """Pick the adapter for what the user passed."""
    if x is None:
        raise errors.value_error("x", "input data (arrays, a Dataset or a generator)", "None")
    x = flat_list_as_array(x)
    for name, value in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        check_not_a_list_of_numbers(value, name)
    if is_array_like(x):
        if not batch_size:  # Keras's rule: `steps` batches cover the arrays, else 32 a batch
            batch_size = math.ceil(num_samples(x, "x") / steps) if steps else 32
        return ArrayData(x, y, sample_weight, batch_size, shuffle, device, check=check, steps=steps)
    if y is not None:
        raise errors.value_error(
            "y",
            "None when x is a dataset or generator (it yields the labels)",
            f"y of type {type(y).__name__}",
        )
    if sample_weight is not None:  # Keras raises too: the weights would be silently dropped
        raise errors.value_error(
            "sample_weight",
            "None when x is a dataset or generator",
            f"sample_weight of type {type(sample_weight).__name__}",
            "yield the weights as the third item of each batch: (x, y, sample_weight).",
        )
    if isinstance(x, (list, tuple)):
        raise errors.value_error(
            "x", "arrays or a dataset", f"a {type(x).__name__} of {type(x[0]).__name__}"
        )
    if not (hasattr(x, "__iter__") or hasattr(x, "__getitem__")):
        raise errors.value_error(
            "x", "arrays, a Dataset, a generator or a sequence", f"{type(x).__name__}"
        )
    return IterableData(x, steps=steps, device=device, shuffle=shuffle)
