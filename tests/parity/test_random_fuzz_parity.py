"""lamina.random against keras.random where a differential fuzz found them apart: parameters
that hung or wrapped around silently, and `truncated_normal` at a zero or negative `stddev`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import random
from tests.parity.reference import keras


def _keras_raises(call):
    # Keras's torch backend refuses these through torch.distributions' argument checks, which
    # torch._dynamo switches off for the whole process once anything was compiled (an earlier
    # jit_compile test in the same worker): switched on for the call, then put back.
    checked = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    try:
        call()
    except (ValueError, RuntimeError):
        return True
    finally:
        torch.distributions.Distribution.set_default_validate_args(checked)
    return False


@pytest.mark.parity
@pytest.mark.parametrize(
    ("minval", "maxval", "dtype"),
    [(-5, 5, "uint8"), (0, 2**40, "int32"), (0, 2**40, "uint8"), (-(2**31), 2**31 - 1, "uint8")],
)
def test_randint_refuses_bounds_its_dtype_cannot_hold(minval, maxval, dtype):
    # Keras refuses them; lamina drew int64 then cast, wrapping e.g. -3 to 253 in uint8.
    assert _keras_raises(lambda: keras.random.randint((8,), minval, maxval, dtype=dtype, seed=1))
    with pytest.raises(ValueError, match=rf"dtype={dtype} cannot hold"):
        random.randint((8,), minval, maxval, dtype=dtype, seed=1)


@pytest.mark.parity
@pytest.mark.parametrize(("minval", "maxval", "dtype"), [(0, 256, "uint8"), (-128, 128, "int8")])
def test_randint_accepts_bounds_that_fill_its_dtype(minval, maxval, dtype):
    ours = random.randint((20000,), minval, maxval, dtype=dtype, seed=1)
    theirs = keras.random.randint((20000,), minval, maxval, dtype=dtype, seed=1)
    assert ours.dtype == theirs.dtype
    assert int(ours.min()) == minval and int(ours.max()) == maxval - 1


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("gamma", {"alpha": -1.0}),
        ("gamma", {"alpha": 0.0}),
        ("gamma", {"alpha": np.array([1.0, -2.0, 3.0], "float32")}),
        ("gamma", {"alpha": float("nan")}),
        ("beta", {"alpha": -1.0, "beta": 2.0}),
        ("beta", {"alpha": 2.0, "beta": 0.0}),
    ],
)
def test_gamma_and_beta_refuse_a_non_positive_concentration(name, kwargs):
    # Before: the rejection sampler never accepted a draw and the call hung.
    assert _keras_raises(lambda: getattr(keras.random, name)((4, 3), seed=1, **kwargs))
    with pytest.raises(ValueError, match="> 0 everywhere"):
        getattr(random, name)((4, 3), seed=1, **kwargs)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("counts", "probabilities"),
    [(-1.0, 0.3), (10.0, 1.5), (10.0, -0.1), (np.array([1.0, -1.0, 2.0], "float32"), 0.5)],
)
def test_binomial_refuses_bad_parameters(counts, probabilities):
    # Before: torch.binomial answered p=1.5 with `counts` and counts=-1 with zeros.
    assert _keras_raises(lambda: keras.random.binomial((4, 3), counts, probabilities, seed=1))
    with pytest.raises(ValueError, match="counts` >= 0 and `probabilities` in"):
        random.binomial((4, 3), counts, probabilities, seed=1)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_normal_with_zero_stddev_is_its_mean(dtype):
    ours = random.truncated_normal((1000,), mean=1.5, stddev=0.0, dtype=dtype, seed=2)
    theirs = keras.random.truncated_normal((1000,), mean=1.5, stddev=0.0, dtype=dtype, seed=2)
    assert ours.dtype == theirs.dtype
    torch.testing.assert_close(ours.cpu(), theirs.cpu())


@pytest.mark.parity
def test_truncated_normal_with_negative_stddev_is_mirrored_within_two_stddevs():
    ours = random.truncated_normal((100000,), mean=1.0, stddev=-0.5, seed=2).double()
    theirs = keras.random.truncated_normal((100000,), mean=1.0, stddev=-0.5, seed=2).double()
    for sample in (ours.cpu(), theirs.cpu()):
        assert float(sample.min()) >= 0.0 and float(sample.max()) <= 2.0
        assert abs(float(sample.mean()) - 1.0) < 0.01
        # the std of a standard normal cut at +-2 is 0.8796; scaled by |stddev| = 0.5
        assert abs(float(sample.std()) - 0.5 * 0.8796) < 0.01


@pytest.mark.parity
def test_truncated_normal_keeps_its_numbers_for_a_seed():
    # The standard-then-scaled draw is the same draw as before, only rescaled afterwards.
    out = torch.empty(64)
    torch.nn.init.trunc_normal_(
        out, 0.5, 2.0, -3.5, 4.5, generator=torch.Generator().manual_seed(9)
    )
    ours = random.truncated_normal((64,), mean=0.5, stddev=2.0, seed=9)
    torch.testing.assert_close(ours.cpu(), out, atol=1e-5, rtol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("noise_shape", [(1, 1, 5), (4,), (2, 5)])
def test_dropout_refuses_a_noise_shape_that_does_not_broadcast_to_the_inputs(noise_shape):
    # Before: (1, 1, 5) broadcast the output itself to (1, 4, 5); the others raised torch's
    # RuntimeError. A mask of (5,) still broadcasts over the batch, as in Keras.
    inputs = torch.ones(4, 5)
    assert _keras_raises(lambda: keras.random.dropout(inputs, 0.5, noise_shape, seed=1))
    with pytest.raises(ValueError, match="does not broadcast to the inputs' shape"):
        random.dropout(inputs, 0.5, noise_shape=noise_shape, seed=1)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [torch.int32, torch.float16, torch.float32])
def test_dropout_at_rate_zero_returns_the_inputs(dtype):
    inputs = torch.arange(12, dtype=dtype).reshape(3, 4)
    ours = random.dropout(inputs, 0.0, seed=1)
    theirs = keras.random.dropout(inputs, 0.0, seed=1)
    assert ours.dtype == theirs.dtype == dtype
    torch.testing.assert_close(ours.cpu(), theirs.cpu())


@pytest.mark.parity
def test_dropout_broadcasts_a_lower_rank_noise_shape_as_keras():
    inputs = torch.ones(400, 50)
    ours = random.dropout(inputs, 0.5, noise_shape=(50,), seed=1)
    theirs = keras.random.dropout(inputs, 0.5, noise_shape=(50,), seed=1)
    assert tuple(ours.shape) == tuple(theirs.shape) == (400, 50)
    # one mask for every row
    assert bool((ours == ours[:1]).all())
