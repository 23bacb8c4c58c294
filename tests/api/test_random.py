"""lamina.random: the right distributions (KS tests, moments, Keras's own samples) and seeds that
repeat (ints, SeedGenerator streams, global seeding)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import lamina
from lamina import random
from tests.parity.reference import keras

N = 20_000


def sample(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy().reshape(-1)


@pytest.mark.parametrize(
    ("draw", "reference"),
    [
        (lambda: random.normal((N,), mean=1.5, stddev=2.0, seed=1), stats.norm(1.5, 2.0)),
        (lambda: random.uniform((N,), minval=-2.0, maxval=3.0, seed=2), stats.uniform(-2.0, 5.0)),
        (
            lambda: random.truncated_normal((N,), mean=0.5, stddev=2.0, seed=3),
            stats.truncnorm(-2.0, 2.0, loc=0.5, scale=2.0),
        ),
        (lambda: random.gamma((N,), alpha=0.4, seed=4), stats.gamma(0.4)),
        (lambda: random.gamma((N,), alpha=3.0, seed=5), stats.gamma(3.0)),
        (lambda: random.beta((N,), alpha=2.0, beta=5.0, seed=6), stats.beta(2.0, 5.0)),
        (lambda: random.beta((N,), alpha=0.5, beta=0.5, seed=7), stats.beta(0.5, 0.5)),
    ],
    ids=["normal", "uniform", "truncated_normal", "gamma_small", "gamma", "beta", "beta_u"],
)
def test_continuous_samplers_pass_a_ks_test(draw, reference):
    values = sample(draw())
    assert stats.kstest(values, reference.cdf).pvalue > 1e-3
    assert abs(values.mean() - reference.mean()) < 5 * reference.std() / np.sqrt(N)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: random.gamma((N,), 2.5, seed=1), lambda: keras.random.gamma((N,), 2.5, seed=1)),
        (
            lambda: random.beta((N,), 3.0, 1.5, seed=1),
            lambda: keras.random.beta((N,), 3.0, 1.5, seed=1),
        ),
        (
            lambda: random.truncated_normal((N,), 1.0, 0.5, seed=1),
            lambda: keras.random.truncated_normal((N,), 1.0, 0.5, seed=1),
        ),
    ],
    ids=["gamma", "beta", "truncated_normal"],
)
def test_samples_are_distributed_like_keras(ours, theirs):
    assert stats.ks_2samp(sample(ours()), sample(theirs())).pvalue > 1e-3


def test_binomial_moments_and_dtype():
    values = random.binomial((N,), counts=10, probabilities=0.3, seed=1)
    assert values.dtype == torch.float32
    counts = np.bincount(sample(values).astype(int), minlength=11)
    expected = stats.binom(10, 0.3).pmf(np.arange(11)) * N
    keep = expected > 5
    assert (
        stats.chisquare(
            counts[keep], expected[keep] * counts[keep].sum() / expected[keep].sum()
        ).pvalue
        > 1e-3
    )


def test_randint_covers_its_range_uniformly():
    values = random.randint((N,), minval=-3, maxval=4, seed=1)
    assert values.dtype == torch.int32
    counts = np.bincount(sample(values).astype(int) + 3)
    assert len(counts) == 7
    assert stats.chisquare(counts).pvalue > 1e-3


def test_categorical_follows_the_softmax_of_its_logits():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], dtype="float32"))
    ids = random.categorical(logits, N, seed=1)
    assert tuple(ids.shape) == (2, N) and ids.dtype == torch.int32
    for row, probabilities in enumerate(np.exp(logits.astype("float64"))):
        counts = np.bincount(ids[row].cpu().numpy(), minlength=3)
        expected = probabilities.astype("float64") / probabilities.sum() * N
        assert stats.chisquare(counts, expected).pvalue > 1e-3
    with pytest.raises(ValueError, match="should be a 2-D tensor"):
        random.categorical([0.0, 1.0], 3)


def test_dropout_drops_rate_and_rescales():
    inputs = torch.ones(N)
    out = random.dropout(inputs, 0.3, seed=1)
    values = set(np.round(sample(out), 5).tolist())
    assert values == {0.0, round(1 / 0.7, 5)}
    dropped = float((out == 0).double().mean())
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / N)
    assert torch.equal(random.dropout(inputs, 1.0).cpu(), torch.zeros(N))


def test_dropout_noise_shape_broadcasts_one_mask():
    out = random.dropout(torch.ones(4, 50, 8), 0.5, noise_shape=(None, 1, 8), seed=1)
    assert torch.equal(out, out[:, :1].expand_as(out))
    assert 0 < int((out[:, 0] == 0).sum()) < 32


def test_shuffle_permutes_along_its_axis():
    x = torch.arange(12).reshape(3, 4)
    shuffled = random.shuffle(x, axis=1, seed=3).cpu()  # made on lamina's device, as Keras does
    assert torch.equal(shuffled.sort(dim=1).values, x)
    assert torch.equal(shuffled, random.shuffle(x, axis=1, seed=3).cpu())
    assert torch.equal(shuffled[1] - shuffled[0], torch.full((4,), 4))


@pytest.mark.parametrize(
    "draw",
    [
        lambda seed: random.normal((5,), seed=seed),
        lambda seed: random.uniform((5,), seed=seed),
        lambda seed: random.truncated_normal((5,), seed=seed),
        lambda seed: random.randint((5,), 0, 100, seed=seed),
        lambda seed: random.categorical(torch.zeros(1, 9), 5, seed=seed),
        lambda seed: random.dropout(torch.ones(20), 0.5, seed=seed),
        lambda seed: random.shuffle(torch.arange(20), seed=seed),
        lambda seed: random.gamma((5,), 1.5, seed=seed),
        lambda seed: random.beta((5,), 1.5, 2.0, seed=seed),
        lambda seed: random.binomial((5,), 20, 0.5, seed=seed),
    ],
    ids=[
        "normal",
        "uniform",
        "truncated_normal",
        "randint",
        "categorical",
        "dropout",
        "shuffle",
        "gamma",
        "beta",
        "binomial",
    ],
)
def test_seeds_repeat_and_streams_move_on(draw):
    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))
    stream, twin = random.SeedGenerator(11), random.SeedGenerator(11)
    first, second = draw(stream), draw(stream)
    assert not torch.equal(first, second), "a SeedGenerator gives a new seed each call"
    assert torch.equal(first, draw(twin)) and torch.equal(second, draw(twin))
    lamina.utils.set_random_seed(5)
    global_first = draw(None)
    lamina.utils.set_random_seed(5)
    assert torch.equal(global_first, draw(None))


def test_seed_generator_state_and_config_follow_keras():
    ours, theirs = random.SeedGenerator(3), keras.random.SeedGenerator(3)
    assert ours.next().tolist() == np.asarray(theirs.next()).tolist() == [3, 0]
    assert ours.state.tolist() == [3, 1]
    assert ours.get_config()["seed"] == theirs.get_config()["seed"] == 3
    lamina.utils.set_random_seed(1)
    unseeded = random.SeedGenerator().get_config()["seed"]
    lamina.utils.set_random_seed(1)
    assert random.SeedGenerator().get_config()["seed"] == unseeded
    with pytest.raises(ValueError, match="seed must be an int or None"):
        random.SeedGenerator("abc")


@pytest.mark.parametrize(
    "draw",
    [
        lambda r, seed: r.normal((5,), seed=seed),
        lambda r, seed: r.uniform((5,), minval=-1.0, seed=seed),
        lambda r, seed: r.randint((5,), 0, 10, seed=seed),
        lambda r, seed: r.dropout(torch.ones(6), 0.5, seed=seed),
    ],
    ids=["normal", "uniform", "randint", "dropout"],
)
def test_seed_generator_streams_draw_keras_s_numbers(draw):
    if lamina.backend.default_device().type != "cpu":
        pytest.skip("the Keras reference draws with a CPU generator")
    for seed in (7, 2**40 + 3):  # an int seed, and one past 32 bits, wraps as Keras's does
        assert torch.equal(draw(random, seed).cpu(), torch.as_tensor(draw(keras.random, seed)))
    ours, theirs = random.SeedGenerator(1337), keras.random.SeedGenerator(1337)
    for _ in range(3):
        assert torch.equal(draw(random, ours).cpu(), torch.as_tensor(draw(keras.random, theirs)))


def test_bad_seeds_and_dtypes_say_what_was_received():
    with pytest.raises(
        ValueError, match="requires a floating point `dtype`. Received: dtype=int32"
    ):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="received seed=1.5"):
        random.normal((2,), seed=1.5)


class NoisyLayer(lamina.layers.Layer):
    """A custom layer keeping its own seed stream, the Keras 3 way."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = random.SeedGenerator(seed)

    def call(self, inputs):
        return inputs + random.normal(tuple(inputs.shape), stddev=0.1, seed=self.seed_generator)


def test_a_layer_with_a_seed_generator_repeats_across_instances():
    x = torch.zeros(2, 3, device=lamina.backend.default_device())
    layer, twin = NoisyLayer(seed=4), NoisyLayer(seed=4)
    first, second = layer(x), layer(x)
    assert not torch.equal(first, second)
    assert torch.equal(first, twin(x)) and torch.equal(second, twin(x))


@pytest.mark.parametrize("dtype", ["float64", "float32", "bool"])
def test_randint_refuses_a_non_integer_dtype_as_keras(dtype):
    # Keras raises before drawing; a float dtype would otherwise silently give floats.
    with pytest.raises(ValueError, match="requires an integer `dtype`"):
        keras.random.randint((3,), minval=0, maxval=10, dtype=dtype)
    with pytest.raises(ValueError, match=f"requires an integer `dtype`. Received: dtype={dtype}"):
        random.randint((3,), minval=0, maxval=10, dtype=dtype)


@pytest.mark.parametrize("dtype", ["uint16", "uint32", np.uint16])
def test_randint_takes_wide_unsigned_dtypes_as_keras(dtype):
    # Torch lacks uint16/uint32 arithmetic; Keras draws them as the next wider signed int.
    ours = random.randint((4,), minval=0, maxval=10, dtype=dtype, seed=3)
    theirs = keras.random.randint((4,), minval=0, maxval=10, dtype=dtype, seed=3)
    assert ours.dtype == theirs.dtype
    assert torch.equal(ours.cpu(), torch.as_tensor(theirs))
