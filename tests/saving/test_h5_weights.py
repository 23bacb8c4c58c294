"""The weights file (saving/h5_weights.py) runs Keras's per-layer hooks: a layer that defines
`save_own_variables` / `load_own_variables` writes and reads its own group, in Keras's layout, so
such files cross between Keras and lamina."""

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _lookup_class(m):
    class Lookup(m.layers.Layer):
        """A scale weight plus a table that is no weight, kept in the file through the hooks."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.table = np.zeros(3, dtype="float32")

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.scale

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["table"] = self.table

        def load_own_variables(self, store):
            self.table = np.array(store["table"])
            self.scale.assign(np.array(store["0"]))

    return Lookup


def _saved_lookup(m, path):
    lookup = _lookup_class(m)
    model = m.Sequential([m.Input((3,)), lookup()])
    layer = model.layers[0]
    layer.table = np.array([5.0, 6.0, 7.0], dtype="float32")
    layer.scale.assign(np.array([1.0, 2.0, 3.0], dtype="float32"))
    model.save(path)


def _loaded_lookup(m, path):
    restored = m.models.load_model(path, custom_objects={"Lookup": _lookup_class(m)})
    layer = restored.layers[0]
    return layer.table.tolist(), layer.scale.numpy().tolist()


EXPECTED = ([5.0, 6.0, 7.0], [1.0, 2.0, 3.0])


def test_a_layer_saves_and_loads_its_own_variables(tmp_path):
    path = tmp_path / "lookup.keras"
    _saved_lookup(lamina, path)
    assert _loaded_lookup(lamina, path) == EXPECTED


def test_the_hooks_run_for_weights_files_too(tmp_path):
    lookup = _lookup_class(lamina)
    source = lamina.Sequential([lamina.Input((3,)), lookup()])
    source.layers[0].table = np.array([1.0, 1.0, 2.0], dtype="float32")
    source.save_weights(tmp_path / "lookup.weights.h5")
    target = lamina.Sequential([lamina.Input((3,)), lookup()])
    target.load_weights(tmp_path / "lookup.weights.h5")
    assert target.layers[0].table.tolist() == [1.0, 1.0, 2.0]


def test_a_failing_load_hook_names_the_layer(tmp_path):
    class Picky(lamina.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(2,), initializer="zeros")

        def call(self, x):
            return x

        def load_own_variables(self, store):
            raise ValueError("no thanks")

    model = lamina.Sequential([lamina.Input((2,)), Picky(name="picky")])
    model.save(tmp_path / "picky.keras")
    with pytest.raises(ValueError, match="no thanks") as caught:
        lamina.models.load_model(tmp_path / "picky.keras", custom_objects={"Picky": Picky})
    notes = getattr(caught.value, "__notes__", None)  # Python 3.11+
    if notes is not None:
        assert "'picky'" in notes[0] and "layers/picky/vars" in notes[0]


@pytest.mark.parity
def test_lamina_reads_a_keras_file_written_by_the_hooks(tmp_path):
    path = tmp_path / "keras_lookup.keras"
    reference.keras_run(lambda m: _saved_lookup(m, path))
    assert _loaded_lookup(lamina, path) == EXPECTED


@pytest.mark.parity
def test_keras_reads_a_lamina_file_written_by_the_hooks(tmp_path):
    path = tmp_path / "lamina_lookup.keras"
    _saved_lookup(lamina, path)
    assert reference.keras_run(lambda m: _loaded_lookup(m, path)) == EXPECTED
