"""PyDataset as an iterable: one pass of `len()` batches, so loops and `adapt()` end."""

import itertools

import numpy as np
import pytest

from lamina import layers
from lamina.utils import PyDataset


class Rows(PyDataset):
    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        # Any index answers (as a user's dataset usually does): only len() bounds the pass.
        return self.batches[index % len(self.batches)]


def test_iterating_yields_one_pass():
    batches = [np.full((2, 1), i, "float32") for i in range(3)]
    got = list(itertools.islice(Rows(batches), 10))  # bounded: it used to never end
    assert [float(b[0, 0]) for b in got] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "make, batches",
    [
        (lambda: layers.Discretization(num_bins=2), [np.arange(4.0).reshape(2, 2)] * 2),
        (lambda: layers.StringLookup(), [np.array(["a", "b"]), np.array(["b", "c"])]),
        (lambda: layers.Normalization(), [np.ones((2, 3), "float32")] * 2),
    ],
    ids=["discretization", "string_lookup", "normalization"],
)
def test_adapt_on_a_py_dataset_ends(make, batches):
    layer = make()
    layer.adapt(Rows(batches))
    assert layer.get_config()  # adapted without looping for ever
    if isinstance(layer, layers.StringLookup):
        assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]
