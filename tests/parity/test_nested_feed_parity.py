"""A nested list of arrays fed to a multi-input functional model is flattened onto its Inputs
in order, as Keras does (with a warning on a direct call), also through nested models and a
`.keras` round trip (Keras's nested functional saving test)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras, keras_run


def _program(k):
    def inner(out_size, name):
        inputs = k.Input((4,))
        return k.Model(inputs, k.layers.Dense(out_size)(inputs), name=name)

    a, b = k.Input((4,)), k.Input((4,))
    return k.Model([a, b], [inner(2, "func_a")(a), inner(3, "func_b")(b)])


def _numpy(tensors, k):
    return [k.ops.convert_to_numpy(t) for t in tensors]


def test_nested_feed_matches_keras_and_survives_saving(tmp_path):
    rng = np.random.default_rng(0)
    x = ([rng.random((2, 4)).astype("float32")], rng.random((2, 4)).astype("float32"))
    theirs = keras_run(_program)
    ours = _program(lamina)
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings(record=True) as seen:  # Keras's own numpy DeprecationWarning
        warnings.simplefilter("always")
        expected = _numpy(theirs(x), keras)
    assert any(issubclass(w.category, UserWarning) for w in seen)
    with pytest.warns(UserWarning, match="arrays are fed in order"):
        got = _numpy(ours(x), lamina)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    path = tmp_path / "nested.keras"
    ours.save(path)
    restored = lamina.saving.load_model(path)
    for e, g in zip(expected, restored.predict(x, verbose=0), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
