"""Plain values that are not JSON types (bytes, Ellipsis, slices, NumPy arrays and scalars) are
written as the same value entries Keras's `serialize_keras_object` writes, and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras

VALUES = [
    b"hello",
    Ellipsis,
    slice(None, 20, 1),
    slice(1, np.array([0, 1]), None),
    np.float32(1.5),
    np.array([[0.0, 1.0]], dtype="float32"),
    np.array([0, 1]),
    {"key": b"bytes", "index": (Ellipsis, slice(2))},
]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, slice):
        return isinstance(b, slice) and all(
            _same(getattr(a, k), getattr(b, k)) for k in ("start", "stop", "step")
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_value_entries_match_keras(value):
    ours = lamina.saving.serialize_keras_object(value)
    theirs = keras.saving.serialize_keras_object(value)
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_keras_value_entries_read_back(value):
    entry = json.loads(json.dumps(keras.saving.serialize_keras_object(value)))
    back = lamina.saving.deserialize_keras_object(entry)
    expected = keras.saving.deserialize_keras_object(entry)
    if isinstance(value, np.generic):
        assert back == expected == value.item()
    else:
        assert _same(back, expected)
