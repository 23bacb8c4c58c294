"""BatchNormalization's moving statistics applied together after a training forward
(engine/moving_statistics.py) equal the same updates applied one layer at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers, models, optimizers
from lamina.engine import moving_statistics
from tests.op_counts import CountOps


def batch_norm_stack(momenta=(0.99, 0.99, 0.99)):
    torch.manual_seed(0)
    return models.Sequential(
        [layers.Input((4, 4, 3)), layers.Conv2D(5, 3, padding="same")]
        + [layers.BatchNormalization(momentum=m) for m in momenta]
    )


def moving(model):
    return [w.copy() for layer in model.layers for w in layer.get_weights()[2:]]


def keras_update(moving_value, batch_value, momentum):
    return moving_value * momentum + batch_value * (1 - momentum)


@pytest.mark.parametrize("momenta", [(0.99, 0.99, 0.99), (0.9, 0.5, 0.99)])
def test_deferred_updates_equal_the_immediate_ones(momenta):
    x = torch.randn(6, 4, 4, 3, generator=torch.Generator().manual_seed(1))
    immediate, deferred = batch_norm_stack(momenta), batch_norm_stack(momenta)
    deferred.set_weights(immediate.get_weights())
    immediate(x, training=True)
    with moving_statistics.deferred():
        deferred(x, training=True)
        # waiting inside the scope: still the initial zeros and ones
        assert all(np.all(w == 0) for w in moving(deferred)[::2])
    for expected, got in zip(moving(immediate), moving(deferred), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert any(np.any(w != 0) for w in moving(deferred)[::2])


def test_the_updates_are_keras_rule_with_the_biased_variance():
    layer = layers.BatchNormalization(momentum=0.75)
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(2)) * 3 + 1
    layer(x)
    with moving_statistics.deferred():
        layer(x, training=True)
    np.testing.assert_allclose(
        layer.moving_mean.numpy(), keras_update(0.0, x.mean(0).numpy(), 0.75), rtol=1e-5
    )
    np.testing.assert_allclose(
        layer.moving_variance.numpy(),
        keras_update(1.0, x.var(0, unbiased=False).numpy(), 0.75),
        rtol=1e-5,
    )


def test_a_layer_called_twice_in_one_forward_updates_twice_in_order():
    layer = layers.BatchNormalization(momentum=0.5)
    first = torch.randn(8, 3, generator=torch.Generator().manual_seed(3))
    second = first * 2 + 5
    layer(first)
    with moving_statistics.deferred():
        layer(first, training=True)
        layer(second, training=True)
    after_first = keras_update(0.0, first.mean(0).numpy(), 0.5)
    np.testing.assert_allclose(
        layer.moving_mean.numpy(), keras_update(after_first, second.mean(0).numpy(), 0.5), rtol=1e-5
    )


def test_float64_statistics_of_a_float32_layer_are_cast():
    layer = layers.BatchNormalization(momentum=0.0)
    x = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    layer(x.float())
    with moving_statistics.deferred():
        moving_statistics.update(layer, x.mean(0), variance=x.var(0, unbiased=False))
    assert layer.moving_mean.dtype == torch.float32
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(0).numpy(), rtol=1e-6)


def test_an_error_in_the_forward_applies_nothing():
    layer = layers.BatchNormalization(momentum=0.0)
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(5))
    layer(x)
    with pytest.raises(RuntimeError, match="boom"), moving_statistics.deferred():
        layer(x, training=True)
        raise RuntimeError("boom")
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3, np.float32))
    layer(x, training=True)  # the scope is closed: applied at once again
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(0).numpy(), rtol=1e-6)


def test_fit_updates_every_batch_normalization_as_a_custom_loop_does():
    """fit's step defers; a hand-written loop calling the model with training=True does not."""
    x = np.random.default_rng(6).standard_normal((16, 4, 4, 3)).astype("float32")
    y = np.random.default_rng(7).standard_normal((16, 4, 4, 5)).astype("float32")
    fitted, looped = batch_norm_stack(), batch_norm_stack()
    looped.set_weights(fitted.get_weights())
    fitted.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    fitted.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for start in (0, 8):
        looped(torch.from_numpy(x[start : start + 8]), training=True)
    for expected, got in zip(moving(looped), moving(fitted), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_a_fit_step_updates_all_its_batch_normalizations_in_one_lerp():
    x = np.random.default_rng(8).standard_normal((16, 4, 4, 3)).astype("float32")
    y = np.random.default_rng(9).standard_normal((16, 4, 4, 5)).astype("float32")
    model = batch_norm_stack()
    model.compile(optimizer=optimizers.SGD(0.01), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with CountOps() as ops:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # two steps
    assert ops.counts["_foreach_lerp_"] == 2  # three layers' statistics, once a step


def test_statistics_without_a_graph_are_kept_without_a_detach():
    """native_batch_norm's mean and inverse std carry no graph: they are kept as they are (a
    detach each was two ops per layer per step); statistics that do carry one are detached."""
    layer = layers.BatchNormalization()
    layer(torch.ones(2, 3))
    x = torch.randn(8, 3, 4, 4)
    _, mean, inverse_std = torch.native_batch_norm(x, None, None, None, None, True, 0.0, 1e-3)
    with CountOps() as ops, moving_statistics.deferred():
        moving_statistics.update(layer, mean, inverse_std=inverse_std)
    assert ops.counts["detach"] == 0
    expected = keras_update(np.zeros(3), mean.numpy(), 0.99)
    np.testing.assert_allclose(layer.moving_mean.numpy(), expected, rtol=1e-6)
    tracked = torch.randn(3, requires_grad=True) * 1.0
    with CountOps() as ops, moving_statistics.deferred():
        moving_statistics.update(layer, tracked, variance=tracked.square())
    assert ops.counts["detach"] == 2
    assert not layer.moving_mean.requires_grad and not layer.moving_variance.requires_grad
