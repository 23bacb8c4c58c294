"""Batches from every kind of data (engine/data_adapter.py): `steps_per_epoch`,
`validation_steps` and evaluate's `steps` take the batches Keras takes."""

import warnings

import numpy as np
import pytest
import torch

import lamina
from tests.parity import reference

X = np.arange(40, dtype="float32").reshape(40, 1)  # 10 batches of 4: batch i starts at 4 * i


def _sources(m):
    """The same 10 batches as NumPy arrays, a torch DataLoader and a PyDataset."""

    class Batches(m.utils.PyDataset):
        def __len__(self):
            return 10

        def __getitem__(self, index):
            part = X[4 * index : 4 * (index + 1)]
            return part, part

    tensors = torch.from_numpy(X)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(tensors, tensors), batch_size=4
    )
    return {
        "numpy": ((X, X), {"batch_size": 4, "shuffle": False}),
        "dataloader": ((loader,), {}),
        "pydataset": ((Batches(),), {"shuffle": False}),
    }


def _batch_starts(m, source, fit_kwargs, evaluate=False):
    """The first value of every batch that train_step and test_step see, per phase."""
    seen = {"train": [], "test": []}

    class Recorder(m.Model):
        def train_step(self, data):
            seen["train"].append(int(data[0][0, 0]))
            return {"loss": torch.zeros(())}

        def test_step(self, data):
            seen["test"].append(int(data[0][0, 0]))
            return {"loss": torch.zeros(())}

    inputs = m.Input((1,))
    model = Recorder(inputs, m.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    args, kwargs = _sources(m)[source]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the epoch that reaches the data's end warns
        if evaluate:
            batch_size = {"batch_size": 4} if source == "numpy" else {}
            model.evaluate(*args, steps=3, verbose=0, **batch_size)
            model.evaluate(*args, steps=3, verbose=0, **batch_size)
        else:
            model.fit(*args, verbose=0, **kwargs, **fit_kwargs)
    return seen


CASES = {
    # 4 steps an epoch over 10 batches: epochs share one pass; the third ends at the data's end
    # after 2 steps, the fourth starts a new pass.
    "steps-per-epoch": {"epochs": 5, "steps_per_epoch": 4},
    "steps-divide-the-data": {"epochs": 3, "steps_per_epoch": 5},
}


@pytest.mark.parity
@pytest.mark.parametrize("source", ["numpy", "dataloader", "pydataset"])
@pytest.mark.parametrize("case", list(CASES))
def test_steps_per_epoch_takes_the_batches_keras_takes(source, case):
    ours = _batch_starts(lamina, source, CASES[case])
    theirs = reference.keras_run(lambda m: _batch_starts(m, source, CASES[case]))
    assert ours == theirs


@pytest.mark.parity
@pytest.mark.parametrize("source", ["numpy", "dataloader"])
def test_validation_steps_score_the_same_batches_every_epoch_as_keras(source):
    def run(m):
        args, _ = _sources(m)[source]
        validation = args if source == "numpy" else args[0]
        fit_kwargs = {"epochs": 3, "validation_data": validation, "validation_steps": 3}
        return _batch_starts(m, "numpy", {**fit_kwargs, "validation_batch_size": 4})

    ours = run(lamina)
    assert ours["test"] == [0, 4, 8] * 3
    assert ours == reference.keras_run(run)


@pytest.mark.parity
@pytest.mark.parametrize("source", ["numpy", "dataloader", "pydataset"])
def test_evaluate_steps_take_the_first_batches_as_keras(source):
    ours = _batch_starts(lamina, source, {}, evaluate=True)
    assert ours["test"] == [0, 4, 8] * 2
    assert ours == reference.keras_run(lambda m: _batch_starts(m, source, {}, evaluate=True))


def test_an_epoch_cut_short_by_the_data_warns_and_training_goes_on():
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"ran out of data after 2 of steps_per_epoch=4 steps"):
        history = model.fit(X, X, batch_size=4, epochs=4, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 4
