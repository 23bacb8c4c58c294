"""Dataset elements are walked with lamina.tree: namedtuples survive, dict leaves follow Keras's
sorted-key order, and a layer's nested inputs are converted the same way."""

import collections

import numpy as np
import torch

import lamina
from lamina import tree
from lamina.data import structure
from tests.parity.reference import keras_tree

Pair = collections.namedtuple("Pair", ["image", "label"])


def test_namedtuple_elements_survive_slicing_and_batching():
    data = lamina.data.Dataset.from_tensor_slices(
        Pair(np.arange(6, dtype="float32").reshape(3, 2), np.array([0, 1, 2]))
    )
    first = next(iter(data))
    assert isinstance(first, Pair)
    batch = next(iter(data.batch(2)))
    assert isinstance(batch, Pair)
    assert batch.image.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert batch.label.tolist() == [0, 1]
    assert [tuple(e.label.shape) for e in data.batch(2).unbatch()] == [(), (), ()]


def test_dict_elements_keep_their_keys_and_flatten_in_keras_order():
    element = {"zeta": np.ones((4, 1)), "alpha": np.zeros((4, 2)), "mid": (np.ones(4), np.ones(4))}
    batch = next(iter(lamina.data.Dataset.from_tensor_slices(element).batch(4)))
    assert list(batch) == ["zeta", "alpha", "mid"]  # the written order is kept
    shapes = [tuple(leaf.shape) for leaf in tree.flatten(batch)]
    expected = [tuple(np.shape(leaf)) for leaf in keras_tree().flatten(element)]
    assert shapes == expected == [(4, 2), (4,), (4,), (4, 1)]


def test_stack_structures_stacks_namedtuples_and_dicts():
    elements = [
        {"b": Pair(torch.tensor(i), torch.tensor(-i)), "a": torch.tensor([i])} for i in range(3)
    ]
    stacked = structure.stack_structures(elements)
    assert isinstance(stacked["b"], Pair)
    assert stacked["b"].label.tolist() == [0, -1, -2]
    assert stacked["a"].tolist() == [[0], [1], [2]]


def test_to_element_turns_lists_of_arrays_into_tuples_and_keeps_namedtuples():
    element = structure.to_element(
        {"x": [np.ones(2), np.zeros(2)], "y": [1.0, 2.0], "p": Pair(1, None)}
    )
    assert isinstance(element["x"], tuple) and len(element["x"]) == 2
    assert element["y"].dtype == torch.float32 and element["y"].tolist() == [1.0, 2.0]
    assert isinstance(element["p"], Pair) and element["p"].label is None


def test_a_layer_converts_arrays_inside_namedtuples():
    class Sum(lamina.layers.Layer):
        def call(self, inputs):
            return inputs.image + inputs.label

    out = Sum()(Pair(np.ones((2, 2)), np.full((2, 2), 2.0)))
    assert isinstance(out, torch.Tensor) and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
