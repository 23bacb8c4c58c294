"""Functional models against Keras 3: the seeds' ResNet lists the same layers in the same order and,
given Keras's weights, computes the same outputs; multi-output training logs the same names."""

import keras
import numpy as np
import pytest
import torch

import lamina
from tests.engine.test_functional import UNKNOWN_MEETS_KNOWN, seed_resnet


def keras_resnet():
    """The seeds' ResNet written against keras.layers (the same code as tests.engine's)."""
    L = keras.layers

    def block(x, filters):
        shortcut = x
        x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(x)))
        x = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(x))
        if shortcut.shape[-1] != filters:
            shortcut = L.BatchNormalization()(L.Conv2D(filters, 1, padding="same")(shortcut))
        return L.Activation("relu")(L.Add()([x, shortcut]))

    inputs = L.Input(shape=(32, 32, 3))
    x = L.Activation("relu")(
        L.BatchNormalization()(L.Conv2D(64, 7, strides=2, padding="same")(inputs))
    )
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    for filters in (64, 64, 128, 128):
        x = block(x, filters)
    x = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, x)


@pytest.mark.parity
def test_seed_resnet_layers_weights_and_outputs_equal_keras():
    reference = keras_resnet()
    ours = seed_resnet()
    assert [type(layer).__name__ for layer in ours.layers] == [
        type(layer).__name__ for layer in reference.layers
    ]
    weights = reference.get_weights()
    # Keras's moving statistics start at 0 and 1: make them random so inference mode is tested.
    rng = np.random.default_rng(0)
    weights = [w + rng.uniform(0.1, 0.5, w.shape).astype(w.dtype) for w in weights]
    reference.set_weights(weights)
    ours.set_weights(weights)
    x = rng.random((2, 32, 32, 3), dtype=np.float32)
    expected = keras.ops.convert_to_numpy(reference(torch.tensor(x), training=False))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)


def two_outputs(L, M, dict_outputs):
    inputs = L.Input((4,))
    hidden = L.Dense(8, activation="relu")(inputs)
    price, kind = L.Dense(1)(hidden), L.Dense(3, activation="softmax")(hidden)
    return M(inputs, {"price": price, "kind": kind} if dict_outputs else [price, kind])


@pytest.mark.parity
@pytest.mark.parametrize("dict_outputs", [False, True], ids=["list-outputs", "dict-outputs"])
def test_multi_output_history_names_equal_keras(dict_outputs):
    rng = np.random.default_rng(1)
    x, y_price, y_kind = (
        rng.random((16, 4), "float32"),
        rng.random((16, 1), "float32"),
        rng.integers(0, 3, 16),
    )
    if dict_outputs:
        loss = {"price": "mse", "kind": "sparse_categorical_crossentropy"}
        metrics, y, weights = (
            {"price": ["mae"], "kind": ["accuracy"]},
            {"price": y_price, "kind": y_kind},
            None,
        )
    else:
        loss, metrics = ["mse", "sparse_categorical_crossentropy"], [["mae"], ["accuracy"]]
        y, weights = [y_price, y_kind], [0.3, 1.0]
    names = {}
    for library, L, M in (
        ("keras", keras.layers, keras.Model),
        ("lamina", lamina.layers, lamina.Model),
    ):
        keras.backend.clear_session()  # both count auto-names from zero: dense_1, dense_2
        model = two_outputs(L, M, dict_outputs)
        model.compile(optimizer="sgd", loss=loss, metrics=metrics, loss_weights=weights)
        names[library] = set(model.fit(x, y, epochs=1, batch_size=8, verbose=0).history)
    assert names["lamina"] == names["keras"]


@pytest.mark.parity
def test_a_flat_metrics_list_with_one_entry_per_output_is_per_output_as_in_keras():
    rng = np.random.default_rng(2)
    x = rng.random((8, 4), "float32")
    y = [rng.random((8, 1), "float32"), rng.random((8, 3), "float32")]
    logs, values = {}, {}
    for library, L, M in (
        ("keras", keras.layers, keras.Model),
        ("lamina", lamina.layers, lamina.Model),
    ):
        keras.backend.clear_session()
        model = two_outputs(L, M, dict_outputs=False)
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
        logs[library] = model.evaluate(x, y, verbose=0, return_dict=True)
        values[library] = model.evaluate(x, y, verbose=0)
    assert set(logs["lamina"]) == set(logs["keras"])  # dense_1_mae, dense_2_mse: no dense_1_mse
    assert len(values["lamina"]) == len(values["keras"])


@pytest.mark.parity
@pytest.mark.parametrize(
    ("layer", "config", "shapes"),
    [c[:3] for c in UNKNOWN_MEETS_KNOWN],
    ids=[c[4] for c in UNKNOWN_MEETS_KNOWN],
)
def test_merge_of_an_unknown_and_a_known_size_has_keras_shape(layer, config, shapes):
    ours = getattr(lamina.layers, layer)(**config)([lamina.layers.Input(s) for s in shapes])
    ref = getattr(keras.layers, layer)(**config)([keras.layers.Input(s) for s in shapes])
    assert ours.shape == tuple(ref.shape)


def _graph_with_ops(lib):
    inputs = lib.Input((4,))
    x = lib.layers.Dense(3)(inputs)
    x = lib.ops.reshape(lib.activations.silu(x) + 1.0, (-1, 3, 1))
    return lib.Model(inputs, lib.layers.Flatten()(x))


@pytest.mark.parity
def test_ops_in_a_graph_are_operations_not_layers_as_in_keras():
    keras.backend.clear_session()
    reference = _graph_with_ops(keras)
    lamina.backend.clear_session()
    ours = _graph_with_ops(lamina)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in reference.layers]
    assert [op.name for op in ours.operations] == [op.name for op in reference.operations]


def _graph_with_arithmetic(lib):
    inputs = lib.Input((3,))
    return lib.Model(inputs, (2.0 - inputs / 127.5) * inputs + 1.0)


@pytest.mark.parity
def test_arithmetic_on_symbolic_tensors_names_its_operations_as_keras():
    keras.backend.clear_session()
    reference = _graph_with_arithmetic(keras)
    lamina.backend.clear_session()
    ours = _graph_with_arithmetic(lamina)
    assert [op.name for op in ours.operations] == [op.name for op in reference.operations]
    assert [type(op).__name__ for op in reference.operations[1:]] == [
        op.keras_class_name for op in ours.operations[1:]
    ]


def _masked_model(framework):
    """A model whose outputs include a layer's symbolic mask, and a pooling computed from it."""
    inputs = framework.Input((None,), dtype="int32")
    x = framework.layers.Embedding(10, 4, mask_zero=True)(inputs)
    mask = x._keras_mask
    weights = framework.ops.expand_dims(framework.ops.cast(mask, "float32"), -1)
    pooled = framework.ops.sum(x * weights, axis=1)
    return framework.Model(inputs, [pooled, mask])


def test_a_symbolic_mask_is_a_model_output_as_in_keras():
    keras.backend.clear_session()
    reference = _masked_model(keras)
    model = _masked_model(lamina)
    model.set_weights(reference.get_weights())
    tokens = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]])
    expected = reference.predict(tokens, verbose=0)
    got = model.predict(tokens, verbose=0)
    assert [o.shape for o in model.outputs] == [tuple(o.shape) for o in reference.outputs]
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_array_equal(got[1], expected[1])


def _nested_io(framework):
    """A model on nested dicts of inputs and outputs, called eagerly, symbolically and through
    predict with data in that structure."""
    inputs = {
        "a": framework.Input((1,), name="a"),
        "others": {"b": framework.Input((2,), name="b"), "c": framework.Input((3,), name="c")},
    }
    outputs = {
        "a": framework.layers.Dense(1)(inputs["a"]),
        "others": {
            "b": framework.layers.Dense(2)(inputs["others"]["b"]),
            "c": framework.layers.Dense(3)(inputs["others"]["c"]),
        },
    }
    model = framework.Model(inputs, outputs)
    data = {"a": np.ones((2, 1)), "others": {"b": np.ones((2, 2)), "c": np.ones((2, 3))}}
    eager = model(data)
    symbolic = model(
        {
            "a": framework.Input((1,), batch_size=2),
            "others": {
                "b": framework.Input((2,), batch_size=2),
                "c": framework.Input((3,), batch_size=2),
            },
        }
    )
    predicted = model.predict(data, verbose=0)
    return [
        {k: tuple(v.shape) for k, v in [("a", out["a"]), *out["others"].items()]}
        for out in (eager, symbolic, predicted)
    ]


def test_nested_dict_inputs_are_fed_by_structure_as_in_keras():
    keras.backend.clear_session()
    assert _nested_io(lamina) == _nested_io(keras)


@pytest.mark.parity
def test_a_functional_config_keras_returns_in_memory_rebuilds_with_its_outputs():
    # Keras's `get_config()` (unlike its JSON) holds tuples: a node's `args` is one, so each
    # layer was called with the `__keras_tensor__` dict itself.
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    x = keras.layers.Dense(2)(a)
    y = keras.layers.Add()([x, keras.layers.Dense(2)(b)])
    reference = keras.Model({"a": a, "b": b}, [y, x])
    ours = lamina.Model.from_config(reference.get_config())
    ours.set_weights(reference.get_weights())
    feed = {"a": np.ones((2, 3), "float32"), "b": np.arange(6, dtype="float32").reshape(2, 3)}
    got_outputs, want_outputs = ours.predict(feed, verbose=0), reference.predict(feed, verbose=0)
    for got, want in zip(got_outputs, want_outputs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
