"""Learning-rate schedules: equal to Keras's step for step; serializable; driving an optimizer."""

import numpy as np
import pytest
import torch

from lamina import optimizers
from lamina.optimizers import schedules

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9}),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True},
    ),
    ("PiecewiseConstantDecay", {"boundaries": [5, 12, 30], "values": [1.0, 0.5, 0.1, 0.01]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    (
        "PolynomialDecay",
        {
            "initial_learning_rate": 0.1,
            "decay_steps": 9,
            "end_learning_rate": 0.01,
            "power": 2.0,
            "cycle": True,
        },
    ),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5}),
    (
        "InverseTimeDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5, "staircase": True},
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 25}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 25, "alpha": 0.1}),
    (
        "CosineDecay",
        {"initial_learning_rate": 0.0, "decay_steps": 25, "warmup_target": 0.2, "warmup_steps": 10},
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 25, "warmup_steps": 10}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 6}),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 5,
            "t_mul": 1.0,
            "m_mul": 0.8,
            "alpha": 0.05,
        },
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 4, "t_mul": 1.5, "m_mul": 0.5},
    ),
]


def _case_id(case):
    name, config = case
    extras = [k for k in config if k not in ("initial_learning_rate",)]
    return name + "-" + "-".join(f"{k}={config[k]}" for k in extras).replace(" ", "")


def _float32_restart_boundaries(name, config):
    """Steps where a period of CosineDecayRestarts with t_mul != 1 ends exactly. There Keras finds
    the
    period with log() in float32, which lands either side of the integer (step 10 of t_mul=1.5,
    first_decay_steps=4 gives 1.99999 on Keras's torch backend, 2.0000002 in NumPy float32); lamina
    computes in float64 and starts the new period, as the formula says."""
    if name != "CosineDecayRestarts" or config.get("t_mul", 2.0) == 1.0:
        return set()
    boundaries, length, end = set(), config["first_decay_steps"], 0.0
    while end < 60:
        end += length
        length *= config.get("t_mul", 2.0)
        boundaries.add(end)
    return {int(b) for b in boundaries if float(b).is_integer()}


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_schedule_matches_keras_step_for_step(case):
    import keras

    name, config = case
    ours = getattr(schedules, name)(**config)
    reference = getattr(keras.optimizers.schedules, name)(**config)
    steps = [s for s in range(60) if s not in _float32_restart_boundaries(name, config)]
    expected = [float(keras.ops.convert_to_numpy(reference(step))) for step in steps]
    np.testing.assert_allclose([ours(step) for step in steps], expected, rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_schedule_round_trips_through_config(case):
    name, config = case
    original = getattr(schedules, name)(**config)
    restored = schedules.deserialize(schedules.serialize(original))
    assert type(restored) is type(original)
    assert [restored(s) for s in range(40)] == [original(s) for s in range(40)]


def test_exponential_staircase_by_hand():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [schedule(s) for s in (0, 9, 10, 25)] == [0.1, 0.1, 0.05, 0.025]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: schedules.ExponentialDecay(0.1, 0, 0.9),
            r"ExponentialDecay decay_steps must be > 0",
        ),
        (lambda: schedules.CosineDecay(0.1, -1), r"CosineDecay decay_steps must be > 0"),
        (
            lambda: schedules.CosineDecayRestarts(0.1, 0),
            r"CosineDecayRestarts first_decay_steps must be > 0; received first_decay_steps=0",
        ),
        (
            lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]),
            r"one more value than boundaries; received 2 boundaries and 2 values",
        ),
    ],
    ids=["exponential-steps", "cosine-steps", "restarts-steps", "piecewise-lengths"],
)
def test_invalid_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_deserialize_unknown_class_lists_known():
    with pytest.raises(ValueError, match=r"Unknown learning-rate schedule 'Nope'.*'CosineDecay'"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_optimizer_follows_schedule_step_for_step():
    # SGD with lr(step) moves w by -lr(step) * grad on step `step`; gradient 1 makes it readable.
    schedule = schedules.PiecewiseConstantDecay([1, 3], [1.0, 0.5, 0.25])
    weight = torch.zeros(1, requires_grad=True)
    optimizer = optimizers.SGD(learning_rate=schedule)
    optimizer.build([weight])
    positions, rates = [], []
    for _ in range(5):
        rates.append(optimizer.learning_rate)
        weight.grad = torch.ones(1)
        optimizer.step()
        positions.append(weight.item())
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert positions == [-1.0, -2.0, -2.5, -3.0, -3.25]


def test_learning_rate_can_be_set_while_training():
    weight = torch.zeros(1, requires_grad=True)
    optimizer = optimizers.SGD(learning_rate=1.0)
    optimizer.build([weight])
    weight.grad = torch.ones(1)
    optimizer.step()
    optimizer.learning_rate = 0.25
    weight.grad = torch.ones(1)
    optimizer.step()
    assert optimizer.learning_rate == 0.25
    assert weight.item() == -1.25


def test_optimizer_config_carries_schedule():
    schedule = schedules.CosineDecay(0.1, 100, warmup_target=0.5, warmup_steps=10)
    restored = optimizers.Adam.from_config(optimizers.Adam(learning_rate=schedule).get_config())
    assert isinstance(restored._learning_rate, schedules.CosineDecay)
    assert restored._learning_rate(5) == schedule(5)


def test_cosine_restarts_starts_a_new_period_exactly_at_its_boundary():
    # Periods of 4, 6, 9 steps: step 10 starts the third, at 0.1 * 0.5**2.
    schedule = schedules.CosineDecayRestarts(0.1, 4, t_mul=1.5, m_mul=0.5)
    assert [schedule(s) for s in (0, 4, 10)] == pytest.approx([0.1, 0.05, 0.025], abs=1e-12)


def test_a_schedule_driven_rate_cannot_be_set():
    optimizer = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="created with a LearningRateSchedule .*ExponentialDecay"):
        optimizer.learning_rate = 0.01
    optimizer.learning_rate = schedules.InverseTimeDecay(0.2, 1, 1.0)  # a schedule replaces one
    assert optimizer.learning_rate == pytest.approx(0.2)
