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
KERAS_NEEDS_TENSORS = {"unstack", "nn.unfold", "nn.fold", "stop_gradient"}
# Uninitialised memory in Keras: only shape and dtype can agree.
SHAPE_ONLY = {"empty", "empty_like"}
# Keras-on-torch returns int64 indices here where TensorFlow and JAX give int32: lamina gives int32.
INT32_INDICES = {"unique"}
# lamina returns NumPy's tuple of index tensors; Keras-on-torch stacks them into one tensor.
STACKED_IN_KERAS = {"nonzero"}

CASES = ELEMENTWISE + REDUCTIONS + PRODUCTS + SHAPING + INDEXING

IMG = RNG.standard_normal((2, 7, 6, 3)).astype("float32")
SEQ = RNG.standard_normal((2, 9, 3)).astype("float32")
VOL = RNG.standard_normal((1, 5, 4, 6, 2)).astype("float32")
K2 = RNG.standard_normal((3, 3, 3, 4)).astype("float32")
K1 = RNG.standard_normal((3, 3, 5)).astype("float32")
K3 = RNG.standard_normal((2, 2, 2, 2, 3)).astype("float32")
KG = RNG.standard_normal((3, 3, 1, 6)).astype("float32")  # groups=3
KD = RNG.standard_normal((3, 3, 3, 2)).astype("float32")  # depthwise, multiplier 2
KP = RNG.standard_normal((1, 1, 6, 4)).astype("float32")  # pointwise
KT = RNG.standard_normal((3, 3, 4, 3)).astype("float32")  # transpose: (k, k, out, in)
PROBS = (np.abs(X) / np.abs(X).sum(-1, keepdims=True)).astype("float32")
ONEHOT = np.eye(4, dtype="float32")[[0, 3, 1]]
LABELS = np.array([0, 3, 1], dtype="int32")
BIN = (RNG.random((3, 4)) > 0.5).astype("float32")
Q = RNG.standard_normal((2, 5, 4, 8)).astype("float32")
KV = RNG.standard_normal((2, 6, 2, 8)).astype("float32")
MASK = RNG.random((2, 4, 5, 6)) > 0.3
CTC_LOGITS = RNG.standard_normal((2, 8, 5)).astype("float32")
CTC_TARGET = np.array([[1, 2, 2], [3, 1, 0]], dtype="int32")

NN = [
    ("nn.celu", (X,), {}),
    ("nn.celu", (X,), {"alpha": 0.5}),
    ("nn.glu", (X,), {}),
    ("nn.glu", (X.T.copy(),), {"axis": 0}),
    ("nn.hard_shrink", (X,), {}),
    ("nn.hard_tanh", (X * 2,), {}),
    ("nn.log_sigmoid", (X,), {}),
    ("nn.soft_shrink", (X,), {"threshold": 0.3}),
    ("nn.sparse_plus", (X * 2,), {}),
    ("nn.sparse_sigmoid", (X * 2,), {}),
    ("nn.squareplus", (X,), {}),
    ("nn.squareplus", (X,), {"b": 1}),
    ("nn.tanh_shrink", (X,), {}),
    ("nn.threshold", (X, 0.1, -2.0), {}),
    ("nn.multi_hot", (SMALL, 5), {}),
    ("nn.multi_hot", (SMALL[0], 5), {}),
    ("nn.depth_to_space", (RNG.standard_normal((1, 2, 3, 8)).astype("float32"), 2), {}),
    ("nn.space_to_depth", (IMG[:, :6], 2), {}),
    ("nn.psnr", (PROBS, np.abs(X) / 4, 1.0), {}),
    ("nn.polar", (POSX, X), {}),
    ("nn.conv", (IMG, K2), {}),
    ("nn.conv", (IMG, K2), {"strides": 2, "padding": "same"}),
    ("nn.conv", (IMG, K2), {"dilation_rate": 2, "padding": "same"}),
    ("nn.conv", (SEQ, K1), {"strides": 2}),
    ("nn.conv", (VOL, K3), {"padding": "same"}),
    ("nn.conv", (IMG, KG), {}),
    ("nn.conv", (IMG.transpose(0, 3, 1, 2).copy(), K2), {"data_format": "channels_first"}),
    ("nn.depthwise_conv", (IMG, KD), {}),
    ("nn.depthwise_conv", (IMG, KD), {"strides": 2, "padding": "same"}),
    ("nn.separable_conv", (IMG, KD, KP), {"padding": "same"}),
    ("nn.conv_transpose", (IMG, KT), {}),
    ("nn.conv_transpose", (IMG, KT), {"strides": 2, "padding": "same"}),
    ("nn.conv_transpose", (IMG, KT), {"strides": 2, "output_padding": 1}),
    ("nn.max_pool", (IMG, 2), {}),
    ("nn.max_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("nn.max_pool", (SEQ, 2), {"strides": 1}),
    ("nn.average_pool", (IMG, 2), {}),
    ("nn.average_pool", (IMG[:, :, :5], 3), {"strides": 2, "padding": "same"}),
    ("nn.average_pool", (VOL, 3), {"strides": 1, "padding": "same"}),
    ("nn.adaptive_average_pool", (IMG, (3, 2)), {}),
    ("nn.adaptive_max_pool", (IMG, 3), {}),
    ("nn.adaptive_average_pool", (SEQ, 4), {}),
    ("nn.unfold", (IMG.transpose(0, 3, 1, 2).copy(), 2), {}),
    ("nn.unfold", (IMG.transpose(0, 3, 1, 2).copy(), (2, 3)), {"stride": 2, "padding": 1}),
    ("nn.fold", (RNG.standard_normal((2, 12, 12)).astype("float32"), (4, 5), 2), {}),
    ("nn.binary_crossentropy", (BIN, np.abs(UNIT)), {}),
    ("nn.binary_crossentropy", (BIN, X), {"from_logits": True}),
    ("nn.categorical_crossentropy", (ONEHOT, PROBS), {}),
    ("nn.categorical_crossentropy", (ONEHOT, X), {"from_logits": True}),
    ("nn.categorical_crossentropy", (ONEHOT.T.copy(), X.T.copy()), {"axis": 0}),
    ("nn.sparse_categorical_crossentropy", (LABELS, PROBS), {}),
    ("nn.sparse_categorical_crossentropy", (LABELS, X), {"from_logits": True}),
    ("nn.sparse_categorical_crossentropy", (LABELS[:, None], X), {"from_logits": True}),
    ("nn.batch_normalization", (IMG, W, np.abs(W), -1), {}),
    ("nn.batch_normalization", (X, V[:3], np.abs(V[:3]), 0), {"offset": W, "scale": W}),
    ("nn.layer_normalization", (T,), {}),
    ("nn.layer_normalization", (T, X[0], Y[0]), {"epsilon": 1e-5}),
    ("nn.layer_normalization", (T,), {"axis": (1, 2)}),
    ("nn.rms_normalization", (T,), {}),
    ("nn.rms_normalization", (T, X[0]), {"epsilon": 1e-5}),
    ("nn.dot_product_attention", (Q, KV, KV), {}),
    ("nn.dot_product_attention", (Q, KV, KV), {"is_causal": True, "scale": 0.5}),
    ("nn.dot_product_attention", (Q, KV, KV), {"mask": MASK}),
    ("nn.dot_product_attention", (Q, KV, KV), {"bias": MASK.astype("float32")}),
    ("nn.ctc_loss", (CTC_TARGET, CTC_LOGITS, np.array([3, 2]), np.array([8, 6])), {}),
    ("nn.ctc_decode", (CTC_LOGITS, np.array([8, 6])), {}),
    ("nn.ctc_decode", (CTC_LOGITS, np.array([8, 6])), {"merge_repeated": False}),
]

NN_GRAD = {
    "nn.celu", "nn.glu", "nn.log_sigmoid", "nn.sparse_plus", "nn.sparsemax", "nn.squareplus",
    "nn.tanh_shrink", "nn.conv", "nn.depthwise_conv", "nn.separable_conv", "nn.conv_transpose",
    "nn.max_pool", "nn.average_pool", "nn.adaptive_average_pool", "nn.fold", "nn.unfold",
    "nn.binary_crossentropy", "nn.categorical_crossentropy", "nn.sparse_categorical_crossentropy",
    "nn.layer_normalization", "nn.rms_normalization", "nn.batch_normalization",
    "nn.dot_product_attention", "nn.ctc_loss",
}  # fmt: skip
GRAD_OPS |= NN_GRAD
CASES += NN

LOWER = np.tril(SQ).astype("float32")
CHOL = np.linalg.cholesky(SPD).astype("float32")
RECT = RNG.standard_normal((5, 3)).astype("float32")
SIGNAL = RNG.standard_normal((2, 32)).astype("float32")
SEG_IDS = np.array([0, 2, 0, 1, 2], dtype="int32")

LINALG = [
    ("linalg.cholesky", (SPD,), {}),
    ("linalg.cholesky", (SPD,), {"upper": True}),
    ("linalg.cholesky_inverse", (CHOL,), {}),
    ("linalg.det", (SQ,), {}),
    ("linalg.inv", (SQ,), {}),
    ("linalg.pinv", (RECT,), {}),
    ("linalg.matrix_rank", (RECT @ RECT.T,), {}),
    ("linalg.eigh", (SPD,), {}),
    ("linalg.eig", (SPD,), {}),
    ("linalg.lu_factor", (SQ,), {}),
    ("linalg.qr", (RECT,), {}),
    ("linalg.qr", (RECT,), {"mode": "complete"}),
    ("linalg.svd", (RECT,), {"full_matrices": False}),
    ("linalg.svd", (RECT,), {"compute_uv": False}),
    ("linalg.solve", (SQ, B2), {}),
    ("linalg.solve_triangular", (LOWER, B2), {"lower": True}),
    ("linalg.solve_triangular", (LOWER.T.copy(), B2), {}),
    ("linalg.lstsq", (RECT, V), {}),
    ("linalg.norm", (X,), {"ord": "fro", "axis": (0, 1)}),
    ("slogdet", (SQ,), {}),
    ("logdet", (SPD,), {}),
    ("fft", ((X, Y),), {}),
    ("fft2", ((X, Y),), {}),
    ("ifft2", ((X, Y),), {}),
    ("rfft", (SIGNAL,), {}),
    ("rfft", (SIGNAL,), {"fft_length": 16}),
    ("irfft", ((X, Y),), {}),
    ("irfft", ((X, Y),), {"fft_length": 8}),
    ("stft", (SIGNAL, 8, 4, 8), {}),
    ("stft", (SIGNAL, 6, 3, 8), {"window": "hamming", "center": False}),
    ("stft", (SIGNAL, 8, 2, 16), {"window": None}),
    ("extract_sequences", (SIGNAL, 8, 3), {}),
    ("segment_sum", (RNG.standard_normal((5, 3)).astype("float32"), SEG_IDS), {}),
    ("segment_sum", (V, SEG_IDS), {"num_segments": 4}),
    ("segment_max", (V, SEG_IDS), {}),
    ("segment_max", (RECT, SEG_IDS), {"num_segments": 3, "sorted": False}),
]
LINALG_GRAD = {
    "linalg.cholesky", "linalg.det", "linalg.inv", "linalg.solve", "linalg.solve_triangular",
    "logdet", "fft", "rfft", "irfft", "stft", "segment_sum", "segment_max",
}  # fmt: skip
GRAD_OPS |= LINALG_GRAD
CASES += LINALG

# Control flow: each case builds its arguments from an ops namespace (lamina's or Keras's), so the
# user functions inside use that library's own ops.
CONTROL = [
    ("cond", lambda o: (X[0, 0] > 0, lambda: o.multiply(X, 2.0), lambda: o.add(X, 1.0)), {}),
    ("cond", lambda o: (X[0, 0] < 0, lambda: o.multiply(X, 2.0), lambda: o.add(X, 1.0)), {}),
    ("switch", lambda o: (1, [lambda a: o.add(a, 1.0), lambda a: o.multiply(a, 3.0)], X), {}),
    ("switch", lambda o: (7, [lambda a: o.add(a, 1.0), lambda a: o.multiply(a, 3.0)], X), {}),
    ("fori_loop", lambda o: (0, 4, lambda i, v: o.add(v, o.multiply(v, 0.5)), X), {}),
    (
        "while_loop",
        lambda o: (
            lambda a, b: o.less(o.sum(a), 50.0),
            lambda a, b: (o.add(a, 1.0), o.multiply(b, 2.0)),
            (POSX, X),
        ),
        {},
    ),
    (
        "while_loop",
        lambda o: (lambda a: o.less(o.sum(a), 99.0), lambda a: o.add(a, 1.0), X),
        {"maximum_iterations": 3},
    ),  # fmt: skip
    ("map", lambda o: (lambda r: o.sum(o.square(r)), X), {}),
    ("map", lambda o: (lambda r: (o.sum(r), o.max(r)), T), {}),
    (
        "scan",
        lambda o: (lambda c, x: (o.add(c, x), o.multiply(c, x)), np.zeros(4, "float32"), X),
        {},
    ),  # fmt: skip
    (
        "scan",
        lambda o: (lambda c, x: (o.add(c, x), o.multiply(c, x)), np.ones(4, "float32"), X),
        {"reverse": True},
    ),  # fmt: skip
    (
        "scan",
        lambda o: (lambda c, x: (o.multiply(c, 2.0), c), np.ones(2, "float32")),
        {"length": 3},
    ),  # fmt: skip
    ("associative_scan", lambda o: (o.add, X), {"axis": 1}),
    ("associative_scan", lambda o: (o.maximum, T), {"reverse": True}),
    ("associative_scan", lambda o: (o.multiply, V), {}),
    (
        "vectorized_map",
        lambda o: (lambda r: o.matmul(r, o.transpose(r)), o.convert_to_tensor(T)),
        {},
    ),
]

CASES += [
    (
        "rearrange",
        (RNG.standard_normal((2, 6, 4)).astype("float32"), "b (h w) c -> b h w c"),
        {"h": 2},
    ),  # fmt: skip
    ("rearrange", (T, "b h w -> w b h"), {}),
    ("rearrange", (T, "b h w -> b (h w)"), {}),
    (
        "rearrange",
        (RNG.standard_normal((2, 6, 4)).astype("float32"), "b (h w) c -> (b h) w c"),
        {"w": 3},
    ),  # fmt: skip
]

RGB = RNG.random((2, 6, 7, 3)).astype("float32")
GRAYISH = np.repeat(RGB[..., :1], 3, axis=-1)  # saturation 0 pixels
RGB[0, 0, 0] = 0.0  # a black pixel (value 0)
HSV = RNG.random((2, 6, 7, 3)).astype("float32")
VOLUMES = RNG.standard_normal((1, 6, 5, 4, 2)).astype("float32")

IMAGE = [
    ("image.rgb_to_grayscale", (RGB,), {}),
    (
        "image.rgb_to_grayscale",
        (RGB.transpose(0, 3, 1, 2).copy(),),
        {"data_format": "channels_first"},
    ),  # fmt: skip
    ("image.rgb_to_hsv", (RGB,), {}),
    ("image.rgb_to_hsv", (GRAYISH,), {}),
    ("image.hsv_to_rgb", (HSV,), {}),
    (
        "image.crop_images",
        (RGB,),
        {"top_cropping": 1, "left_cropping": 2, "target_height": 3, "target_width": 4},
    ),  # fmt: skip
    (
        "image.crop_images",
        (RGB,),
        {"bottom_cropping": 1, "right_cropping": 2, "target_height": 3, "target_width": 4},
    ),  # fmt: skip
    (
        "image.crop_images",
        (RGB[0],),
        {"top_cropping": 1, "bottom_cropping": 2, "left_cropping": 1, "right_cropping": 3},
    ),  # fmt: skip
    (
        "image.pad_images",
        (RGB,),
        {"top_padding": 1, "left_padding": 2, "target_height": 9, "target_width": 10},
    ),  # fmt: skip
    (
        "image.pad_images",
        (RGB,),
        {"bottom_padding": 1, "right_padding": 2, "target_height": 9, "target_width": 10},
    ),  # fmt: skip
    (
        "image.pad_images",
        (RGB[0],),
        {"top_padding": 1, "bottom_padding": 2, "left_padding": 1, "right_padding": 3},
    ),  # fmt: skip
    ("image.extract_patches", (RGB, 2), {}),
    ("image.extract_patches", (RGB, (3, 2)), {"strides": 1}),
    ("image.extract_patches", (RGB, 3), {"strides": 2, "padding": "same"}),
    ("image.extract_patches", (RGB, 2), {"strides": 1, "dilation_rate": 2}),
    ("image.extract_patches_3d", (VOLUMES, 2), {}),
    ("image.extract_patches_3d", (VOLUMES, (2, 3, 2)), {"strides": 1}),
    ("image.extract_patches", (VOLUMES, (2, 3, 2)), {}),  # three sizes: volumes, as Keras
    ("image.extract_patches", (VOLUMES[0], (3, 2, 2)), {"strides": 1}),
    ("image.sobel_edges", (RGB,), {}),
    ("image.ssim", (RGB, np.clip(RGB + 0.1 * HSV, 0, 1)), {"filter_size": 5}),
]
IMAGE_GRAD = {"image.rgb_to_grayscale", "image.sobel_edges", "image.ssim",
              "image.extract_patches"}  # fmt: skip
GRAD_OPS |= IMAGE_GRAD
CASES += IMAGE

GRID = RNG.standard_normal((5, 6)).astype("float32")
COORDS = (RNG.random((2, 4, 3)) * 8 - 1.5).astype("float32")  # some outside the grid
SHIFT = np.array([1, 0, 1.5, 0, 1, -0.5, 0, 0], "float32")
ROTATE = np.array([0.9, -0.3, 1.0, 0.3, 0.9, -0.5, 0, 0], "float32")
# For nearest sampling: ROTATE sends pixels to x.5 in exact arithmetic, a tie that float32 rounding
# breaks either way (FMA on an AVX-512 CPU gives 5.4999995); these offsets never land on a tie.
ROTATE_OFF_TIES = np.array([0.9, -0.3, 1.05, 0.3, 0.9, -0.45, 0, 0], "float32")
START = np.array([[0, 0], [6, 0], [0, 5], [6, 5]], "float32")
END = np.array([[0.5, 0.2], [5.5, 0.3], [0.1, 4.6], [6.2, 5.1]], "float32")

GEOMETRY = [
    ("image.map_coordinates", (GRID, COORDS, 1), {"fill_mode": mode})
    for mode in ("constant", "nearest", "wrap", "mirror", "reflect")
] + [
    ("image.map_coordinates", (GRID, COORDS, 0), {"fill_value": 2.0}),
    ("image.map_coordinates", (GRID, COORDS, 0), {"fill_mode": "reflect"}),
    ("image.affine_transform", (RGB, np.stack([SHIFT, ROTATE])), {}),
    (
        "image.affine_transform",
        (RGB, np.stack([SHIFT, ROTATE_OFF_TIES])),
        {"interpolation": "nearest"},
    ),
    ("image.affine_transform", (RGB, np.stack([ROTATE, ROTATE])), {"fill_mode": "reflect"}),
    (
        "image.affine_transform",
        (RGB, np.stack([ROTATE, SHIFT])),
        {"fill_mode": "wrap", "fill_value": 1.0},
    ),  # fmt: skip
    ("image.affine_transform", (RGB, np.stack([ROTATE, SHIFT])), {"fill_mode": "mirror"}),
    ("image.affine_transform", (RGB[0], ROTATE), {"fill_mode": "nearest"}),
    ("image.perspective_transform", (RGB, START, END), {}),
    ("image.perspective_transform", (RGB, START, END), {"interpolation": "nearest"}),
]
GRAD_OPS |= {"image.map_coordinates"}
CASES += GEOMETRY

SCALE_CASES = [
    ("image.scale_and_translate",
     (RGB, (2, 9, 5, 3), np.array([1.5, 0.7], "float32"), np.array([0.5, -1.0], "float32"),
      (1, 2), method), {"antialias": antialias})
    for method in ("linear", "cubic", "lanczos3", "lanczos5")
    for antialias in (True, False)
]  # fmt: skip
GRAD_OPS |= {"image.scale_and_translate"}
CASES += SCALE_CASES

STFT_SIGNAL = RNG.standard_normal((2, 40)).astype("float32")
CASES += [
    ("cdist", (V3, U3[:2]), {}),
    ("cdist", (T, T[:, :2] + 0.5), {}),
    ("segment_min", (V, SEG_IDS), {}),
    ("segment_prod", (RECT, SEG_IDS), {"num_segments": 3}),
    ("view_as_real", (C,), {}),
    ("view_as_complex", (np.stack([X, Y], -1),), {}),
    ("absolute", (X,), {}),
    ("amax", (T,), {"axis": 1}),
    ("amin", (T,), {}),
    ("arctan", (X,), {}),
    ("expm1", (X,), {}),
    ("tan", (UNIT,), {}),
    ("reciprocal", (POSX,), {}),
    ("true_divide", (X, POSX), {}),
    ("isinf", (X,), {}),
    ("full_like", (X, 3.0), {}),
    ("identity", (3,), {}),
    ("ravel", (T,), {}),
    ("take_along_axis", (X, np.argsort(X, axis=1)), {"axis": 1}),
    ("stop_gradient", (X,), {}),
    ("nn.hard_silu", (X,), {}),
    ("nn.hard_swish", (X,), {}),
    ("nn.swish", (X,), {}),
    ("nn.normalize", (X,), {}),
    ("nn.normalize", (X,), {"axis": 0, "order": 1}),
]
GRAD_OPS |= {"cdist", "segment_prod", "view_as_real"}

# istft against Keras on the same spectra (the stft round trip itself is in tests/ops).
SPEC = np.fft.rfft(RNG.standard_normal((2, 11, 8)), axis=-1)
SPEC_PAIR = (np.real(SPEC).astype("float32"), np.imag(SPEC).astype("float32"))
CASES += [
    ("istft", (SPEC_PAIR, 8, 4, 8), {}),
    ("istft", (SPEC_PAIR, 6, 3, 8), {"window": "hamming", "length": 30}),
]

# pad: Keras-on-torch is right for one (before, after) pair per axis in "constant" mode, and in
# "reflect" / "circular" while torch's kernels take the padded axes (the last one or two); its other
# forms and modes are checked against NumPy in tests/ops/test_pad.py.
CASES += [
    ("pad", (V, [(2, 1)]), {}),
    ("pad", (X, ((0, 2), (1, 1))), {"constant_values": 1.5}),
    ("pad", (INTS, ((1, 0), (2, 3))), {"constant_values": 7}),
    ("pad", (T, ((1, 2), (0, 1), (2, 0))), {}),
    ("pad", (RGB, ((0, 1), (1, 0), (2, 2), (0, 1))), {}),
    ("pad", (V, [(2, 3)]), {"mode": "reflect"}),
    ("pad", (X, ((0, 2), (1, 3))), {"mode": "reflect"}),
    ("pad", (INTS, ((2, 1), (3, 0))), {"mode": "reflect"}),
    ("pad", (T, ((0, 0), (0, 0), (3, 1))), {"mode": "reflect"}),
    ("pad", (V, [(4, 2)]), {"mode": "circular"}),
    ("pad", (X, ((2, 1), (0, 3))), {"mode": "circular"}),
    ("pad", (T, ((0, 0), (0, 0), (1, 2))), {"mode": "circular"}),
]
GRAD_OPS |= {"pad"}

# Found by a sweep of every keras.ops name over small float/int/bool inputs: integer and boolean
# dtypes (Keras keeps int32 sums and ReLUs, floats floor/ceil), booleans torch's kernels reject,
# array bounds and fills, NumPy's negative indices, integral float repeats.
BOOLS, BOOLS2 = X > 0, Y > 0
CASES += [
    ("round", (INTS,), {}),
    ("round", (INTS * 7,), {"decimals": -1}),
    ("abs", (BOOLS,), {}),
    ("trunc", (BOOLS,), {}),
    ("square", (BOOLS,), {}),
    ("floor", (INTS,), {}),
    ("ceil", (BOOLS,), {}),
    ("sum", (INTS,), {"axis": 0}),
    ("sum", (INTS.astype("int8"),), {}),
    ("prod", (SMALL,), {"axis": 1}),
    ("prod", (BOOLS,), {"axis": (0, 1)}),
    ("nansum", (INTS,), {}),
    ("nanprod", (SMALL,), {"axis": 0}),
    ("cumsum", (INTS,), {"axis": 1}),
    ("cumsum", (BOOLS,), {}),
    ("nn.relu", (INTS - 10,), {}),
    ("nn.relu6", (INTS - 5,), {}),
    ("nn.hard_tanh", (SMALL - 2,), {}),
    ("clip", (X, Y, 1.0), {}),
    ("clip", (INTS, W[:, None] * 10, 12), {}),
    ("clip", (BOOLS, 0, 1), {}),
    ("full", ((3, 4), X[0]), {}),
    ("full_like", (INTS, X[0]), {}),
    ("take", (X, np.array([-1, 0, -3], "int32")), {"axis": 1}),
    ("take_along_axis", (X, -1 - np.argsort(X, axis=0)), {"axis": 0}),
    ("matmul", (BOOLS, BOOLS2.T), {}),
    ("dot", (BOOLS, BOOLS2[0]), {}),
    ("inner", (BOOLS, BOOLS2), {}),
    ("tensordot", (BOOLS, BOOLS2), {"axes": 2}),
    ("vdot", (BOOLS[0], BOOLS2[0]), {}),
    ("isin", (BOOLS, np.array([True])), {}),
    ("nanargmax", (BOOLS,), {"axis": 1}),
    ("nanargmin", (BOOLS,), {}),
    ("vander", (INTS[0],), {}),
    ("repeat", (X, 2.0), {"axis": 0}),
    ("repeat", (X, np.array([1, 0, 2], "int32")), {"axis": 0}),
]
GRAD_OPS |= {"clip", "take", "take_along_axis"}

# Keras's signatures: arguments lamina lacked or named otherwise (see tests/ops/test_signatures.py).
CASES += [
    ("linspace", (X[0], Y[0] + 3, 5), {}),
    ("linspace", (X[0], Y[0], 4), {"endpoint": False, "retstep": True}),
    ("identity", (3, "int32"), {}),
    ("prod", (SMALL,), {"axis": 0, "dtype": "float32"}),
    ("bitwise_and", (), {"x": INTS, "y": INTS2}),
    ("left_shift", (), {"x": SMALL, "y": SMALL}),
    ("nn.moments", (X, [0]), {"synchronized": False}),
    ("nn.one_hot", (SMALL, 4), {"sparse": False}),
    ("arange", (1, 7), {"step": None}),
    ("rearrange", (), {"tensor": T, "pattern": "b h w -> b (h w)"}),
]

# The same sweep over float16, int8, uint8, int64, 0-d and empty inputs.
CASES += [
    ("subtract", (BOOLS, INTS), {}),
    ("subtract", (INTS, BOOLS), {}),
    ("transpose", (np.array(2.0, "float32"),), {}),
    ("percentile", (np.array(1.5, "float32"), 50), {}),
    ("linspace", (np.array([0, 1], "float16"), np.array([2, 5], "float16"), 5), {}),
]

# Found by running Keras's own ops unit tests (nn, math, core, image, linalg) against lamina.
HALF_WIDE = np.array([-741.0, 353.2, 1099.0, -1807.0, 502.8, -83.4, 333.5, -130.9], "float16")
OUT_OF_RANGE_IDS = np.array([0, 2, -1, 2, 5], "int32")  # -1 and 5 are dropped
CASES += [
    ("nn.softmax", (T,), {"axis": None}),
    ("nn.log_softmax", (T,), {"axis": None}),
    ("nn.moments", (HALF_WIDE, [0]), {}),
    ("nn.conv", (T, RNG.standard_normal((3, 4, 2)).astype("float32")), {"padding": "SAME"}),
    ("nn.max_pool", (T, 2), {"padding": "VALID"}),
    ("segment_sum", (V, OUT_OF_RANGE_IDS), {"num_segments": 4}),
    ("segment_max", (V, OUT_OF_RANGE_IDS), {"num_segments": 4}),
    ("segment_min", (V, SEG_IDS), {"num_segments": 5}),
    ("segment_prod", (V, OUT_OF_RANGE_IDS), {"num_segments": 3}),
    ("view_as_complex", (np.stack([X, Y], -1).astype("float64"),), {}),
    ("istft", (SPEC_PAIR, 4, 4, 8), {}),
    ("istft", (SPEC_PAIR, 8, 4, 8), {"center": False}),
    ("istft", (SPEC_PAIR, 5, 2, 8), {"window": None, "length": 12}),
]
TALL = RNG.standard_normal((2, 7, 4, 3)).astype("float32")
CASES += [
    ("image.resize", (TALL, (4, 4)), {"pad_to_aspect_ratio": True, "fill_value": 1.5}),
    ("image.resize", (TALL, (3, 5)), {"crop_to_aspect_ratio": True}),
    ("image.resize", (TALL[0], (2, 6)), {"pad_to_aspect_ratio": True}),
]
HALF_LOGITS = CTC_LOGITS.astype("float16")
CASES += [
    ("nn.ctc_loss", (CTC_TARGET, HALF_LOGITS, np.array([3, 2]), np.array([8, 6])), {}),
    ("nn.ctc_decode", (HALF_LOGITS, np.array([8, 6])), {}),
    ("nn.dot_product_attention", (Q.astype("float16"), KV, KV), {}),
]  # fmt: skip
BEAM = {"strategy": "beam_search"}
CASES += [
    ("nn.ctc_decode", (CTC_LOGITS, np.array([8, 6])), BEAM),
    ("nn.ctc_decode", (CTC_LOGITS, np.array([8, 5])), {**BEAM, "beam_width": 3, "top_paths": 2}),
    ("nn.ctc_decode", (CTC_LOGITS, np.array([7, 8])), {**BEAM, "top_paths": 3, "mask_index": 4}),
    ("nn.ctc_decode", (HALF_LOGITS, np.array([8, 6])), {"mask_index": None}),
]

# Found by the sweep of Keras's own ops/numpy_test.py: `axis=()` reduces no axis (torch read it as
# every axis), `axis=None` sorts the flattened tensor, negative expand_dims positions count from the
# result's end, `initial` gives an empty tensor an extreme, all-NaN rows have no nanargmax (-1).
# Values only: Keras's torch backend returns some of these without a gradient (ptp's zeros).
VALUE_ONLY = [
    *[(name, (NANS,), {"axis": ()}) for name in ("sum", "max", "amin", "nansum", "nanmean")],
    *[(name, (X,), {"axis": (), "keepdims": True}) for name in ("mean", "var", "prod", "nanmax")],
    *[(name, (INTS,), {"axis": ()}) for name in ("sum", "min", "count_nonzero", "median")],
    ("any", (SMALL,), {"axis": ()}),
    ("average", (X,), {"axis": ()}),
    ("ptp", (X,), {"axis": ()}),
    ("nanvar", (X,), {"axis": ()}),
    ("sort", (X,), {"axis": None}),
    ("argsort", (INTS,), {"axis": None}),
    ("argsort", (np.array(1, "int32"),), {}),
    ("expand_dims", (T, (-1, 1)), {}),
    ("expand_dims", (T, (-1, -2)), {}),
    ("max", (np.zeros((1, 0), "float32"),), {"initial": 1.0}),
    ("min", (np.zeros((1, 0), "float32"),), {"initial": 1.0, "keepdims": True}),
    ("max", (X,), {"axis": 1, "initial": 0.5}),
    ("nanargmax", (np.where(X > 0, np.nan, X),), {"axis": 0}),
    ("nanargmin", (np.full((2, 3), np.nan, "float32"),), {}),
    ("split", (np.zeros((0, 3), "float32"), 2), {}),
]
CASES += VALUE_ONLY

# Found by NumpyDtypeTest of the same sweep: mixed dtypes take Keras's result dtype (an integer
# next to float16 stays float16), products take mixed dtypes, quantiles take half precision, a
# Python number next to booleans is int32 / float32.
HALF = X.astype("float16")
DTYPE_CASES = [
    ("arctan2", (HALF, SMALL), {}),
    ("hypot", (SMALL, HALF), {}),
    ("logaddexp", (HALF, BOOLS), {}),
    ("divide", (SMALL, HALF), {}),
    ("heaviside", (HALF, SMALL), {}),
    ("dot", (SMALL, X.T), {}),
    ("matmul", (HALF[0], SMALL[0]), {}),
    ("median", (HALF,), {"axis": 1}),
    ("quantile", (HALF, 0.25), {}),
    ("add", (BOOLS, 1), {}),
    ("multiply", (BOOLS, 2.5), {}),
    ("maximum", (BOOLS, 1), {}),
    ("average", (SMALL,), {"axis": 1, "weights": HALF[0]}),
    ("bincount", (SMALL[0],), {"weights": SMALL[1].astype("int8")}),
    ("bincount", (SMALL[0].astype("uint8"),), {"weights": BOOLS[0]}),
]
VALUE_ONLY += DTYPE_CASES
CASES += DTYPE_CASES
