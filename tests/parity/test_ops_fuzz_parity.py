"""lamina.ops against keras.ops at the edges a differential fuzz found them apart: scalars and
0-d arrays, empty-range histograms, dtype arguments, saturation bounds, mixed input dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lamina import ops
from lamina import utils as lamina_utils
from tests.parity.reference import keras

RNG = np.random.default_rng(11)


def _assert_same(ours, ref, tol=1e-6):
    ref = ref.cpu() if isinstance(ref, torch.Tensor) else torch.as_tensor(np.asarray(ref))
    assert ours.dtype == ref.dtype, f"dtype {ours.dtype} != Keras {ref.dtype}"
    assert tuple(ours.shape) == tuple(ref.shape)
    torch.testing.assert_close(ours.cpu(), ref, atol=tol, rtol=tol, equal_nan=True)


def _both(name, *args, **kwargs):
    ours = getattr(ops, name)(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's deprecation notes to Keras's calls
        return ours, getattr(keras.ops, name)(*args, **kwargs)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("initial", [10, -10, 0.5])
def test_max_and_min_of_a_scalar_count_initial(name, initial):
    _assert_same(*_both(name, np.array(0.25, "float32"), initial=initial))
    _assert_same(*_both(name, np.array(3, "int32"), initial=int(initial), keepdims=True))


@pytest.mark.parity
@pytest.mark.parametrize("name", ["full", "full_like"])
def test_full_takes_a_0d_array_as_fill_value(name):
    first = (2, 3) if name == "full" else np.zeros((2, 3), "float32")
    _assert_same(*_both(name, first, np.array(7.5)))
    _assert_same(*_both(name, first, np.array(True), dtype="int32"))


@pytest.mark.parity
@pytest.mark.parametrize(("shape", "axis"), [((4,), 0), ((4,), -1), ((3, 4), 1), ((3, 4), -2)])
def test_take_along_an_axis_at_a_0d_index(shape, axis):
    x = RNG.standard_normal(shape).astype("float32")
    _assert_same(*_both("take", x, np.array(2, "int64"), axis=axis))
    _assert_same(*_both("take", torch.tensor(x), 1, axis=axis))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("values", "source", "target"),
    [
        ([-128, -5, 0, 100, 127], "int8", "uint8"),
        ([0, 200, 255], "uint8", "int8"),
        ([-40000, 7, 40000], "int32", "int16"),
        ([-1e38, 2.5, 1e38], "bfloat16", "float32"),
        ([-65504.0, 2.5, 65504.0], "float16", "bfloat16"),
        ([-1e38, 2.5, 1e38], "float32", "float16"),
    ],
)
def test_saturate_cast_between_ranges_either_way(values, source, target):
    x = torch.tensor(values, dtype=torch.float64).to(getattr(torch, source))
    _assert_same(*_both("saturate_cast", x, target))


def test_saturate_cast_of_float16_infinities_to_int_stops_at_the_finite_range():
    # Keras gives the same, with a NumPy overflow warning from its bound arithmetic.
    x = torch.tensor([-np.inf, -7.0, 1.5, np.inf], dtype=torch.float16)
    top = torch.finfo(torch.float16).max
    expected = torch.tensor([-top, -7, 1, top], dtype=torch.int32)
    torch.testing.assert_close(ops.saturate_cast(x, "int32").cpu(), expected)


@pytest.mark.parity
@pytest.mark.parametrize("values", [[1.5], [2.0, 2.0, 2.0], [-3.0]])
def test_histogram_of_one_distinct_value_spans_a_unit_range(values):
    x = np.array(values, "float32")
    for ours, ref in zip(*_both("histogram", x, bins=4), strict=True):
        _assert_same(ours, ref)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize(
    ("source", "dtype"),
    [("float32", "bool"), ("bool", None), ("int64", None), ("float64", None), ("int8", "int64")],
)
def test_cumulative_ops_take_keras_result_dtype(name, source, dtype):
    x = (RNG.integers(0, 3, size=(2, 3)) * 0.5).astype(source)
    _assert_same(*_both(name, x, axis=1, dtype=dtype))
    _assert_same(*_both(name, x, dtype=dtype))


@pytest.mark.parity
@pytest.mark.parametrize("default", [2.5, -1, 0])
def test_select_default_takes_part_in_the_dtype(default):
    x = np.array([-2, 0, 3, 5], "int32")
    _assert_same(*_both("select", [x < 0, x > 3], [-x, x * 10], default=default))


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize(("threshold", "default"), [(2, 0), (3, 9), (0.5, -1)])
def test_threshold_keeps_integer_dtypes(dtype, threshold, default):
    x = np.array([[0, 1, 2], [3, 4, 7]], dtype)
    _assert_same(*_both("threshold", x, threshold, default))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("abs_dtype", "angle_dtype"), [("float32", "float64"), ("float64", "float32")]
)
def test_polar_of_mixed_float_dtypes(abs_dtype, angle_dtype):
    magnitude = np.abs(RNG.standard_normal(4)).astype(abs_dtype)
    angle = RNG.standard_normal(4).astype(angle_dtype)
    _assert_same(*_both("polar", magnitude, angle))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "from_logits"),
    # binary on probabilities is left out: Keras's torch call refuses the two dtypes there
    [
        ("binary_crossentropy", True),
        ("categorical_crossentropy", False),
        ("categorical_crossentropy", True),
    ],
)
def test_crossentropy_of_a_float32_target_and_float16_output_is_float32(name, from_logits):
    target = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    logits = RNG.standard_normal((4, 3))
    output = logits if from_logits else np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ours, ref = _both(name, target, output.astype("float16"), from_logits=from_logits)
    _assert_same(ours, ref, tol=3e-3)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["divide", "true_divide", "add", "multiply", "power", "maximum"])
@pytest.mark.parametrize("dtype", ["float16", "int8", "uint8"])
@pytest.mark.parametrize("number", [2.5, 3])
def test_a_python_number_next_to_a_numpy_array_is_weak(name, dtype, number):
    # float16 / 2.5 stays float16 for a NumPy array as for a torch tensor
    x = (RNG.integers(1, 5, size=(2, 3))).astype(dtype)
    _assert_same(*_both(name, x, number), tol=1e-3)
    _assert_same(*_both(name, number, x), tol=1e-3)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8])
@pytest.mark.parametrize(("axis", "order"), [(-1, 2), (0, 1), (1, 3)])
def test_utils_normalize_of_an_integer_tensor(dtype, axis, order):
    x = torch.tensor([[3, 4, 0], [0, 0, 0], [1, 2, 2]], dtype=dtype)
    ours = lamina_utils.normalize(x, axis=axis, order=order)
    _assert_same(ours, keras.utils.normalize(x, axis=axis, order=order), tol=1e-6)


F64 = np.abs(RNG.standard_normal((3, 4))) + 0.5
I64 = RNG.integers(1, 5, size=(3, 4)).astype("int64")
# Keras takes these ops' result dtype from backend.result_type, which narrows 64-bit dtypes
# (where add, sum or std keep float64)
NARROWED_UNARY = [
    "average",
    "ceil",
    "floor",
    "median",
    "nanmean",
    "nanmedian",
    "nanprod",
    "nanstd",
    "nanvar",
    "norm",
    "prod",
    "var",
]
NARROWED_BINARY = [
    "arctan2",
    "correlate",
    "divide_no_nan",
    "floor_divide",
    "fmax",
    "fmin",
    "heaviside",
    "hypot",
    "inner",
    "logaddexp",
    "logaddexp2",
    "maximum",
    "minimum",
    "nextafter",
    "tensordot",
]


@pytest.mark.parity
@pytest.mark.parametrize("name", NARROWED_UNARY)
@pytest.mark.parametrize("x", [F64, I64], ids=["float64", "int64"])
def test_64_bit_inputs_give_32_bit_results_where_keras_promotes(name, x):
    _assert_same(*_both(name, x), tol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("name", NARROWED_BINARY)
@pytest.mark.parametrize(
    ("x1", "x2"),
    [(F64, F64), (F64, F64.astype("float32")), (I64, I64), (I64, I64.astype("int32"))],
    ids=["f64-f64", "f64-f32", "i64-i64", "i64-i32"],
)
def test_64_bit_operands_give_32_bit_results_where_keras_promotes(name, x1, x2):
    if name == "correlate":
        x1, x2 = x1[0], x2[1, :2]  # equal lengths give Keras a 0-d result, NumPy a (1,) one
    try:
        ref = getattr(keras.ops, name)(x1, x2)
    except (RuntimeError, NotImplementedError):
        pytest.skip(f"Keras's {name} refuses these dtypes on torch")
    _assert_same(getattr(ops, name)(x1, x2), ref, tol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
def test_quantiles_of_float64_are_float32(name):
    q = 0.3 if "quantile" in name else 30.0
    _assert_same(*_both(name, F64, q, axis=1), tol=1e-5)


V64 = np.array([1.5, -2.0, 0.5])
N64 = np.array([1, 2, 0], dtype="int64")


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("vdot", (V64, V64), {}),
        ("vdot", (N64, N64.astype("int16")), {}),
        ("cross", (V64, V64[::-1].copy()), {}),
        ("cross", (N64, N64[::-1].copy()), {}),
        ("dot", (V64, V64.astype("float32")), {}),
        ("dot", (np.stack([N64] * 3), N64), {}),
        ("matmul", (np.stack([V64] * 2), V64), {}),
        ("matmul", (np.stack([N64] * 3), np.stack([N64] * 3)), {}),
        ("ldexp", (V64, N64.astype("int32")), {}),
        ("vander", (V64,), {}),
        ("vander", (N64,), {"N": 2}),
        ("unravel_index", (N64, (3,)), {}),
        ("bincount", (N64,), {"weights": V64}),
        ("bincount", (N64,), {"weights": N64}),
    ],
)
def test_products_and_constructions_of_64_bit_inputs_are_32_bit(name, args, kwargs):
    ours, ref = _both(name, *args, **kwargs)
    if name == "unravel_index":
        ours, ref = ours[0], ref[0]
    _assert_same(ours, ref, tol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("source", "dtype"), [("float32", "int64"), ("int32", "float64"), ("int8", None)]
)
def test_prod_keeps_a_requested_64_bit_dtype(source, dtype):
    x = np.array([[1, 2], [3, 4]], source)
    _assert_same(*_both("prod", x, dtype=dtype))
    _assert_same(*_both("prod", x, axis=1, dtype=dtype))


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
@pytest.mark.parametrize("is_causal", [False, True])
def test_attention_row_with_every_key_masked_attends_uniformly(dtype, is_causal):
    q, k, v = (RNG.standard_normal((2, 3, 2, 4)).astype(dtype) for _ in range(3))
    mask = RNG.random((2, 2, 3, 3)) < 0.6
    mask[:, :, 1, :] = False  # row 1 masks every key
    ours, ref = _both("dot_product_attention", q, k, v, mask=mask, is_causal=is_causal)
    _assert_same(ours, ref, tol=2e-3 if dtype == "float16" else 1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_of_a_scalar(name, axis):
    _assert_same(*_both(name, np.array(2.5, "float32"), axis=axis))


@pytest.mark.parity
@pytest.mark.parametrize("shape", [(0,), (2, 0), (3, 1)])
def test_sparsemax_over_an_empty_or_single_axis(shape):
    _assert_same(*_both("sparsemax", RNG.standard_normal(shape).astype("float32")))


def test_sparsemax_of_infinite_scores_does_not_fail():
    # Keras returns inf there; a NaN row is as meaningless, but the op must not index past it
    out = ops.sparsemax(np.array([[np.inf, 1.0, 2.0], [1.0, 2.0, 4.0]], "float32"))
    torch.testing.assert_close(out[1].cpu(), torch.tensor([0.0, 0.0, 1.0]))


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_resize_half_precision_with_antialias(dtype, interpolation):
    images = torch.tensor(RNG.random((2, 6, 5, 3))).to(getattr(torch, dtype))
    size, kwargs = (3, 2), {"interpolation": interpolation, "antialias": True}
    ours = ops.image.resize(images, size, **kwargs)
    _assert_same(ours, keras.ops.image.resize(images, size, **kwargs), tol=2e-2)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["nanvar", "nanstd"])
def test_nan_variance_of_an_infinite_value_is_nan(name):
    x = np.array([[np.inf, 1.0], [np.nan, 2.0], [np.nan, np.nan], [1.0, 3.0]], "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own inf - inf
        expected = getattr(np, name)(x, axis=1)
    _assert_same(*_both(name, x, axis=1))
    np.testing.assert_allclose(getattr(ops, name)(x, axis=1).cpu().numpy(), expected)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["true_divide", "add", "subtract", "multiply", "floor_divide"])
@pytest.mark.parametrize("number", [-1, 300])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_python_int_outside_an_integer_dtype_keeps_its_value(name, number, as_tensor):
    x = np.array([[7, 8, 9]], "uint8")
    x = torch.tensor(x) if as_tensor else x
    _assert_same(*_both(name, number, x))
    _assert_same(*_both(name, x, number))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("dtype1", "dtype2"),
    [("uint8", "bfloat16"), ("int8", "float16"), ("int32", "int32"), ("float16", "float32")],
)
def test_divide_no_nan_promotes_both_operands(dtype1, dtype2):
    x1 = torch.tensor([[3, 0, 5]]).to(getattr(torch, dtype1))
    x2 = torch.tensor([[2, 0], [0, 4], [1, 1]]).T.to(getattr(torch, dtype2))[:1]
    _assert_same(*_both("divide_no_nan", x1, x2), tol=1e-2)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["mod", "fmod"])
def test_remainder_of_booleans_is_int32(name):
    b = np.array([True, False, True])
    _assert_same(*_both(name, b, np.array([True, True, True])))
    _assert_same(*_both(name, b, True))
