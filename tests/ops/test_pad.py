"""lamina.ops.pad against NumPy's `pad`, the rules Keras documents, for every form and mode.

Keras-on-torch itself agrees only for one (before, after) pair per axis in "constant" mode and in
"reflect" / "circular" on the last axes (those cases are in tests/ops/parity_cases.py): it pads
only the last axis for an int or a single pair, maps "symmetric" to torch's "replicate", and
rejects "edge", "wrap" and the statistic modes. NumPy's answer is the one its other backends give.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops

SHAPES = [(3,), (2, 3), (2, 3, 4), (1, 2, 3, 2)]
MODES = [
    "constant", "edge", "reflect", "symmetric", "wrap",
    "maximum", "minimum", "mean", "median", "linear_ramp",
]  # fmt: skip


def _forms(ndim):
    """Every pad_width form NumPy accepts: int, (n,), (before, after), ((b, a),), per axis."""
    per_axis = [(axis % 3, (axis + 1) % 3) for axis in range(ndim)]
    return [0, 2, (1,), (1, 2), ((2, 0),), [(n,) for n, _ in per_axis], per_axis, 5]


def _inputs(shape):
    # Data of its own per shape: drawn from one shared generator, each test's values depended on
    # the tests run before it (another order gave a "mean" case float32 cancellation beyond rtol).
    floats = np.random.default_rng(len(shape)).standard_normal(shape).astype("float32")
    return [floats, (floats * 5).astype("int32"), floats > 0]


@pytest.mark.parametrize("mode", MODES)
def test_pad_matches_numpy_for_every_form_rank_and_dtype(mode):
    for shape in SHAPES:
        for x in _inputs(shape):
            if x.dtype == bool and mode in ("mean", "median", "linear_ramp"):
                continue  # NumPy itself cannot average or ramp booleans
            for pad_width in _forms(len(shape)):
                expected = np.pad(x, pad_width, mode=mode)
                got = ops.pad(torch.tensor(x), pad_width, mode=mode)
                assert got.dtype == torch.from_numpy(expected).dtype
                # A float32 mean near 0 differs by the summation order (NumPy adds pairwise):
                # rounding of the order of the inputs' own magnitude, not of the result's.
                atol = 1e-6 * float(np.abs(x).max()) if x.dtype.kind == "f" else 0.0
                np.testing.assert_allclose(
                    got.numpy(),
                    expected,
                    rtol=1e-6,
                    atol=atol,
                    err_msg=f"{shape} {x.dtype} {pad_width}",
                )


def test_a_bare_pair_pads_every_axis_as_numpy_does():
    assert tuple(ops.pad(np.zeros((2, 2)), (1, 2)).shape) == (5, 5)
    assert tuple(ops.pad(np.zeros((2, 3, 4)), 1, mode="edge").shape) == (4, 5, 6)


def test_circular_is_wrap_and_constant_values_may_differ_per_side():
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(
        ops.pad(x, ((1, 4), (2, 0)), mode="circular").numpy(),
        np.pad(x, ((1, 4), (2, 0)), mode="wrap"),
    )
    values = ((1.0, 2.0), (3.0, 4.0))
    np.testing.assert_array_equal(
        ops.pad(x, ((1, 2), (2, 1)), constant_values=values).numpy(),
        np.pad(x, ((1, 2), (2, 1)), constant_values=values),
    )


def test_reflect_by_hand_and_its_gradient_sums_the_mirrored_positions():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = ops.pad(x, (2, 1), mode="reflect")
    assert out.tolist() == [3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
    out.backward(torch.tensor([1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]))
    # x[0] appears once, x[1] three times (positions 1, 3, 5), x[2] twice (positions 0, 4).
    assert x.grad.tolist() == [100.0, 101010.0, 10001.0]


def test_symbolic_pad_infers_the_padded_shape_and_replays():
    inputs = layers.Input((4, 5))
    out = ops.pad(inputs, ((0, 0), (1, 2), (2, 2)), mode="symmetric")
    assert tuple(out.shape) == (None, 7, 9)
    model = lamina.Model(inputs, out)
    x = np.random.default_rng(3).standard_normal((2, 4, 5)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(x)), np.pad(x, ((0, 0), (1, 2), (2, 2)), mode="symmetric")
    )


ERRORS = [
    (lambda: ops.pad(np.zeros((2, 2)), 1, mode="nearest"), r"pad\(\) expects mode in \["),
    (
        lambda: ops.pad(np.zeros((2, 2)), 1, mode="edge", constant_values=1),
        r"pad\(\) expects constant_values only with mode='constant'; received mode='edge'",
    ),
    (
        lambda: ops.pad(np.zeros((2, 2, 2)), ((1, 1), (2, 2)), mode="constant"),
        r"pad\(\) expects pad_width as an int, \(n,\), \(before, after\) or one \(before, after\)"
        r" pair per axis \(3 axes\)",
    ),
    (lambda: ops.pad(np.zeros(2), -1), r"pad\(\) expects pad_width of non-negative integers"),
    (
        lambda: ops.pad(np.zeros((0, 2)), 1, mode="wrap"),
        r"pad\(\) expects a non-empty axis to extend in mode='wrap'; received axis 0 of size 0",
    ),
]


@pytest.mark.parametrize(("trigger", "pattern"), ERRORS, ids=range(len(ERRORS)))
def test_pad_errors(trigger, pattern):
    with pytest.raises(ValueError, match=pattern):
        trigger()
