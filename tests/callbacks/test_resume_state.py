"""Exact resumes with state outside the model: callbacks (`get_state` / `set_state`), data pipelines
and inputs of every kind. Each case trains once uninterrupted and once interrupted mid-run (a
callback raises; everything is then built afresh, as in a restarted process) and compares the
final weights and the History of the resumed fit bit for bit."""

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers
from lamina.data import Dataset
from lamina.engine.fit_state import TrainingState
from lamina.saving import training_state


class Interrupt(Exception):
    pass


class RaiseAt(callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at
        self.seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.at:
            raise Interrupt
        self.seen += 1


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data():
    rng = np.random.RandomState(3)
    x = rng.normal(size=(56, 5)).astype("float32")
    return x, (x.sum(axis=1, keepdims=True) > 0).astype("float32")


class Reshuffled(lamina.utils.PyDataset):
    """Batches of 8 in an order that `on_epoch_end` reshuffles, with NumPy's global generator or
    with the dataset's own."""

    def __init__(self, own_generator=False):
        super().__init__()
        self.x, self.y = _data()
        self.order = np.arange(len(self.x))
        self.rng = np.random.RandomState(5) if own_generator else np.random

    def __len__(self):
        return len(self.x) // 8

    def __getitem__(self, index):
        rows = self.order[index * 8 : (index + 1) * 8]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.rng.shuffle(self.order)


def _noisy(x, y):
    return x + 0.1 * torch.randn_like(x), y


# Each case: the fit's inputs and its extra callbacks, built afresh for every run.
CASES = {
    "reduce-lr-epoch": lambda: (
        {},
        # Listed after BackupAndRestore: the epoch's backup must wait until it has lowered the rate.
        [callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=10)],
    ),
    "lr-scheduler": lambda: ({}, [callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)]),
    "early-stopping": lambda: (
        {},
        [callbacks.EarlyStopping("loss", patience=1, min_delta=10, restore_best_weights=True)],
    ),
    "dataset-map-noise": lambda: (
        {"x": Dataset.from_tensor_slices(_data()).shuffle(56).map(_noisy).batch(8)},
        [],
    ),
    "dataset-validation": lambda: (
        {"validation_data": Dataset.from_tensor_slices(_data()).shuffle(56).batch(16)},
        [],
    ),
    "pydataset-own-generator": lambda: ({"x": Reshuffled(own_generator=True)}, []),
    "class-weight": lambda: ({"class_weight": {0: 0.3, 1: 2.0}, "validation_split": 0.25}, []),
    # Dropout(seed=...) draws from its own SeedGenerator, whose counter the backup must keep.
    "seeded-dropout": lambda: ({}, []),
}
SAVE_FREQ = {"reduce-lr-epoch": "epoch", "early-stopping": "epoch"}


def _fit(case, folder, interrupt_at=None):
    lamina.utils.set_random_seed(11)
    lamina.backend.clear_session()
    model = lamina.Sequential(
        [
            layers.Input((5,)),
            layers.Dense(8, activation="tanh"),
            layers.Dropout(0.25, seed=5 if case == "seeded-dropout" else None),
            layers.BatchNormalization(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=lamina.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    inputs, extra = CASES[case]()
    if "x" not in inputs:
        x, y = _data()
        inputs = {"x": x, "y": y, "batch_size": 8, "shuffle": True, **inputs}
    backup = callbacks.BackupAndRestore(folder, save_freq=SAVE_FREQ.get(case, 3))
    stop = [] if interrupt_at is None else [RaiseAt(interrupt_at)]
    history = model.fit(**inputs, epochs=3, verbose=0, callbacks=[backup, *extra, *stop])
    return model, history


@pytest.mark.parametrize("case", list(CASES))
def test_interrupted_fit_with_state_outside_the_model_resumes_exactly(tmp_path, case):
    reference, expected = _fit(case, tmp_path / "reference")
    with pytest.raises(Interrupt):  # 7 batches per epoch: global batch 11 is epoch 1, batch 4
        _fit(case, tmp_path / "run", interrupt_at=11)
    resumed, history = _fit(case, tmp_path / "run")
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)
    first = history.epoch[0] if history.epoch else len(expected.epoch)
    assert first == 1
    assert history.epoch == expected.epoch[first:]
    for key, values in expected.history.items():
        assert np.array_equal(history.history[key], values[first:]), key


def test_the_cases_change_what_they_claim(tmp_path):
    """The cases above would pass trivially if their state never changed: it does."""
    _, history = _fit("reduce-lr-epoch", tmp_path / "reduce")
    # logged before it lowers, as the float32 values Keras's rate variable holds
    assert history.history["learning_rate"] == [float(np.float32(r)) for r in (0.1, 0.1, 0.05)]
    _, history = _fit("early-stopping", tmp_path / "early")
    assert history.epoch == [0, 1]  # stopped after epoch 1: it waited one epoch, patience 1


# --------------------------------------------------------------------------------------------------
# The protocol's pieces


def test_callback_states_round_trip():
    plateau = callbacks.ReduceLROnPlateau(patience=3)
    plateau.best, plateau.wait, plateau.cooldown_counter = 0.25, 2, 1
    fresh = callbacks.ReduceLROnPlateau(patience=3)
    fresh.set_state(plateau.get_state())
    assert (fresh.best, fresh.wait, fresh.cooldown_counter) == (0.25, 2, 1)
    assert callbacks.Callback().get_state() is None  # stateless: not backed up
    assert callbacks.History().get_state() is None


def test_unsupported_state_values_are_refused(tmp_path):
    class Holds(callbacks.Callback):
        def get_state(self):
            return {"thing": object()}

    model = lamina.Sequential([layers.Input((5,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    backup = callbacks.BackupAndRestore(tmp_path, save_freq=1)
    with pytest.raises(
        TypeError, match=r"cannot store Holds.get_state\(\)\['thing'\]: .*received a object"
    ):
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[backup, Holds()])


def test_state_tree_round_trips_every_kind(tmp_path):
    class Holds(callbacks.Callback):
        def get_state(self):
            return STATE

    STATE = {
        "none": None,
        "flag": True,
        "count": 7,
        "value": float("inf"),
        "name": "adam",
        "nested": [1, [2.5, None], {"a": np.arange(3, dtype=np.int16)}],
        "empty": {},
    }
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.training_state = TrainingState([Holds()])
    state = lamina.backend.get_rng_state()
    training_state.write(
        tmp_path / "s.h5",
        model,
        epoch=0,
        step=0,
        batches_seen=0,
        epoch_start_rng=state,
        rng=state,
        callbacks=model.training_state.callback_states(),
    )
    [(name, restored)] = training_state.read(tmp_path / "s.h5", model)["callbacks"]
    assert name == "Holds"
    array = restored["nested"][2]["a"]
    assert array.dtype == np.int16 and array.tolist() == [0, 1, 2]
    restored["nested"][2]["a"] = STATE["nested"][2]["a"] = None
    assert restored == STATE
    assert [type(restored[k]) for k in ("flag", "count", "value", "name")] == [
        bool,
        int,
        float,
        str,
    ]


def test_changed_callbacks_are_not_restored_with_a_warning(tmp_path):
    with pytest.raises(Interrupt):
        _fit("reduce-lr-epoch", tmp_path, interrupt_at=11)
    lamina.backend.clear_session()
    model = lamina.Sequential([layers.Input((5,)), layers.Dense(8), layers.Dropout(0.25)])
    model.add(layers.BatchNormalization())
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=lamina.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    backup = callbacks.BackupAndRestore(tmp_path, save_freq="epoch")
    with pytest.warns(UserWarning, match=r"callbacks \['ReduceLROnPlateau'\], but this fit has"):
        model.fit(
            *_data(), epochs=2, verbose=0, callbacks=[backup, callbacks.EarlyStopping("loss")]
        )
