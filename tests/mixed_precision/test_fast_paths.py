"""Under a mixed policy, the float32 fast paths (`Layer._plain_call`, a model's channels-first
plan, engine/channels_first.py) run wherever a layer's policy has no autocast state to switch
(`autocast.calls_as_given`): the numbers and dtypes of the general path (`Layer.__call__` ->
`autocast.call_with_policy`) to the bit, with less host work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, mixed_precision
from lamina.dtype_policies import policy as dtype_policies
from lamina.engine import channels_first
from lamina.engine import layer as layer_module
from lamina.mixed_precision import autocast
from tests.engine.test_channels_first import cnn_model, residual_model, step
from tests.op_counts import CountOps, python_calls

POLICIES = [("mixed_bfloat16", torch.bfloat16), ("mixed_float16", torch.float16)]


def general_path(monkeypatch):
    """Every layer call as before the fast paths took mixed policies: no plan, no plain call
    (as for a layer with hooks)."""
    monkeypatch.setattr(channels_first, "role", lambda layer: None)
    monkeypatch.setattr(layer_module, "_module_call_needed", lambda module: True)


@pytest.mark.parametrize("make", [residual_model, cnn_model])
@pytest.mark.parametrize(("policy", "dtype"), POLICIES)
def test_a_mixed_model_follows_its_plan_with_the_general_paths_numbers(
    make, policy, dtype, monkeypatch
):
    mixed_precision.set_global_policy(policy)
    x = torch.randn(2, 6, 6, 3, generator=torch.Generator().manual_seed(1))
    model = make()
    step(model, x)
    with CountOps() as fast:
        got = step(model, x)
    general_path(monkeypatch)
    model = make()
    step(model, x)
    with CountOps() as general:
        expected = step(model, x)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
    assert got[0].dtype == dtype  # computed in 16 bits
    assert {g.dtype for g in got[1:]} == {torch.float32}  # input and weights stay float32
    assert fast.counts["permute"] <= general.counts["permute"] - 8, (fast, general)
    assert sum(fast.counts.values()) < sum(general.counts.values())


def fit_record(make, policy):
    """Losses, predictions and weights of a seeded fit under `policy`."""
    lamina.utils.set_random_seed(0)
    mixed_precision.set_global_policy(policy)
    model = make()
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-2),
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6, 6, 3), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    return [
        np.asarray(history.history["loss"]),
        model.predict(x, batch_size=8, verbose=0),
        *model.get_weights(),
    ]


@pytest.mark.parametrize("make", [residual_model, cnn_model])
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16", "float32"])
def test_a_seeded_fit_is_the_general_paths_to_the_bit(make, policy, monkeypatch):
    got = fit_record(make, policy)
    general_path(monkeypatch)
    expected = fit_record(make, policy)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def mixed_model_with_float32_layers():
    torch.manual_seed(0)
    inputs = lamina.Input((6, 6, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    full = layers.Conv2D(4, 3, padding="same", dtype="float32", name="full")(x)
    x = layers.BatchNormalization(name="after_full")(full)
    x = layers.Conv2D(4, 3, padding="same", name="back_to_mixed")(x)
    x = layers.MaxPooling2D(2)(x)
    scores = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    probabilities = layers.Activation("softmax", dtype="float32")(scores)
    return lamina.Model(inputs, [full, x, probabilities])


def test_a_float32_layer_of_a_mixed_model_computes_in_float32(monkeypatch):
    mixed_precision.set_global_policy("mixed_bfloat16")
    x = torch.randn(2, 6, 6, 3, generator=torch.Generator().manual_seed(1))

    def outputs():
        model = mixed_model_with_float32_layers()
        model(x, training=True)
        with CountOps() as ops:
            result = model(x, training=True)
        return result, ops.counts

    (full, pooled, probabilities), fast = outputs()
    assert (full.dtype, pooled.dtype, probabilities.dtype) == (
        torch.float32,  # the float32 layer left the model's autocast region
        torch.bfloat16,
        torch.float32,
    )
    general_path(monkeypatch)
    expected, general = outputs()
    for a, b in zip((full, pooled, probabilities), expected, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
    assert fast["permute"] < general["permute"]


def test_calls_as_given_says_where_autocast_has_nothing_to_switch():
    mixed_precision.set_global_policy("mixed_bfloat16")
    mixed, full = layers.Dense(2), layers.Dense(2, dtype="float32")
    x = torch.randn(2, 3)
    assert not autocast.calls_as_given(mixed, x)  # outside a region: it opens one
    assert autocast.calls_as_given(full, x)
    assert not autocast.calls_as_given(full, x.double())  # a cast to float32 to make
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert autocast.calls_as_given(mixed, x)  # the fast path casts the float32 input
        assert autocast.calls_as_given(mixed, x.bfloat16())
        assert mixed(x).dtype == torch.bfloat16
        assert not autocast.calls_as_given(full, x)  # it leaves the region
    with torch.autocast("cpu", dtype=torch.float16):
        assert not autocast.calls_as_given(mixed, x)  # a region of another dtype
    assert not autocast.calls_as_given(mixed, torch.randn(2, 3, device="meta"))


def test_a_float32_model_keeps_its_fast_paths_once_a_mixed_policy_exists(monkeypatch):
    x = torch.randn(2, 6, 6, 3, generator=torch.Generator().manual_seed(1))
    counts, results = [], []
    for in_use in (False, True):
        monkeypatch.setattr(dtype_policies, "mixed_in_use", [in_use])
        model = residual_model()
        step(model, x)
        with CountOps() as ops:
            results.append(step(model, x))
        counts.append(ops.counts)
    assert counts[0] == counts[1]
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("make", [residual_model, cnn_model])
def test_a_mixed_train_step_costs_about_the_python_calls_of_a_float32_one(make, monkeypatch):
    """Host work bounds a GPU step: the mixed step adds autocast's casts, not a general path
    per layer (2.7x the float32 step's Python calls for bench_host_overhead.py's ResNet before)."""
    monkeypatch.setattr(dtype_policies, "mixed_in_use", [False])  # float32 measured untouched
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 3), dtype=np.float32)
    batch = (torch.as_tensor(x), torch.as_tensor([0, 1, 2, 0]))
    calls = {}
    for policy in ("float32", "mixed_bfloat16"):
        mixed_precision.set_global_policy(policy)
        model = make()
        model.compile(
            optimizer="adam",
            loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.train_step(batch)
        model.train_step(batch)
        calls[policy] = python_calls(lambda model=model: model.train_step(batch))
    assert calls["mixed_bfloat16"] <= 1.25 * calls["float32"], calls


def casting_model():
    """Layers whose fast path casts: a merge and a pooling given the model's float32 input
    (`_plain_list_call`, the channels-first plan), a norm autocast runs in float32."""
    torch.manual_seed(0)
    inputs = lamina.Input((6, 6, 3))
    doubled = layers.Add()([inputs, inputs])
    x = layers.Concatenate()([layers.MaxPooling2D(2)(doubled), layers.AveragePooling2D(2)(inputs)])
    x = layers.LayerNormalization(rms_scaling=True)(x)
    return lamina.Model(inputs, layers.Dense(3)(layers.Flatten()(x)))


@pytest.mark.parametrize(("policy", "dtype"), POLICIES)
def test_the_fast_paths_cast_as_the_general_path(policy, dtype, monkeypatch):
    mixed_precision.set_global_policy(policy)
    x = torch.randn(2, 6, 6, 3, generator=torch.Generator().manual_seed(1))
    model = casting_model()
    got = step(model, x)
    general_path(monkeypatch)
    expected = step(casting_model(), x)
    assert got[0].dtype == dtype
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)
