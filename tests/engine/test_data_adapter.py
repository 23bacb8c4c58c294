"""Batches from every kind of data (engine/data_adapter.py): `steps_per_epoch`,
`validation_steps` and evaluate's `steps` take the batches Keras takes; strings in `x` travel as
host NumPy arrays (torch has no string tensors), so a model with a string `Input` trains,
evaluates and predicts on raw text as Keras's does; strings anywhere else are still refused."""

import random
import warnings

import ml_dtypes
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine import data_adapter
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


def _pydataset_train_order(m):
    """The batches train_step sees over two epochs of fit(shuffle=True) on a PyDataset, with
    Python's generator seeded once the model is built (Keras's first fit peeks a batch)."""
    seen = {"train": []}

    class Recorder(m.Model):
        def train_step(self, data):
            seen["train"].append(int(data[0][0, 0]) // 4)
            return {"loss": torch.zeros(())}

    inputs = m.Input((1,))
    model = Recorder(inputs, m.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    batches = _sources(m)["pydataset"][0][0]
    model.fit(batches, epochs=1, verbose=0)
    random.seed(7)
    seen["train"].clear()
    model.fit(batches, epochs=2, verbose=0)
    return seen["train"]


@pytest.mark.parity
def test_fit_shuffles_a_pydatasets_batch_order_each_epoch_as_keras():
    ours = _pydataset_train_order(lamina)
    assert [sorted(ours[:10]), sorted(ours[10:])] == [list(range(10))] * 2
    assert ours[:10] != list(range(10)) and ours[:10] != ours[10:]
    assert ours == reference.keras_run(_pydataset_train_order)


def test_an_epoch_cut_short_by_the_data_warns_and_training_goes_on():
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"ran out of data after 2 of steps_per_epoch=4 steps"):
        history = model.fit(X, X, batch_size=4, epochs=4, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 4


TEXTS = np.array([["the cat sat"], ["a dog"], ["the dog sat"], ["a cat"], ["sat"]])
LABELS = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]], dtype="float32")


def text_model():
    vectorizer = layers.TextVectorization(output_sequence_length=3)
    vectorizer.adapt(TEXTS)
    text = lamina.Input(shape=(1,), dtype="string")
    vectors = layers.Embedding(vectorizer.vocabulary_size(), 4)(vectorizer(text))
    score = layers.Dense(1)(layers.GlobalAveragePooling1D()(vectors))
    model = lamina.Model(text, score)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_string_x_is_batched_as_numpy_and_shuffled_with_its_labels():
    data = data_adapter.ArrayData(TEXTS, LABELS, batch_size=2, shuffle=True)
    batches = list(data)
    assert [len(x) for x, _, _ in batches] == [2, 2, 1]
    assert all(isinstance(x, np.ndarray) and x.dtype.kind == "U" for x, _, _ in batches)
    pairs = {
        str(text[0]): float(label[0])
        for x, y, _ in batches
        for text, label in zip(x, y.cpu(), strict=True)
    }
    assert pairs == {str(t[0]): float(v[0]) for t, v in zip(TEXTS, LABELS, strict=True)}


def test_strings_as_labels_are_still_refused():
    with pytest.raises(
        ValueError, match=r"y expects a numeric array; received an array of strings"
    ):
        data_adapter.ArrayData(LABELS, TEXTS)


def test_a_string_input_model_fits_evaluates_and_predicts_on_raw_text():
    model = text_model()
    direct = model(TEXTS).detach().cpu().numpy()
    np.testing.assert_allclose(model.predict(TEXTS, batch_size=2, verbose=0), direct, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(TEXTS), direct, rtol=1e-6)
    before = model.evaluate(TEXTS, LABELS, verbose=0)
    history = model.fit(TEXTS, LABELS, batch_size=2, epochs=3, shuffle=True, verbose=0)
    assert len(history.history["loss"]) == 3
    assert model.evaluate(TEXTS, LABELS, verbose=0) < before
    assert torch.isfinite(torch.as_tensor(history.history["loss"])).all()


def _optional_input_program(jit_compile=False, shuffle=False, validation_split=None):
    """A dict-input model whose optional input "o" is left out (None) in the data, as Keras
    takes it: fit / evaluate / predict run and give the numbers of the model without "o"."""

    def program(m):
        m.utils.set_random_seed(0)

        class AddIfGiven(m.layers.Layer):
            def call(self, x, o=None):
                return x if o is None else x + o

            def compute_output_shape(self, x_shape, o_shape=None):
                return x_shape

        x_in, o_in = m.Input((2,), name="x"), m.Input((2,), name="o", optional=True)
        dense = m.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
        model = m.Model({"x": x_in, "o": o_in}, dense(AddIfGiven()(x_in, o_in)))
        model.compile(loss="mse", optimizer="sgd", jit_compile=jit_compile)
        x = {"x": np.arange(16, dtype="float32").reshape(8, 2) / 16, "o": None}
        y = np.ones((8, 2), "float32")
        history = model.fit(
            x,
            y,
            batch_size=4,
            epochs=2,
            verbose=0,
            shuffle=shuffle,
            validation_split=validation_split,
        )
        loss = model.evaluate(x, y, batch_size=4, verbose=0)
        return history.history["loss"], loss, model.predict(x, batch_size=4, verbose=0)

    return program


def test_an_optional_input_left_out_as_none_in_the_data_trains_as_keras():
    ours = _optional_input_program()(lamina)
    theirs = reference.keras_run(_optional_input_program())
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], reference.keras.ops.convert_to_numpy(theirs[2]), rtol=1e-5)


def test_an_optional_input_left_out_survives_shuffling_splitting_and_the_captured_step():
    losses, _, predictions = _optional_input_program(shuffle=True, validation_split=0.25)(lamina)
    assert len(losses) == 2 and predictions.shape == (8, 2)
    losses, _, predictions = _optional_input_program(jit_compile=True)(lamina)
    assert np.isfinite(losses).all() and predictions.shape == (8, 2)


def test_every_input_none_is_not_array_data():
    assert not data_adapter.is_array_like({"x": None, "o": None})
    assert data_adapter.is_array_like({"x": X, "o": None})


def test_a_generators_batches_convert_alone_or_nested_bfloat16_and_float64_too():
    """A lone array (converted without a structure walk), a dict with an input left out, labels
    and weights: each leaf becomes a floatx tensor, ml_dtypes' bfloat16 and float64 included."""
    lone = np.array([[1.5, -0.25]], dtype=ml_dtypes.bfloat16)
    nested = {"a": np.ones((1, 2)), "b": None}
    source = iter([(lone,), (nested, np.zeros((1, 1)), np.full(1, 2))])
    batches = list(data_adapter.IterableData(source, device=torch.device("cpu")))
    x, y, weights = batches[0]
    assert x.dtype == torch.float32 and x.tolist() == [[1.5, -0.25]] and y is None
    x, y, weights = batches[1]
    assert x["b"] is None and x["a"].dtype == torch.float32 and y.dtype == torch.float32
    assert weights.dtype == torch.float32 and weights.tolist() == [2.0]


@pytest.mark.parametrize("shuffle", [False, "batch"])
def test_array_batches_of_lone_tensors_cover_every_sample_once_the_last_one_short(shuffle):
    x = np.arange(10, dtype="float32").reshape(10, 1)
    data = data_adapter.ArrayData(x, x * 2, np.arange(10), batch_size=4, shuffle=shuffle)
    batches = list(data)
    assert sorted(len(bx) for bx, _, _ in batches) == [2, 4, 4]
    seen = torch.cat([bx for bx, _, _ in batches]).flatten()
    assert sorted(seen.tolist()) == list(range(10))
    for bx, by, weights in batches:
        assert torch.equal(by, bx * 2) and torch.equal(weights, bx.flatten())


def test_to_tensor_keeps_text_of_any_array_kind_and_refuses_ragged_objects():
    cpu = torch.device("cpu")
    words = np.array(["a", "bc"], dtype=object)
    assert data_adapter.to_tensor(words, cpu).tolist() == ["a", "bc"]
    assert data_adapter.to_tensor(np.array([b"a"]), cpu).dtype.kind == "U"
    assert data_adapter.to_tensor([[1, 2]], cpu).dtype == torch.int64  # a list: converted
    ragged = np.empty(2, dtype=object)
    ragged[:] = [[1], [2, 3]]
    with pytest.raises(ValueError, match="pad ragged sequences"):
        data_adapter.to_tensor(ragged, cpu)
    with pytest.raises(ValueError, match="an array of strings"):
        data_adapter.to_tensor(np.array(["a"]), cpu, name="y")
