"""The batch loops of evaluate and predict: what runs per batch, and what a callback sees."""

import numpy as np
import pytest
import torch

import lamina
from lamina.engine import epoch_loop
from lamina.engine import layer as layer_module
from tests.op_counts import python_calls
from tests.parity import reference


def _dense(m=lamina):
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.fixture
def batch_logs_made(monkeypatch):
    """How many per-batch predict logs the loop made."""
    made = []
    original = epoch_loop.predict_batch_logs

    def counting(outputs):
        made.append(outputs)
        return original(outputs)

    monkeypatch.setattr(epoch_loop, "predict_batch_logs", counting)
    return made


def test_predict_with_no_batch_hook_makes_no_batch_logs(batch_logs_made):
    model = _dense()
    x = np.arange(20, dtype="float32").reshape(10, 2)
    predictions = model.predict(x, batch_size=3, verbose=0)
    assert batch_logs_made == []
    np.testing.assert_array_equal(predictions, model.predict_on_batch(x))


def test_predict_hands_batch_logs_to_a_callback_that_defines_the_hook(batch_logs_made):
    model = _dense()
    x = np.arange(20, dtype="float32").reshape(10, 2)
    seen = []
    record = lamina.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: seen.append((batch, logs["outputs"]))
    )
    predictions = model.predict(x, batch_size=3, verbose=0, callbacks=[record])
    assert len(batch_logs_made) == 4
    assert [batch for batch, _ in seen] == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.concatenate([out for _, out in seen]), predictions)


def test_predict_runs_a_predict_step_set_on_the_instance():
    model = _dense()
    model.predict_step = lambda data: torch.full((data.shape[0], 1), 7.0)
    predictions = model.predict(np.zeros((5, 2), "float32"), batch_size=2, verbose=0)
    np.testing.assert_array_equal(predictions, np.full((5, 1), 7.0, "float32"))


def _stopped_by_the_step(m):
    """A predict_step that sets `stop_predicting` on its second batch, no callback: the batches
    predicted."""

    class Stopping(m.Sequential):
        calls = 0

        def predict_step(self, data):
            self.calls += 1
            if self.calls == 2:
                self.stop_predicting = True
            return super().predict_step(data)

    model = Stopping([m.Input((2,)), m.layers.Dense(1)])
    return len(model.predict(np.zeros((10, 2), "float32"), batch_size=2, verbose=0))


def test_a_predict_step_that_sets_stop_predicting_ends_the_loop_as_keras():
    assert _stopped_by_the_step(lamina) == 4
    assert reference.keras_run(_stopped_by_the_step) == 4


def test_evaluate_with_no_batch_hook_matches_one_hooked_and_stops_on_its_flag():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.ones((10, 1), "float32")
    model = _dense()
    quiet = model.evaluate(x, y, batch_size=3, verbose=0)
    ends = []
    record = lamina.callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: ends.append(b))
    assert model.evaluate(x, y, batch_size=3, verbose=0, callbacks=[record]) == quiet
    assert ends == [0, 1, 2, 3]

    class Stopping(lamina.Sequential):
        def test_step(self, data):
            self.stop_evaluating = True  # after this first batch
            return super().test_step(data)

    stopping = Stopping([lamina.Input((2,)), lamina.layers.Dense(1)])
    stopping.compile(optimizer="sgd", loss="mse")
    stopping.set_weights(model.get_weights())
    first = model.evaluate(x[:3], y[:3], verbose=0)
    assert stopping.evaluate(x, y, batch_size=3, verbose=0) == pytest.approx(first)


@pytest.mark.parametrize("source", ["arrays", "generator"])
def test_predict_adds_few_python_calls_per_batch_to_the_forward(source):
    """Host work per batch bounds predict on a GPU: with no callback, the loop around the
    model's forward stays at a few calls a batch."""
    model = _dense()
    x = np.ones((32, 2), "float32")
    model.predict(x, batch_size=4, verbose=0)  # built, warmed

    def run(batches):
        arrays = x[: 4 * batches]
        data = arrays
        if source == "generator":
            data = (arrays[i : i + 4] for i in range(0, len(arrays), 4))
        return lambda: model.predict(data, batch_size=4, verbose=0)

    per_batch = (python_calls(run(8)) - python_calls(run(4))) / 4
    one = torch.ones(4, 2)
    with torch.inference_mode(), layer_module.inference_calls():
        forward = python_calls(lambda: model(one))
    # (1 and 11 calls now; main had 12 and 31: hook dispatch, batch logs, step_data, slicing.)
    limit = {"arrays": 3, "generator": 15}[source]  # a generator's batch is converted too
    assert per_batch - forward <= limit, (per_batch, forward)
