"""Weight names in Keras's legacy `.h5` layout (saving/weight_paths.py): sub-layers of one name
under different parents get different names, so the file is written, and Keras reads it."""

import warnings

import numpy as np

import lamina
from lamina.saving import weight_paths
from tests.parity import reference


def _classes(m):
    class Inner(m.layers.Layer):
        """A scale weight and a nested Dense named "dense" in every instance."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.nested = m.layers.Dense(units, name="dense")

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self.nested.build(input_shape)

        def call(self, x):
            return self.nested(x) * self.scale

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class Pair(m.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.first = Inner(2, name="first")
            self.second = Inner(1, name="second")

        def call(self, x):
            return self.second(self.first(x))

    return {"Inner": Inner, "Pair": Pair}


def _model(m):
    classes = _classes(m)
    inputs = m.Input((4,))
    return m.Model(inputs, classes["Pair"]()(inputs)), classes


def test_same_named_sublayers_get_distinct_legacy_names():
    model, _ = _model(lamina)
    groups = weight_paths.legacy_weight_names(model)
    flat = [name for _, named in groups for name, _ in named]
    assert len(flat) == len(set(flat)) == 6
    assert "functional/pair/first/dense/kernel" in flat
    assert "functional/pair/second/dense/kernel" in flat


def test_legacy_h5_with_same_named_sublayers_saves_and_keras_reads_it(tmp_path):
    model, _ = _model(lamina)
    x = np.random.default_rng(0).random((3, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "pair.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy format's own advice to use .keras
        model.save(path)

    def load(m):
        _, classes = _model(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return m.saving.load_model(path, custom_objects=classes).predict(x, verbose=0)

    np.testing.assert_allclose(load(lamina), expected, rtol=1e-6)
    np.testing.assert_allclose(reference.keras_run(load), expected, rtol=1e-6)
