"""The straight steps: torch's fused Adam / AdamW / SGD kernels and the Keras rules' updates
called straight give torch's step bit for bit, and hand back to `torch_optimizer.step()` whenever
the two could differ."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import lamina
from lamina.optimizers import keras_rules
from lamina.optimizers.fused_step import FusedAdamStep, FusedSGDStep, RuleStep, straight_step


def _weights(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.nn.Parameter(torch.randn(4, 3, generator=generator)),
        torch.nn.Parameter(torch.randn(3, generator=generator)),
        torch.nn.Parameter(torch.randn(2, 4, generator=generator).t()),  # a permuted layout
    ]


def _gradients(step, weights):
    generator = torch.Generator().manual_seed(100 + step)
    return [
        torch.randn(w.shape, generator=generator).as_strided(w.shape, w.stride()) for w in weights
    ]


def _run(make, straight: bool, steps=6, groups=False):
    weights = _weights()
    params = [{"params": weights[:2]}, {"params": weights[2:], "lr": 0.05}] if groups else weights
    optimizer = make(params)
    update = straight_step(optimizer)
    taken = []
    for step in range(steps):
        for w, g in zip(weights, _gradients(step, weights), strict=True):
            w.grad = g.clone()
        for group in optimizer.param_groups:
            if "betas" in group:
                group["eps"] = 1e-7 * (step + 1)  # lamina's Adam changes eps every step
            group["lr"] = group["lr"] * 0.9  # as a schedule does
        took = straight and update()
        if not took:
            optimizer.step()
        taken.append(took)
    state = [t for s in optimizer.state.values() for t in s.values()]
    return [w.detach().clone() for w in weights], state, taken


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.Adam(p, lr=0.01, fused=True),
        lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1, fused=True),
        lambda p: torch.optim.Adam(p, lr=0.01, maximize=True, fused=True),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3, fused=True),
        lambda p: torch.optim.SGD(p, lr=0.01, fused=True),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, fused=True),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, fused=True),
        lambda p: torch.optim.SGD(
            p, lr=0.01, momentum=0.5, dampening=0.1, weight_decay=0.2, fused=True
        ),
        lambda p: keras_rules.RMSprop(p, lr=0.01),
        lambda p: keras_rules.RMSprop(p, lr=0.01, momentum=0.9, centered=True),
        lambda p: keras_rules.Adagrad(p, lr=0.01),
        lambda p: keras_rules.Adamax(p, lr=0.01),
    ],
    ids=[
        "adam",
        "amsgrad_l2",
        "maximize",
        "adamw",
        "sgd",
        "sgd_momentum",
        "sgd_nesterov",
        "sgd_dampening_l2",
        "rmsprop",
        "rmsprop_momentum_centered",
        "adagrad",
        "adamax",
    ],
)
@pytest.mark.parametrize("groups", [False, True], ids=["one_group", "two_groups"])
def test_straight_update_is_torchs_step_bit_for_bit(make, groups):
    expected, expected_state, _ = _run(make, straight=False, groups=groups)
    got, got_state, taken = _run(make, straight=True, groups=groups)
    assert taken == [False] + [True] * 5  # the first step (creating the state) is torch's
    for a, b in zip(expected + expected_state, got + got_state, strict=True):
        assert torch.equal(a, b)


def _fused(optimizer_class=torch.optim.Adam):
    """Three weights, a fused optimizer over them, and a gradient of ones on each."""
    weights = _weights()
    optimizer = optimizer_class(weights, lr=0.01, fused=True)
    for w in weights:
        w.grad = torch.ones_like(w)
    return weights, optimizer


def test_hands_back_whenever_torchs_step_would_differ():
    weights, optimizer = _fused()
    update = FusedAdamStep(optimizer)
    assert not update()  # no state yet
    optimizer.step()
    assert update()
    calls = []
    handle = optimizer.register_step_pre_hook(lambda *args: calls.append(args))
    assert not update()  # a hook must see the step
    handle.remove()
    optimizer.grad_scale = torch.ones(())  # a scale to divide by, which lamina never sets
    assert not update()
    optimizer.grad_scale = None
    weights[1].grad = None  # torch's step skips a weight without a gradient
    assert not update()
    weights[1].grad = torch.ones_like(weights[1])
    optimizer.param_groups[0]["lr"] = torch.tensor(0.01)  # a tensor rate: torch's placement
    assert not update()
    optimizer.param_groups[0]["lr"] = 0.01
    assert update()
    assert not FusedAdamStep(torch.optim.Adam(weights, lr=0.01))()  # not fused
    assert not calls


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.Adam(p, lr=0.01, fused=True),
        lambda p: torch.optim.AdamW(p, lr=0.01, amsgrad=True, fused=True),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, fused=True),
    ],
    ids=["adam", "adamw_amsgrad", "sgd_momentum"],
)
def test_loss_scalings_flag_goes_into_the_kernel_as_torchs_step_hands_it(make):
    """LossScaleOptimizer sets `found_inf` on the torch optimizer for its fused step: the
    straight call passes it to the kernel, which skips the step where it is set (and Adam's
    step counters stay), bit for bit as torch's step."""

    def run(straight: bool):
        weights = _weights()
        optimizer = make(weights)
        update = straight_step(optimizer)
        taken = []
        for step, flag in enumerate([0.0, 0.0, 1.0, 0.0, 1.0, 0.0]):
            for w, g in zip(weights, _gradients(step, weights), strict=True):
                w.grad = g.clone()
            optimizer.found_inf = torch.tensor(flag)
            took = straight and update()
            if not took:
                optimizer.step()
            optimizer.found_inf = None
            taken.append(took)
        state = [t for s in optimizer.state.values() for t in s.values()]
        return [w.detach().clone() for w in weights] + state, taken

    expected, _ = run(straight=False)
    got, taken = run(straight=True)
    assert taken == [False] + [True] * 5
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_a_keras_rule_leaves_a_found_inf_flag_to_its_step():
    weights = _weights()
    rule = keras_rules.RMSprop(weights, lr=0.01)
    for w in weights:
        w.grad = torch.ones_like(w)
    rule.step()
    update = RuleStep(rule)
    assert update()
    rule.found_inf = torch.tensor(1.0)
    assert not update()


def test_a_group_that_does_not_say_its_kernel_goes_through_torchs_step():
    """torch < 2.6 keeps AdamW as its own class, without `decoupled_weight_decay` in its
    groups: the straight call could not tell which kernel to run, so torch's step runs."""
    _, optimizer = _fused(torch.optim.AdamW)
    optimizer.step()
    update = FusedAdamStep(optimizer)
    assert update()
    del optimizer.param_groups[0]["decoupled_weight_decay"]
    assert not FusedAdamStep(optimizer)()


def test_a_loaded_state_is_the_one_updated():
    _, optimizer = _fused()
    update = FusedAdamStep(optimizer)
    optimizer.step()
    assert update()
    saved = copy.deepcopy(optimizer.state_dict())
    optimizer.load_state_dict(saved)  # new state tensors: the lists are taken again
    assert update()
    steps = [float(s["step"]) for s in optimizer.state.values()]
    assert steps == [3.0, 3.0, 3.0]
    clone = pickle.loads(pickle.dumps(update))
    assert clone._groups is None and isinstance(clone.torch_optimizer, torch.optim.Adam)


@pytest.mark.parametrize(
    "make, torch_class",
    [
        (lambda: lamina.optimizers.Adam(0.01), torch.optim.Adam),
        (lambda: lamina.optimizers.SGD(0.01), torch.optim.SGD),
        (lambda: lamina.optimizers.SGD(0.01, momentum=0.9, nesterov=True), torch.optim.SGD),
        (lambda: lamina.optimizers.RMSprop(0.01), keras_rules.RMSprop),
        (lambda: lamina.optimizers.Adagrad(0.01), keras_rules.Adagrad),
    ],
    ids=["adam", "sgd", "sgd_nesterov", "rmsprop", "adagrad"],
)
def test_lamina_optimizers_take_the_straight_update_and_train_the_same(
    monkeypatch, make, torch_class
):
    torch_steps = []
    original = torch_class.step

    def counted(self, *args, **kwargs):
        torch_steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch_class, "step", counted)

    def fit(straight: bool):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential(
            [lamina.Input((3,)), lamina.layers.Dense(4), lamina.layers.Dense(1)]
        )
        model.compile(optimizer=make(), loss="mse")
        x, y = torch.randn(64, 3), torch.randn(64, 1)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # builds the state
        if not straight:
            model.optimizer._straight_update = None
        torch_steps.clear()
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        weights = [w.detach().clone() for w in model.weights]
        slots = [torch.as_tensor(v.numpy()) for v in model.optimizer.variables]
        return weights + slots, history.history["loss"], len(torch_steps)

    plain_tensors, plain_loss, plain_steps = fit(straight=False)
    tensors, loss, steps = fit(straight=True)
    # The 8 updates left torch's step (SGD without momentum, which keeps no state, may run one
    # zero-rate step of create_state's per fit).
    assert plain_steps - steps == 8
    assert loss == plain_loss
    assert all(torch.equal(a, b) for a, b in zip(plain_tensors, tensors, strict=True))


def _twins(make):
    """Two copies of three weights, an optimizer over each, and a step that runs the first's
    straight (torch's step where it hands back) and the second's through torch's step."""
    weights, reference = _weights(), _weights()
    optimizer, twin = make(weights), make(reference)
    update = straight_step(optimizer)
    taken = []

    def step(index):
        for mine, theirs, g in zip(weights, reference, _gradients(index, weights), strict=True):
            mine.grad, theirs.grad = g.clone(), g.clone()
        took = update()
        if not took:
            optimizer.step()
        twin.step()
        taken.append(took)

    return weights, reference, optimizer, twin, step, taken


def _set(optimizers, key, value):
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group[key] = value


def test_sgd_momentum_turned_on_later_is_torchs_to_start():
    weights, reference, optimizer, twin, step, taken = _twins(
        lambda p: torch.optim.SGD(p, lr=0.01, fused=True)
    )
    step(0)
    step(1)
    _set([optimizer, twin], "momentum", 0.9)  # the buffers do not exist yet
    step(2)
    step(3)
    _set([optimizer, twin], "momentum", 0.0)
    step(4)
    step(5)
    assert taken == [False, True, False, True, False, True]
    assert all(torch.equal(a, b) for a, b in zip(weights, reference, strict=True))


def test_a_keras_rule_whose_slots_change_makes_them_through_its_step():
    weights, reference, optimizer, twin, step, taken = _twins(
        lambda p: keras_rules.RMSprop(p, lr=0.01)
    )
    step(0)
    step(1)
    _set([optimizer, twin], "centered", True)  # a new slot: average_gradient
    step(2)
    step(3)
    assert taken == [False, True, False, True]
    tensors = [*weights, *(t for s in optimizer.state.values() for t in s.values())]
    expected = [*reference, *(t for s in twin.state.values() for t in s.values())]
    assert all(torch.equal(a, b) for a, b in zip(tensors, expected, strict=True))


def test_a_keras_rule_refuses_a_sparse_gradient_as_its_step_does():
    weight = torch.nn.Parameter(torch.ones(3, 2))
    rule = keras_rules.Adagrad([weight], lr=0.1)
    weight.grad = torch.ones(3, 2)
    rule.step()
    update = RuleStep(rule)
    assert update()
    weight.grad = torch.ones(3, 2).to_sparse()
    with pytest.raises(RuntimeError, match="Adagrad does not support sparse gradients"):
        update()
    with pytest.raises(RuntimeError, match="Adagrad does not support sparse gradients"):
        rule.step()
    assert torch.is_grad_enabled()


def test_each_optimizer_gets_its_own_kind_of_straight_step():
    weights = _weights()
    assert isinstance(straight_step(torch.optim.AdamW(weights, fused=True)), FusedAdamStep)
    assert isinstance(straight_step(torch.optim.SGD(weights, fused=True)), FusedSGDStep)
    assert isinstance(straight_step(keras_rules.Adamax(weights)), RuleStep)
    assert straight_step(torch.optim.NAdam(weights)) is None
    sgd = torch.optim.SGD(weights, lr=0.1)  # not fused: torch's step runs its own loop
    for w in weights:
        w.grad = torch.ones_like(w)
    sgd.step()
    assert not FusedSGDStep(sgd)()


def test_groups_and_parameters_added_later_are_updated_too():
    weights = _weights()
    optimizer = torch.optim.Adam(weights[:1], lr=0.01, fused=True)
    update = FusedAdamStep(optimizer)
    reference = [w.detach().clone().requires_grad_() for w in weights]
    twin = torch.optim.Adam(reference[:1], lr=0.01, fused=True)

    def step(straight):
        for mine, theirs in zip(weights, reference, strict=True):
            mine.grad = torch.ones_like(mine)
            theirs.grad = torch.ones_like(theirs)
        if not update():
            optimizer.step()
        twin.step()
        straight.append(update._groups is not None)

    taken = []
    step(taken)
    step(taken)
    optimizer.add_param_group({"params": [weights[1]]})
    twin.add_param_group({"params": [reference[1]]})
    step(taken)
    step(taken)
    optimizer.param_groups[0]["params"].append(weights[2])
    twin.param_groups[0]["params"].append(reference[2])
    step(taken)
    step(taken)
    assert all(torch.equal(a, b) for a, b in zip(weights, reference, strict=True))
    assert taken[-1] and taken[1]
    torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)  # wraps optimizer.step
    assert not update()


def test_a_refused_optimizer_is_not_looked_at_again_every_step(monkeypatch):
    weights = _weights()
    optimizer = torch.optim.Adam(weights, lr=0.01, fused=True, capturable=False)
    optimizer.param_groups[0]["differentiable"] = True  # a group option the kernel lacks
    update = FusedAdamStep(optimizer)
    looks = []
    original = FusedAdamStep._take_groups

    def counted(self):
        looks.append(1)
        return original(self)

    monkeypatch.setattr(FusedAdamStep, "_take_groups", counted)
    for w in weights:
        w.grad = torch.ones_like(w)
    assert not update()
    assert not update()
    assert len(looks) == 1


def test_an_sgd_that_is_not_fused_is_refused_once_not_every_step(monkeypatch):
    weights = _weights()
    sgd = torch.optim.SGD(weights, lr=0.1)
    update = FusedSGDStep(sgd)
    looks = []
    original = FusedSGDStep._take_groups

    def counted(self):
        looks.append(1)
        return original(self)

    monkeypatch.setattr(FusedSGDStep, "_take_groups", counted)
    for w in weights:
        w.grad = torch.ones_like(w)
    for _ in range(3):
        assert not update()
        sgd.step()
    assert len(looks) == 1
