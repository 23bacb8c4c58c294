"""`FusedAdamStep`: torch's fused Adam/AdamW kernel called straight gives torch's step bit for
bit, and hands back to `torch_optimizer.step()` whenever the two could differ."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import lamina
from lamina.optimizers.fused_step import FusedAdamStep


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
    update = FusedAdamStep(optimizer)
    taken = []
    for step in range(steps):
        for w, g in zip(weights, _gradients(step, weights), strict=True):
            w.grad = g.clone()
        for group in optimizer.param_groups:
            group["eps"] = 1e-7 * (step + 1)  # lamina's Adam changes eps every step
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
    ],
    ids=["adam", "amsgrad_l2", "maximize", "adamw"],
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
    optimizer.found_inf = torch.zeros(())  # loss scaling's flag, read by torch's kernel
    assert not update()
    optimizer.found_inf = None
    weights[1].grad = None  # torch's step skips a weight without a gradient
    assert not update()
    weights[1].grad = torch.ones_like(weights[1])
    optimizer.param_groups[0]["lr"] = torch.tensor(0.01)  # a tensor rate: torch's placement
    assert not update()
    optimizer.param_groups[0]["lr"] = 0.01
    assert update()
    assert not FusedAdamStep(torch.optim.Adam(weights, lr=0.01))()  # not fused
    assert not calls


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


def test_lamina_adam_takes_the_straight_update_and_trains_the_same(monkeypatch):
    torch_steps = []
    original = torch.optim.Adam.step

    def counted(self, *args, **kwargs):
        torch_steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counted)

    def fit(straight: bool):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential(
            [lamina.Input((3,)), lamina.layers.Dense(4), lamina.layers.Dense(1)]
        )
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")
        x, y = torch.randn(64, 3), torch.randn(64, 1)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # builds the state
        if not straight:
            model.optimizer._straight_update = None
        torch_steps.clear()
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        weights = [w.detach().clone() for w in model.weights]
        return weights, history.history["loss"], len(torch_steps)

    plain_weights, plain_loss, plain_steps = fit(straight=False)
    weights, loss, steps = fit(straight=True)
    assert (plain_steps, steps) == (8, 0)
    assert loss == plain_loss
    assert all(torch.equal(a, b) for a, b in zip(plain_weights, weights, strict=True))


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
