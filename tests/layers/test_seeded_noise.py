"""A noise layer given `seed=` draws from its own SeedGenerator, as in Keras: two layers with the
same seed give the same noise call after call, the stream moves on between calls, and the global
generator neither feeds it nor is consumed by it. Without a seed, the global generator decides."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import layers
from tests.parity.reference import keras

NOISE_LAYERS = [
    ("Dropout", (0.4,), {}, (8, 50)),
    ("Dropout", (0.4,), {"noise_shape": (None, 1)}, (8, 50)),
    ("GaussianNoise", (0.5,), {}, (8, 50)),
    ("GaussianDropout", (0.3,), {}, (8, 50)),
    ("AlphaDropout", (0.3,), {}, (8, 50)),
    ("SpatialDropout1D", (0.4,), {}, (8, 5, 16)),
    ("SpatialDropout2D", (0.4,), {}, (8, 3, 3, 16)),
    ("SpatialDropout3D", (0.4,), {}, (8, 2, 2, 2, 16)),
]
IDS = [
    f"{name}{'-' + str(sorted(kwargs)) if kwargs else ''}" for name, _, kwargs, _ in NOISE_LAYERS
]


def _draws(layer, shape, calls=3):
    return [layer(torch.ones(shape), training=True) for _ in range(calls)]


@pytest.mark.parametrize("name, args, kwargs, shape", NOISE_LAYERS, ids=IDS)
def test_same_seed_same_noise_step_after_step(name, args, kwargs, shape):
    make = lambda seed: getattr(layers, name)(*args, seed=seed, **kwargs)  # noqa: E731
    lamina.utils.set_random_seed(0)
    first = _draws(make(7), shape)
    lamina.utils.set_random_seed(123)  # the global generator plays no part
    torch.rand(5)
    second = _draws(make(7), shape)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first[0], first[1])  # the stream moves on between calls
    other = _draws(make(8), shape, calls=1)[0]
    assert not torch.equal(first[0], other)


@pytest.mark.parametrize("name, args, kwargs, shape", NOISE_LAYERS, ids=IDS)
def test_a_seeded_layer_leaves_the_global_generator_alone(name, args, kwargs, shape):
    layer = getattr(layers, name)(*args, seed=3, **kwargs)
    before = torch.get_rng_state()
    _draws(layer, shape, calls=2)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("name, args, kwargs, shape", NOISE_LAYERS, ids=IDS)
def test_unseeded_layers_follow_the_global_generator(name, args, kwargs, shape):
    layer = getattr(layers, name)(*args, **kwargs)
    assert layer.seed_generator is None
    lamina.utils.set_random_seed(5)
    first = _draws(layer, shape, calls=2)
    lamina.utils.set_random_seed(5)
    second = _draws(layer, shape, calls=2)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], first[1])


def test_seeded_dropout_keeps_its_rate_and_scale():
    y = layers.Dropout(0.25, seed=1)(torch.ones(400, 100), training=True)
    assert sorted(y.unique().tolist()) == [0.0, pytest.approx(1 / 0.75)]
    assert abs((y == 0).float().mean().item() - 0.25) < 0.01


def test_the_seed_stays_in_the_config_and_rebuilds_the_same_stream():
    layer = layers.Dropout(0.5, seed=11)
    twin = layers.Dropout.from_config(layer.get_config())
    x = torch.ones(4, 64)
    assert torch.equal(layer(x, training=True), twin(x, training=True))


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_seeded_recurrent_dropout_masks_repeat(name):
    x = torch.randn(4, 6, 3)

    def run(seed):
        lamina.utils.set_random_seed(0)  # the same initial weights
        layer = getattr(layers, name)(5, dropout=0.3, recurrent_dropout=0.3, seed=seed)
        layer(x)  # built (and its weights drawn) before the global generator changes
        lamina.utils.set_random_seed(seed * 100)  # a global state that differs per run
        return [layer(x, training=True) for _ in range(2)]

    first, second = run(4), run(4)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], run(5)[0])
    assert not torch.equal(first[0], first[1])


def test_seeded_conv_lstm_dropout_masks_repeat():
    x = torch.randn(2, 3, 5, 5, 2)

    def run(global_seed):
        lamina.utils.set_random_seed(0)  # the same initial weights
        layer = layers.ConvLSTM2D(3, 3, padding="same", dropout=0.3, recurrent_dropout=0.3, seed=2)
        layer(x)  # built (and its weights drawn) before the global generator changes
        lamina.utils.set_random_seed(global_seed)
        return layer(x, training=True)

    assert torch.equal(run(1), run(2))


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs, shape", NOISE_LAYERS, ids=IDS)
def test_seeded_noise_is_keras_s_noise_call_after_call(name, args, kwargs, shape):
    if lamina.backend.default_device().type != "cpu":
        pytest.skip("the Keras reference draws with a CPU generator")
    ours = _draws(getattr(layers, name)(*args, seed=7, **kwargs), shape)
    theirs = _draws(getattr(keras.layers, name)(*args, seed=7, **kwargs), shape)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.cpu(), b.detach(), atol=1e-6, rtol=1e-6)
