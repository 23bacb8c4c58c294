"""Lion, Lamb, Ftrl and Adafactor equal Keras's on the same gradients over 20 steps (with
Keras's common options on top), configs match Keras's, names and configs resolve, and argument
errors are pinned."""

import numpy as np
import pytest
import torch

from lamina import optimizers
from lamina.optimizers import schedules
from tests.parity.reference import keras

STEPS = 20

# (optimizer, options, atol)
CASES = [
    ("Lion", {}, 1e-6),
    ("Lion", {"beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}, 1e-6),
    ("Lion", {"clipnorm": 0.5, "use_ema": True}, 1e-6),
    ("Lamb", {}, 1e-6),
    ("Lamb", {"beta_1": 0.8, "epsilon": 1e-4, "weight_decay": 0.05}, 1e-6),
    ("Lamb", {"gradient_accumulation_steps": 2}, 1e-6),
    ("Ftrl", {}, 1e-6),
    (
        "Ftrl",
        {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02, "beta": 0.1},
        1e-6,
    ),
    (
        "Ftrl",
        {"learning_rate_power": -0.3, "l2_shrinkage_regularization_strength": 0.05},
        1e-6,
    ),
    ("Ftrl", {"initial_accumulator_value": 0.5, "learning_rate_power": 0.0}, 1e-6),
    ("Adafactor", {}, 1e-6),
    ("Adafactor", {"relative_step": False, "clip_threshold": 0.5}, 1e-6),
    ("Adafactor", {"beta_2_decay": -0.5, "epsilon_2": 1e-2, "global_clipnorm": 1.0}, 1e-6),
]


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    initial = [
        rng.standard_normal((4, 3)).astype("float32"),
        rng.standard_normal((3,)).astype("float32"),
        rng.standard_normal((2, 3, 5)).astype("float32"),
    ]
    grads = []
    for step in range(STEPS):
        step_grads = [rng.standard_normal(w.shape).astype("float32") for w in initial]
        step_grads[0][..., 0] = 1e-6 if step % 7 == 0 else 0.0  # a nearly dead unit
        grads.append(step_grads)
    return initial, grads


def _ids(value):
    if isinstance(value, dict):
        return "-".join(f"{k}{v}" for k, v in value.items())
    if isinstance(value, bool):
        return "schedule" if value else "float"
    return None if isinstance(value, float) else str(value)


def _step_side_by_side(reference, ours, initial, grads, atol):
    """Keras's optimizer and lamina's applying the same gradients to the same weights, the
    weights compared after every step; returns both sides' variables."""
    reference_vars = [keras.Variable(w) for w in initial]
    ours_vars = [torch.tensor(w, requires_grad=True) for w in initial]
    ours.build(ours_vars)
    for step_grads in grads:
        reference.apply_gradients(
            zip([keras.ops.convert_to_tensor(g) for g in step_grads], reference_vars, strict=True)
        )
        for variable, g in zip(ours_vars, step_grads, strict=True):
            variable.grad = torch.tensor(g)
        ours.step()
        for mine, theirs in zip(ours_vars, reference_vars, strict=True):
            np.testing.assert_allclose(
                mine.detach().numpy(), keras.ops.convert_to_numpy(theirs), atol=atol, rtol=1e-6
            )
    return reference_vars, ours_vars


# Gradient accumulation under a schedule is left out: there lamina's Optimizer wrapper (every
# optimizer, SGD included) reads the schedule at another step than Keras; see the report.
UPDATE_CASES = [(*case, False) for case in CASES] + [
    (*case, True) for case in CASES if "gradient_accumulation_steps" not in case[1]
]


@pytest.mark.parametrize(("name", "options", "atol", "schedule"), UPDATE_CASES, ids=_ids)
def test_update_matches_keras(name, options, atol, schedule):
    initial, grads = _problem()
    if schedule:
        rates = (
            {"learning_rate": keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)},
            {"learning_rate": schedules.ExponentialDecay(0.1, 2, 0.5)},
        )
    else:
        rates = ({"learning_rate": 0.05}, {"learning_rate": 0.05})
    reference = getattr(keras.optimizers, name)(**options, **rates[0])
    ours = getattr(optimizers, name)(**options, **rates[1])
    reference_vars, ours_vars = _step_side_by_side(reference, ours, initial, grads, atol)
    if options.get("use_ema"):
        ours.finalize_variable_values()
        reference.finalize_variable_values(reference_vars)
        for mine, theirs in zip(ours_vars, reference_vars, strict=True):
            np.testing.assert_allclose(
                mine.detach().numpy(), keras.ops.convert_to_numpy(theirs), atol=atol, rtol=1e-6
            )


@pytest.mark.parametrize(("name", "options", "atol"), CASES, ids=_ids)
def test_config_matches_keras_and_round_trips(name, options, atol):
    ours = getattr(optimizers, name)(learning_rate=0.05, **options)
    theirs = getattr(keras.optimizers, name)(learning_rate=0.05, **options).get_config()
    config = ours.get_config()
    for key, value in config.items():
        if key in theirs and key != "name":
            assert theirs[key] == pytest.approx(value), key
    rebuilt = optimizers.deserialize(optimizers.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == config


def test_names_resolve():
    for name in ("lion", "lamb", "ftrl", "adafactor"):
        assert type(optimizers.get(name)).__name__.lower() == name
    assert isinstance(optimizers.deserialize("Lion"), optimizers.Lion)


def test_lion_step_by_hand():
    # momentum 0: the first step is -lr * sign(g), and the momentum becomes (1 - beta_2) * g
    weight = torch.zeros(3, requires_grad=True)
    optimizer = optimizers.Lion(learning_rate=0.5)
    optimizer.build([weight])
    weight.grad = torch.tensor([2.0, -0.1, 0.0])
    optimizer.step()
    torch.testing.assert_close(weight.detach(), torch.tensor([-0.5, 0.5, 0.0]))


def test_optimizer_errors_are_pinned():
    with pytest.raises(
        ValueError, match=r"Lion\(\) expects `beta_1` to be a number in \(0, 1\]; received beta_1=0"
    ):
        optimizers.Lion(beta_1=0)
    with pytest.raises(ValueError, match=r"Ftrl: learning_rate_power must be <= 0"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match=r"Ftrl: l1_regularization_strength must be >= 0"):
        optimizers.Ftrl(l1_regularization_strength=-1.0)


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_sgd_momentum_coasts_through_a_zero_rate_as_keras(nesterov):
    # A schedule that reaches zero (CosineDecay's end, a pause) and comes back: Keras's velocity
    # still moves the weights at a zero rate (v = m*v; w += v) and keeps its momentum after.
    def rates(module):
        return module.PiecewiseConstantDecay([4, 9], [0.1, 0.0, 0.05])

    initial, grads = _problem()
    reference = keras.optimizers.SGD(
        rates(keras.optimizers.schedules), momentum=0.9, nesterov=nesterov
    )
    ours = optimizers.SGD(rates(schedules), momentum=0.9, nesterov=nesterov)
    _step_side_by_side(reference, ours, initial, grads, atol=1e-6)
