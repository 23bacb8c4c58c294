"""Optimizer cases a differential fuzz against Keras 3 (torch backend) found apart: each runs the
same gradients through lamina and Keras from the same weights and compares every step."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras

SHAPES = [(4, 3), (3,)]


def _gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(steps)]


def _run_both(name, config, schedule, steps=7):
    """Both optimizers over the same gradients: per call, lamina's and Keras's weights and rate."""
    rng = np.random.default_rng(1)
    initial = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    theirs = getattr(keras.optimizers, name)(
        learning_rate=schedule(keras.optimizers.schedules), **config
    )
    ours = getattr(lamina.optimizers, name)(
        learning_rate=schedule(lamina.optimizers.schedules), **config
    )
    their_vars = [keras.Variable(w) for w in initial]
    our_vars = [lamina.Variable(w) for w in initial]
    for step_grads in _gradients(steps):
        theirs.apply([keras.ops.convert_to_tensor(g) for g in step_grads], their_vars)
        ours.apply([torch.tensor(g) for g in step_grads], our_vars)
        yield (
            [v.numpy() for v in our_vars],
            [keras.ops.convert_to_numpy(v) for v in their_vars],
            float(ours.learning_rate),
            float(keras.ops.convert_to_numpy(theirs.learning_rate)),
        )


SCHEDULES = {
    "piecewise": lambda m: m.PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01]),
    "exponential-staircase": lambda m: m.ExponentialDecay(0.1, 2, 0.5, staircase=True),
    "cosine-warmup": lambda m: m.CosineDecay(0.1, 4, alpha=0.1, warmup_target=0.2, warmup_steps=2),
    "polynomial-cycle": lambda m: m.PolynomialDecay(0.1, 3, 0.01, power=2.0, cycle=True),
}
ACCUMULATING = [
    ("SGD", {"momentum": 0.9, "gradient_accumulation_steps": 3, "weight_decay": 0.1}),
    ("Adam", {"gradient_accumulation_steps": 2}),
    ("RMSprop", {"momentum": 0.5, "gradient_accumulation_steps": 3}),
    ("Lamb", {"gradient_accumulation_steps": 3}),
]


@pytest.mark.parity
@pytest.mark.parametrize("schedule", list(SCHEDULES.values()), ids=list(SCHEDULES))
@pytest.mark.parametrize("name, config", ACCUMULATING, ids=[n for n, _ in ACCUMULATING])
def test_schedule_reads_calls_not_updates_with_gradient_accumulation(name, config, schedule):
    """Keras's documented rule: with gradient accumulation, schedules see the "real" iterations
    (calls), the update at call k using the rate at k - 1. lamina read the schedule at the
    update count, so the second window's update took the first window's rate."""
    # atol: Keras computes Adam's bias corrections in float32 (tests/optimizers/
    # test_optimizer_options.py); a misread rate is off by ~1e-2.
    for call, (ours, theirs, our_lr, their_lr) in enumerate(_run_both(name, config, schedule)):
        assert our_lr == pytest.approx(their_lr, rel=1e-6), f"rate after call {call}"
        for mine, reference in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(
                mine, reference, rtol=1e-5, atol=5e-6, err_msg=f"call {call}"
            )


CALLABLE_RATE = [
    ("SGD", {"momentum": 0.9}),
    ("Adam", {}),
    ("RMSprop", {"centered": True}),
    ("Adagrad", {"weight_decay": 0.1}),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, config", CALLABLE_RATE, ids=[n for n, _ in CALLABLE_RATE])
def test_a_callable_learning_rate_is_read_at_every_update(name, config):
    """Keras calls a zero-argument `learning_rate` at each update; lamina read it once, when
    the optimizer was built, and kept that rate."""
    rate = [0.1]

    def halving(module):
        return lambda: rate[0]

    calls = _run_both(name, config, halving, steps=5)
    for call, (ours, theirs, our_lr, their_lr) in enumerate(calls):
        assert our_lr == pytest.approx(their_lr, rel=1e-6)
        for mine, reference in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(
                mine, reference, rtol=1e-5, atol=5e-6, err_msg=f"call {call}"
            )
        rate[0] *= 0.5


def test_a_callable_learning_rate_has_no_variable_and_can_be_set():
    # Keras keeps only a float rate in a variable (`optimizer.variables`); a callable can replace
    # the rate later, as in Keras.
    def paths(module, variable):
        optimizer = module.optimizers.SGD(learning_rate=lambda: 0.1, name="opt")
        optimizer.build([variable])
        return optimizer, [v.path for v in optimizer.variables]

    ours, our_paths = paths(lamina, lamina.Variable(np.ones(2, "float32"), name="w"))
    _, their_paths = paths(keras, keras.Variable(np.ones(2, "float32"), name="w"))
    assert our_paths == their_paths == ["opt/iteration"]
    ours.learning_rate = lambda: 0.25
    assert float(ours.learning_rate) == 0.25
    weight = ours.parameters[0]
    ours.apply([torch.ones(2)], [weight])
    np.testing.assert_allclose(weight.detach().numpy(), [0.75, 0.75])


@pytest.mark.parity
@pytest.mark.parametrize("name", ["Adam", "AdamW", "Nadam", "Adamax", "Adafactor", "Muon"])
def test_assigning_iterations_moves_the_bias_corrections_too(name):
    """Keras's bias corrections read `iterations`: after `iterations.assign(10)` the next Adam
    step is step 11. lamina set its counter but torch's per-weight step counts, which its
    corrections read, went on from 2."""

    def run(module, variable, tensor):
        optimizer = getattr(module.optimizers, name)(learning_rate=0.01)
        for step, g in enumerate(_gradients(6)):
            if step == 2:
                optimizer.iterations.assign(10)
            if step == 4:
                optimizer.iterations.assign_add(5)
            optimizer.apply([tensor(g[1])], [variable])
            yield np.asarray(variable.numpy()).copy(), int(optimizer.iterations)

    start = np.ones(SHAPES[1], "float32")  # a vector: Muon takes it by its Adam rule
    ours = run(lamina, lamina.Variable(start), torch.tensor)
    theirs = run(keras, keras.Variable(start), keras.ops.convert_to_tensor)
    for (mine, my_count), (reference, their_count) in zip(ours, theirs, strict=True):
        assert my_count == their_count
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=2e-6)


SITTING_OUT = ["Adam", "AdamW", "Nadam", "Adamax", "Adafactor", "Muon", "Lamb"]


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:.*[Gg]radients do not exist:UserWarning")
@pytest.mark.parametrize("name", SITTING_OUT)
def test_a_weight_without_gradients_keeps_keras_bias_corrections(name):
    """A weight with no gradient at some updates (here the first two and every second one):
    Keras corrects its moments by the optimizer's `iterations`; torch's own count for that
    weight lagged behind, so its later updates were too large (NAdam's momentum product too)."""
    shapes = [(3,), (2,), (2, 2)]
    rng = np.random.default_rng(0)
    gradients = [
        [
            None if j == 1 and (step < 2 or step % 2) else rng.standard_normal(s).astype("f4")
            for j, s in enumerate(shapes)
        ]
        for step in range(7)
    ]
    results = []
    for module, tensor in ((keras, keras.ops.convert_to_tensor), (lamina, torch.tensor)):
        optimizer = getattr(module.optimizers, name)(learning_rate=0.1)
        variables = [
            module.Variable(np.ones(s, "float32"), name=n)
            for s, n in zip(shapes, "abc", strict=True)
        ]
        after = []
        for step_gradients in gradients:
            given = [None if g is None else tensor(g) for g in step_gradients]
            optimizer.apply_gradients(zip(given, variables, strict=True))
            after.append([np.asarray(v.numpy()).copy() for v in variables])
        results.append(after)
    for step, (theirs, ours) in enumerate(zip(*results, strict=True)):
        for mine, reference in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=2e-6, err_msg=f"{step}")


@pytest.mark.parity
@pytest.mark.parametrize("staircase", [False, True])
def test_a_growing_exponential_schedule_overflows_to_inf(staircase):
    """decay_rate > 1 far past decay_steps: Keras's rate is inf; lamina raised OverflowError
    (Python's float power), ending the training run."""
    config = {"initial_learning_rate": 1.0, "decay_steps": 10, "decay_rate": 2.0}
    ours = lamina.optimizers.schedules.ExponentialDecay(staircase=staircase, **config)
    theirs = keras.optimizers.schedules.ExponentialDecay(staircase=staircase, **config)
    for step in (100, 10**5):
        expected = float(keras.ops.convert_to_numpy(theirs(step)))
        assert ours(step) == pytest.approx(expected, rel=1e-6) or ours(step) == expected == np.inf
    assert ours(10**5) == np.inf
