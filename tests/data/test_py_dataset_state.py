"""PyDataset.get_state / set_state: a freshly built dataset takes the place of one that ran some
epochs, its epoch hooks' reshuffles included (for BackupAndRestore)."""

import numpy as np
import pytest

from lamina.utils import PyDataset


class Reshuffled(PyDataset):
    def __init__(self, generator=None):
        super().__init__()
        self.order = np.arange(6)
        self.generator = generator if generator is not None else np.random

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return self.order[2 * index : 2 * index + 2].astype("float32")

    def on_epoch_end(self):
        self.generator.shuffle(self.order)


def run_epochs(dataset, count):
    for _ in range(count):
        list(dataset.iter_epoch())


def test_a_reshuffle_with_numpys_global_generator_is_replayed_exactly():
    np.random.seed(0)
    first = Reshuffled()
    run_epochs(first, 3)
    state = first.get_state()
    assert [entry["hook"] for entry in state["hooks"]] == ["on_epoch_end"] * 3
    assert set(state["hooks"][0]["rng"]) == {"numpy"}  # only the generator it drew from
    np.random.seed(99)  # a restarted process: the global generator is elsewhere
    drawn_next = np.random.get_state()[1].copy()
    fresh = Reshuffled()
    fresh.set_state(state)
    assert np.array_equal(fresh.order, first.order)
    assert not np.array_equal(first.order, np.arange(6))
    assert np.array_equal(np.random.get_state()[1], drawn_next)  # set_state left it alone


def test_a_reshuffle_with_the_datasets_own_generator_records_no_generator():
    first = Reshuffled(np.random.RandomState(4))
    run_epochs(first, 2)
    state = first.get_state()
    assert [entry["rng"] for entry in state["hooks"]] == [{}, {}]
    fresh = Reshuffled(np.random.RandomState(4))
    fresh.set_state(state)
    assert np.array_equal(fresh.order, first.order)
    # Partly run already: only the hooks it has not run are run.
    partly = Reshuffled(np.random.RandomState(4))
    run_epochs(partly, 1)
    partly.set_state(state)
    assert np.array_equal(partly.order, first.order)


def test_a_dataset_past_the_state_is_refused():
    ahead = Reshuffled(np.random.RandomState(4))
    run_epochs(ahead, 2)
    with pytest.raises(ValueError, match="after 1 epoch hook calls.*already run 2.*freshly built"):
        ahead.set_state({"hooks": ahead.get_state()["hooks"][:1]})


def test_hooks_left_as_inherited_are_not_recorded():
    class Plain(PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros((1, 1), "float32")

    plain = Plain()
    run_epochs(plain, 2)
    assert plain.get_state() == {"hooks": []}
