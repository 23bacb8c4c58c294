"""Masks in the loss and the metrics, as Keras applies them: a masked sequence model's padded
steps count in neither (the means are over the valid steps), `ignore_class` samples count out of
sparse cross-entropy's mean, and the captured step's metrics see the same masks."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.parity import reference
from tests.parity.reference import keras

IDS = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [1, 1, 1, 1, 2]])
STEP_LABELS = np.random.default_rng(0).integers(0, 3, (3, 5))
STEP_WEIGHTS = np.array([[1.0, 2, 1, 1, 1], [3, 1, 1, 1, 1], [1, 1, 2, 1, 1]], "float32")


def tagger(L, M):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> Dense(softmax): the embedding's mask
    reaches the outputs through the LSTM and the Dense, as in Keras."""
    return M.Sequential(
        [
            L.Input((5,)),
            L.Embedding(6, 4, mask_zero=True),
            L.LSTM(3, return_sequences=True),
            L.Dense(3, activation="softmax"),
        ]
    )


COMPILE = dict(
    optimizer="sgd",
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
    weighted_metrics=["accuracy"],
)


@pytest.mark.parity
@pytest.mark.parametrize("sample_weight", [None, STEP_WEIGHTS], ids=["unweighted", "weighted"])
def test_padded_steps_count_in_neither_loss_nor_metrics_as_in_keras(sample_weight):
    model = tagger(layers, lamina)
    model.compile(**COMPILE)
    got = model.evaluate(IDS, STEP_LABELS, sample_weight=sample_weight, verbose=0, return_dict=True)
    expected = reference.keras_evaluate(
        tagger, model.get_weights(), IDS, STEP_LABELS, sample_weight, **COMPILE
    )
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


def test_the_mask_is_what_the_means_divide_by():
    model = tagger(layers, lamina)
    model.compile(**COMPILE)
    outputs = model(torch.tensor(IDS))
    valid = torch.tensor(IDS != 0)
    assert torch.equal(outputs._keras_mask, valid)  # through LSTM and Dense
    per_step = lamina.losses.sparse_categorical_crossentropy(torch.tensor(STEP_LABELS), outputs)
    expected = float(per_step[valid].mean().detach())
    assert model.evaluate(IDS, STEP_LABELS, verbose=0, return_dict=True)["loss"] == pytest.approx(
        expected, rel=1e-6
    )


def test_lambda_passes_its_mask_argument_on():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    with pytest.warns(UserWarning, match="does not support masking"):  # Keras's warning too
        assert getattr(layers.Lambda(lambda t: t * 2)(x), "_keras_mask", None) is None
    kept = layers.Lambda(lambda t: t * 2, mask=lambda inputs, mask: mask)(x)
    assert torch.equal(kept._keras_mask, x._keras_mask)


@pytest.mark.parity
def test_ignore_class_is_left_out_of_the_mean_as_in_keras():
    labels = np.array([0, 1, 2, 1])
    probabilities = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]], "float32"
    )
    loss = lamina.losses.SparseCategoricalCrossentropy(ignore_class=1)
    got = float(loss(torch.tensor(labels), torch.tensor(probabilities)))
    # the two samples of class 0 and 2: (-log 0.7 - log 0.6) / 2, where all four would halve it
    assert got == pytest.approx((-np.log(0.7) - np.log(0.6)) / 2, rel=1e-6)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=1)
    expected = float(keras_loss(labels, probabilities))
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_the_captured_step_metrics_see_the_mask():
    histories = []
    for jit_compile in (False, True):
        lamina.utils.set_random_seed(0)
        lamina.backend.clear_session()
        model = tagger(layers, lamina)
        model.compile(**{**COMPILE, "optimizer": "adam"}, jit_compile=jit_compile)
        histories.append(model.fit(IDS, STEP_LABELS, batch_size=3, epochs=3, verbose=0).history)
    eager, captured = histories
    for name, values in eager.items():
        np.testing.assert_allclose(captured[name], values, rtol=1e-5, err_msg=name)
