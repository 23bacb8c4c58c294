"""Training parity: the seeds' make_moons MLP, identical initial weights, the same batches in the
same order (shuffle=False), SGD: lamina's per-epoch losses follow Keras's."""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_moons

import lamina


def build(L, M):
    return M.Sequential([
        L.Dense(10, activation="relu", input_shape=(2,)),
        L.Dense(10, activation="relu"),
        L.Dense(1, activation="sigmoid"),
    ])


@pytest.mark.parity
@pytest.mark.parametrize(
    "optimizer",
    [("SGD", {"learning_rate": 0.1}, 1e-4, 1e-5),
     ("SGD", {"learning_rate": 0.05, "momentum": 0.9}, 1e-4, 1e-5),
     # Adam runs on torch's fused kernel, which adds epsilon after the bias correction where Keras
     # adds it before: weights whose sqrt(v_hat) is near 1e-7 move differently, ~2e-4 of the loss
     # after 40 steps here, and single weights up to ~1e-2 apart; the curve is what is compared.
     ("Adam", {"learning_rate": 0.01}, 1e-3, None)],
    ids=["sgd", "sgd-momentum", "adam"],
)
def test_make_moons_loss_curve_follows_keras(optimizer):
    name, options, rtol, weight_atol = optimizer
    x, y = make_moons(n_samples=400, noise=0.2, random_state=42)  # float64, as the seed has it
    reference = build(keras.layers, keras)
    ours = build(lamina.layers, lamina)
    ours.set_weights(reference.get_weights())
    reference.compile(optimizer=getattr(keras.optimizers, name)(**options), loss="binary_crossentropy",
                      metrics=["accuracy"])
    ours.compile(optimizer=getattr(lamina.optimizers, name)(**options), loss="binary_crossentropy",
                 metrics=["accuracy"])
    kwargs = dict(epochs=4, batch_size=32, shuffle=False, verbose=0, validation_split=0.2)
    expected = reference.fit(x, y, **kwargs).history
    got = ours.fit(x, y, **kwargs).history
    assert list(got) == list(expected) or set(got) == set(expected)
    np.testing.assert_allclose(got["loss"], expected["loss"], rtol=rtol)
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=rtol)
    np.testing.assert_allclose(got["accuracy"], expected["accuracy"], atol=1e-6)
    if weight_atol is not None:
        for mine, theirs in zip(ours.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=weight_atol)
