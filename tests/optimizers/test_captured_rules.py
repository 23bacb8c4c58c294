"""captured_rules: the updates the captured train step compiles, run here as plain tensor ops
(no compile) against the eager optimizers' steps on the same gradients: the weights and the
torch state they both keep must agree, option by option."""

import numpy as np
import pytest
import torch

from lamina import optimizers
from lamina.optimizers import captured_rules

CASES = {
    "sgd": lambda: optimizers.SGD(0.1),
    "sgd-momentum": lambda: optimizers.SGD(0.1, momentum=0.9),
    "sgd-nesterov-decay": lambda: optimizers.SGD(
        0.1, momentum=0.8, nesterov=True, weight_decay=0.1
    ),
    "adam": lambda: optimizers.Adam(0.01),
    "adam-amsgrad-decay": lambda: optimizers.Adam(0.01, amsgrad=True, weight_decay=0.05),
    "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
    "rmsprop-centered-momentum": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "muon": lambda: optimizers.Muon(0.05),
    "muon-options": lambda: optimizers.Muon(
        0.05,
        weight_decay=0.1,
        adam_weight_decay=0.05,
        nesterov=False,
        rms_rate=None,
        adam_lr_ratio=0.5,
    ),
    "schedule-free": lambda: optimizers.ScheduleFreeAdamW(0.05),
    "schedule-free-warmup-decay": lambda: optimizers.ScheduleFreeAdamW(
        0.05, warmup_steps=4, weight_decay=0.1, beta_1=0.8
    ),
}


def _gradients(step):
    # A near-dead column (1e-6) and an exactly zero entry: where eps placement matters.
    generator = torch.Generator().manual_seed(step)
    kernel = torch.randn(3, 4, generator=generator)
    kernel[:, 2] = 1e-6 * (step % 2)
    bias = torch.randn(4, generator=generator)
    bias[0] = 0.0
    return [kernel, bias]


def _weights():
    generator = torch.Generator().manual_seed(7)
    return [
        torch.randn(3, 4, generator=generator, requires_grad=True),
        torch.randn(4, generator=generator, requires_grad=True),
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_captured_rule_equals_the_eager_step(case):
    eager, captured = CASES[case](), CASES[case]()
    eager_weights, captured_weights = _weights(), _weights()
    eager.build(eager_weights)
    captured.build(captured_weights)
    captured_rules.prime_state(captured)
    state = captured.torch_optimizer.state
    keys = captured_rules.slot_keys(captured)
    slots = {k: [state[p].get(k) for p in captured_weights] for k in keys}
    learning_rate = torch.tensor(captured.learning_rate)
    for step in range(6):
        for weight, gradient in zip(eager_weights, _gradients(step), strict=True):
            weight.grad = gradient.clone()
        eager.step()
        with torch.no_grad():
            captured_rules.apply(captured, captured_weights, _gradients(step), slots, learning_rate)
    for got, expected in zip(captured_weights, eager_weights, strict=True):
        np.testing.assert_allclose(got.detach(), expected.detach(), rtol=1e-6, atol=1e-7)
    # the slots (the step count is the captured step's caller's to keep)
    got_slots, expected_slots = captured.variables[2:], eager.variables[2:]
    assert len(got_slots) == len(expected_slots)
    for got, expected in zip(got_slots, expected_slots, strict=True):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


def test_priming_creates_the_state_without_changing_anything():
    optimizer = optimizers.Adam(0.01)
    weights = _weights()
    before = [w.detach().clone() for w in weights]
    optimizer.build(weights)
    captured_rules.prime_state(optimizer)
    state = optimizer.torch_optimizer.state
    assert [sorted(state[w]) for w in weights] == [["exp_avg", "exp_avg_sq", "step"]] * 2
    assert all(float(state[w]["step"]) == 0.0 and w.grad is None for w in weights)
    for weight, start in zip(weights, before, strict=True):
        assert torch.equal(weight.detach(), start)


@pytest.mark.parametrize("kind", [optimizers.Nadam, optimizers.Adamax, optimizers.Adadelta])
def test_optimizers_without_a_rule_are_not_supported(kind):
    assert not captured_rules.supports(kind())


def test_a_subclass_is_not_supported_since_it_may_change_the_update():
    class Custom(optimizers.Adam):
        pass

    assert captured_rules.supports(optimizers.Adam()) and not captured_rules.supports(Custom())
