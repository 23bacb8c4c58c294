"""lamina.ops against keras.ops where Keras's own ops unit tests found them apart: integer
results, symbolic shapes, warnings and argument errors (the value tables are in
tests/ops/parity_cases.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from tests.parity.reference import keras

RNG = np.random.default_rng(3)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_map_coordinates_keeps_integer_dtype_rounded(dtype):
    image = RNG.integers(0, 50, size=(3, 4, 5)).astype(dtype)
    coordinates = [RNG.uniform(-1, size, (2, 3)).astype("float32") for size in image.shape]
    ours = ops.image.map_coordinates(image, coordinates, 1)
    ref = keras.ops.image.map_coordinates(image, coordinates, 1)
    assert ours.dtype == ref.dtype
    torch.testing.assert_close(ours, ref)


@pytest.mark.parity
@pytest.mark.parametrize("op", ["segment_sum", "segment_max"])
def test_segment_reductions_on_symbolic_ids_have_unknown_length(op):
    def shape(namespace, tensor):
        data = tensor((10, 4), dtype="float32")
        ids = tensor((10,), dtype="int32")
        return getattr(namespace, op)(data, ids).shape, getattr(namespace, op)(data, ids, 3).shape

    assert shape(ops, lamina.KerasTensor) == shape(keras.ops, keras.KerasTensor)


@pytest.mark.parity
def test_segment_reductions_reject_ids_that_do_not_fit_data():
    data = np.ones((4, 2), "float32")
    for ids in (np.zeros((4, 1), "int32"), np.zeros(3, "int32")):
        with pytest.raises(ValueError):
            keras.ops.segment_sum(data, ids)
        with pytest.raises(ValueError, match="segment_ids"):
            ops.segment_sum(data, ids)


def test_softmax_checks_its_axis_and_warns_over_a_single_class():
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((2, 1), "float32"), axis=1)
    with pytest.raises(ValueError, match="axis 10"):
        ops.softmax(lamina.KerasTensor((3, 4)), axis=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ops.softmax(np.ones((2, 3), "float32"))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("stft", (np.ones(8, "float32"), 2, 0, 4)),
        ("stft", (np.ones(8, "float32"), 4, 1, 2)),
        ("stft", (np.ones(8, "float32"), 2, 1, 4, np.ones(3, "float32"))),
        ("istft", ((np.ones((1, 3)), np.ones((1, 3))), 2, 1.0, 4)),
        ("view_as_complex", (np.ones((2, 3), "float32"),)),
        ("image.resize", (np.ones((4, 4, 1), "float32"), (0, 4))),
    ],
)
def test_bad_arguments_raise_value_errors_as_keras(op, args):
    def call(namespace):
        for part in op.split("."):
            namespace = getattr(namespace, part)
        return namespace(*args)

    with pytest.raises(ValueError):
        call(keras.ops)
    with pytest.raises(ValueError):
        call(ops)
