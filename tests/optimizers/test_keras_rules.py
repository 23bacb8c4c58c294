"""keras_rules: Keras 3's RMSprop, Adagrad and Adamax as plain torch optimizers.

Parity with Keras through lamina's wrapper, option by option, is in test_optimizer_options.py;
here: the rules by hand (float64), the slots under Keras's names, torch.optim's interface
(closures, parameter groups, parameters without gradients), and the argument errors."""

import math

import pytest
import torch

from lamina.optimizers import keras_rules

GRADIENTS = [torch.tensor([0.5, -2.0, 1e-4, 0.0], dtype=torch.float64)] * 2 + [
    torch.tensor([-1.0, 0.25, 0.0, 3e-5], dtype=torch.float64)
]
START = torch.tensor([1.0, -1.0, 0.5, 2.0], dtype=torch.float64)


def _rmsprop_by_hand(lr, rho, momentum, eps, centered):
    w, v, a, m = START.clone(), torch.zeros(4, dtype=torch.float64), 0.0, 0.0
    for g in GRADIENTS:
        v = rho * v + (1 - rho) * g**2
        a = rho * a + (1 - rho) * g
        denominator = v - a**2 + eps if centered else v + eps
        step = lr * g / denominator.sqrt()
        m = momentum * m + step
        w = w - (m if momentum else step)
    return w


def _adagrad_by_hand(lr, initial_accumulator_value, eps):
    w = START.clone()
    accumulator = torch.full((4,), initial_accumulator_value, dtype=torch.float64)
    for g in GRADIENTS:
        accumulator = accumulator + g**2
        w = w - lr * g / (accumulator + eps).sqrt()
    return w


def _adamax_by_hand(lr, betas, eps):
    (beta_1, beta_2), w, m, u = betas, START.clone(), 0.0, torch.zeros(4, dtype=torch.float64)
    for t, g in enumerate(GRADIENTS, start=1):
        m = m + (g - m) * (1 - beta_1)
        u = torch.maximum(beta_2 * u, g.abs())
        w = w - lr / (1 - beta_1**t) * m / (u + eps)
    return w


RULES = [
    (
        "rmsprop",
        keras_rules.RMSprop,
        {"lr": 0.1, "rho": 0.9, "momentum": 0.0, "eps": 1e-7, "centered": False},
        _rmsprop_by_hand,
    ),
    (
        "rmsprop-momentum-centered",
        keras_rules.RMSprop,
        {"lr": 0.1, "rho": 0.8, "momentum": 0.5, "eps": 1e-7, "centered": True},
        _rmsprop_by_hand,
    ),
    (
        "adagrad",
        keras_rules.Adagrad,
        {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7},
        _adagrad_by_hand,
    ),
    (
        "adagrad-zero-start",
        keras_rules.Adagrad,
        {"lr": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-7},
        _adagrad_by_hand,
    ),
    (
        "adamax",
        keras_rules.Adamax,
        {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-7},
        _adamax_by_hand,
    ),
]


@pytest.mark.parametrize(
    "rule, options, by_hand", [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule_matches_the_formula_by_hand(rule, options, by_hand):
    # Entries 2 and 3 have accumulators far below and near eps: torch.optim's eps placement would
    # move them by ~lr per step more or less than Keras's.
    weight = START.clone().requires_grad_()
    optimizer = rule([weight], **options)
    for g in GRADIENTS:
        weight.grad = g.clone()
        optimizer.step()
    torch.testing.assert_close(weight.detach(), by_hand(**options), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "rule, options, slots",
    [
        (keras_rules.RMSprop, {}, {"velocity"}),
        (
            keras_rules.RMSprop,
            {"momentum": 0.9, "centered": True},
            {"velocity", "momentum", "average_gradient"},
        ),
        (keras_rules.Adagrad, {}, {"accumulator"}),
        (keras_rules.Adamax, {}, {"momentum", "norm", "step"}),
    ],
    ids=["rmsprop", "rmsprop-momentum-centered", "adagrad", "adamax"],
)
def test_slots_carry_keras_names_and_start_values(rule, options, slots):
    weight = torch.ones(3, requires_grad=True)
    optimizer = rule([weight], lr=0.0, **options)
    weight.grad = torch.zeros(3)
    optimizer.step()
    state = optimizer.state[weight]
    assert set(state) == slots
    if rule is keras_rules.Adagrad:
        torch.testing.assert_close(state["accumulator"], torch.full((3,), 0.1))
    torch.testing.assert_close(weight.detach(), torch.ones(3))  # lr 0, zero gradient: no move


def test_groups_parameters_without_gradients_and_closure():
    first = torch.ones(2, requires_grad=True)
    second = torch.ones(2, requires_grad=True)
    idle = torch.ones(2, requires_grad=True)
    optimizer = keras_rules.RMSprop(
        [{"params": [first, idle]}, {"params": [second], "lr": 0.5}], lr=0.1
    )

    def closure():
        optimizer.zero_grad()
        loss = (first * 2).sum() + (second * 2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert float(loss.detach()) == 8.0
    # One step from zero velocity: g / sqrt(0.1 g^2 + eps) = sqrt(10) for g = 2 (to 1e-7).
    step = 2.0 / math.sqrt(0.1 * 4.0 + 1e-7)
    torch.testing.assert_close(first.detach(), torch.full((2,), 1.0 - 0.1 * step))
    torch.testing.assert_close(second.detach(), torch.full((2,), 1.0 - 0.5 * step))
    assert idle not in optimizer.state
    torch.testing.assert_close(idle.detach(), torch.ones(2))


def test_adamax_bias_correction_counts_each_parameters_updates():
    # A parameter that joins late starts at t = 1: its first step is lr * sign(g), like Keras's.
    early = torch.zeros(1, requires_grad=True)
    late = torch.zeros(1, requires_grad=True)
    optimizer = keras_rules.Adamax([early, late], lr=0.1, eps=0.0)
    early.grad = torch.ones(1)
    optimizer.step()
    early.grad, late.grad = torch.ones(1), torch.full((1,), 3.0)
    optimizer.step()
    assert [float(optimizer.state[p]["step"]) for p in (early, late)] == [2.0, 1.0]
    torch.testing.assert_close(late.detach(), torch.full((1,), -0.1))
    torch.testing.assert_close(early.detach(), torch.full((1,), -0.2))


@pytest.mark.parametrize(
    "rule, options, message",
    [
        (
            keras_rules.RMSprop,
            {"rho": 1.5},
            r"RMSprop: rho must be in \[0.0, 1.0\]; received rho=1.5",
        ),
        (
            keras_rules.RMSprop,
            {"momentum": -0.1},
            r"RMSprop: momentum must be in \[0.0, 1.0\]; received momentum=-0.1",
        ),
        (
            keras_rules.Adagrad,
            {"initial_accumulator_value": -1.0},
            r"Adagrad: initial_accumulator_value must be >= 0.0; received "
            r"initial_accumulator_value=-1.0",
        ),
        (
            keras_rules.Adamax,
            {"betas": (0.9, 2.0)},
            r"Adamax: beta_2 must be in \[0.0, 1.0\]; received beta_2=2.0",
        ),
        (keras_rules.Adagrad, {"lr": -0.1}, r"Adagrad: lr must be >= 0.0; received lr=-0.1"),
        (keras_rules.RMSprop, {"eps": -1e-7}, r"RMSprop: eps must be >= 0.0; received eps=-1e-07"),
    ],
    ids=["rho", "momentum", "initial-accumulator", "beta_2", "lr", "eps"],
)
def test_invalid_hyperparameters_raise(rule, options, message):
    with pytest.raises(ValueError, match=message):
        rule([torch.zeros(1, requires_grad=True)], **options)


def test_sparse_gradients_are_refused():
    weight = torch.zeros(3, requires_grad=True)
    optimizer = keras_rules.Adagrad([weight], lr=0.1)
    weight.grad = torch.zeros(3).to_sparse()
    with pytest.raises(RuntimeError, match=r"Adagrad does not support sparse gradients"):
        optimizer.step()
