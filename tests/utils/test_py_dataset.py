"""PyDataset (utils/py_dataset.py): a subclass may give its size as Keras's `num_batches`
property instead of `__len__`, and None there makes an infinite dataset that `fit` reads for
`steps_per_epoch` batches, with or without worker threads, as Keras does."""

import numpy as np
import pytest

import lamina
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
