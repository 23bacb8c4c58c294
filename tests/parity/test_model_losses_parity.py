"""`model.losses` as Keras 3 gives it: the latest call's activity and `add_loss` losses (after
`fit` and `evaluate`: the last batch's), then the weight penalties from the current weights."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras

X = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
Y = np.random.default_rng(1).normal(size=(6, 1)).astype("float32")


def regularized(L, M):
    inputs = L.Input((3,))
    hidden = L.Dense(4, kernel_regularizer="l2", activity_regularizer="l1", name="h")(inputs)
    return M.Model(inputs, L.Dense(1, bias_regularizer="l1", name="o")(hidden))


def with_add_loss(L, M):
    class MeanPenalty(L.Layer):
        def call(self, x):
            self.add_loss(0.1 * M.ops.mean(M.ops.square(x)))
            return x

    inputs = L.Input((3,))
    return M.Model(inputs, L.Dense(1, name="o")(MeanPenalty()(L.Dense(4, name="h")(inputs))))


def losses_through_training(build, library, weights=None):
    model = build(library.layers, library)
    if weights is not None:
        model.set_weights(weights)
    found = {"defined": model.losses}
    model(X)
    found["called"] = model.losses
    model.compile(optimizer=library.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    found["fit"] = model.losses
    model.evaluate(X[:2], Y[:2], verbose=0)
    found["evaluated"] = model.losses
    as_floats = {
        k: [float(np.asarray(library.ops.convert_to_numpy(v))) for v in v_list]
        for k, v_list in found.items()
    }
    return model, as_floats


@pytest.mark.parity
@pytest.mark.parametrize("build", [regularized, with_add_loss], ids=lambda b: b.__name__)
def test_losses_after_call_fit_and_evaluate_are_keras(build):
    weights = build(keras.layers, keras).get_weights()  # the same start for both sides
    _, want = losses_through_training(build, keras, weights)
    _, got = losses_through_training(build, lamina, weights)
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in want.items()}
    for stage in want:
        np.testing.assert_allclose(got[stage], want[stage], rtol=1e-5, atol=1e-7, err_msg=stage)
