"""Case tables for the ops parity test (tests/parity/test_ops_parity.py): (op path, args, kwargs).

Inputs are NumPy arrays drawn once from a fixed seed; the parity test feeds each case to lamina
(as NumPy and as torch tensors) and to Keras, and compares values, shapes and dtypes. Cases whose
name is in GRAD_OPS are also differentiated against a random cotangent on both sides.
"""

from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4)).astype("float32")
Y = RNG.standard_normal((3, 4)).astype("float32")
T = RNG.standard_normal((2, 3, 4)).astype("float32")
V = RNG.standard_normal(5).astype("float32")
W = RNG.standard_normal(3).astype("float32")
UNIT = np.tanh(X).astype("float32")  # in (-1, 1)
BIG = (np.abs(X) + 1.1).astype("float32")  # > 1
POSX = (np.abs(X) + 0.1).astype("float32")
INTS = RNG.integers(1, 20, size=(3, 4)).astype("int32")
INTS2 = RNG.integers(1, 20, size=(3, 4)).astype("int32")
SMALL = RNG.integers(0, 4, size=(3, 4)).astype("int32")
NANS = X.copy()
NANS[0, 1] = NANS[2, 3] = np.nan
SQ = (RNG.standard_normal((4, 4)) + 4 * np.eye(4)).astype("float32")
SPD = (SQ @ SQ.T + np.eye(4)).astype("float32")
B2 = RNG.standard_normal((4, 2)).astype("float32")
SORTED = np.sort(RNG.standard_normal(6)).astype("float32")
V3 = RNG.standard_normal((4, 3)).astype("float32")
U3 = RNG.standard_normal((4, 3)).astype("float32")
C = (X + 1j * Y).astype("complex64")
IDX = np.array([[0, 1], [2, 3], [0, 1]], dtype="int32")

ELEMENTWISE = [
    ("arccos", (UNIT,), {}),
    ("arccosh", (BIG,), {}),
    ("arcsin", (UNIT,), {}),
    ("arcsinh", (X,), {}),
    ("arctanh", (UNIT,), {}),
    ("cosh", (X,), {}),
    ("sinh", (X,), {}),
    ("cbrt", (X,), {}),
    ("deg2rad", (X * 90,), {}),
    ("rad2deg", (X,), {}),
    ("exp2", (X,), {}),
    ("log10", (POSX,), {}),
    ("log2", (POSX,), {}),
    ("log2", (INTS,), {}),
    ("sinc", (X,), {}),
    ("i0", (X,), {}),
    ("erfc", (X,), {}),
    ("erfinv", (UNIT,), {}),
    ("fabs", (X,), {}),
    ("trunc", (X * 3,), {}),
    ("signbit", (X,), {}),
    ("isneginf", (X,), {}),
    ("isposinf", (X,), {}),
    ("isreal", (X,), {}),
    ("real", (C,), {}),
    ("imag", (C,), {}),
    ("conj", (C,), {}),
    ("conjugate", (C,), {}),
    ("angle", (C,), {}),
    ("angle", (X,), {}),
    ("real", (X,), {}),
    ("bitwise_invert", (INTS,), {}),
    ("bitwise_not", (INTS,), {}),
    ("copy", (X,), {}),
    ("nan_to_num", (NANS,), {}),
    ("nan_to_num", (NANS,), {"nan": 5.0}),
    ("arctan2", (X, Y), {}),
    ("hypot", (X, Y), {}),
    ("logaddexp", (X, Y), {}),
    ("logaddexp2", (X, Y), {}),
    ("nextafter", (X, Y), {}),
    ("fmax", (NANS, Y), {}),
    ("fmin", (NANS, Y), {}),
    ("fmod", (X * 5, POSX), {}),
    ("fmod", (INTS, 3), {}),
    ("gcd", (INTS, INTS2), {}),
    ("lcm", (INTS, INTS2), {}),
    ("bitwise_and", (INTS, INTS2), {}),
    ("bitwise_or", (INTS, INTS2), {}),
    ("bitwise_xor", (INTS, INTS2), {}),
    ("bitwise_left_shift", (INTS, SMALL), {}),
    ("bitwise_right_shift", (INTS, SMALL), {}),
    ("left_shift", (INTS, SMALL), {}),
    ("right_shift", (INTS, SMALL), {}),
    ("logical_xor", (X > 0, Y > 0), {}),
    ("heaviside", (np.round(X), Y), {}),
    ("ldexp", (X, SMALL), {}),
    ("divide_no_nan", (X, np.where(Y > 0, Y, 0).astype("float32")), {}),
    ("isclose", (X, X + 1e-6), {}),
    ("isclose", (X, Y), {"atol": 1.0}),
    ("allclose", (X, X + 1e-6), {}),
    ("allclose", (X, Y), {}),
    ("argmax", (X > 0,), {"axis": 1}),
    ("argmin", (X > 0,), {}),
    ("saturate_cast", (X * 1000, "int8"), {}),
    ("saturate_cast", (INTS * 100, "uint8"), {}),
]

REDUCTIONS = [
    ("quantile", (T, 0.3), {}),
    ("quantile", (T, np.array([0.1, 0.5, 0.9], "float32")), {"axis": 1}),
    ("quantile", (T, 0.5), {"axis": (0, 2), "keepdims": True}),
    ("quantile", (T, 0.4), {"axis": -1, "method": "nearest"}),
    ("percentile", (X, 40.0), {"axis": 0}),
    ("median", (T,), {"axis": 1}),
    ("median", (X,), {}),
    ("nanmedian", (NANS,), {"axis": 1}),
    ("nanquantile", (NANS, 0.25), {"axis": 0}),
    ("nanpercentile", (NANS, 75.0), {}),
    ("nansum", (NANS,), {"axis": 1}),
    ("nanmean", (NANS,), {}),
    ("nanmax", (NANS,), {"axis": 0}),
    ("nanmin", (NANS,), {"axis": 1, "keepdims": True}),
    ("nanprod", (NANS,), {"axis": 1}),
    ("nanvar", (NANS,), {"axis": 1}),
    ("nanstd", (NANS,), {}),
    ("nanargmax", (NANS,), {"axis": 1}),
    ("nanargmin", (NANS,), {}),
    ("cumprod", (X,), {"axis": 1}),
    ("cumprod", (INTS,), {}),
    ("nancumsum", (NANS,), {"axis": 0}),
    ("nancumprod", (NANS,), {"axis": 1}),
    ("ptp", (T,), {"axis": 1}),
    ("ptp", (INTS,), {}),
    ("count_nonzero", (SMALL,), {}),
    ("count_nonzero", (SMALL,), {"axis": 1}),
    ("average", (T,), {"axis": 1}),
    ("average", (X,), {"axis": 1, "weights": np.abs(Y[0])}),
    ("bincount", (SMALL[0],), {}),
    ("bincount", (SMALL[0],), {"minlength": 7}),
    ("bincount", (SMALL[0],), {"weights": X[0]}),
    ("histogram", (V,), {}),
    ("histogram", (X[0],), {"bins": 4, "range": (-1.0, 1.0)}),
    ("trapezoid", (X,), {}),
    ("trapezoid", (X,), {"dx": 0.5, "axis": 0}),
    ("trapezoid", (X, np.sort(Y[0])), {}),
]

PRODUCTS = [
    ("tensordot", (T, X.T), {"axes": 1}),
    ("tensordot", (T, X), {"axes": ([1, 2], [0, 1])}),
    ("tensordot", (X, Y), {"axes": 2}),
    ("tensordot", (T, X), {"axes": (1, 0)}),
    ("inner", (X, Y), {}),
    ("outer", (V, W), {}),
    ("vdot", (V, V[::-1].copy()), {}),
    ("kron", (X[:2, :2], Y[:2, :3]), {}),
    ("cross", (V3, U3), {}),
    ("cross", (V3.T, U3.T), {"axis": 0}),
    ("diagonal", (T,), {"axis1": 1, "axis2": 2}),
    ("diagonal", (X,), {"offset": 1}),
    ("trace", (X,), {}),
    ("trace", (T,), {"offset": -1, "axis1": 1, "axis2": 2}),
    ("trace", (INTS,), {}),
    ("correlate", (V, W), {}),
    ("correlate", (V, W), {"mode": "same"}),
    ("correlate", (V, W[:2]), {"mode": "full"}),
    ("correlate", (V, X[0]), {"mode": "same"}),
    ("corrcoef", (X,), {}),
]

SHAPING = [
    ("append", (X, Y), {}),
    ("append", (X, Y), {"axis": 0}),
    ("hstack", ([X, Y],), {}),
    ("vstack", ([X, Y],), {}),
    ("dstack", ([X, Y],), {}),
    ("array_split", (V, 3), {}),
    ("array_split", (X, 3), {"axis": 1}),
    ("hsplit", (X, 2), {}),
    ("vsplit", (T, 2), {}),
    ("dsplit", (T, [1]), {}),
    ("unstack", (T,), {}),
    ("unstack", (T,), {"axis": 2}),
    ("roll", (X, 2), {}),
    ("roll", (T, -1), {"axis": 1}),
    ("roll", (T, (1, 2)), {"axis": (0, 2)}),
    ("rot90", (X,), {}),
    ("rot90", (T,), {"k": 3, "axes": (1, 2)}),
    ("fliplr", (X,), {}),
    ("flipud", (X,), {}),
    ("diff", (X,), {}),
    ("diff", (T,), {"n": 2, "axis": 1}),
    ("diag", (V,), {"k": 1}),
    ("diag", (X,), {}),
    ("diagflat", (X[:2, :2],), {"k": -1}),
    ("meshgrid", (V, W), {}),
    ("meshgrid", (V, W), {"indexing": "ij"}),
    ("vander", (W,), {}),
    ("vander", (W,), {"N": 4, "increasing": True}),
    ("tri", (3,), {}),
    ("tri", (3, 5), {"k": 1}),
    ("empty", ((2, 3),), {}),
    ("empty_like", (INTS,), {}),
    ("array", (X,), {}),
    ("array", ([1, 2, 3],), {"dtype": "float32"}),
    ("logspace", (0.0, 2.0, 5), {}),
    ("logspace", (0.0, 2.0, 4), {"endpoint": False, "base": 2}),
    ("geomspace", (1.0, 1000.0, 4), {}),
    ("geomspace", (1.0, 16.0, 4), {"endpoint": False}),
    ("bartlett", (7,), {}),
    ("blackman", (7,), {}),
    ("hamming", (7,), {}),
    ("hanning", (7,), {}),
    ("kaiser", (7, 5.0), {}),
    ("view", (INTS, "float32"), {}),
]

INDEXING = [
    ("get_item", (T, 1), {}),
    ("get_item", (X, (slice(0, 2), 1)), {}),
    ("slice", (T, (0, 1, 1), (2, 2, 3)), {}),
    ("slice_update", (T, (0, 1, 1), np.ones((2, 2, 2), "float32")), {}),
    ("scatter", (IDX, np.array([1.0, 2.0, 3.0], "float32"), (3, 4)), {}),
    ("scatter", (IDX[:, :1], X[:, :4], (3, 4)), {}),
    ("scatter_update", (X, IDX[:2], np.array([5.0, 6.0], "float32")), {}),
    ("scatter_update", (X, IDX[:2, :1], Y[:2]), {}),
    ("select", ([X > 0.5, X < -0.5], [X, Y]), {}),
    ("select", ([X > 0], [X]), {"default": -1.0}),
    ("nonzero", (SMALL,), {}),
    ("searchsorted", (SORTED, V), {}),
    ("searchsorted", (SORTED, V), {"side": "right"}),
    ("digitize", (X, SORTED), {}),
    ("isin", (INTS, INTS2[0]), {}),
    ("isin", (INTS, INTS2[0]), {"invert": True}),
    ("unravel_index", (np.array([1, 5, 11], "int32"), (3, 4)), {}),
    ("unique", (SMALL,), {}),
    ("unique", (SMALL,), {"return_counts": True, "return_inverse": True}),
    ("in_top_k", (np.array([0, 1, 3], "int32"), X, 2), {}),
]

GRAD_OPS = {
    "arcsinh", "cosh", "sinh", "exp2", "log2", "sinc", "erfc", "arctan2", "hypot", "logaddexp",
    "quantile", "median", "nanmean", "nansum", "cumprod", "ptp", "average", "trapezoid",
    "tensordot", "inner", "outer", "kron", "cross", "trace", "correlate", "append", "hstack",
    "roll", "rot90", "diff", "diag", "slice", "slice_update", "scatter_update", "select",
}  # fmt: skip

# Keras needs torch tensors here (its torch backend calls tensor methods on NumPy input).
KERAS_NEEDS_TENSORS = {"unstack"}
# Uninitialised memory in Keras: only shape and dtype can agree.
SHAPE_ONLY = {"empty", "empty_like"}
# Keras-on-torch returns int64 indices here where TensorFlow and JAX give int32: lamina gives int32.
INT32_INDICES = {"unique"}
# lamina returns NumPy's tuple of index tensors; Keras-on-torch stacks them into one tensor.
STACKED_IN_KERAS = {"nonzero"}

CASES = ELEMENTWISE + REDUCTIONS + PRODUCTS + SHAPING + INDEXING
