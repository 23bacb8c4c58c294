"""One batch, one call: building a model and its compiled loss and metrics for `fit`,
`evaluate` or `predict` runs no layer's `call` on real data (Keras builds them symbolically), so a
layer counting its calls in a variable counts exactly the steps, as in Keras."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _counting_model(ns, kind):
    class Counter(ns.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.calls = ns.Variable(0, dtype="int32", trainable=False)

        def call(self, inputs):
            self.calls.assign_add(1)
            return inputs

    class Net(ns.Model):
        def __init__(self):
            super().__init__()
            self.counter = Counter()
            self.head = ns.layers.Dense(2)

        def call(self, inputs):
            return self.head(self.counter(inputs))

    if kind == "subclassed":
        model = Net()
        return model, model.counter
    counter = Counter()
    if kind == "sequential":
        return ns.Sequential([ns.Input((3,)), counter, ns.layers.Dense(2)]), counter
    inputs = ns.Input((3,))
    return ns.Model(inputs, ns.layers.Dense(2)(counter(inputs))), counter


def _count(counter) -> int:
    return int(np.asarray(counter.calls.numpy()))


def _run(ns, kind, action):
    model, counter = _counting_model(ns, kind)
    x = np.ones((4, 3), "float32")
    y = np.zeros((4, 2), "float32")
    if action == "predict":
        model.predict(x, batch_size=4, verbose=0)
        return _count(counter)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    if action == "fit":
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    else:
        model.evaluate(x, y, batch_size=4, verbose=0)
    return _count(counter)


@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
@pytest.mark.parametrize("action", ["fit", "evaluate", "predict"])
def test_one_batch_calls_each_layer_once(kind, action):
    assert _run(lamina, kind, action) == 1


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
def test_call_counts_match_keras(kind):
    assert _run(lamina, kind, "fit") == _run(keras, kind, "fit")


def test_a_model_built_for_fit_has_real_weights_and_trains():
    model, _ = _counting_model(lamina, "subclassed")
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), "float32")
    history = model.fit(x, np.zeros((4, 2), "float32"), batch_size=4, epochs=2, verbose=0)
    assert all(not w.is_meta for w in model.weights)
    assert history.history["loss"][1] < history.history["loss"][0]
