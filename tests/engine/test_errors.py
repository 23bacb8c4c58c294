"""Every user mistake of the foundation issue gets a message naming who, what was expected, what
came, and a hint. Each message is pinned here."""

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, models


def images(n=8):
    return np.random.default_rng(0).random((n, 8, 8, 1)).astype("float32")


def test_dense_after_conv_without_flatten_fails_where_loss_meets_labels():
    model = models.Sequential(
        [
            layers.Conv2D(4, 3, input_shape=(8, 8, 1)),
            layers.Dense(
                10, activation="softmax"
            ),  # acts on the last axis: output (None, 6, 6, 10)
        ]
    )
    assert model.output_shape == (None, 6, 6, 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(
        ValueError,
        match=r"(?s)Loss 'sparse_categorical_crossentropy'.*"
        r"received model outputs of shape \(8, 6, 6, 10\).*"
        r"Add Flatten\(\) or GlobalAveragePooling2D\(\)",
    ):
        model.fit(images(), np.arange(8) % 10, epochs=1, verbose=0)


def test_conv2d_fed_a_flat_input():
    model = models.Sequential([layers.Dense(4, input_shape=(784,))])
    conv = layers.Conv2D(8, 3, name="conv")
    with pytest.raises(
        ValueError,
        match=r"Layer 'conv' \(Conv2D\) expects 4-D input \(batch, height, width, "
        r"channels\); received a 2-D input of shape \(32, 784\)\. Hint: reshape "
        r"to \(32, 28, 28, 1\)",
    ):
        conv(torch.zeros(32, 784))
    assert model.built


def test_x_and_y_of_different_lengths():
    model = models.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(
        ValueError,
        match=r"x and y with the same number of samples; received 10 samples in x "
        r"and 9 in y",
    ):
        model.fit(np.zeros((10, 3)), np.zeros(9), verbose=0)


def _three_class_model(loss):
    model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_sparse_label_outside_the_classes():
    model = _three_class_model("sparse_categorical_crossentropy")
    with pytest.raises(
        ValueError,
        match=r"integer class ids in \[0, 3\) for a model with 3 outputs; received "
        r"labels from 0 to 3\. Hint: check the number of units",
    ):
        model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 3]), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_x(bad):
    x = np.zeros((5, 2))
    x[2, 1] = bad
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(
        ValueError,
        match=r"x expects finite numbers; received 1 NaN or inf value\(s\) in an array "
        r"of shape \(5, 2\)\. Hint: clean or impute",
    ):
        model.fit(x, np.zeros(5), verbose=0)


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda: lamina.optimizers.get("adamm"), "optimizer"),
        (lambda: lamina.losses.get("crossentropy_sparse"), "loss"),
        (lambda: lamina.metrics.get("acuracy"), "metric"),
        (lambda: layers.Dense(2, activation="rellu"), "activation"),
    ],
)
def test_unknown_names_list_the_valid_ones(make, kind):
    with pytest.raises(ValueError, match=rf"Unknown {kind} '.*'\. Valid {kind} names: .*'"):
        make()


def test_unknown_names_fail_at_compile():
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match=r"Unknown loss 'msee'.*'mse'"):
        model.compile(optimizer="sgd", loss="msee")


@pytest.mark.parametrize("error", [RuntimeError, ValueError])  # tf.keras's and Keras 3's
def test_fit_before_compile(error):
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(
        error,
        match=r"Model 'sequential' must be compiled before training or "
        r"evaluation\. Hint: call model.compile",
    ):
        model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)


def test_wrong_input_shape_for_a_built_model():
    model = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(
        ValueError,
        match=r"Input '.*' of model 'sequential' expects shape \(None, 3\); "
        r"received an array of shape \(4, 5\) \(x\)",
    ):
        model.fit(np.zeros((4, 5)), np.zeros(4), verbose=0)
    # As in Keras, a called Sequential leaves sizes to its layers: Dense names its axis.
    with pytest.raises(ValueError, match=r"Layer 'dense' \(Dense\) expects axis -1 .* to be 3"):
        model(np.zeros((4, 5), "float32"))
    with pytest.raises(
        ValueError,
        match=r"Sequential model 'sequential' expects a 2-D input like \(None, 3\); "
        r"received an input of shape \(4, 5, 2\)",
    ):
        model(np.zeros((4, 5, 2), "float32"))
    inputs = lamina.Input(shape=(3,), name="features")
    functional = models.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(
        ValueError,
        match=r"Input 'features' of model '.*' expects shape \(None, 3\); received an array of "
        r"shape \(2, 7\)",
    ):
        functional.predict(np.zeros((2, 7)), verbose=0)


def test_one_hot_labels_vs_sparse_ids_hint():
    model = _three_class_model("categorical_crossentropy")
    with pytest.raises(
        ValueError,
        match=r"use loss='sparse_categorical_crossentropy' or "
        r"lamina.utils.to_categorical",
    ):
        model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


def test_sparse_loss_with_one_hot_labels_hint():
    model = _three_class_model("sparse_categorical_crossentropy")
    with pytest.raises(
        ValueError,
        match=r"expects class ids shaped \(batch,\) or \(batch, 1\) for outputs \(4, 3\); "
        r"received labels of shape \(4, 3\), one-hot rows by their look\. "
        r"Hint: with one-hot labels use loss='categorical_crossentropy'",
    ):
        model.fit(np.zeros((4, 2)), np.eye(3)[[0, 1, 2, 1]], verbose=0)


@pytest.mark.parametrize(
    "x, y, name, received, hint",
    [
        (np.zeros((2, 2)), [0, 1], "y", "a Python list of numbers", r"y = np.array\(y\)"),
        (
            [[0.0, 1.0], [1.0]],
            np.zeros(2),
            "x",
            r"whose rows differ in length \(\[1, 2\]\)",
            r"lamina.utils.pad_sequences",
        ),
    ],
    ids=["labels", "ragged-inputs"],
)
def test_python_lists_of_numbers_are_refused_with_the_fix(x, y, name, received, hint):
    # A list is how several inputs are passed: lamina does not guess (Keras refuses them too).
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=rf"^{name} expects arrays.*received .*{received}.*{hint}"):
        model.fit(x, y, verbose=0)


def test_invalid_layer_arguments_name_the_layer():
    with pytest.raises(
        ValueError,
        match=r"Layer 'c' \(Conv2D\) expects `padding` in \['valid', 'same'\]; "
        r"received padding='full'",
    ):
        layers.Conv2D(2, 3, padding="full", name="c")
    with pytest.raises(ValueError, match=r"`units` to be a positive integer; received units=0"):
        layers.Dense(0)
    with pytest.raises(
        ValueError,
        match=r"`rate` in \[0, 1\) \(the fraction of units dropped\); "
        r"received rate=1.5\.$",
    ):
        layers.Dropout(1.5)


def test_one_unit_under_softmax_warns_with_the_two_class_fixes():
    with pytest.warns(
        UserWarning,
        match=r"Layer 'out' \(Dense\) expects more than one unit.*"
        r"Dense\(1, activation='sigmoid'\)",
    ):
        layers.Dense(1, activation="softmax", name="out")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Dense(2, activation="softmax")
        layers.Dense(1, activation="sigmoid")


def test_recurrent_layers_refuse_another_feature_size_than_built():
    # torch's CPU LSTM kernel computes with 7 features into a kernel built for 6, silently.
    for layer in (layers.LSTM(3), layers.GRU(3), layers.SimpleRNN(3)):
        layer(np.zeros((2, 5, 6), "float32"))
        with pytest.raises(ValueError, match=r"expects axis -1 of its input to be 6 \(the size"):
            layer(np.zeros((2, 5, 7), "float32"))


def _attention(query, value, key=None, **options):
    def zeros(shape):
        return None if shape is None else np.zeros(shape, "float32")

    layer = layers.MultiHeadAttention(2, 4, name="mha")
    return layer, lambda: layer(zeros(query), zeros(value), key=zeros(key), **options)


@pytest.mark.parametrize(
    "query, value, key, options, message",
    [
        ((2, 5, 6), (2, 8, 6), (2, 7, 6), {}, r".*key and value equal on every axis but the last"),
        ((2, 5, 6), (3, 7, 6), None, {}, r".*one rank and batch size.*value \(3, 7, 6\)"),
        ((5, 6), (7, 6), None, {}, r"a query of rank >= 3.*Hint: add the sequence axis"),
        (
            (2, 5, 6),
            (2, 7, 6),
            None,
            {"attention_mask": np.ones((2, 5, 5), bool)},
            r"an attention_mask shaped \(batch, 5, 7\).*received shape \(2, 5, 5\)",
        ),
    ],
    ids=["key-vs-value", "batch", "rank-2", "mask"],
)
def test_attention_names_shapes_that_cannot_attend(query, value, key, options, message):
    _, call = _attention(query, value, key, **options)
    with pytest.raises(ValueError, match=r"Layer 'mha' \(MultiHeadAttention\) expects " + message):
        call()


def test_attention_refuses_another_feature_size_than_built():
    layer, call = _attention((2, 5, 6), (2, 7, 6))
    call()
    with pytest.raises(ValueError, match=r"a value with 6 features on its last axis"):
        layer(np.zeros((2, 5, 6), "float32"), np.zeros((2, 7, 8), "float32"))


def test_regression_labels_that_broadcast_train_as_in_keras():
    # Keras's EarlyStopping example: labels (1,) against outputs (1, 10) broadcast and train.
    model = models.Sequential([layers.Dense(10)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"labels of shape \(1,\), which broadcast: every output"):
        model.fit(np.arange(100.0).reshape(5, 20), np.zeros(5), batch_size=1, verbose=0)
    with pytest.raises(  # (5,) against (5, 10) cannot broadcast: Keras fails too
        ValueError,
        match=r"Loss 'mean_squared_error' of model '.*' expects outputs shaped like the labels "
        r"\(5,\); received model outputs of shape \(5, 10\)",
    ):
        model.fit(np.arange(100.0).reshape(5, 20), np.zeros(5), batch_size=5, verbose=0)


@pytest.mark.parametrize("mask_shape", [(2, 3), (1, 1, 3)], ids=["larger", "more-axes"])
def test_softmax_refuses_a_mask_larger_than_its_inputs(mask_shape):
    # It broadcast the output up to the mask's shape; Keras refuses such masks.
    with pytest.raises(ValueError, match=r"mask broadcastable to the inputs' shape \(1, 3\)"):
        layers.Softmax()(np.ones((1, 3)), mask=np.ones(mask_shape, bool))
    kept = layers.Softmax()(np.ones((2, 3)), mask=np.array([True, False, True]))
    np.testing.assert_allclose(kept.numpy(), [[0.5, 0.0, 0.5]] * 2)


@pytest.mark.parametrize(
    "inputs_outputs, match",
    [
        ((3, 4), r"`inputs` expects symbolic tensors .*received 3 \(int\)"),
        (("input", 4), r"`outputs` expects symbolic tensors .*received 4 \(int\)"),
        ((["input", None], "output"), r"`inputs` expects .*received None \(NoneType\)"),
        (([], "output"), r"`inputs` expects at least one symbolic tensor; received an empty list"),
        (("input", ["output", None]), r"`outputs` expects .*received None"),
    ],
)
def test_model_of_anything_but_symbolic_tensors_is_refused(inputs_outputs, match):
    # Keras refuses these too; lamina dropped the numbers and Nones and built an empty model.
    inputs = layers.Input((2,))
    outputs = layers.Dense(1)(inputs)
    named = {"input": inputs, "output": outputs}

    def resolve(value):
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return named.get(value, value) if isinstance(value, str) else value

    with pytest.raises(ValueError, match=match):
        models.Model(*(resolve(value) for value in inputs_outputs))


def test_a_layer_given_text_names_the_dtype():
    with pytest.raises(ValueError, match=r"Layer 'dense.*' \(Dense\) expects numbers; received "):
        layers.Dense(2)(np.array([["a", "b"]]))
    # the string layers still read NumPy text
    lookup = layers.StringLookup(vocabulary=["a", "b"])
    assert lookup(np.array([["a", "b"]])).tolist() == [[1, 2]]


def test_a_rank_error_on_a_graph_tensor_shows_its_batch_as_unknown():
    # Shape inference runs on a stand-in batch; the error is about the graph tensor's shape.
    with pytest.raises(
        ValueError,
        match=r"expects 4-D input; received a 2-D input of shape \(None, 16\)\. "
        r"Hint: reshape to \(batch, 4, 4, 1\)",
    ):
        layers.GlobalAveragePooling2D()(layers.Input((16,)))
