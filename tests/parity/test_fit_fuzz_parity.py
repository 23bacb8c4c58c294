"""fit / evaluate / predict cases a differential fuzz against Keras 3 (torch backend) found apart:
tiny Dense models with the same weights and data, `shuffle=False`, run in both."""

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _model(module, weights=None, dtype=None):
    model = module.Sequential(
        [
            module.Input((3,), dtype=dtype),
            module.layers.Dense(4, activation="tanh", dtype=dtype),
            module.layers.Dense(2, dtype=dtype),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=module.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    return model


def _batch_counter(module):
    class Batches(module.callbacks.Callback):
        """The batches each train epoch and each evaluation ran."""

        def __init__(self):
            super().__init__()
            self.train, self.test, self.predict = [], [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.train.append(0)

        def on_train_batch_end(self, batch, logs=None):
            self.train[-1] += 1

        def on_test_begin(self, logs=None):
            self.test.append(0)

        def on_test_batch_end(self, batch, logs=None):
            self.test[-1] += 1

        def on_predict_batch_end(self, batch, logs=None):
            self.predict.append(batch)

    return Batches()


def _data(samples=19, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((samples, 3)).astype("float32"),
        rng.standard_normal((samples, 2)).astype("float32"),
    )


def _both(run):
    """`run(module, model, counter)` in Keras and lamina from the same weights."""
    weights = _model(keras).get_weights()
    results = []
    for module in (keras, lamina):
        model, counter = _model(module, weights), _batch_counter(module)
        results.append((run(module, model, counter), counter, model.get_weights()))
    return results


FIT_WITH_STEPS = {
    "steps-per-epoch": {"steps_per_epoch": 2},
    "steps-per-epoch-3": {"steps_per_epoch": 3, "epochs": 2},
    "validation-steps": {"validation_data": _data(7, seed=1), "validation_steps": 2},
    "split-and-steps": {"validation_split": 0.25, "steps_per_epoch": 2, "validation_steps": 3},
}


@pytest.mark.parity
@pytest.mark.parametrize("options", list(FIT_WITH_STEPS.values()), ids=list(FIT_WITH_STEPS))
def test_steps_without_a_batch_size_split_the_arrays_into_that_many_batches(options):
    """Keras's array rule: with `steps` and no batch size, a batch is ceil(samples / steps)
    (32 only without steps). lamina took 32, so 19 samples made one batch: fit ran one step an
    epoch where Keras ran two (other weights, other losses)."""
    x, y = _data()

    def run(module, model, counter):
        history = model.fit(x, y, shuffle=False, verbose=0, callbacks=[counter], **options)
        return history.history

    (theirs, their_counts, their_weights), (ours, our_counts, our_weights) = _both(run)
    assert our_counts.train == their_counts.train
    assert our_counts.test == their_counts.test
    assert set(ours) == set(theirs)
    for key, values in theirs.items():
        np.testing.assert_allclose(ours[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    for mine, reference in zip(our_weights, their_weights, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
def test_evaluate_and_predict_with_steps_batch_as_keras():
    x, y = _data()

    def run(module, model, counter):
        result = model.evaluate(x, y, steps=3, verbose=0, callbacks=[counter], return_dict=True)
        model.predict(x, steps=2, verbose=0, callbacks=[counter])
        return result

    (theirs, their_counts, _), (ours, our_counts, _) = _both(run)
    assert our_counts.test == their_counts.test == [3]
    assert our_counts.predict == their_counts.predict == [0, 1]
    assert ours == pytest.approx(theirs, rel=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("optimizer", ["Adam", "SGD"])
def test_fit_reads_a_callable_learning_rate_at_every_step(optimizer):
    """A zero-argument `learning_rate` a callback lowers after each batch: Keras reads it at
    every update; lamina's fit (its captured step too) kept the rate of the first."""
    # In float64: in float32, Adam's rounding (torch's update against Keras's) moved a weight by
    # up to 2e-6 in 15 steps from some of Keras's random starting weights, so the outcome hung on
    # the tests run before this one. In float64 the two agree to 5e-8 (Keras keeps the learning
    # rate in a float32 variable); reading the rate once moves the losses by 1e-1.
    x, y = (array.astype("float64") for array in _data(20))
    weights = _model(keras, dtype="float64").get_weights()
    results = []
    for module in (keras, lamina):
        rate = [0.1]

        class Lower(module.callbacks.Callback):
            def __init__(self, rate):
                super().__init__()
                self.rate = rate

            def on_train_batch_end(self, batch, logs=None):
                self.rate[0] *= 0.7

        model = _model(module, weights, dtype="float64")
        model.compile(
            optimizer=getattr(module.optimizers, optimizer)(learning_rate=lambda r=rate: r[0]),
            loss="mse",
        )
        history = model.fit(
            x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[Lower(rate)]
        )
        results.append((history.history["loss"], model.get_weights()))
    (their_loss, their_weights), (our_loss, our_weights) = results
    np.testing.assert_allclose(our_loss, their_loss, rtol=1e-5)
    for mine, reference in zip(our_weights, their_weights, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def _two_heads(module, weights=None):
    inputs = module.Input((3,))
    hidden = module.layers.Dense(4, activation="tanh")(inputs)
    model = module.Model(
        inputs, [module.layers.Dense(2)(hidden), module.layers.Dense(2, name="side")(inputs)]
    )
    if weights is not None:
        model.set_weights(weights)
    return model


@pytest.mark.parity
@pytest.mark.parametrize("optimizer", ["Adam", "Nadam", "SGD"])
def test_freezing_and_compiling_again_with_the_same_optimizer_keeps_its_state(optimizer):
    """fit, freeze a layer, compile again with `model.optimizer`, fit, unfreeze, fit: Keras's
    optimizer keeps every weight's slots and its count throughout. lamina re-made its torch
    optimizer over the new trainable set with fresh slots (the kept weights' moments and bias
    corrections restarted) and the unfrozen layer's slots were lost."""
    x, y = _data(20)
    weights = _two_heads(keras).get_weights()
    options = {"momentum": 0.9} if optimizer == "SGD" else {}
    results = []
    for module in (keras, lamina):
        model = _two_heads(module, weights)
        model.compile(getattr(module.optimizers, optimizer)(0.05, **options), loss=["mse", "mse"])
        losses = []
        for trainable in (True, False, True):
            model.get_layer("side").trainable = trainable
            model.compile(optimizer=model.optimizer, loss=["mse", "mse"])
            history = model.fit(x, [y, y], batch_size=5, epochs=1, shuffle=False, verbose=0)
            losses += history.history["loss"]
        results.append((losses, model.get_weights()))
    (their_losses, their_weights), (our_losses, our_weights) = results
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-5)
    for mine, reference in zip(our_weights, their_weights, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-5)


def _two_output_model(module, as_dict):
    inputs = module.Input((3,))
    price = module.layers.Dense(1, name="price")(inputs)
    kind = module.layers.Dense(1, activation="sigmoid", name="kind")(inputs)
    return module.Model(inputs, {"price": price, "kind": kind} if as_dict else [price, kind])


@pytest.mark.parametrize(
    "as_dict, jit_compile", [(True, False), (False, True)], ids=["dict", "list-jit"]
)
def test_sample_weights_per_output_weigh_each_output_as_keras(as_dict, jit_compile):
    # lamina took one weights array only: a dict (or list) of them, one per output, failed with
    # "sample_weight expects one weight per sample (20); received 2 weights".
    rng = np.random.default_rng(7)
    x = rng.random((20, 3)).astype("float32")
    labels = [rng.random((20, 1)).astype("float32"), (rng.random((20, 1)) > 0.5).astype("float32")]
    weights = [rng.random(20).astype("float32"), rng.random(20).astype("float32")]
    y, sample_weight = labels, weights
    loss, weighted = ["mse", "binary_crossentropy"], [["mae"], ["accuracy"]]
    if as_dict:
        y, sample_weight = (
            dict(zip(["price", "kind"], labels, strict=True)),
            {
                "price": weights[0],
                "kind": weights[1],
            },
        )
        loss = {"price": "mse", "kind": "binary_crossentropy"}
        weighted = {"price": ["mae"], "kind": ["accuracy"]}
    reference = _two_output_model(keras, as_dict)
    ours = _two_output_model(lamina, as_dict)
    ours.set_weights(reference.get_weights())
    reference.compile(optimizer="sgd", loss=loss, weighted_metrics=weighted)
    ours.compile(optimizer="sgd", loss=loss, weighted_metrics=weighted, jit_compile=jit_compile)
    run = dict(sample_weight=sample_weight, epochs=2, batch_size=8, shuffle=False, verbose=0)
    expected = reference.fit(x, y, validation_split=0.2, **run).history
    history = ours.fit(x, y, validation_split=0.2, **run).history
    assert sorted(history) == sorted(expected)
    for key, values in expected.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    got = ours.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    want = reference.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def test_sample_weights_for_fewer_outputs_than_the_model_has_are_refused():
    model = _two_output_model(lamina, as_dict=False)
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    x, y = np.ones((4, 3), "float32"), [np.ones((4, 1), "float32")] * 2
    with pytest.raises(ValueError, match=r"sample_weight expects one array, or one per output"):
        model.fit(x, y, sample_weight=[np.ones(4), np.ones(4), np.ones(4)], verbose=0)
