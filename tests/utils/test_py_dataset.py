"""PyDataset (utils/py_dataset.py): a subclass may give its size as Keras's `num_batches`
property instead of `__len__`, and None there makes an infinite dataset that `fit` reads for
`steps_per_epoch` batches, with or without worker threads, as Keras does. As an iterable it
yields one pass of `len()` batches (endless when infinite), so loops and `adapt()` end."""

import itertools

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.utils import PyDataset
from tests.parity import reference


def _fit(m, infinite, workers):
    class Batches(m.utils.PyDataset):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

        @property
        def num_batches(self):
            return None if infinite else 4

        def __getitem__(self, index):
            self.seen.append(index)
            x = np.full((2, 3), index % 4, "float32")
            return x, x[:, :1]

    m.utils.set_random_seed(0)
    model = m.Sequential([m.Input((3,)), m.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    data = Batches(workers=workers)
    steps = 3 if infinite else None
    history = model.fit(data, epochs=2, steps_per_epoch=steps, verbose=0, shuffle=False)
    return history.history["loss"], data


@pytest.mark.parametrize("infinite", [False, True], ids=["sized", "infinite"])
@pytest.mark.parametrize("workers", [1, 2])
def test_num_batches_sizes_a_pydataset_as_keras(infinite, workers):
    ours, data = _fit(lamina, infinite, workers)
    theirs, _ = reference.keras_run(lambda m: _fit(m, infinite, 1))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    if not infinite:
        assert len(data) == 4


def test_an_infinite_pydataset_has_no_length():
    _, data = _fit(lamina, True, 1)
    with pytest.raises(TypeError, match="infinite"):
        len(data)
    with pytest.raises(NotImplementedError, match="num_batches property"):
        len(lamina.utils.PyDataset())


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


def test_an_infinite_pydataset_iterates_for_as_long_as_it_is_read():
    class Endless(PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            return np.full((1,), index)

    assert [int(b[0]) for b in itertools.islice(Endless(), 5)] == [0, 1, 2, 3, 4]
