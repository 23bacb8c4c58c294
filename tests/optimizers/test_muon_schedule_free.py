"""Muon and ScheduleFreeAdamW equal Keras's on the same weights and gradients over 5 steps (with
Keras's common options on top), their configs match Keras's and round-trip, and the Newton-Schulz
iteration and Muon's choice of AdamW weights are checked by hand."""

import numpy as np
import pytest
import torch

from lamina import optimizers
from lamina.optimizers import schedules
from lamina.optimizers.muon import orthogonalize
from tests.parity.reference import keras, keras_optimizer_trajectory

STEPS = 5
# Muon's kinds of weight: a matrix (Muon), a vector and a 3-D kernel (AdamW: not 2-D), an
# embedding (AdamW with exclude_embeddings) and an output layer (AdamW when excluded by name).
NAMES = ["dense/kernel", "dense/bias", "conv/kernel", "embedding/embeddings", "output_dense/kernel"]
SHAPES = [(4, 3), (3,), (2, 3, 5), (6, 3), (3, 2)]

CASES = [
    ("Muon", {}),
    ("Muon", {"nesterov": False, "rms_rate": None, "adam_lr_ratio": 0.5}),
    ("Muon", {"exclude_embeddings": False, "exclude_layers": ["output"], "momentum": 0.8}),
    ("Muon", {"weight_decay": 0.1, "adam_weight_decay": None, "clipnorm": 0.5, "use_ema": True}),
    ("Muon", {"ns_steps": 3, "gradient_accumulation_steps": 2}),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"warmup_steps": 3, "weight_decay": 0.1}),
    ("ScheduleFreeAdamW", {"beta_1": 0.5, "beta_2": 0.9, "global_clipnorm": 1.0}),
    ("ScheduleFreeAdamW", {"gradient_accumulation_steps": 2, "use_ema": True}),
]


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype("float32") for shape in SHAPES]
    grads = [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return initial, grads


def _ids(value):
    if isinstance(value, dict):
        return "-".join(f"{k}{v}" for k, v in value.items()) or "defaults"
    if isinstance(value, bool):
        return "schedule" if value else "float"
    return str(value)


UPDATE_CASES = [(*case, False) for case in CASES] + [
    (name, options, True) for name, options in CASES if "gradient_accumulation_steps" not in options
]


@pytest.mark.parametrize(("name", "options", "schedule"), UPDATE_CASES, ids=_ids)
def test_update_matches_keras(name, options, schedule):
    initial, grads = _problem()
    if schedule:
        theirs_rate = lambda k: k.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5)  # noqa: E731
        ours_rate = schedules.ExponentialDecay(0.05, 2, 0.5)
    else:
        theirs_rate, ours_rate = (lambda k: 0.05), 0.05
    # Keras's ScheduleFreeAdamW reads its old momentum after updating it in place on the torch
    # backend; its stateless (JAX-style) update is the algorithm as written: compare with that.
    stateless = name == "ScheduleFreeAdamW"
    expected = keras_optimizer_trajectory(
        lambda k: getattr(k.optimizers, name)(learning_rate=theirs_rate(k), **options),
        initial,
        grads,
        names=NAMES,
        stateless=stateless,
    )
    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    for weight, path in zip(weights, NAMES, strict=True):
        weight.path = path
    ours = getattr(optimizers, name)(learning_rate=ours_rate, **options)
    ours.build(weights)
    for step, step_grads in enumerate(grads):
        for weight, g in zip(weights, step_grads, strict=True):
            weight.grad = torch.tensor(g)
        ours.step()
        for mine, theirs in zip(weights, expected[step], strict=True):
            np.testing.assert_allclose(mine.detach().numpy(), theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("name", "options"), CASES, ids=_ids)
def test_config_matches_keras_and_round_trips(name, options):
    ours = getattr(optimizers, name)(learning_rate=0.05, **options)
    theirs = getattr(keras.optimizers, name)(learning_rate=0.05, **options).get_config()
    config = ours.get_config()
    assert set(config) == set(theirs)
    for key, value in config.items():
        if key != "name":
            assert theirs[key] == pytest.approx(value), key
    rebuilt = optimizers.deserialize(optimizers.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == config


def test_names_resolve():
    assert isinstance(optimizers.get("muon"), optimizers.Muon)
    assert isinstance(optimizers.get("ScheduleFreeAdamW"), optimizers.ScheduleFreeAdamW)
    # Keras's auto-name, counted per session as Keras counts it (the line above took the first)
    assert optimizers.get("schedulefreeadamw").name == "schedule_free_adam_w_1"


def test_muon_chooses_adamw_by_keras_rule():
    muon = optimizers.Muon(exclude_layers=["head$", "^decoder/"])

    def weight(shape, path):
        tensor = torch.zeros(shape)
        tensor.path = path
        return tensor

    assert not muon.uses_adamw(weight((4, 3), "encoder/dense/kernel"))
    assert muon.uses_adamw(weight((4,), "encoder/dense/bias"))
    assert muon.uses_adamw(weight((3, 3, 2, 4), "conv2d/kernel"))
    assert muon.uses_adamw(weight((10, 4), "token_Embedding/embeddings"))
    assert muon.uses_adamw(weight((4, 3), "model/head"))
    assert muon.uses_adamw(weight((4, 3), "decoder/dense/kernel"))
    assert not muon.uses_adamw(weight((4, 3), "encoder/decoder/dense/kernel"))
    assert not optimizers.Muon(exclude_embeddings=False).uses_adamw(weight((10, 4), "embedding/e"))


def test_orthogonalize_flattens_singular_values():
    # Five quintic steps bring every singular value into Keras's band (roughly 0.7 .. 1.2), from
    # a matrix whose singular values span 100x; the singular vectors are kept.
    u, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0)))
    v, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(1)))
    x = u[:, :4] @ torch.diag(torch.tensor([10.0, 3.0, 1.0, 0.1])) @ v.T
    result = orthogonalize(x, 5)
    values = torch.linalg.svdvals(result)
    assert values.min() > 0.6 and values.max() < 1.25
    torch.testing.assert_close(orthogonalize(x.T, 5), result.T)  # tall and wide agree
    with pytest.raises(ValueError, match=r"rank >= 2; received shape \(3,\)"):
        orthogonalize(torch.ones(3), 5)


def test_schedule_free_first_step_by_hand():
    # t=1: v = (1 - b2) g^2, so the step on z is lr * sign(g) (eps aside); x = z (weight 1/t = 1)
    # and y = (1 - b1) z + b1 x = z.
    weight = torch.tensor([1.0, -2.0], requires_grad=True)
    optimizer = optimizers.ScheduleFreeAdamW(learning_rate=0.25)
    optimizer.build([weight])
    weight.grad = torch.tensor([4.0, -0.5])
    optimizer.step()
    torch.testing.assert_close(weight.detach(), torch.tensor([0.75, -1.75]))
    state = optimizer.torch_optimizer.state[weight]
    torch.testing.assert_close(state["momentum"], torch.tensor([0.75, -1.75]))
