"""Stages that join pipelines or fan elements out: from_tensors, concatenate, flat_map, interleave,
sample_from_datasets, choose_from_datasets (tf.data's semantics, element order included)."""

from __future__ import annotations

import numpy as np
import torch

from lamina.data import structure
from lamina.data.sources import INFINITE, UNKNOWN, Node, RandomNode
from lamina.data.transforms import call_with_element


def _sum_cardinalities(counts) -> int:
    """The size of pipelines read one after another."""
    if INFINITE in counts:
        return INFINITE
    if UNKNOWN in counts:
        return UNKNOWN
    return sum(counts)


class FromTensors(Node):
    """The whole of `tensors` as a single element."""

    def __init__(self, tensors):
        self.element = structure.to_element(tensors)

    def cardinality(self) -> int:
        return 1

    def iterate(self):
        yield self.element


class Concatenate(Node):
    """Every element of one pipeline, then every element of the next."""

    def __init__(self, nodes):
        self.nodes = list(nodes)

    def cardinality(self) -> int:
        return _sum_cardinalities([node.cardinality() for node in self.nodes])

    def iterate(self):
        for node in self.nodes:
            yield from node.iterate()


def _dataset_node(made, method: str) -> Node:
    """The pipeline a user's function returned for one element."""
    node = getattr(made, "_node", None)
    if not isinstance(node, Node):
        raise TypeError(
            f"Dataset.{method} expects its function to return a Dataset for each element; "
            f"received {type(made).__name__}. Hint: wrap values with Dataset.from_tensors(x) or "
            "Dataset.from_tensor_slices(x)."
        )
    return node


class FlatMap(Node):
    """The elements of the pipeline `fn(element)` for each element, in order."""

    def __init__(self, upstream: Node, fn):
        self.upstream = upstream
        self.fn = fn

    def iterate(self):
        for element in self.upstream.iterate():
            with torch.no_grad():
                inner = _dataset_node(call_with_element(self.fn, element), "flat_map")
            yield from inner.iterate()


class Interleave(Node):
    """tf.data's interleave: `cycle_length` inner pipelines open at once, `block_length` elements
    from each in turn. A pipeline that runs dry leaves its slot empty until the turn comes round
    again, when the next upstream element opens a new one there, so the order is tf.data's."""

    def __init__(self, upstream: Node, fn, cycle_length: int, block_length: int):
        for name, value in (("cycle_length", cycle_length), ("block_length", block_length)):
            if isinstance(value, bool) or int(value) <= 0:
                raise ValueError(
                    f"Dataset.interleave expects a positive {name}; received {name}={value!r}."
                )
        self.upstream = upstream
        self.fn = fn
        self.cycle_length = int(cycle_length)
        self.block_length = int(block_length)

    def _open(self, element):
        with torch.no_grad():
            return iter(_dataset_node(call_with_element(self.fn, element), "interleave").iterate())

    def iterate(self):
        upstream = iter(self.upstream.iterate())
        slots: list = [None] * self.cycle_length
        upstream_done = False
        slot, taken = 0, 0
        while True:
            if slots[slot] is None and not upstream_done:
                try:
                    slots[slot] = self._open(next(upstream))
                except StopIteration:
                    upstream_done = True
            if slots[slot] is None:
                if upstream_done and all(s is None for s in slots):
                    return
                slot, taken = (slot + 1) % self.cycle_length, 0
                continue
            try:
                element = next(slots[slot])
            except StopIteration:
                slots[slot] = None
                slot, taken = (slot + 1) % self.cycle_length, 0
                continue
            yield element
            taken += 1
            if taken == self.block_length:
                slot, taken = (slot + 1) % self.cycle_length, 0


class SampleFrom(RandomNode):
    """Each element from a member pipeline drawn at random with `weights`. A member that runs dry
    ends the whole pipeline when `stop_on_empty`; otherwise it leaves the draw and the other
    weights are renormalised."""

    def __init__(self, nodes, weights, seed, stop_on_empty: bool):
        self.nodes = list(nodes)
        if not self.nodes:
            raise ValueError("Dataset.sample_from_datasets expects at least one dataset.")
        if weights is None:
            weights = np.full(len(self.nodes), 1.0 / len(self.nodes))
        weights = np.asarray(
            weights.numpy() if isinstance(weights, torch.Tensor) else weights, dtype=np.float64
        )
        if weights.shape != (len(self.nodes),) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                "Dataset.sample_from_datasets expects one non-negative weight per dataset, not "
                f"all zero; received weights={weights.tolist()} for {len(self.nodes)} datasets."
            )
        self.weights = weights
        super().__init__(seed)
        self.stop_on_empty = bool(stop_on_empty)

    def cardinality(self) -> int:
        counts = [node.cardinality() for node in self.nodes]
        if all(count == INFINITE for count in counts):
            return INFINITE
        return UNKNOWN

    def iterate(self):
        rng = self._next_rng()
        iterators = [iter(node.iterate()) for node in self.nodes]
        weights = self.weights.copy()
        while weights.sum() > 0:
            pick = int(rng.choice(len(iterators), p=weights / weights.sum()))
            try:
                yield next(iterators[pick])
            except StopIteration:
                if self.stop_on_empty:
                    return
                weights[pick] = 0.0


class ChooseFrom(Node):
    """Each element from the member pipeline that the next value of `choices` names."""

    def __init__(self, nodes, choices: Node, stop_on_empty: bool):
        self.nodes = list(nodes)
        self.choices = choices
        self.stop_on_empty = bool(stop_on_empty)

    def iterate(self):
        iterators = [iter(node.iterate()) for node in self.nodes]
        for choice in self.choices.iterate():
            if not (isinstance(choice, torch.Tensor) and choice.dim() == 0):
                raise TypeError(
                    "Dataset.choose_from_datasets expects choice_dataset to yield int64 scalars; "
                    f"received {type(choice).__name__} of shape {structure.leaf_shape(choice)}."
                )
            index = int(choice)
            if not 0 <= index < len(iterators):
                raise ValueError(
                    "Dataset.choose_from_datasets received the choice "
                    f"{index}, outside [0, {len(iterators)}) for {len(iterators)} datasets."
                )
            try:
                yield next(iterators[index])
            except StopIteration:
                if self.stop_on_empty:
                    return


def class_of(class_func, element) -> int:
    """`class_func(element)` as a Python int (tf.data's rejection_resample takes an int scalar)."""
    made = call_with_element(class_func, element)
    if isinstance(made, torch.Tensor) and made.dim() == 0 and not made.is_floating_point():
        return int(made)
    if isinstance(made, (int, np.integer)) and not isinstance(made, bool):
        return int(made)
    raise TypeError(
        "Dataset.rejection_resample expects class_func to return an int scalar; received "
        f"{type(made).__name__} {structure.leaf_shape(made) or made!r}."
    )


class RejectionFilter(RandomNode):
    """`(class, element)` pairs, each element kept with probability `accept[class]`; without
    `accept`, with the probability that turns the class counts seen so far (add-one smoothed)
    into `target`, tf.data's rejection sampling when the initial distribution is unknown."""

    def __init__(self, upstream: Node, class_func, target, accept, seed: int):
        self.upstream = upstream
        self.class_func = class_func
        self.target = target
        self.accept = accept
        super().__init__(seed)

    def iterate(self):
        rng = self._next_rng()
        seen = np.zeros(len(self.target))
        for element in self.upstream.iterate():
            label = class_of(self.class_func, element)
            if not 0 <= label < len(self.target):
                raise ValueError(
                    f"Dataset.rejection_resample received the class {label}, outside "
                    f"[0, {len(self.target)}) for a target_dist of {len(self.target)} classes."
                )
            accept = self.accept
            if accept is None:
                seen[label] += 1
                estimate = (seen + 1) / (seen.sum() + len(seen))
                ratio = self.target / estimate
                accept = ratio / ratio.max()
            if rng.random() < accept[label]:
                yield torch.tensor(label), element
