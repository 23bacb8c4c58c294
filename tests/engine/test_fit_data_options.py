"""fit()'s richer options over every kind of source (arrays, generators, lamina.utils.PyDataset,
torch DataLoaders): class_weight, sample_weight, steps_per_epoch, validation_steps,
validation_freq, and custom losses and metrics as functions and classes. Sources that deliver the
same batches train to bit-identical weights; weighting matches Keras."""

import random
import threading

import keras
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import lamina
from lamina import layers
from lamina.utils import PyDataset

RNG = np.random.RandomState(5)
X = RNG.normal(size=(48, 3)).astype("float32")
Y = (X[:, :1] + 0.3 * RNG.normal(size=(48, 1)) > 0.2).astype("float32")
CLASS_WEIGHT = {0: 0.5, 1: 3.0}
SAMPLE_WEIGHT = RNG.uniform(0.1, 2.0, size=(48,)).astype("float32")
BATCH = 12


def _model(loss="binary_crossentropy", metrics=("accuracy",)):
    lamina.utils.set_random_seed(3)
    lamina.backend.clear_session()
    model = lamina.Sequential(
        [
            layers.Input((3,)),
            layers.Dense(4, activation="tanh"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(0.2, momentum=0.5), loss=loss, metrics=list(metrics)
    )
    return model


class Batches(PyDataset):
    """The arrays cut into batches, in order; counts its epoch hooks."""

    def __init__(self, *arrays, fail_at=None, **options):
        super().__init__(**options)
        self.arrays, self.fail_at = arrays, fail_at
        self.begun = self.ended = 0
        self.threads = set()

    def __len__(self):
        return len(self.arrays[0]) // BATCH

    def __getitem__(self, index):
        if index == self.fail_at:
            raise RuntimeError(f"cannot read batch {index}")
        self.threads.add(threading.get_ident())
        return tuple(a[index * BATCH : (index + 1) * BATCH] for a in self.arrays)

    def on_epoch_begin(self):
        self.begun += 1

    def on_epoch_end(self):
        self.ended += 1


def _generator(*arrays, epochs=2):
    for _ in range(epochs):
        for start in range(0, len(arrays[0]), BATCH):
            yield tuple(a[start : start + BATCH] for a in arrays)


SOURCES = {
    "generator": lambda *arrays: _generator(*arrays),
    "pydataset": lambda *arrays: Batches(*arrays),
    "pydataset-3-workers": lambda *arrays: Batches(*arrays, workers=3, max_queue_size=2),
    "dataloader": lambda *arrays: DataLoader(
        TensorDataset(*map(torch.as_tensor, arrays)), batch_size=BATCH
    ),
}


def _steps(source) -> dict:
    # A generator is consumed once: it yields both epochs' batches, steps_per_epoch cuts them
    # (without it the first epoch would take them all and the second warn that data ran out).
    return {"steps_per_epoch": len(X) // BATCH} if source == "generator" else {}


def _weights(model):
    return model.get_weights()


def _assert_same(first, second):
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)


def _fit_arrays(**options):
    model = _model()
    model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, **options)
    return _weights(model)


@pytest.mark.parametrize("source", ["arrays", *SOURCES])
def test_class_weight_equals_the_matching_sample_weight(source):
    expected = _fit_arrays(sample_weight=np.where(Y[:, 0] == 1, 3.0, 0.5).astype("float32"))
    model = _model()
    if source == "arrays":
        model.fit(
            X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, class_weight=CLASS_WEIGHT
        )
    else:
        model.fit(
            SOURCES[source](X, Y),
            epochs=2,
            shuffle=False,
            verbose=0,
            class_weight=CLASS_WEIGHT,
            **_steps(source),
        )
    _assert_same(_weights(model), expected)


@pytest.mark.parametrize("source", list(SOURCES))
def test_sample_weights_from_each_source(source):
    expected = _fit_arrays(sample_weight=SAMPLE_WEIGHT)
    model = _model()
    model.fit(
        SOURCES[source](X, Y, SAMPLE_WEIGHT), epochs=2, shuffle=False, verbose=0, **_steps(source)
    )
    _assert_same(_weights(model), expected)


@pytest.mark.parity
def test_class_and_sample_weights_train_as_in_keras():
    model = _model(metrics=())
    reference = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    reference.set_weights(model.get_weights())
    reference.compile(optimizer=keras.optimizers.SGD(0.2, momentum=0.5), loss="binary_crossentropy")
    options = dict(batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    ours = model.fit(X, Y, class_weight=CLASS_WEIGHT, sample_weight=SAMPLE_WEIGHT, **options)
    # Keras 3 refuses both at once; TensorFlow's Keras multiplies them, and so does lamina.
    combined = SAMPLE_WEIGHT * np.where(Y[:, 0] == 1, 3.0, 0.5).astype("float32")
    theirs = reference.fit(X, Y, sample_weight=combined, **options)
    np.testing.assert_allclose(ours.history["loss"], theirs.history["loss"], rtol=1e-5)
    for mine, keras_weight in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-6)
    found = model.evaluate(X, Y, sample_weight=SAMPLE_WEIGHT, verbose=0)
    assert found == pytest.approx(
        reference.evaluate(X, Y, sample_weight=SAMPLE_WEIGHT, verbose=0), rel=1e-5
    )


def test_steps_per_epoch_keeps_one_generator_across_epochs():
    drawn = []

    def endless():
        index = 0
        while True:
            drawn.append(index)
            start = (index % 4) * BATCH
            yield X[start : start + BATCH], Y[start : start + BATCH]
            index += 1

    model = _model()
    history = model.fit(endless(), steps_per_epoch=3, epochs=3, verbose=0)
    assert model.optimizer.iterations == 9
    assert drawn == list(range(9))  # never restarted, nothing skipped (the build batch is trained)
    assert len(history.history["loss"]) == 3


def test_steps_per_epoch_ends_an_epoch_at_the_end_of_a_pydataset_pass():
    data = Batches(X, Y)  # 4 batches
    model = _model()
    with pytest.warns(UserWarning, match=r"ran out of data after 1 of steps_per_epoch=3 steps"):
        model.fit(data, steps_per_epoch=3, epochs=3, verbose=0)
    # As Keras counts them: 3 steps, the 1 left of the pass, then 3 of a new pass.
    assert model.optimizer.iterations == 7
    assert data.ended >= 1  # the first pass over its 4 batches ended during epoch 2


def test_validation_steps_and_validation_freq():
    drawn = []

    def endless_validation():
        while True:
            drawn.append(1)
            yield X[:BATCH], Y[:BATCH]

    model = _model()
    history = model.fit(
        X,
        Y,
        batch_size=BATCH,
        epochs=4,
        verbose=0,
        validation_data=endless_validation(),
        validation_steps=2,
        validation_freq=2,
    )
    # Validation after epochs 2 and 4 only, two batches each time (as Keras).
    assert len(drawn) == 4
    assert len(history.history["loss"]) == 4
    assert len(history.history["val_loss"]) == len(history.history["val_accuracy"]) == 2
    expected = model.evaluate(X[:BATCH], Y[:BATCH], verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)


def test_validation_data_as_pydataset_and_dataloader():
    model = _model()
    history = model.fit(
        Batches(X, Y),
        epochs=1,
        verbose=0,
        validation_data=DataLoader(
            TensorDataset(torch.as_tensor(X), torch.as_tensor(Y)), batch_size=16
        ),
    )
    expected = model.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-6)


def test_pydataset_hooks_workers_and_errors():
    single, pooled = Batches(X, Y), Batches(X, Y, workers=3, max_queue_size=2)
    results = []
    for data in (single, pooled):
        model = _model()
        random.seed(0)  # the batch order fit(shuffle=True) draws each epoch
        model.fit(data, epochs=3, verbose=0)
        results.append(_weights(model))
        assert (data.begun, data.ended) == (3, 3)
    _assert_same(*results)  # workers load ahead, batches still arrive in the drawn order
    assert len(pooled.threads) >= 2
    with pytest.raises(RuntimeError, match="cannot read batch 2"):
        _model().fit(Batches(X, Y, fail_at=2, workers=2), epochs=1, verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_sample_weight_beside_a_pydataset_is_refused_not_dropped(method):
    # Keras raises here too; lamina used to train as if no weights had been given.
    model = _model()
    with pytest.raises(ValueError, match=r"sample_weight expects None when x is a dataset"):
        getattr(model, method)(Batches(X, Y), sample_weight=np.zeros(len(X)), verbose=0)


class Empty(PyDataset):
    pass


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Empty(workers=0), ValueError, "Empty workers must be a positive integer"),
        (lambda: Empty(max_queue_size=-1), ValueError, "max_queue_size must be a positive"),
        (lambda: Empty()[0], NotImplementedError, r"Empty must implement __getitem__\(index\)"),
        (lambda: len(Empty()), NotImplementedError, r"Empty must implement __len__\(\)"),
    ],
    ids=["workers", "queue", "getitem", "len"],
)
def test_pydataset_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


# --------------------------------------------------------------------------------------------------
# Custom losses and metrics


def squared_error(y_true, y_pred):
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


class SquaredError(lamina.losses.Loss):
    def call(self, y_true, y_pred):
        return torch.mean(torch.square(y_true - y_pred), dim=-1)


def absolute_error(y_true, y_pred):
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


class LargestError(lamina.metrics.Metric):
    """The largest absolute error seen this epoch (a state that is not a mean)."""

    def __init__(self, name="largest_error"):
        super().__init__(name=name)
        self.add_state("largest")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._to(y_pred.device)
        self.largest.copy_(torch.maximum(self.largest, (y_true - y_pred).abs().max()))

    def result(self):
        return self.largest


@pytest.mark.parametrize("loss", [squared_error, SquaredError()], ids=["function", "class"])
def test_custom_losses_train_as_the_builtin(loss):
    builtin = _model(loss="mse", metrics=("mae",))
    expected = builtin.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = _model(loss=loss, metrics=(absolute_error, LargestError()))
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert set(history.history) == {"loss", "absolute_error", "largest_error"}
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(
        history.history["absolute_error"], expected.history["mae"], rtol=1e-6
    )
    for mine, theirs in zip(_weights(model), _weights(builtin), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    largest = np.abs(model.predict(X, verbose=0) - Y).max()
    assert logs["largest_error"] == pytest.approx(float(largest), rel=1e-6)


def test_validation_data_of_inputs_alone_is_batched_by_batch_size():
    # Keras batches an array passed alone as validation_data with validation_batch_size, else
    # batch_size (a custom test_step that draws batch_size noises relies on it).
    seen = []

    class Recorder(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            return {}

        def test_step(self, data):
            seen.append(int(data.shape[0]))
            return {}

    model = Recorder()
    model.compile(optimizer="sgd")
    x = np.zeros((8, 2), "float32")
    model.fit(x, epochs=1, batch_size=4, validation_data=x, verbose=0)
    assert seen == [4, 4]
    seen.clear()
    model.fit(x, epochs=1, batch_size=4, validation_data=x, validation_batch_size=8, verbose=0)
    assert seen == [8]
