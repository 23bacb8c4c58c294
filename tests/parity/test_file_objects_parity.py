"""A file object (io.BytesIO) given to the public saving API is refused with the exception
type Keras 3's public API raises (ValueError on saving, TypeError on loading); lamina's message
says what it expects and how to get there."""

from __future__ import annotations

import io

import pytest

import lamina
from tests.parity.reference import keras

CALLS = {
    "save": (lambda k, m: m.save(io.BytesIO()), ValueError),
    "save_model": (lambda k, m: k.saving.save_model(m, io.BytesIO()), ValueError),
    "load_model": (lambda k, m: k.saving.load_model(io.BytesIO(b"PK")), TypeError),
    "save_weights": (lambda k, m: m.save_weights(io.BytesIO()), ValueError),
    "load_weights": (lambda k, m: m.load_weights(io.BytesIO()), TypeError),
}


def _model(k):
    return k.Sequential([k.Input((2,)), k.layers.Dense(1)])


@pytest.mark.parametrize("name", sorted(CALLS))
def test_file_objects_refused_as_keras_refuses_them(name):
    call, error = CALLS[name]
    with pytest.raises(error):
        call(keras, _model(keras))
    with pytest.raises(error, match=r"expects a filepath .*received a BytesIO.*Hint: file obj"):
        call(lamina, _model(lamina))
