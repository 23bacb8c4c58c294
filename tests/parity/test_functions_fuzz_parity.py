"""Parity with Keras 3 (torch backend) at the edges a differential fuzz of activations,
initializers, regularizers, constraints, `keras.tree` and `keras.backend` / `keras.config` found.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina

pytestmark = pytest.mark.parity


def test_relu_with_a_cap_keeps_an_integer_input_integer():
    x = np.array([-3, 2, 5, 7, 9], dtype="int32")
    want = np.asarray(keras.activations.relu(x, max_value=6.5))
    got = lamina.activations.relu(torch.tensor(x), max_value=6.5).numpy()
    assert got.dtype == want.dtype == np.int32
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("row", [[1.0, np.nan, 0.5], [np.inf, 1.0, 0.0]], ids=["nan", "inf"])
def test_sparsemax_of_non_finite_scores_computes_and_finite_rows_are_kept(row):
    # A NaN or +inf score leaves no support: Keras gives non-finite values where lamina raised
    # (an index past the start). The finite row beside it keeps the paper's projection (Keras
    # 3.15's torch backend sums the whole support's cumulative sums there: see the docstring).
    x = np.array([row, [1.0, 0.8, 0.1]], dtype="float32")
    got = lamina.activations.sparsemax(torch.tensor(x)).numpy()
    want = np.asarray(keras.activations.sparsemax(x))
    assert got.shape == want.shape
    assert not np.isfinite(got[0]).all() and not np.isfinite(want[0]).all()
    np.testing.assert_allclose(got[1], [0.6, 0.4, 0.0], atol=1e-6)


def test_sparsemax_with_minus_inf_is_keras():
    x = np.array([[-np.inf, 2.0, 1.0], [-np.inf, 0.3, -np.inf]], dtype="float32")
    got = lamina.activations.sparsemax(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, np.asarray(keras.activations.sparsemax(x)), atol=1e-6)


@pytest.mark.parametrize("alias, cls", [("one", "Ones"), ("zero", "Zeros")])
def test_initializer_aliases_are_keras(alias, cls):
    assert type(keras.initializers.get(alias)).__name__ == cls
    assert type(lamina.initializers.get(alias)).__name__ == cls


def test_orthogonal_initializer_refuses_a_one_dimensional_shape_as_keras():
    with pytest.raises(ValueError):
        keras.initializers.Orthogonal(seed=1)((5,))
    with pytest.raises(ValueError, match="two dimensions"):
        lamina.initializers.Orthogonal(seed=1)((5,))


@pytest.mark.parametrize("name", ["l1", "l2", "l1_l2"])
def test_regularizer_lowercase_names_are_the_classes(name):
    theirs, ours = getattr(keras.regularizers, name), getattr(lamina.regularizers, name)
    assert theirs.__name__ == ours.__name__
    # l1_l2() has both factors 0 in Keras 3 (0.01 was Keras 2's function form)
    assert ours().get_config() == pytest.approx(theirs().get_config())
    w = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    np.testing.assert_allclose(
        float(ours()(torch.tensor(w))), float(theirs()(keras.ops.convert_to_tensor(w))), rtol=1e-5
    )


def test_regularizer_get_takes_the_orthogonal_class_name():
    theirs = keras.regularizers.get("OrthogonalRegularizer")
    ours = lamina.regularizers.get("OrthogonalRegularizer")
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == pytest.approx(theirs.get_config())


@pytest.mark.parametrize("cls", ["MaxNorm", "MinMaxNorm", "UnitNorm"])
@pytest.mark.parametrize("axis", [[0, 1], (0, 1)], ids=["list", "tuple"])
def test_constraint_axes_config_is_keras_and_values_agree(cls, axis):
    theirs = getattr(keras.constraints, cls)(axis=axis)
    ours = getattr(lamina.constraints, cls)(axis=axis)
    assert ours.get_config() == theirs.get_config()
    w = np.random.default_rng(1).standard_normal((3, 3, 2, 4)).astype("float32")
    np.testing.assert_allclose(
        ours(torch.tensor(w)).numpy(), np.asarray(theirs(keras.ops.convert_to_tensor(w))), atol=1e-6
    )


_WIDE_UNSIGNED_PAIRS = [
    (unsigned, other)
    for unsigned in ("uint16", "uint32", "uint64")
    for other in ("bool", "uint8", "uint64", "int8", "int32", "int64", "float16", "bfloat16")
    + ("float64", "complex128", "int")
]


@pytest.mark.parametrize("a, b", _WIDE_UNSIGNED_PAIRS)
def test_result_type_of_wide_unsigned_dtypes_is_keras(a, b):
    # torch cannot promote uint16/32/64: lamina raised where Keras follows JAX's lattice
    assert lamina.backend.result_type(a, b) == keras.backend.result_type(a, b)
    assert lamina.backend.result_type(b, a) == keras.backend.result_type(b, a)


@pytest.mark.parametrize("dtypes", [("string",), ("string", "string")])
def test_result_type_of_strings_is_keras(dtypes):
    assert lamina.backend.result_type(*dtypes) == keras.backend.result_type(*dtypes) == "string"


def test_config_is_nnx_enabled_is_keras():
    assert lamina.config.is_nnx_enabled() is keras.config.is_nnx_enabled() is False


def test_enable_flash_attention_resets_to_keras_default():
    try:
        for module in (keras.config, lamina.config):
            module.disable_flash_attention()
        assert lamina.config.is_flash_attention_enabled() is False
        for module in (keras.config, lamina.config):
            module.enable_flash_attention()
        want = keras.config.is_flash_attention_enabled()
        assert lamina.config.is_flash_attention_enabled() is want is None
    finally:
        keras.config.enable_flash_attention()
        lamina.config.enable_flash_attention()


def test_map_structure_pairs_an_ordered_dict_and_a_dict_by_key_as_keras():
    import collections

    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    plain = {"a": 10, "b": 20}
    pair = lambda x, y: (x, y)  # noqa: E731
    want = keras.tree.map_structure(pair, ordered, plain)
    got = lamina.tree.map_structure(pair, ordered, plain)
    assert list(got.items()) == list(want.items()) == [("b", (1, 20)), ("a", (2, 10))]
    want = keras.tree.map_structure_up_to(ordered, pair, ordered, plain)
    assert lamina.tree.map_structure_up_to(ordered, pair, ordered, plain) == want


@pytest.mark.parametrize("value", [0.7, 2, [-1, 2], [1.5, -2.0]], ids=repr)
@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "relu6"])
def test_activation_of_python_numbers_has_keras_shape_and_dtype(name, value):
    # a Python scalar stays 0-d and Python ints are int32, as Keras converts them
    want = getattr(keras.activations, name)(value)
    got = getattr(lamina.activations, name)(value)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(want), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_constant_initializer_takes_an_int_shape_as_keras(dtype):
    want = keras.initializers.Constant(2)(4, dtype=dtype)
    got = lamina.initializers.Constant(2)(4, dtype=dtype)
    assert tuple(got.shape) == tuple(want.shape) == (4,)
    np.testing.assert_array_equal(got.numpy(), keras.ops.convert_to_numpy(want))
