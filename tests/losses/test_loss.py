"""The loss functions take NumPy arrays as Keras's do (losses/loss.py's `takes_arrays`)."""

import numpy as np
import pytest
import torch

import lamina

_FUNCTIONS = [
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "poisson",
    "kl_divergence",
    "cosine_similarity",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "hinge",
    "squared_hinge",
    "dice",
]


def _values(m, name):
    y_true = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], "float32")
    y_pred = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]], "float32")
    return m.ops.convert_to_numpy(getattr(m.losses, name)(y_true, y_pred))


@pytest.mark.parametrize("name", _FUNCTIONS)
def test_loss_functions_take_numpy_arrays(name):
    values = _values(lamina, name)
    assert np.isfinite(values).all()


def test_sparse_labels_from_numpy_stay_class_ids():
    values = lamina.losses.sparse_categorical_crossentropy(
        np.array([0, 2]), np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]], "float32")
    )
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(values), [np.log(2)] * 2, rtol=1e-6)


def test_a_tensor_prediction_keeps_its_saved_logits():
    logits = torch.tensor([[30.0, 0.0, -30.0]])
    probabilities = lamina.activations.softmax(logits)
    value = lamina.losses.categorical_crossentropy(np.array([[0.0, 0.0, 1.0]]), probabilities)
    assert value.item() == pytest.approx(60.0, rel=1e-5)  # exact, not clipped at -log(1e-7)


@pytest.mark.parity
def test_numpy_loss_values_match_keras():
    from tests.parity import reference

    for name in _FUNCTIONS:
        theirs = reference.keras_run(lambda m, name=name: _values(m, name))
        np.testing.assert_allclose(_values(lamina, name), theirs, rtol=1e-5, atol=1e-6)


def _object_losses(m):
    y_true = np.array([[0.0, 1.0], [1.0, 0.0]])  # float64, as NumPy makes them
    y_pred = np.array([[0.2, 0.8], [0.6, 0.4]])
    made = [m.losses.BinaryCrossentropy(), m.losses.MeanSquaredError(), m.losses.Hinge()]
    values = [loss(y_true, y_pred) for loss in made]
    return [(loss.dtype, str(v.dtype), float(v)) for loss, v in zip(made, values, strict=True)]


@pytest.mark.parity
def test_a_loss_object_computes_in_its_dtype_as_keras():
    from tests.parity import reference

    ours, theirs = _object_losses(lamina), reference.keras_run(_object_losses)
    assert [o[:2] for o in ours] == [t[:2] for t in theirs]  # floatx: float32
    np.testing.assert_allclose([o[2] for o in ours], [t[2] for t in theirs], rtol=1e-6)


def test_a_losses_dtype_is_read_only_as_keras():
    from tests.parity.reference import keras

    for ns in (keras, lamina):
        loss = ns.losses.MeanSquaredError(dtype="float16")
        assert loss.dtype == "float16"
        with pytest.raises(AttributeError):
            loss.dtype = "bfloat16"
