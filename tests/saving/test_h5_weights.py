"""The weights file (saving/h5_weights.py) runs Keras's per-layer hooks: a layer that defines
`save_own_variables` / `load_own_variables` writes and reads its own group, in Keras's layout, so
such files cross between Keras and lamina."""

import warnings

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


def _weights_made(m, count):
    class Made(m.layers.Layer):
        """`count` kernels, and a load_own_variables of its own that defers to the base's."""

        def build(self, input_shape):
            self.kernels = [
                self.add_weight(shape=(input_shape[-1], 3), name=f"w{i}") for i in range(count)
            ]

        def call(self, x):
            return x @ self.kernels[0]

        def load_own_variables(self, store):
            super().load_own_variables(store)

    return Made


def _with_made_layer(m, count):
    inputs = m.Input((2,))
    outputs = m.layers.Dense(1, name="head")(_weights_made(m, count)(name="made")(inputs))
    return m.Model(inputs, outputs)


def _load_mismatched(m, directory):
    """Weights saved from 2 kernels loaded into 3: the error, then with skip_mismatch whether the
    other layer still loads and the custom layer keeps its own weights."""
    source = _with_made_layer(m, 2)
    path = str(directory / f"{m.__name__}.weights.h5")
    source.save_weights(path)
    target = _with_made_layer(m, 3)
    own = target.get_layer("made").get_weights()
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's own notes about the file's layout
        target.load_weights(path)
    with pytest.warns(UserWarning):
        target.load_weights(path, skip_mismatch=True)
    head_loaded = all(
        np.array_equal(a, b)
        for a, b in zip(
            target.get_layer("head").get_weights(),
            source.get_layer("head").get_weights(),
            strict=True,
        )
    )
    kept = all(
        np.array_equal(a, b)
        for a, b in zip(target.get_layer("made").get_weights(), own, strict=True)
    )
    return head_loaded, kept


def test_skip_mismatch_skips_a_layer_whose_own_loader_refuses_the_file_as_keras(tmp_path):
    expected = reference.keras_run(lambda keras: _load_mismatched(keras, tmp_path))
    assert _load_mismatched(lamina, tmp_path) == expected == (True, True)


def test_skip_mismatch_warning_names_the_layer_and_why(tmp_path):
    source = _with_made_layer(lamina, 2)
    path = tmp_path / "two.weights.h5"
    source.save_weights(path)
    with pytest.warns(UserWarning, match=r"'made' \(load_own_variables\(\) raised ValueError"):
        _with_made_layer(lamina, 3).load_weights(path, skip_mismatch=True)
    # A layer that loads itself and has no group in the file is skipped too.
    made = _weights_made(lamina, 2)
    inputs = lamina.Input((2,))
    hidden = made(name="made")(inputs)
    target = lamina.Model(inputs, lamina.layers.Dense(1, name="head")(made(name="more")(hidden)))
    with pytest.warns(UserWarning, match=r"'more' \(the file has no '.*/vars'\)"):
        target.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(
        target.get_layer("head").get_weights()[0], source.get_layer("head").get_weights()[0]
    )


def _unbuilt_sub_layer(m, folder):
    """A sub-layer its parent's build() leaves unbuilt (it runs only in training): weights saved
    after a training call find no home in a model only called for inference."""

    class Block(m.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = m.layers.Dense(3, name="inner")

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

        def call(self, x, training=None):
            return self.inner(x) * self.scale if training else x * self.scale

    def model():
        inputs = m.Input((3,))
        return m.Model(inputs, Block(name="block")(inputs))

    source = model()
    source(np.ones((1, 3), "float32"), training=True)
    path = str(folder / f"{m.__name__}.weights.h5")
    source.save_weights(path)
    target = model()
    with pytest.raises(ValueError, match="never built") as info:
        target.load_weights(path)
    with pytest.warns(UserWarning):
        target.load_weights(path, skip_mismatch=True)
    return "inner" in str(info.value), target.get_layer("block").inner.built


def test_weights_for_a_never_built_sub_layer_are_refused_as_in_keras(tmp_path):
    expected = reference.keras_run(lambda keras: _unbuilt_sub_layer(keras, tmp_path))
    assert _unbuilt_sub_layer(lamina, tmp_path) == expected == (True, False)


def test_load_own_variables_into_a_never_built_layer_says_why():
    source, target = lamina.layers.Dense(2), lamina.layers.Dense(2)
    source.build((None, 3))
    store = {}
    source.save_own_variables(store)
    with pytest.raises(ValueError, match=r"'dense_\d+' \(Dense\) was never built.*parent's build"):
        target.load_own_variables(store)
