"""Keras 3's matching of a `build()` of several shapes to call()'s arguments, against Keras:
which shape each build argument gets (by name, a subset, a keyword argument, an absent one), the
recorded build_config, and which build signatures are refused."""

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras_run


class _Seen:
    def call(self, foo, bar=None, baz=None):
        return foo


class Reordered(_Seen):
    def build(self, baz_shape, foo_shape):
        self.seen = {"foo": foo_shape, "baz": baz_shape}


class OneName(_Seen):
    def build(self, anything_whatsoever):
        self.seen = {"first": anything_whatsoever}


class WithDefault(_Seen):
    def build(self, foo_shape, bar_shape=None):
        self.seen = {"foo": foo_shape, "bar": bar_shape}


class NoSuffix(_Seen):
    def build(self, foo_shape, bar):
        self.seen = {}


class NoSuchArgument(_Seen):
    def build(self, foo_shape, qux_shape):
        self.seen = {}


def _program(body, symbolic, keyword):
    def program(framework):
        layer = type(body.__name__, (body, framework.layers.Layer), {})()
        if symbolic:
            foo, bar, baz = (framework.Input((n,)) for n in (1, 2, 3))
        else:
            foo, bar, baz = (np.ones((4, n), "float32") for n in (1, 2, 3))
        try:
            if keyword:
                layer(foo, baz=baz)
            else:
                layer(foo, bar, baz)
        except ValueError:
            return "ValueError"
        seen = {k: None if v is None else tuple(v) for k, v in layer.seen.items()}
        return seen, layer.get_build_config() if symbolic else None

    return program


@pytest.mark.parametrize("body", [Reordered, OneName, WithDefault, NoSuffix, NoSuchArgument])
@pytest.mark.parametrize("symbolic", [False, True])
@pytest.mark.parametrize("keyword", [False, True])
def test_build_shapes_match_keras(body, symbolic, keyword):
    program = _program(body, symbolic, keyword)
    assert program(lamina) == keras_run(program)
