"""Stages that group elements: window, group_by_window (and bucket_by_sequence_length on top of
it), scan and unique, with tf.data's semantics and element order.

A window is itself a Dataset. Nodes cannot import `Dataset` (dataset.py imports them), so the
stages that hand Datasets to user code receive the class as `wrap`.
"""

from __future__ import annotations

import collections
import itertools

import numpy as np
import torch

from lamina import tree
from lamina.data import structure
from lamina.data.sources import INFINITE, UNKNOWN, Node
from lamina.data.transforms import call_with_element


class Elements(Node):
    """A fixed list of elements held in memory: the contents of one window."""

    def __init__(self, elements: list):
        self.elements = elements

    def cardinality(self) -> int:
        return len(self.elements)

    def iterate(self):
        return iter(self.elements)


def _positive(value, method: str, argument: str) -> int:
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"Dataset.{method} expects {argument} to be a positive int; received {value!r}."
        )
    return int(value)


class Window(Node):
    """Windows of `size` elements, `stride` apart within a window, a new window every `shift`
    elements. Each window is a structure of Datasets shaped like the element (tf.data's), so a
    tuple element gives a tuple of Datasets, to be joined again with `Dataset.zip`."""

    def __init__(self, upstream: Node, size, shift, stride, drop_remainder: bool, wrap):
        self.upstream = upstream
        self.size = _positive(size, "window", "size")
        self.shift = self.size if shift is None else _positive(shift, "window", "shift")
        self.stride = _positive(stride, "window", "stride")
        self.drop_remainder = bool(drop_remainder)
        self.wrap = wrap

    @property
    def span(self) -> int:
        """How many upstream elements one full window covers."""
        return (self.size - 1) * self.stride + 1

    def cardinality(self) -> int:
        count = self.upstream.cardinality()
        if count in (INFINITE, UNKNOWN):
            return count
        if self.drop_remainder:
            return max(0, (count - self.span) // self.shift + 1)
        return -(-count // self.shift)

    def iterate(self):
        upstream = iter(self.upstream.iterate())
        buffer = collections.deque()
        exhausted = False
        while True:
            while not exhausted and len(buffer) < self.span:
                try:
                    buffer.append(next(upstream))
                except StopIteration:
                    exhausted = True
            if not buffer or (self.drop_remainder and len(buffer) < self.span):
                return
            chosen = list(itertools.islice(buffer, 0, self.span, self.stride))
            yield self._as_datasets(chosen)
            # The next window starts `shift` elements later, which may be past the buffer.
            for _ in range(self.shift):
                if buffer:
                    buffer.popleft()
                elif exhausted or next(upstream, None) is None:
                    exhausted = True
                    break

    def _as_datasets(self, elements: list):
        first = elements[0]
        if not tree.is_nested(first):
            return self.wrap(Elements(elements))
        columns = [tree.flatten(element) for element in elements]
        datasets = [self.wrap(Elements(list(column))) for column in zip(*columns, strict=True)]
        return tree.pack_sequence_as(first, datasets)


def _key_of(value, method: str) -> int:
    """A grouping key: a Python int or an integer scalar tensor."""
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point():
        return int(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(
        f"Dataset.{method} expects key_func to return an int64 scalar; received "
        f"{type(value).__name__} {structure.leaf_shape(value) or value!r}. Hint: return "
        "ops.cast(key, 'int64')."
    )


class GroupByWindow(Node):
    """Elements routed by `key_func` into groups; each group, when it holds `window_size`
    elements (or at the end, whatever it holds), becomes a Dataset passed with its key to
    `reduce_func`, whose Dataset's elements follow. At the end, groups are flushed in key order,
    as tf.data does."""

    def __init__(self, upstream: Node, key_func, reduce_func, window_size, window_size_func, wrap):
        if (window_size is None) == (window_size_func is None):
            raise ValueError(
                "Dataset.group_by_window expects exactly one of window_size and window_size_func; "
                f"received window_size={window_size!r}, window_size_func={window_size_func!r}."
            )
        self.upstream = upstream
        self.key_func = key_func
        self.reduce_func = reduce_func
        if window_size is not None:
            size = _positive(window_size, "group_by_window", "window_size")
            self.window_size_func = lambda key: size
        else:
            self.window_size_func = window_size_func
        self.wrap = wrap

    def _size_of(self, key: int) -> int:
        return _positive(
            self.window_size_func(torch.tensor(key)), "group_by_window", "window_size_func(key)"
        )

    def _reduced(self, key: int, elements: list):
        with torch.no_grad():
            made = self.reduce_func(torch.tensor(key), self.wrap(Elements(elements)))
        node = getattr(made, "_node", None)
        if not isinstance(node, Node):
            raise TypeError(
                "Dataset.group_by_window expects reduce_func to return a Dataset; received "
                f"{type(made).__name__}. Hint: return window.batch(n) or the window itself."
            )
        return node.iterate()

    def iterate(self):
        groups: dict[int, list] = {}
        sizes: dict[int, int] = {}
        for element in self.upstream.iterate():
            with torch.no_grad():
                key = _key_of(call_with_element(self.key_func, element), "group_by_window")
            if key not in sizes:
                sizes[key] = self._size_of(key)
            group = groups.setdefault(key, [])
            group.append(element)
            if len(group) == sizes[key]:
                del groups[key]
                yield from self._reduced(key, group)
        for key in sorted(groups):
            yield from self._reduced(key, groups[key])


class Scan(Node):
    """`state, out = scan_func(state, element)` for each element in turn, yielding each `out`."""

    def __init__(self, upstream: Node, initial_state, scan_func):
        self.upstream = upstream
        self.initial_state = structure.to_element(initial_state)
        self.scan_func = scan_func

    def cardinality(self) -> int:
        return self.upstream.cardinality()

    def iterate(self):
        state = self.initial_state
        for element in self.upstream.iterate():
            with torch.no_grad():
                made = self.scan_func(state, element)
            if not (isinstance(made, (tuple, list)) and len(made) == 2):
                raise ValueError(
                    "Dataset.scan expects scan_func to return a pair (new_state, output); "
                    f"received {type(made).__name__}. Hint: return state, element."
                )
            state = structure.to_element(made[0])
            yield structure.to_element(made[1])


class Unique(Node):
    """Each distinct element once, at its first occurrence: integer or text scalars only."""

    def __init__(self, upstream: Node):
        self.upstream = upstream

    def iterate(self):
        seen = set()
        for element in self.upstream.iterate():
            key = self._hashable(element)
            if key not in seen:
                seen.add(key)
                yield element

    @staticmethod
    def _hashable(element):
        if (
            isinstance(element, torch.Tensor)
            and element.dim() == 0
            and not (element.is_floating_point() or element.is_complex())
        ):
            return int(element)
        if isinstance(element, np.ndarray) and element.ndim == 0 and structure.is_strings(element):
            return element.item()
        raise TypeError(
            "Dataset.unique expects elements that are integer or string scalars; received "
            f"{type(element).__name__} of shape {structure.leaf_shape(element)}. Hint: map "
            "each element to the scalar that identifies it first."
        )
