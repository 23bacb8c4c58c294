"""KerasTensor: the Python operators record ops with Keras's shapes and dtypes; no values."""

import numpy as np
import pytest

import lamina
from lamina.engine import keras_tensor
from tests.parity import reference

# Python operators on KerasTensors, as Keras 3 overloads them (`==` stays identity).
OPERATOR_EXPRESSIONS = [
    "x < 3", "3 < x", "x <= y", "x > y", "x >= 1", "x != y", "x & y", "1 | x", "~x",
    "x ^ True", "abs(x)", "x // 2", "2 // x", "x % y", "2 % x", "2 ** x", "x ** y",
    "round(x)", "x @ z", "x - y", "-x",
]  # fmt: skip


def _operator_specs(m):
    specs = {}
    for dtype in ("float32", "int32", "int8", "float16"):
        x = m.Input((3,), dtype=dtype)
        y = m.Input((3,), dtype=dtype)
        z = m.Input((3, 4), dtype="int32" if dtype == "int8" else dtype)
        for expression in OPERATOR_EXPRESSIONS:
            out = eval(expression, {}, {"x": x, "y": y, "z": z})
            specs[dtype, expression] = (tuple(out.shape), str(out.dtype))
    return specs


@pytest.mark.parity
def test_operators_give_keras_shapes_and_dtypes():
    assert _operator_specs(lamina) == reference.keras_run(_operator_specs)


def _comparison_model_outputs(m):
    x = m.Input((4,))
    positive = m.ops.cast((x > 0) & (x < 2.5), "float32")
    mixed = m.ops.cast(~(x <= -1) ^ (abs(x) >= 2), "float32") + x // 2 + x % 2 + 2**x
    model = m.Model(x, [positive, mixed, round(x)])
    data = np.array([[-2.0, -0.5, 1.0, 3.0], [0.0, 2.0, -1.0, 2.6]], "float32")
    return [np.asarray(out) for out in model.predict(data, verbose=0)]


@pytest.mark.parity
def test_a_functional_model_of_comparisons_predicts_as_keras():
    expected = reference.keras_run(_comparison_model_outputs)
    for ours, theirs in zip(_comparison_model_outputs(lamina), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_equality_stays_identity_so_tensors_stay_hashable():
    x = lamina.Input((3,))
    assert (x == 3) is False
    assert x == x
    assert {x: 1}[x] == 1


def test_numpy_arrays_defer_to_the_reflected_operators():
    x = lamina.Input((3,))
    out = np.ones(3, "float32") + x
    assert isinstance(out, lamina.KerasTensor) and out.shape == (None, 3)


def test_reshape_and_squeeze_methods():
    x = lamina.Input((1, 6))
    assert x.reshape((-1, 2, 3)).shape == (None, 2, 3)
    assert x.squeeze(1).shape == (None, 6)


@pytest.mark.parametrize(
    ("convert", "error", "message"),
    [
        (list, NotImplementedError, "Iterating over a symbolic KerasTensor .*ops.unstack"),
        (bool, TypeError, "cannot be used as a boolean.*ops.cond"),
        (int, ValueError, "cannot be converted to an int"),
        (float, ValueError, "cannot be converted to a float"),
        (np.asarray, ValueError, "cannot be converted to a NumPy array"),
    ],
)
def test_what_needs_values_is_refused_with_a_hint(convert, error, message):
    with pytest.raises(error, match=message):
        convert(lamina.Input((3,)))


def test_sparse_and_ragged_flags_are_false_as_lamina_is_dense():
    x = lamina.KerasTensor((2, 3), sparse=False, ragged=False)
    assert (x.sparse, x.ragged) == (False, False)
    assert lamina.ops.add(x, 1).sparse is False
    for flag in ("sparse", "ragged"):
        with pytest.raises(ValueError, match=f"{flag}=False .*dense.*received {flag}=True"):
            lamina.KerasTensor((2, 3), **{flag: True})


def test_basic_index_shape_leaves_other_keys_to_the_probe():
    x = lamina.KerasTensor((None, 5, 16))
    assert keras_tensor.basic_index_shape(x, (slice(None, 5), slice(3, None), 1)) == (None, 2)
    assert keras_tensor.basic_index_shape(x, (0, 0, 0)) == ()
    assert keras_tensor.basic_index_shape(x, (slice(None), 7)) is None  # out of range: the probe
    assert keras_tensor.basic_index_shape(x, np.array([0, 1])) is None
    with pytest.raises(ValueError, match="get_item"):
        x[:, 7]
    with pytest.raises(ValueError, match="at most one Ellipsis"):
        x[..., 0, ...]
