"""`variable.path` as Keras 3 writes it: the name scopes open when each weight was made, so a
Sequential's layers sit under the model's name, a functional model's layers under none, and a
sub-layer built inside a call under its caller (`sub/sequential/dense/kernel`); paths stay the
same through fit, and a loaded model has the paths it was saved with."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def sequential_with_input(L, M):
    return M.Sequential([L.Input((3,)), L.Dense(2), L.BatchNormalization()])


def sequential_built_by_a_call(L, M):
    model = M.Sequential([L.Dense(2)], name="lazy")
    model(np.ones((1, 3), "float32"))
    return model


def functional(L, M):
    inputs = L.Input((3,))
    return M.Model(inputs, L.Dense(2)(inputs))


def block_class(L):
    class Block(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = L.Dense(2)

        def call(self, x):
            return self.inner(x)

    return Block


def functional_with_a_block(L, M):
    inputs = L.Input((3,))
    return M.Model(inputs, block_class(L)()(inputs))


def sequential_with_a_block(L, M):
    return M.Sequential([L.Input((3,)), block_class(L)()])


def subclassed_with_a_sequential(L, M):
    class Sub(M.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = L.Dense(2)
            self.rest = M.Sequential([L.Dense(1)])

        def call(self, x):
            return self.rest(self.first(x))

    model = Sub()
    model(np.ones((1, 3), "float32"))
    return model


def sequential_in_functional(L, M):
    inner = M.Sequential([L.Input((3,)), L.Dense(4)], name="inner")
    inputs = L.Input((3,))
    return M.Model(inputs, L.Dense(1)(inner(inputs)))


def functional_in_sequential(L, M):
    a = L.Input((3,))
    inner = M.Model(a, L.Dense(4)(a), name="inner_f")
    return M.Sequential([L.Input((3,)), inner, L.Dense(1)])


def prebuilt_layer_in_sequential(L, M):
    dense = L.Dense(2)
    dense.build((None, 3))
    return M.Sequential([L.Input((3,)), dense, L.Dense(1)])


def recurrent_in_sequential(L, M):
    return M.Sequential([L.Input((3, 2)), L.Bidirectional(L.LSTM(2)), L.Dense(1)])


BUILDS = [
    sequential_with_input,
    sequential_built_by_a_call,
    functional,
    functional_with_a_block,
    sequential_with_a_block,
    subclassed_with_a_sequential,
    sequential_in_functional,
    functional_in_sequential,
    prebuilt_layer_in_sequential,
    recurrent_in_sequential,
]


def paths(build, library):
    library.backend.clear_session()  # auto-names from zero on both sides
    return [w.path for w in build(library.layers, library).weights]


@pytest.mark.parity
@pytest.mark.parametrize("build", BUILDS, ids=lambda build: build.__name__)
def test_weight_paths_are_keras(build):
    assert paths(build, lamina) == paths(build, keras)


@pytest.mark.parity
def test_paths_stay_through_fit():
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    found = {}
    for library in (lamina, keras):
        library.backend.clear_session()
        model = subclassed_with_a_sequential(library.layers, library)
        model.compile("sgd", "mse")
        model.fit(x, y, epochs=1, verbose=0)
        found[library.__name__] = [w.path for w in model.weights]
    assert found["lamina"] == found["keras"]


@pytest.mark.parametrize("build", [sequential_with_input, sequential_in_functional])
def test_a_loaded_model_keeps_the_paths_it_was_saved_with(build, tmp_path):
    """Unlike Keras 3.15, whose loaded Sequential builds its layers outside its scope
    (`dense/kernel`, saved as `sequential/dense/kernel`): an optimizer that picks weights by path
    (MultiOptimizer) must pick the same ones to resume from the file's state."""
    model = build(lamina.layers, lamina)
    model.save(tmp_path / "model.keras")
    loaded = lamina.models.load_model(tmp_path / "model.keras")
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]


def _subclass_building_its_layer(framework):
    """A subclassed model whose build() builds its sub-layer directly, then LoRA on it."""

    class Wrapper(framework.models.Model):
        def __init__(self):
            super().__init__(name="wrapper")
            self.dense = framework.layers.Dense(4, name="dense")

        def build(self, input_shape):
            self.dense.build(input_shape)

        def call(self, x):
            return self.dense(x)

    model = Wrapper()
    model.build((None, 3))
    model.dense.enable_lora(2)
    return [w.path for w in model.dense.weights]


def test_a_sub_layer_built_in_its_parents_build_is_named_under_it():
    """A direct `layer.build(shape)` opens the layer's scope, as Keras's build wrapper does, so
    the parent's name leads its weights' paths (LoRA factors added later included)."""
    theirs = _subclass_building_its_layer(keras)
    assert _subclass_building_its_layer(lamina) == theirs
    assert theirs[0] == "wrapper/dense/kernel"
