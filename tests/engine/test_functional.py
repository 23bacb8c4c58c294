"""Functional models: graph order, inputs/outputs, feature extractors, shared layers, models
inside models, several inputs and outputs (lists and dicts), Lambda and ops in graphs, the graph
summary."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine import symbolic
from tests.parity import reference

# The seeds' ResNet (seed 003, lines 69-112) as Keras lists its layers (seed-summaries A.003-resnet)
RESNET_LAYERS = [
    "input_layer",
    "conv2d",
    "batch_normalization",
    "activation",
    "max_pooling2d",
    "conv2d_1",
    "batch_normalization_1",
    "activation_1",
    "conv2d_2",
    "batch_normalization_2",
    "add",
    "activation_2",
    "conv2d_3",
    "batch_normalization_3",
    "activation_3",
    "conv2d_4",
    "batch_normalization_4",
    "add_1",
    "activation_4",
    "conv2d_5",
    "batch_normalization_5",
    "activation_5",
    "conv2d_6",
    "conv2d_7",
    "batch_normalization_6",
    "batch_normalization_7",
    "add_2",
    "activation_6",
    "conv2d_8",
    "batch_normalization_8",
    "activation_7",
    "conv2d_9",
    "batch_normalization_9",
    "add_3",
    "activation_8",
    "global_average_pooling2d",
    "dense",
]


def residual_block(x, filters):
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    if shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, padding="same")(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    x = layers.Add()([x, shortcut])
    return layers.Activation("relu")(x)


def seed_resnet(input_shape=(32, 32, 3), classes=10):
    inputs = layers.Input(shape=input_shape)
    x = layers.Conv2D(64, 7, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for filters in (64, 64, 128, 128):
        x = residual_block(x, filters)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(classes, activation="softmax")(x)
    return lamina.models.Model(inputs, x)


def test_resnet_layers_in_keras_order_with_keras_counts():
    model = seed_resnet()
    assert [layer.name for layer in model.layers] == RESNET_LAYERS
    trainable = sum(w.numel() for w in model.trainable_weights)
    assert (model.count_params(), trainable) == (687242, 685322)
    assert model.get_layer("conv2d_7").count_params() == 8320  # the 1x1 projection shortcut
    assert model.get_layer(index=-1) is model.get_layer("dense")


def test_inputs_outputs_and_feature_extractor_from_any_layer():
    model = seed_resnet((16, 16, 3))
    assert model.inputs == [model.input] and model.outputs == [model.output]
    assert model.input.shape == (None, 16, 16, 3) and model.output.shape == (None, 10)
    extractor = lamina.models.Model(inputs=model.input, outputs=model.get_layer("conv2d_1").output)
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    features = extractor.predict(x, verbose=0)
    assert features.shape == (2, 4, 4, 64)
    # The extractor shares the model's layers: its weights are the model's tensors.
    assert extractor.get_layer("conv2d_1") is model.get_layer("conv2d_1")
    several = lamina.Model(model.input, [model.get_layer(n).output for n in ("add", "dense")])
    add_out, probabilities = several.predict(x, verbose=0)
    assert add_out.shape == (2, 4, 4, 64) and probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_layer_called_twice_shares_its_weights():
    left, right = layers.Input((4,), name="left"), layers.Input((4,), name="right")
    shared = layers.Dense(3, name="shared")
    model = lamina.Model([left, right], layers.Subtract()([shared(left), shared(right)]))
    assert model.count_params() == 15 and len(model.weights) == 2
    assert len(shared._inbound_nodes) == 2
    x = np.random.default_rng(1).random((5, 4), dtype=np.float32)
    np.testing.assert_allclose(model.predict([x, x], verbose=0), np.zeros((5, 3)), atol=1e-6)
    y = np.random.default_rng(2).random((5, 4), dtype=np.float32)
    kernel, _ = shared.get_weights()
    np.testing.assert_allclose(model.predict([x, y], verbose=0), (x - y) @ kernel, atol=1e-5)


def autoencoder():
    """Seed 029's dense autoencoder: encoder and decoder models composed as layers."""
    encoder_input = layers.Input(shape=(784,))
    encoded = layers.Dense(128, activation="relu")(encoder_input)
    encoded = layers.Dense(32, activation="relu")(encoded)
    encoder = lamina.Model(encoder_input, encoded, name="encoder")
    decoder_input = layers.Input(shape=(32,))
    decoded = layers.Dense(128, activation="relu")(decoder_input)
    decoded = layers.Dense(784, activation="sigmoid")(decoded)
    decoder = lamina.Model(decoder_input, decoded, name="decoder")
    inputs = layers.Input(shape=(784,))
    return encoder, decoder, lamina.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def test_models_as_layers_share_weights_with_the_standalone_models():
    encoder, decoder, model = autoencoder()
    assert [layer.name for layer in model.layers][1:] == ["encoder", "decoder"]
    assert model.count_params() == 209968 == encoder.count_params() + decoder.count_params()
    x = np.random.default_rng(3).random((64, 784), dtype=np.float32)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = encoder.get_weights()
    model.fit(x, x, epochs=1, batch_size=32, verbose=0)
    # Training the composite trained the standalone encoder: they are the same tensors.
    assert not np.allclose(before[0], encoder.get_weights()[0])
    codes = encoder.predict(x, verbose=0)
    assert codes.shape == (64, 32)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), decoder.predict(codes, verbose=0), rtol=1e-5, atol=1e-6
    )


def two_in_two_out(dict_io):
    numbers, words = layers.Input((4,), name="numbers"), layers.Input((3,), name="words")
    hidden = layers.Dense(8, activation="relu")(layers.Concatenate()([numbers, words]))
    price = layers.Dense(1, name="price")(hidden)
    kind = layers.Dense(3, activation="softmax", name="kind")(hidden)
    if dict_io:
        return lamina.Model({"numbers": numbers, "words": words}, {"price": price, "kind": kind})
    return lamina.Model([numbers, words], [price, kind])


def two_in_two_out_data(n=24):
    rng = np.random.default_rng(4)
    x = {
        "numbers": rng.random((n, 4), dtype=np.float32),
        "words": rng.random((n, 3), dtype=np.float32),
    }
    y = {"price": rng.random((n, 1), dtype=np.float32), "kind": rng.integers(0, 3, n)}
    return x, y


@pytest.mark.parametrize("dict_io", [False, True], ids=["lists", "dicts"])
def test_several_inputs_and_outputs_predict_in_their_structure(dict_io):
    model = two_in_two_out(dict_io)
    x, _ = two_in_two_out_data()
    feed = x if dict_io else [x["numbers"], x["words"]]
    out = model.predict(feed, verbose=0)
    if dict_io:
        assert set(out) == {"price", "kind"}
        price, kind = out["price"], out["kind"]
    else:
        price, kind = out
    assert price.shape == (24, 1) and kind.shape == (24, 3)
    np.testing.assert_allclose(kind.sum(axis=1), np.ones(24), rtol=1e-5)
    # Dict inputs are matched by name, whatever the dict's order.
    reordered = {"words": x["words"], "numbers": x["numbers"]}
    again = model.predict(reordered if dict_io else feed, verbose=0)
    np.testing.assert_allclose(again["price"] if dict_io else again[0], price, rtol=1e-6)


def test_dict_inputs_missing_a_key_name_the_expected_keys():
    model = two_in_two_out(dict_io=True)
    x, _ = two_in_two_out_data()
    with pytest.raises(
        ValueError,
        match=r"the keys \['numbers', 'words'\]; received keys \['numbers'\], without \['words'\]",
    ):
        model.predict({"numbers": x["numbers"]}, verbose=0)


def test_rebinding_an_item_of_a_returned_output_list_leaves_the_graph_intact():
    inputs = lamina.Input((8, 8, 3))
    pooled = layers.MaxPooling2D()(inputs)
    backbone = lamina.Model(inputs, [pooled, layers.MaxPooling2D()(pooled)])
    image = lamina.Input((8, 8, 3))
    features = backbone(image)
    features[-1] = layers.Conv2D(3, 1)(features[-1])  # the FCN recipe: a head on the last map
    model = lamina.Model(image, layers.Add()([layers.MaxPooling2D()(features[0]), features[1]]))
    assert model.predict(np.ones((1, 8, 8, 3), "float32"), verbose=0).shape == (1, 2, 2, 3)
    assert backbone(image)[1].shape == (None, 2, 2, 3)


def test_lambda_and_ops_inside_a_graph():
    inputs = layers.Input((5,))
    doubled = layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(inputs)
    total = layers.Lambda(lambda t: lamina.ops.sum(t, axis=-1, keepdims=True))(doubled)
    residual = layers.Dense(5, kernel_initializer="ones", bias_initializer="zeros")(inputs) + inputs
    model = lamina.Model(inputs, [total, lamina.ops.mean(residual, axis=-1)])
    assert model.output_shape == [(None, 1), (None,)]
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    total_out, mean_out = model.predict(x, verbose=0)
    np.testing.assert_allclose(total_out[:, 0], (x * 2 + 1).sum(axis=1))
    np.testing.assert_allclose(mean_out, (x.sum(axis=1, keepdims=True) + x).mean(axis=1))


def _declared_shapes(m):
    def never_traced(pair):  # the stated shapes hold: Keras never runs the function to learn them
        if pair[0].shape[0] != 4:
            raise RuntimeError("a probe ran the function")
        return [pair[0] * 2.0, pair[1][:, :1]]

    first, second = m.Input((3,)), m.Input((2,))
    outs = m.layers.Lambda(never_traced, output_shape=[(3,), (1,)])([first, second])
    scaled = m.layers.Lambda(lambda t: t * 3.0, output_shape=lambda shape: shape)(outs[1])
    return [tuple(o.shape) for o in (*outs, scaled)]


@pytest.mark.parity
def test_lambda_output_shape_is_taken_as_stated_as_in_keras():
    assert _declared_shapes(lamina) == [(None, 3), (None, 1), (None, 1)]
    assert _declared_shapes(lamina) == reference.keras_run(_declared_shapes)


def test_inputs_that_the_outputs_do_not_reach_are_an_error():
    first, second = layers.Input((3,)), layers.Input((3,))
    outputs = layers.Add()([first, second])
    with pytest.raises(ValueError, match="not among the model's inputs"):
        lamina.Model(first, outputs)


def test_two_layers_with_one_name_are_an_error():
    inputs = layers.Input((3,))
    x = layers.Dense(2, name="twin")(layers.Dense(3, name="twin")(inputs))
    with pytest.raises(ValueError, match="two different layers named 'twin'"):
        lamina.Model(inputs, x)


def test_a_chain_deeper_than_the_recursion_limit_builds_in_call_order():
    import sys

    inputs = layers.Input((2,))
    x, chain = inputs, []
    for _ in range(sys.getrecursionlimit() + 200):
        layer = layers.Activation("sigmoid")
        chain.append(layer)
        x = layer(x)
    model = lamina.Model(inputs, x)
    assert model.layers[1:] == chain
    x = np.array([[-3.0, 4.0]], np.float32)
    expected = x.astype(np.float64)
    for _ in chain:
        expected = 1.0 / (1.0 + np.exp(-expected))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)


# The graph summary in Keras 2's layout (98 columns; 'Connected to' prints the list of
# `layer[node][tensor]` entries, wrapped after `',`), the layout the seeds' notebooks show.
RESIDUAL_SUMMARY = """\
Model: "functional"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to                  
 input_layer (InputLayer)    [(None, 8, 8, 16)]           0         []                            
                                                                                                  
 conv2d (Conv2D)             (None, 8, 8, 16)             2320      ['input_layer[0][0]']         
                                                                                                  
 batch_normalization (Batch  (None, 8, 8, 16)             64        ['conv2d[0][0]']              
 Normalization)                                                                                   
                                                                                                  
 activation (Activation)     (None, 8, 8, 16)             0         ['batch_normalization[0][0]'] 
                                                                                                  
 conv2d_1 (Conv2D)           (None, 8, 8, 16)             2320      ['activation[0][0]']          
                                                                                                  
 batch_normalization_1 (Bat  (None, 8, 8, 16)             64        ['conv2d_1[0][0]']            
 chNormalization)                                                                                 
                                                                                                  
 add (Add)                   (None, 8, 8, 16)             0         ['batch_normalization_1[0][0]'
                                                                    , 'input_layer[0][0]']        
                                                                                                  
 activation_1 (Activation)   (None, 8, 8, 16)             0         ['add[0][0]']                 
                                                                                                  
Total params: 4768 (18.62 KB)
Trainable params: 4704 (18.38 KB)
Non-trainable params: 64 (256.00 Byte)
__________________________________________________________________________________________________"""


def test_graph_summary_has_the_connected_to_column(capsys):
    inputs = layers.Input((8, 8, 16))
    model = lamina.Model(inputs, residual_block(inputs, 16))
    model.summary()
    printed = capsys.readouterr().out.rstrip("\n")
    assert printed == RESIDUAL_SUMMARY
    assert {len(line) for line in printed.splitlines()[1:-4]} == {98}


# An unknown size meeting a known one in a merge: the probe sizes (83, 89) cannot stand for a
# size that must be 1 or 5, so the merge layers state Keras's rule and the engine uses it.
# Expected shapes are Keras 3's (tests/parity/test_functional_parity.py compares them).
UNKNOWN_MEETS_KNOWN = [
    ("Add", {}, [(None, 3), (5, 1)], (None, None, 3), "add-none-vs-5"),
    ("Add", {}, [(4, 3), (None, 1)], (None, None, 3), "add-4-vs-none"),
    ("Add", {}, [(None, None), (5, 1)], (None, None, None), "add-two-unknown"),
    ("Subtract", {}, [(None, 3), (5, 3)], (None, None, 3), "subtract"),
    ("Multiply", {}, [(None, 1), (5, 3)], (None, None, 3), "multiply"),
    ("Maximum", {}, [(None, 3), (5, 1)], (None, None, 3), "maximum"),
    ("Concatenate", {}, [(None, 3), (5, 2)], (None, None, 5), "concatenate-first-unknown"),
    ("Concatenate", {}, [(5, 2), (None, 3)], (None, 5, 5), "concatenate-first-known"),
]


@pytest.mark.parametrize(
    ("layer", "config", "shapes", "expected"),
    [c[:4] for c in UNKNOWN_MEETS_KNOWN],
    ids=[c[4] for c in UNKNOWN_MEETS_KNOWN],
)
def test_merge_of_an_unknown_and_a_known_size_has_keras_shape(layer, config, shapes, expected):
    inputs = [layers.Input(s) for s in shapes]
    output = getattr(layers, layer)(**config)(inputs)
    assert output.shape == expected
    # The model runs where the unknown sizes are ones the known sizes admit (1 or 5).
    model = lamina.Model(inputs, output)
    size = 1 if layer != "Concatenate" else 5
    arrays = [np.ones((2, *(size if d is None else d for d in s)), "float32") for s in shapes]
    result = model.predict(arrays, verbose=0)
    assert all(e is None or e == r for e, r in zip(expected, result.shape, strict=True))


def test_merge_of_sizes_that_cannot_broadcast_names_the_symbolic_shapes():
    with pytest.raises(ValueError, match=r"received shapes \[\(None, None, 3\), \(None, 5, 2\)\]"):
        layers.Add()([layers.Input((None, 3)), layers.Input((5, 2))])


def _image_model(layers, models):
    inputs = layers.Input((4, 4, 1))
    return models.Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)))


def _vector_model(layers, models):
    inputs = layers.Input((4,))
    return models.Model(inputs, layers.Dense(2)(inputs))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("build", "shape"),
    [(_image_model, (3, 4, 4)), (_vector_model, (3, 4, 1))],
    ids=["gains_trailing_axis", "loses_trailing_axis"],
)
def test_a_direct_call_adjusts_the_input_rank_as_keras_does(build, shape):
    model = build(lamina.layers, lamina)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    expected = reference.keras_direct_call(build, model.get_weights(), x)
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_direct_call_refuses_other_rank_mismatches():
    model = _image_model(lamina.layers, lamina)
    with pytest.raises(ValueError, match=r"expects shape \(None, 4, 4, 1\); received an array "):
        model(np.zeros((3, 16), "float32"))


def test_an_eagerly_computed_tensor_in_the_graph_is_a_constant_and_trains_twice():
    # `embedding(ops.arange(3))` runs at once; the graph keeps its value, as Keras on TensorFlow
    # does, not its autograd history (freed by the first backward pass).
    positions = layers.Embedding(3, 4)
    constant = positions(lamina.ops.arange(3))
    inputs = lamina.Input((3, 4))
    model = lamina.Model(inputs, layers.Dense(1)(inputs + constant))
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 3, 4), "float32"), np.zeros((4, 3, 1), "float32")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


_NUMPY_CONSTANTS = {
    "vector": np.array([0.5, 2.0, -1.0], "float32"),
    "0-d array": np.array(3.0, "float32"),
    "NumPy scalar": np.float32(-2.0),
}
_ARITHMETIC = {
    "x + c": lambda x, c: x + c,
    "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c,
    "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c,
}


@pytest.mark.parametrize("constant", list(_NUMPY_CONSTANTS), ids=str)
@pytest.mark.parametrize("expression", list(_ARITHMETIC), ids=str)
def test_arithmetic_with_a_numpy_constant_builds_trains_saves_and_loads(
    tmp_path, expression, constant
):
    # torch leaves `tensor * array` to NumPy, which cannot read the meta tensors of shape
    # inference or a tensor that needs grad: `Input * np.array(...)` failed to build, and a
    # saved `__numpy__` operand failed to load.
    c, compute = _NUMPY_CONSTANTS[constant], _ARITHMETIC[expression]
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, layers.Dense(2)(compute(inputs, c)))
    x = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]], "float32")
    kernel, bias = (w.detach().numpy() for w in model.layers[-1].weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), compute(x, c) @ kernel + bias, 1e-5)
    model.save(tmp_path / "model.keras")
    expected = model.predict(x, verbose=0)
    loaded = lamina.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, 1e-6)
    in_keras = reference.keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(in_keras.predict(x, verbose=0), expected, 1e-6)
    loaded.compile(optimizer="sgd", loss="mse")
    history = loaded.fit(x, np.zeros((2, 2), "float32"), epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_a_keras_graph_with_a_numpy_constant_operand_loads(tmp_path):
    keras = reference.keras
    inputs = keras.Input((3,))
    scaled = inputs * np.array([0.5, 2.0, -1.0], "float32")  # saved as a `__numpy__` operand
    keras.Model(inputs, keras.layers.Dense(2)(scaled)).save(tmp_path / "keras.keras")
    x = np.array([[1.0, 2.0, 4.0]], "float32")
    expected = keras.models.load_model(tmp_path / "keras.keras").predict(x, verbose=0)
    loaded = lamina.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, 1e-6)


def test_a_functional_subclass_is_named_after_its_class_as_in_keras():
    # The functional-subclassing pattern: __init__ builds a graph and hands it to Model.
    class PackagedModel(lamina.Model):
        def __init__(self, **kwargs):
            inputs = lamina.Input((2,))
            super().__init__(inputs=inputs, outputs=layers.Dense(1)(inputs), **kwargs)

    first, second = PackagedModel(), PackagedModel()
    inputs = lamina.Input((2,))
    plain = lamina.Model(inputs, layers.Dense(1)(inputs))
    assert (first.name, second.name, plain.name) == (
        "packaged_model",
        "packaged_model_1",
        "functional",
    )
    assert PackagedModel(name="mine").name == "mine"


@pytest.mark.parametrize("copy_with", ["deepcopy", "pickle"])
def test_copied_functional_model_runs_on_its_own_weights(copy_with):
    import copy
    import pickle

    inputs = lamina.Input((3,), name="x")
    shared = layers.Dense(3)
    hidden = shared(shared(inputs))
    model = lamina.Model(inputs, {"a": layers.Dense(1)(hidden), "b": hidden + inputs})
    model.compile(optimizer="sgd", loss="mse")
    twin = copy.deepcopy(model) if copy_with == "deepcopy" else pickle.loads(pickle.dumps(model))
    x = np.random.default_rng(0).random((4, 3)).astype("float32")
    before = model.predict(x, verbose=0)
    for key, value in twin.predict(x, verbose=0).items():
        np.testing.assert_allclose(value, before[key])
    twin.fit(x, {"a": x[:, :1], "b": x}, epochs=2, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0)["a"], before["a"])


def test_ops_in_a_graph_keep_their_inputs_dtype_as_keras():
    # Keras's ops do not cast to the float32 policy as layers do: float16 + 2 stays float16.
    values = np.ones((2, 2))
    dtypes = {}
    for name, k in (("lamina", lamina), ("keras", reference.keras)):
        x16, x64 = k.Input(shape=(2,), dtype="float16"), k.Input(shape=(2,), dtype="float64")
        outputs = [f(x) for x in (x16, x64) for f in (lambda x: x + 2, lambda x: x * 2.5)]
        model = k.Model([x16, x64], [*outputs, k.layers.Dense(1)(x16)])
        dtypes[name] = [str(t.dtype).replace("torch.", "") for t in model([values, values])]
    assert dtypes["lamina"] == dtypes["keras"] == ["float16"] * 2 + ["float64"] * 2 + ["float32"]


def test_a_layer_outputs_symbolic_mask_is_usable_in_the_graph_and_saves(tmp_path):
    inputs = lamina.Input((None,), dtype="int32")
    x = layers.Embedding(10, 3, mask_zero=True)(inputs)
    mask = x._keras_mask
    model = lamina.Model(inputs, [x, mask, lamina.ops.cast(mask, "int32")])
    tokens = np.array([[1, 0, 2], [0, 0, 3]])
    _, got_mask, got_int = model.predict(tokens, verbose=0)
    np.testing.assert_array_equal(got_mask, tokens != 0)
    np.testing.assert_array_equal(got_int, (tokens != 0).astype("int32"))
    # The mask's reader is an operation of the graph: it saves and loads by name.
    path = tmp_path / "masked.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(tokens, verbose=0)[1], tokens != 0)


def test_the_mask_reader_of_a_tensor_without_a_mask_at_run_time_is_all_true():
    x = torch.ones(2, 3, 4)
    assert torch.equal(symbolic._keras_mask(x), torch.ones(2, 3, dtype=torch.bool))


def test_nested_dict_inputs_name_the_missing_key():
    inputs = {"a": lamina.Input((1,), name="a"), "more": {"b": lamina.Input((2,), name="b")}}
    model = lamina.Model(inputs, layers.Concatenate()([inputs["a"], inputs["more"]["b"]]))
    out = model({"a": np.ones((2, 1)), "more": {"b": np.zeros((2, 2))}})
    assert tuple(out.shape) == (2, 3)
    with pytest.raises(ValueError, match=r"at \['more'\] a dict with the keys \['b'\]"):
        model({"a": np.ones((2, 1)), "more": {"c": np.zeros((2, 2))}})
