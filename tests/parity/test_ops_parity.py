"""lamina.ops against keras.ops (torch backend): values, shapes and dtypes over a case catalogue."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from tests.ops import parity_cases
from tests.parity.reference import keras

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 4)).astype("float32")
B = RNG.standard_normal((2, 3, 4)).astype("float32")
M = RNG.standard_normal((4, 5)).astype("float32")
POS = (np.abs(A) + 0.1).astype("float32")
INT = RNG.integers(0, 5, size=(2, 6)).astype("int32")
IMG = (RNG.random((2, 5, 7, 3)) * 255).astype("uint8")
# int8 products: Keras gives matmul and einsum int32 (the sums overflow int8), dot stays int8
INT8 = RNG.integers(90, 127, size=(3, 4)).astype("int8")

# (op path, positional args, keyword args)
CASES = [
    ("add", (A, B), {}),
    ("add", (A, 2.0), {}),
    ("subtract", (A, B), {}),
    ("multiply", (A, 3), {}),
    ("divide", (A, POS), {}),
    ("divide", (INT, 2), {}),
    ("power", (POS, 2.0), {}),
    ("maximum", (A, B), {}),
    ("minimum", (A, 0.0), {}),
    ("mod", (INT, 3), {}),
    ("floor_divide", (INT, 2), {}),
    ("equal", (INT, 0), {}),
    ("not_equal", (INT, 0), {}),
    ("greater", (A, B), {}),
    ("greater_equal", (A, 0.0), {}),
    ("less", (A, B), {}),
    ("less_equal", (A, 0.0), {}),
    ("logical_and", (A > 0, B > 0), {}),
    ("logical_or", (A > 0, B > 0), {}),
    ("logical_not", (A > 0,), {}),
    ("matmul", (A, M), {}),
    ("dot", (M.T, M), {}),
    ("einsum", ("bij,jk->bik", A, M), {}),
    ("matmul", (INT8, INT8.T), {}),
    ("einsum", ("ij,kj->ik", INT8, INT8), {}),
    ("einsum", ("ij->", INT8), {}),
    ("dot", (INT8[:1] // 64, INT8.T // 64), {}),
    ("where", (A > 0, A, B), {}),
    ("abs", (A,), {}),
    ("negative", (A,), {}),
    ("sign", (A,), {}),
    ("square", (A,), {}),
    ("sqrt", (POS,), {}),
    ("rsqrt", (POS,), {}),
    ("exp", (A,), {}),
    ("log", (POS,), {}),
    ("log1p", (POS,), {}),
    ("sin", (A,), {}),
    ("cos", (A,), {}),
    ("tanh", (A,), {}),
    ("erf", (A,), {}),
    ("floor", (A,), {}),
    ("ceil", (A,), {}),
    ("round", (A * 3,), {}),
    ("clip", (A, -0.5, 0.5), {}),
    ("isnan", (A,), {}),
    ("isfinite", (A,), {}),
    ("sum", (A,), {}),
    ("sum", (A,), {"axis": 1}),
    ("sum", (A,), {"axis": (0, 2), "keepdims": True}),
    ("mean", (A,), {"axis": -1}),
    ("mean", (INT,), {}),
    ("max", (A,), {"axis": 1}),
    ("max", (A,), {}),
    ("min", (A,), {"axis": (1, 2), "keepdims": True}),
    ("prod", (A,), {"axis": 2}),
    ("var", (A,), {"axis": 1}),
    ("std", (A,), {}),
    ("any", (A > 1,), {"axis": 1}),
    ("all", (A > -3,), {}),
    ("argmax", (A,), {"axis": -1}),
    ("argmin", (A,), {"axis": 1}),
    ("argmax", (A,), {}),
    ("cumsum", (A,), {"axis": 1}),
    ("logsumexp", (A,), {"axis": -1}),
    ("norm", (A,), {"axis": -1}),
    ("top_k", (A, 2), {}),
    ("reshape", (A, (2, 12)), {}),
    ("reshape", (A, (-1, 4)), {}),
    ("transpose", (A,), {}),
    ("transpose", (A, (0, 2, 1)), {}),
    ("expand_dims", (A, 1), {}),
    ("expand_dims", (A, -1), {}),
    ("squeeze", (A[:, :1],), {"axis": 1}),
    ("squeeze", (A[:1, :1],), {}),
    ("concatenate", ([A, B],), {"axis": 1}),
    ("concatenate", ([A, B],), {}),
    ("stack", ([A, B],), {"axis": 1}),
    ("split", (A, 2), {"axis": 2}),
    ("split", (A, [1, 3]), {"axis": 2}),
    ("tile", (M, (2, 1)), {}),
    ("repeat", (M, 2), {"axis": 0}),
    ("flip", (A,), {"axis": 1}),
    ("broadcast_to", (M[:1], (3, 5)), {}),
    ("swapaxes", (A, 0, 2), {}),
    ("moveaxis", (A, 0, -1), {}),
    ("pad", (M, ((1, 2), (0, 1))), {}),
    ("triu", (M,), {"k": 1}),
    ("tril", (M,), {}),
    ("take", (M, INT[0]), {"axis": 0}),
    ("sort", (A,), {}),
    ("argsort", (A,), {"axis": 1}),
    ("arange", (5,), {}),
    ("arange", (1, 7, 2), {}),
    ("arange", (0.0, 1.0, 0.25), {}),
    ("zeros", ((2, 3),), {}),
    ("ones", ((2,),), {"dtype": "int32"}),
    ("full", ((2, 2), 7.0), {}),
    ("eye", (3,), {}),
    ("zeros_like", (A,), {}),
    ("ones_like", (INT,), {}),
    ("linspace", (0.0, 1.0, 5), {}),
    ("cast", (A, "int32"), {}),
    ("cast", (INT, "bool"), {}),
    ("cast", (INT, "float32"), {}),
    ("nn.relu", (A,), {}),
    ("nn.relu6", (A * 5,), {}),
    ("nn.sigmoid", (A,), {}),
    ("nn.softmax", (A,), {}),
    ("nn.softmax", (A,), {"axis": 1}),
    ("nn.log_softmax", (A,), {}),
    ("nn.gelu", (A,), {}),
    ("nn.gelu", (A,), {"approximate": False}),
    ("nn.silu", (A,), {}),
    ("nn.elu", (A,), {}),
    ("nn.selu", (A,), {}),
    ("nn.leaky_relu", (A,), {}),
    ("nn.softplus", (A,), {}),
    ("nn.softsign", (A,), {}),
    ("nn.hard_sigmoid", (A,), {}),
    ("nn.one_hot", (INT, 5), {}),
    ("nn.moments", (A, (0, 1)), {}),
    ("softmax", (A,), {}),
    ("image.resize", (IMG, (9, 4)), {}),
    ("image.resize", (IMG, (10, 14)), {}),
    ("image.resize", (IMG.astype("float32"), (3, 11)), {}),
    ("image.resize", (IMG.astype("float32"), (9, 4)), {"interpolation": "nearest"}),
    ("image.resize", (IMG, (10, 21)), {"interpolation": "nearest"}),
    ("image.resize", (IMG[0].astype("float32"), (6, 6)), {}),
    ("image.resize", (IMG.astype("float32"), (2, 3)), {"antialias": True}),
]


CASES = CASES + parity_cases.CASES

# Keras-on-torch returns int64 indices here where TensorFlow returns int32: lamina follows TF.
INDEX_DTYPE_FOLLOWS_TF = {"top_k"} | parity_cases.INT32_INDICES


def _resolve(namespace, path):
    for part in path.split("."):
        namespace = getattr(namespace, part)
    return namespace


def _as_torch(value):
    if isinstance(value, np.ndarray):
        return torch.tensor(value)
    if isinstance(value, list):
        return [_as_torch(v) for v in value]
    return value


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flat(item)]
    return [value]


def _keras(path, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras's own x.T deprecation on torch
        return _resolve(keras.ops, path)(*args, **kwargs)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("path", "args", "kwargs"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
@pytest.mark.parametrize("input_kind", ["numpy", "torch"])
def test_op_matches_keras(path, args, kwargs, input_kind):
    args_in = args if input_kind == "numpy" else tuple(_as_torch(a) for a in args)
    ours = _resolve(ops, path)(*args_in, **kwargs)
    if path in parity_cases.STACKED_IN_KERAS:
        ours = torch.stack(ours)
    ours = _flat(ours)
    keras_args = args
    if path in parity_cases.KERAS_NEEDS_TENSORS:
        keras_args = tuple(_as_torch(a) for a in args)
    ref = _flat(_keras(path, *keras_args, **kwargs))
    assert len(ours) == len(ref)
    for mine, theirs in zip(ours, ref, strict=True):
        assert isinstance(mine, torch.Tensor)
        theirs = torch.as_tensor(np.asarray(keras.ops.convert_to_numpy(theirs)))
        assert tuple(mine.shape) == tuple(theirs.shape)
        if path in INDEX_DTYPE_FOLLOWS_TF and not mine.is_floating_point():
            theirs = theirs.to(torch.int32)
        assert mine.dtype == theirs.dtype, f"dtype {mine.dtype} != Keras {theirs.dtype}"
        if path in parity_cases.SHAPE_ONLY:
            continue
        torch.testing.assert_close(mine.cpu(), theirs, atol=1e-5, rtol=1e-5, equal_nan=True)


def _has_float_input(args):
    return any(
        isinstance(a, np.ndarray)
        and a.dtype.kind == "f"
        or isinstance(a, list)
        and _has_float_input(a)
        for a in args
    )


GRAD_CASES = [
    c
    for c in parity_cases.CASES
    if c[0] in parity_cases.GRAD_OPS
    and _has_float_input(c[1])
    and all(c is not value_only for value_only in parity_cases.VALUE_ONLY)
]


def _with_grad(args):
    """Torch leaves (requiring grad) for the float arrays among `args`, lists included."""
    leaves = []

    def convert(value):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            leaf = torch.tensor(value, requires_grad=True)
            leaves.append(leaf)
            return leaf
        if isinstance(value, list):
            return [convert(v) for v in value]
        return _as_torch(value)

    return tuple(convert(a) for a in args), leaves


def _input_grads(fn, path, args, kwargs):
    inputs, leaves = _with_grad(args)
    outputs = [o for o in _flat(fn(*inputs, **kwargs)) if o.is_floating_point()]
    generator = torch.Generator().manual_seed(0)
    total = sum((o * torch.randn(o.shape, generator=generator)).sum() for o in outputs)
    return torch.autograd.grad(total, leaves, allow_unused=True)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("path", "args", "kwargs"), GRAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)]
)
def test_op_gradients_match_keras(path, args, kwargs):
    ours = _input_grads(_resolve(ops, path), path, args, kwargs)
    theirs = _input_grads(lambda *a, **k: _keras(path, *a, **k), path, args, kwargs)
    for mine, ref in zip(ours, theirs, strict=True):
        assert (mine is None) == (ref is None)
        if mine is not None:
            torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "build", "kwargs"),
    parity_cases.CONTROL,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(parity_cases.CONTROL)],
)
def test_control_flow_matches_keras(name, build, kwargs):
    ours = _flat(getattr(ops, name)(*build(ops), **kwargs))
    ref = _flat(_keras(name, *build(keras.ops), **kwargs))
    assert len(ours) == len(ref)
    for mine, theirs in zip(ours, ref, strict=True):
        theirs = torch.as_tensor(np.asarray(keras.ops.convert_to_numpy(theirs)))
        mine = torch.as_tensor(mine)
        assert tuple(mine.shape) == tuple(theirs.shape)
        torch.testing.assert_close(mine.cpu(), theirs, atol=1e-5, rtol=1e-5)


def test_custom_gradient_and_vectorize_match_keras():
    def clipped(namespace):
        @namespace.custom_gradient
        def identity_clip_grad(x):
            def grad(*args, upstream=None):
                upstream = args[0] if upstream is None else upstream
                return namespace.clip(upstream, -0.1, 0.1)

            return namespace.multiply(x, 3.0), grad

        return identity_clip_grad

    grads = []
    for namespace in (ops, keras.ops):
        x = torch.tensor(parity_cases.X, requires_grad=True)
        (clipped(namespace)(x) * torch.tensor(parity_cases.Y)).sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1])
    assert grads[0].abs().max() <= 0.1

    def dot(a, b):
        return (a * b).sum()

    ours = ops.vectorize(dot, signature="(n),(n)->()")(parity_cases.X, parity_cases.Y)
    ref = keras.ops.vectorize(dot, signature="(n),(n)->()")(
        torch.tensor(parity_cases.X), torch.tensor(parity_cases.Y)
    )
    torch.testing.assert_close(ours, ref)
    ours = ops.vectorize(lambda a: a * 2 + 1)(parity_cases.X)
    torch.testing.assert_close(ours, torch.tensor(parity_cases.X) * 2 + 1)


@pytest.mark.parity
@pytest.mark.parametrize(
    "value",
    [np.float64(0.5), np.float32(0.5), np.int64(3), np.int32(3), np.bool_(True), 0.5, 3, True],
    ids=lambda v: type(v).__name__,
)
def test_scalars_convert_to_keras_dtypes(value):
    # NumPy's float64 scalar is a Python float subclass: Keras gives floatx; other NumPy scalars
    # keep their dtype; Python numbers take Keras's defaults.
    expected = keras.ops.convert_to_tensor(value)
    assert ops.convert_to_tensor(value).dtype == expected.dtype
    assert ops.cos(value).dtype == keras.ops.cos(value).dtype


SYMBOLIC_DTYPE_CASES = [
    ("add", ("float16", "int8"), {}),
    ("multiply", ("bfloat16", "bool"), {}),
    ("concatenate", ("float16", "float16"), {}),
    ("mean", ("float16",), {}),
    ("sqrt", ("bfloat16",), {}),
    ("linspace", ("float16", "float16"), {"num": 5}),
    ("logspace", ("int8", "int8"), {"num": 3}),
    ("geomspace", ("float32", "float32"), {"num": 4, "axis": -1}),
]


@pytest.mark.parity
@pytest.mark.parametrize(("name", "dtypes", "kwargs"), SYMBOLIC_DTYPE_CASES)
def test_symbolic_op_dtypes_match_keras(name, dtypes, kwargs):
    # An op on symbolic tensors keeps half-precision inputs' dtype, as Keras's (no layer's cast),
    # and linspace-like ops take symbolic bounds.
    def run(module, tensor_type):
        inputs = [tensor_type((2,), dtype) for dtype in dtypes]
        fn = getattr(module.ops, name)
        out = fn(inputs) if name == "concatenate" else fn(*inputs, **kwargs)
        return out.shape, out.dtype

    assert run(lamina, lamina.KerasTensor) == run(keras, keras.KerasTensor)


RESHAPE_CASES = [
    ((4,), None, (-1, 2, 4)),  # -1 over an unknown batch that a probe size need not divide
    ((3, 2), None, (-1, 6)),
    ((3, 2), None, (6,)),
    ((3, 2), 2, (-1,)),  # a known batch: the -1 is worked out
]


@pytest.mark.parametrize(("shape", "batch", "newshape"), RESHAPE_CASES)
def test_symbolic_reshape_shape_matches_keras(shape, batch, newshape):
    expected = keras.ops.reshape(keras.Input(shape, batch_size=batch), newshape).shape
    assert ops.reshape(lamina.Input(shape, batch_size=batch), newshape).shape == expected


def test_reshape_by_groups_of_the_batch_runs_in_a_model():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, ops.reshape(inputs, (-1, 3, 4)))
    x = np.arange(24, dtype="float32").reshape(6, 4)
    np.testing.assert_array_equal(model(x).numpy(), x.reshape(2, 3, 4))
