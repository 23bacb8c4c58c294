"""The weights file's tree is Keras's, layer by layer: every dataset at the path and with the
shape Keras 3 writes, so `.weights.h5` and `.keras` files move between the two unchanged.

Each case builds a one-layer model in both frameworks (a builder written once for both) and
compares the trees of the files they save; every layer of the catalogue of tests/cases.py and
the sequence layers is covered, plus the layers that hold their weights in sub-layers in Keras."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests import cases, sequence_cases
from tests.parity import reference

pytestmark = [
    pytest.mark.parity,
    # A catalogued case: Keras warns that LayerNormalization(rms_scaling=True) is deprecated.
    pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning"),
]


def _one_per_layout(catalogue):
    """The first case of each layer and set of weight-making flags: cases differing only in sizes,
    strides or activations file the same tree."""
    chosen = {}
    for case in catalogue:
        flags = tuple(case.config.get(key, True) for key in ("use_bias", "center", "scale"))
        chosen.setdefault((case.layer, flags), case)
    return list(chosen.values())


CATALOGUE = _one_per_layout(cases.ALL + sequence_cases.RECURRENT)


def _one_layer(case):
    def build(k):
        return k.Sequential(
            [k.Input(case.input_shape[1:]), getattr(k.layers, case.layer)(**case.config)]
        )

    return build


def _attention(**config):
    def build(k):
        query = k.Input((4, 6))
        value = k.Input((5, 3))
        outputs = k.layers.MultiHeadAttention(**config)(query, value)
        return k.Model([query, value], outputs)

    return build


def _wrapped(wrapper, inner, shape):
    def build(k):
        return k.Sequential(
            [k.Input(shape), getattr(k.layers, wrapper)(getattr(k.layers, inner[0])(**inner[1]))]
        )

    return build


def _nested(kind):
    """A model inside a Sequential (an application under a preprocessing layer): Keras files the
    inner model's layers as a top-level model's, under its class name (`functional`)."""

    def build(k):
        inputs = k.Input((4,))
        hidden = k.layers.Dense(3)(inputs)
        if kind == "functional":
            inner = k.Model(inputs, k.layers.Dense(2)(hidden))
        else:
            inner = k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Dense(2)])
        return k.Sequential([k.Input((4,)), k.layers.Rescaling(0.5), inner])

    return build


SUBLAYER_HOLDERS = {
    "nested-functional": _nested("functional"),
    "nested-sequential": _nested("sequential"),
    "MultiHeadAttention": _attention(num_heads=2, key_dim=3),
    "MultiHeadAttention-value_dim-output_shape": _attention(
        num_heads=3, key_dim=2, value_dim=4, output_shape=5
    ),
    "MultiHeadAttention-no-bias": _attention(num_heads=2, key_dim=3, use_bias=False),
    "MultiHeadAttention-gated": _attention(num_heads=2, key_dim=3, use_gate=True),
    "Bidirectional-LSTM": _wrapped("Bidirectional", ("LSTM", {"units": 3}), (5, 4)),
    "TimeDistributed-Dense": _wrapped("TimeDistributed", ("Dense", {"units": 3}), (5, 4)),
}


def _compare(build, tmp_path):
    import lamina

    expected = reference.keras_weights_file_tree(build, tmp_path / "keras.weights.h5")
    lamina.backend.clear_session()
    build(lamina).save_weights(tmp_path / "lamina.weights.h5")
    assert reference.weights_file_tree(tmp_path / "lamina.weights.h5") == expected


@pytest.mark.parametrize("case", CATALOGUE, ids=cases.case_id)
def test_a_catalogued_layer_is_filed_where_keras_files_it(case, tmp_path):
    _compare(_one_layer(case), tmp_path)


@pytest.mark.parametrize("name", list(SUBLAYER_HOLDERS))
def test_weights_keras_keeps_in_sub_layers_are_filed_under_them(name, tmp_path):
    _compare(SUBLAYER_HOLDERS[name], tmp_path)


def _attention_data():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((2, 4, 6)).astype("float32"), rng.standard_normal((2, 5, 3))]


@pytest.mark.parametrize("config", [{}, {"use_gate": True}], ids=["plain", "gated"])
def test_attention_models_cross_between_keras_and_lamina(config, tmp_path):
    import keras

    import lamina

    x = [a.astype("float32") for a in _attention_data()]
    build = _attention(num_heads=2, key_dim=3, **config)
    keras.backend.clear_session()
    keras_model = build(keras)
    keras_model.save(tmp_path / "keras.keras")
    ours = lamina.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert [w.path for w in ours.trainable_weights] == [
        v.path for v in keras_model.trainable_weights
    ]
    ours.save(tmp_path / "lamina.keras")
    back = keras.models.load_model(tmp_path / "lamina.keras")
    np.testing.assert_allclose(
        back.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_an_older_lamina_file_with_the_attention_weights_in_one_group_still_loads(tmp_path):
    import lamina

    path = tmp_path / "flat.weights.h5"
    model = _attention(num_heads=2, key_dim=3)(lamina)
    model.save_weights(path)
    # Rewrite it as lamina wrote it before: all eight weights in the layer's own `vars`.
    with h5py.File(path, "r+") as file:
        layer = file["layers/multi_head_attention"]
        flat = [
            layer[f"{group}/vars/{i}"][()]
            for group in ("query_dense", "key_dense", "value_dense", "output_dense")
            for i in range(2)
        ]
        for group in ("query_dense", "key_dense", "value_dense", "output_dense"):
            del layer[group]
        for index, array in enumerate(flat):
            layer["vars"].create_dataset(str(index), data=array)
    lamina.backend.clear_session()
    fresh = _attention(num_heads=2, key_dim=3)(lamina)
    fresh.load_weights(path)
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_sub_layer_holders_own_saving_hooks_run_once_over_all_its_weights(tmp_path):
    import lamina

    calls = []

    class Counted(lamina.layers.MultiHeadAttention):
        def save_own_variables(self, store):
            calls.append("save")
            super().save_own_variables(store)

        def load_own_variables(self, store):
            calls.append(("load", sorted(store)))
            super().load_own_variables(store)

    def build():
        query, value = lamina.Input((4, 6)), lamina.Input((5, 3))
        return lamina.Model([query, value], Counted(num_heads=2, key_dim=3)(query, value))

    model = build()
    model.save_weights(tmp_path / "hooked.weights.h5")
    fresh = build()
    fresh.load_weights(tmp_path / "hooked.weights.h5")
    assert calls == ["save", ("load", [str(i) for i in range(8)])]
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_older_lamina_file_with_a_nested_model_filed_by_attribute_still_loads(tmp_path):
    import lamina

    path = tmp_path / "nested.weights.h5"
    model = _nested("functional")(lamina)
    model.save_weights(path)
    # Rewrite it as lamina wrote it before: the inner model's layers under `model/graph_layers`.
    with h5py.File(path, "r+") as file:
        file.move("layers/functional", "layers/model")
        inner = file["layers/model"]
        inner.move("layers", "graph_layers")
    lamina.backend.clear_session()
    fresh = _nested("functional")(lamina)
    fresh.load_weights(path)
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
