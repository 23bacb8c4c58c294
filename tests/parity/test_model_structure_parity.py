"""Model structure against Keras 3 (issue 15): a functional model lists its layers in Keras's order
(InputLayers where the depth-first walk meets them, not all first), so `layers`, `summary()`,
`get_weights()` and `get_layer(index=)` agree; a Sequential whose first layer is a built model
(a pretrained base) is built at construction, as Keras builds it.

Every graph is written once against (layers module, Model class) and built by both frameworks."""

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def two_inputs(L, M):
    image = L.Input((8, 8, 3), name="image")
    x = L.Conv2D(4, 3, name="conv")(image)
    x = L.MaxPooling2D(2, name="pool")(x)
    meta = L.Input((5,), name="meta")
    x = L.Flatten(name="flat")(x)
    x = L.Concatenate(name="cat")([x, L.Dense(3, name="meta_dense")(meta)])
    return M([image, meta], L.Dense(2, name="head")(x))


def two_inputs_listed_in_reverse(L, M):
    image = L.Input((8, 8, 3), name="image")
    meta = L.Input((5,), name="meta")
    x = L.Flatten(name="flat")(L.Conv2D(4, 3, name="conv")(image))
    x = L.Concatenate(name="cat")([L.Dense(3, name="meta_dense")(meta), x])
    return M([meta, image], L.Dense(2, name="head")(x))


def two_outputs(L, M):
    inputs = L.Input((6,), name="x")
    trunk = L.Dense(8, name="trunk")(inputs)
    a = L.Dense(1, name="a")(L.Dense(4, name="a_hidden")(trunk))
    b = L.Dense(2, name="b")(trunk)
    return M(inputs, [b, a])


def shared_layer(L, M):
    left, right = L.Input((4,), name="left"), L.Input((4,), name="right")
    shared = L.Dense(3, name="shared")
    deep = L.Dense(3, name="deep")(shared(left))
    x = L.Add(name="add")([deep, shared(right)])
    return M([left, right], L.Dense(1, name="out")(x))


def nested_model(L, M):
    inner_input = L.Input((4,), name="inner_in")
    inner = M(inner_input, L.Dense(3, name="inner_dense")(inner_input), name="inner")
    a, b = L.Input((4,), name="a_in"), L.Input((2,), name="b_in")
    x = L.Concatenate(name="cat")([inner(a), L.Dense(2, name="b_dense")(b)])
    return M([a, b], L.Dense(1, name="out")(x))


def three_inputs_of_uneven_depth(L, M):
    a, b, c = (L.Input((3,), name=name) for name in ("in_a", "in_b", "in_c"))
    x = L.Dense(4, name="da")(L.Dense(4, name="da0")(a))
    z = L.Add(name="add")([x, L.Dense(4, name="db")(b), L.Dense(4, name="dc")(c)])
    return M([c, a, b], L.Dense(1, name="out")(z))


def dict_inputs(L, M):
    a, b = L.Input((3,), name="alpha"), L.Input((2,), name="beta")
    x = L.Concatenate(name="cat")([L.Dense(2, name="da")(a), b])
    return M({"beta": b, "alpha": a}, L.Dense(1, name="out")(x))


def unused_input(L, M):
    a, b = L.Input((3,), name="used"), L.Input((2,), name="unused")
    return M([a, b], L.Dense(1, name="out")(L.Dense(2, name="hidden")(a)))


def multi_input_with_batchnorm(L, M):
    image, extra = L.Input((6, 6, 2), name="image"), L.Input((3,), name="extra")
    x = L.BatchNormalization(name="bn")(L.Conv2D(3, 3, name="conv")(image))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Concatenate(name="cat")([L.Dense(2, name="extra_dense")(extra), x])
    return M([extra, image], [L.Dense(1, name="out")(x), L.Dense(2, name="aux")(x)])


GRAPHS = [
    two_inputs,
    two_inputs_listed_in_reverse,
    two_outputs,
    shared_layer,
    nested_model,
    three_inputs_of_uneven_depth,
    dict_inputs,
    unused_input,
    multi_input_with_batchnorm,
]


@pytest.mark.parity
@pytest.mark.parametrize("graph", GRAPHS, ids=lambda graph: graph.__name__)
def test_functional_layer_order_equals_keras(graph):
    reference = graph(keras.layers, keras.Model)
    ours = graph(lamina.layers, lamina.Model)
    names = [layer.name for layer in reference.layers]
    assert [layer.name for layer in ours.layers] == names
    assert [ours.get_layer(index=i).name for i in range(len(names))] == names
    assert [tuple(w.shape) for w in ours.get_weights()] == [
        tuple(w.shape) for w in reference.get_weights()
    ]
    # The same weights in get_weights() order load into the same layers.
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in reference.get_weights()]
    ours.set_weights(weights)
    reference.set_weights(weights)
    for ours_layer, reference_layer in zip(ours.layers, reference.layers, strict=True):
        for a, b in zip(ours_layer.get_weights(), reference_layer.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def mobile_base(L, M):
    """A small built functional base with trainable and non-trainable (BN) weights."""
    inputs = L.Input((16, 16, 3), name="base_in")
    x = L.Conv2D(8, 3, strides=2, name="stem")(inputs)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="dw")(L.ReLU(name="relu")(x))
    return M(inputs, x, name="base")


def structure(model):
    return {
        "built": model.built,
        "params": model.count_params(),
        "trainable": len(model.trainable_weights),
        "non_trainable": len(model.non_trainable_weights),
        "input_shape": tuple(model.inputs[0].shape),
        "output_shapes": [tuple(layer.output.shape) for layer in model.layers],
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
    }


@pytest.mark.parity
@pytest.mark.parametrize("freeze", ["never", "before-wrapping", "after-wrapping"])
def test_sequential_over_a_built_base_is_built_as_in_keras(freeze):
    def wrapped(L, M, S):
        base = mobile_base(L, M)
        if freeze == "before-wrapping":
            base.trainable = False
        model = S([base, L.GlobalAveragePooling2D(name="pool"), L.Dense(5, name="head")])
        if freeze == "after-wrapping":
            base.trainable = False
        return model

    reference = wrapped(keras.layers, keras.Model, keras.Sequential)
    ours = wrapped(lamina.layers, lamina.Model, lamina.Sequential)
    assert structure(ours) == structure(reference)
    assert ours.built and ours.count_params() == 8 * 27 + 8 + 4 * 8 + 9 * 8 + 8 + 8 * 5 + 5
    lines = []
    ours.summary(print_fn=lines.append)
    table = "\n".join(lines)
    assert "multiple" not in table and "unbuilt" not in table
    assert " base (Functional)           (None, 7, 7, 8)" in table
    assert " head (Dense)                (None, 5)                 45" in table


def test_seed_transfer_pattern_counts_as_keras():
    """The seeds' `Sequential([frozen base, GlobalAveragePooling2D(), Dense(5)])` on 1280 features
    (MobileNetV2's): Keras reports 6,405 trainable parameters."""

    def head_over(L, M, S):
        inputs = L.Input((4, 4, 3))
        base = M(inputs, L.Conv2D(1280, 1, name="features")(inputs))
        base.trainable = False
        return S([base, L.GlobalAveragePooling2D(), L.Dense(5)])

    reference = head_over(keras.layers, keras.Model, keras.Sequential)
    ours = head_over(lamina.layers, lamina.Model, lamina.Sequential)
    assert structure(ours) == structure(reference)
    assert structure(ours)["trainable_params"] == 6405


def graph_with_operations(L, M, ops):
    class EmbeddingModel(M):
        pass

    inputs = L.Input((6,), name="x")
    x = L.Dense(4, name="proj")(inputs)
    x = ops.normalize(x[:, :3] + x[:, 1:], axis=-1)
    return EmbeddingModel(inputs, x)


@pytest.mark.parity
def test_a_subclass_graph_and_its_operations_are_named_as_in_keras():
    """A Model subclass built from inputs and outputs takes its class's name, as in Keras; the
    summary shows each graph operation under Keras's class for it (`normalize (Normalize)`)."""
    from lamina.engine.summary import class_label

    keras.backend.clear_session()  # auto-names count from 0 on both sides, whatever ran before
    lamina.backend.clear_session()
    reference = graph_with_operations(keras.layers, keras.Model, keras.ops)
    ours = graph_with_operations(lamina.layers, lamina.Model, lamina.ops)
    assert ours.name == reference.name == "embedding_model"
    assert [(layer.name, class_label(layer)) for layer in ours.operations] == [
        (operation.name, type(operation).__name__) for operation in reference.operations
    ]
    assert [layer.name for layer in ours.layers] == [layer.name for layer in reference.layers]
