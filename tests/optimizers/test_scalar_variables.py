"""`optimizer.iterations` and `optimizer.learning_rate` answer Keras's variable methods
(optimizers/scalar_variables.py), as Keras programs and callbacks read and set them."""

import copy
import pickle

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _read_and_set(m):
    """A callback-style program: read the counter and the rate, set the rate mid-training."""
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    model.compile(optimizer=m.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    optimizer = model.optimizer
    seen = {
        "iterations": optimizer.iterations.numpy(),
        "iterations_int": int(optimizer.iterations),
        "learning_rate": optimizer.learning_rate.numpy(),
        "learning_rate_float": round(float(optimizer.learning_rate), 6),
    }
    optimizer.learning_rate.assign(0.05)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    seen["after_assign"] = optimizer.learning_rate.numpy()
    seen["iterations_after"] = np.asarray(m.ops.convert_to_numpy(optimizer.iterations))
    optimizer.iterations.assign(0)
    seen["reset"] = int(optimizer.iterations)
    return seen


@pytest.mark.parity
def test_keras_programs_read_and_set_them_as_variables():
    ours = _read_and_set(lamina)
    theirs = reference.keras_run(_read_and_set)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == value, key
        assert np.asarray(ours[key]).dtype == np.asarray(value).dtype, key


def test_an_assigned_rate_is_the_one_the_next_update_takes():
    w = lamina.Variable(np.array([1.0], "float32"))
    optimizer = lamina.optimizers.SGD(1.0)
    optimizer.learning_rate.assign(np.float32(0.25))
    optimizer.apply_gradients([(lamina.ops.convert_to_tensor([2.0]), w)])
    assert w.numpy().tolist() == [0.5]
    assert optimizer.iterations == 1 and optimizer.iterations.numpy() == np.int32(1)


def test_they_stay_numbers():
    optimizer = lamina.optimizers.Adam(0.5)
    assert optimizer.learning_rate * 2 == 1.0 and f"{optimizer.learning_rate:.2f}" == "0.50"
    assert optimizer.iterations + 1 == 1 and isinstance(optimizer.iterations, int)
    # Copies are plain numbers: they do not write through to the optimizer.
    assert type(copy.copy(optimizer.learning_rate)) is float
    assert type(pickle.loads(pickle.dumps(optimizer.iterations))) is int


def test_a_schedule_owned_rate_refuses_assign():
    schedule = lamina.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = lamina.optimizers.SGD(schedule)
    with pytest.raises(TypeError, match="created with a LearningRateSchedule"):
        optimizer.learning_rate.assign(0.01)
