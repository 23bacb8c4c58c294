"""Where a Dataset's elements come from: tensor slices, a Python generator, a range, a zip, the
lines of text files.

A pipeline is a chain of nodes; `Dataset` (dataset.py) wraps the last one. Each node answers three
questions: how many elements (`cardinality`), the elements themselves (`iterate`), and, for chains
that start at in-memory slices and only reorder or cut them, which rows in which order (`plan`).
The plan lets `batch` gather a whole batch with one indexing call instead of stacking rows.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import torch

from lamina import tree
from lamina.data import structure

INFINITE = -1
UNKNOWN = -2


class Node:
    """One stage of a pipeline."""

    def cardinality(self) -> int:
        return UNKNOWN

    def iterate(self):
        raise NotImplementedError

    def plan(self):
        """`(slices_node, row_indices)` for this iteration, or None when rows are not addressable.

        Calling it starts an iteration (a reshuffling node draws its next order), so a node calls it
        at most once per pass.
        """


class RandomNode(Node):
    """A stage that draws random numbers (shuffle, sampling, rejection). Its seed and the passes
    begun decide every pass's draws, and are the state `Dataset.get_state` saves for resumes.

    Args:
        seed: the draws' seed; None draws one from NumPy's global state, so `set_random_seed()`
            governs it.
    """

    def __init__(self, seed=None):
        self.seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))
        self.passes = 0

    def get_state(self) -> dict:
        """The seed and the passes begun: together they decide every later pass's draws."""
        return {"seed": self.seed, "passes": self.passes}

    def set_state(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self.passes = int(state["passes"])

    def _next_rng(self, same_each_pass: bool = False) -> np.random.Generator:
        """The generator of the pass now beginning (the first pass's again if
        `same_each_pass`)."""
        rng = np.random.default_rng([self.seed, 0 if same_each_pass else self.passes])
        self.passes += 1
        return rng


def iterate_plan(plan):
    source, rows = plan
    for row in rows:
        yield source.element(int(row))


class TensorSlices(Node):
    """The rows of in-memory arrays / tensors, nested in tuples or dicts."""

    def __init__(self, tensors):
        self.tensors = structure.to_element(tensors)
        leaves = tree.flatten(self.tensors)
        sizes = {tuple(structure.leaf_shape(leaf))[:1] for leaf in leaves}
        if any(size == () for size in sizes):
            raise ValueError(
                "Dataset.from_tensor_slices expects every component to have a first (batch) "
                "axis to slice; received a scalar. Hint: wrap a single value in a list, "
                "from_tensor_slices([value])."
            )
        if len(sizes) != 1:
            shapes = [structure.leaf_shape(leaf) for leaf in leaves]
            raise ValueError(
                "Dataset.from_tensor_slices expects all components to have the same first "
                f"dimension; received shapes {shapes}. Hint: x and y must hold the same number "
                "of samples."
            )
        self.length = int(next(iter(sizes))[0])

    def cardinality(self) -> int:
        return self.length

    def plan(self):
        return self, np.arange(self.length)

    def iterate(self):
        return iterate_plan(self.plan())

    def element(self, row: int):
        return tree.map_structure(lambda leaf: structure.row_of(leaf, row), self.tensors)

    def gather(self, rows: np.ndarray):
        """The rows `rows` as one batch: a slice when they are consecutive, else a gather."""
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
            index = slice(int(rows[0]), int(rows[-1]) + 1)
            return tree.map_structure(lambda leaf: leaf[index], self.tensors)
        return tree.map_structure(lambda leaf: structure.slice_leaf(leaf, rows), self.tensors)


class Windows(Node):
    """The sliding windows of a series (`timeseries_dataset_from_array`), addressable by row.

    Row i is the window `series[starts[i] + offsets]` and, with targets, `targets[starts[i]]`.
    Rows are read on demand, so no window is stored twice; `batch` gathers a whole batch of windows
    with one indexing call, as it does for tensor slices.
    """

    def __init__(self, series, targets, starts: np.ndarray, offsets: np.ndarray):
        # Kept as NumPy: np.take gathers single-threaded, so a prefetching pipeline never competes
        # with the training step for torch's intra-op threads; each batch is then a fresh array
        # that becomes a tensor without a copy.
        self.series = np.asarray(series)
        self.targets = None if targets is None else np.asarray(targets)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)

    def cardinality(self) -> int:
        return len(self.starts)

    def plan(self):
        return self, np.arange(len(self.starts))

    def iterate(self):
        return iterate_plan(self.plan())

    def _read(self, starts):
        windows = np.take(self.series, starts[..., None] + self.offsets, axis=0)
        if self.targets is None:
            return structure.to_leaf(windows)
        return structure.to_element((windows, np.take(self.targets, starts, axis=0)))

    def element(self, row: int):
        return self._read(self.starts[row])

    def gather(self, rows: np.ndarray):
        return self._read(self.starts[rows])


class Range(Node):
    """Integers `start, start + step, ...` below `stop`, as int64 scalars, made lazily."""

    def __init__(self, start: int, stop: int, step: int):
        if step == 0:
            raise ValueError("Dataset.range expects a non-zero step; received step=0.")
        self.values = range(int(start), int(stop), int(step))

    def cardinality(self) -> int:
        return len(self.values)

    def iterate(self):
        for value in self.values:
            yield torch.tensor(value, dtype=torch.int64)


class Generator(Node):
    """Elements yielded by `generator(*args)`, called afresh for every pass."""

    def __init__(self, generator, args=None):
        if not callable(generator):
            raise TypeError(
                "Dataset.from_generator expects a callable that returns an iterator (for example "
                f"a generator function); received {type(generator).__name__}. Hint: pass the "
                "function itself, `from_generator(gen)`, not `from_generator(gen())`."
            )
        self.generator = generator
        self.args = tuple(args) if args is not None else ()

    def iterate(self):
        for element in self.generator(*self.args):
            yield structure.to_element(element)


class Zip(Node):
    """Elements of several pipelines side by side; stops with the shortest."""

    def __init__(self, nodes, structure_of):
        self.nodes = list(nodes)
        self.structure_of = structure_of  # rebuilds the user's tuple or dict from a list

    def cardinality(self) -> int:
        counts = [node.cardinality() for node in self.nodes]
        finite = [c for c in counts if c >= 0]
        if finite:
            return min(finite) if UNKNOWN not in counts or min(finite) == 0 else UNKNOWN
        return UNKNOWN if UNKNOWN in counts else INFINITE

    def iterate(self):
        iterators = [node.iterate() for node in self.nodes]
        # Stops with the shortest member, as tf.data does: strict=False on purpose.
        for elements in zip(*iterators, strict=False):
            yield self.structure_of(list(elements))


def existing_files(filenames, who: str, kind: str) -> list[str]:
    """`filenames` (a path or a list / array of them) as a list of paths, each checked to be a
    file: `who` (the reader) names the missing one."""
    if isinstance(filenames, (str, os.PathLike)) or np.ndim(filenames) == 0:
        filenames = [filenames]
    paths = [os.fspath(str(name)) for name in np.asarray(filenames, dtype=object).ravel()]
    for name in paths:
        if not os.path.isfile(name):
            raise FileNotFoundError(
                f"{who} expects existing {kind} files; {name!r} is not a file. Hint: check the "
                "path, or list files with Dataset.list_files(pattern)."
            )
    return paths


def matching_files(file_pattern, who: str) -> list[str]:
    """The sorted paths matching `file_pattern` (a glob, or a list of globs); none raises,
    naming `who` and the pattern."""
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else file_pattern
    paths = sorted({path for p in patterns for path in glob.glob(os.fspath(p))})
    if not paths:
        raise FileNotFoundError(
            f"{who} found no file matching {file_pattern!r}. Hint: check the pattern (globs "
            "such as `data/*.csv` are matched from the working directory)."
        )
    return paths


class TextLines(Node):
    """The lines of text files, one element each (a 0-d str array, without its line ending),
    read lazily, file after file; UTF-8, as tf.data reads them."""

    def __init__(self, filenames, skip_header_lines: int = 0):
        self.filenames = existing_files(filenames, "TextLineDataset", "text")
        self.skip_header_lines = int(skip_header_lines)

    def iterate(self):
        for name in self.filenames:
            with open(name, "rb") as lines:  # split at "\n" only, as tf.data does
                for number, line in enumerate(lines):
                    if number < self.skip_header_lines:
                        continue
                    line = line[:-1] if line.endswith(b"\n") else line
                    line = line[:-1] if line.endswith(b"\r") else line
                    yield np.asarray(line.decode("utf-8"))
