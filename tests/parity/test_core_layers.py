"""Parity with Keras 3 for the foundation's layers, activations and losses: same weights in, same
outputs and gradients out (float32; 1e-5 for elementwise work and Dense, looser where stated)."""

import warnings

import keras
import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import assert_layer_matches_keras

CASES = [
    ("Dense", {"units": 4}, (3, 5)),
    ("Dense", {"units": 3, "activation": "tanh", "use_bias": False}, (2, 6)),
    ("Dense", {"units": 2, "activation": "softmax"}, (2, 3, 5)),  # last axis of 3-D input
    ("Dense", {"units": 5, "activation": "relu"}, (4, 2, 3, 7)),
    ("Activation", {"activation": "gelu"}, (3, 4)),
    ("Dropout", {"rate": 0.0}, (3, 4)),
    ("Dropout", {"rate": 0.4}, (3, 4)),  # inference: identity
    ("Flatten", {}, (2, 3, 4, 5)),
    ("Reshape", {"target_shape": (4, -1)}, (2, 3, 8)),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 9, 10, 3)),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": (4, 3), "strides": 2, "padding": "same"},
        (2, 9, 10, 3),
    ),
    (
        "Conv2D",
        {
            "filters": 2,
            "kernel_size": 3,
            "dilation_rate": 2,
            "padding": "same",
            "activation": "relu",
        },
        (2, 9, 9, 3),
    ),
    (
        "Conv2D",
        {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False},
        (1, 7, 7, 2),
    ),
    ("MaxPooling2D", {"pool_size": 2}, (2, 9, 10, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 10, 3)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": 1}, (2, 6, 6, 3)),
    ("AveragePooling2D", {"pool_size": 2}, (2, 9, 10, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 7, 3)),
    ("GlobalAveragePooling2D", {}, (2, 5, 6, 3)),
    ("GlobalMaxPooling2D", {}, (2, 5, 6, 3)),
    ("BatchNormalization", {}, (4, 5, 5, 3)),
    ("BatchNormalization", {"momentum": 0.9, "epsilon": 1e-5}, (8, 6)),
]


def case_id(case):
    name, config, shape = case
    options = "-".join(f"{k}{v}" for k, v in config.items()).replace(" ", "")
    return f"{name}-{options}-{'x'.join(map(str, shape))}"


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_layer_matches_keras_in_inference(case):
    name, config, shape = case
    assert_layer_matches_keras(name, config, shape)


@pytest.mark.parity
@pytest.mark.parametrize("shape", [(6, 4, 4, 3), (10, 5)], ids=["images", "vectors"])
def test_batchnorm_training_mode_matches_keras_including_moving_statistics(shape):
    ours, reference = assert_layer_matches_keras(
        "BatchNormalization", {"momentum": 0.8}, shape, call_kwargs={"training": True}
    )
    # The helper calls ours twice (build, then after copying Keras's weights) and Keras once, each
    # call in training mode moving the statistics: one more Keras call on the same input evens them.
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    reference(torch.tensor(x), training=True)
    for got, want in zip(ours.get_weights()[2:], reference.get_weights()[2:], strict=False):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


ACTIVATIONS = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "linear",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "leaky_relu",
    "softplus",
    "softsign",
    "exponential",
    "hard_sigmoid",
]


@pytest.mark.parity
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_keras(name):
    x = torch.tensor(np.random.default_rng(1).standard_normal((4, 7)).astype("float32") * 3)
    ours = lamina.activations.get(name)(x)
    reference = keras.activations.get(name)(x)
    torch.testing.assert_close(ours, torch.as_tensor(reference), atol=1e-6, rtol=1e-5)


def _labels(kind, rng, n=6, classes=4):
    if kind == "sparse":
        return rng.integers(0, classes, size=(n,)).astype("int64")
    if kind == "onehot":
        return np.eye(classes, dtype="float32")[rng.integers(0, classes, size=n)]
    if kind == "binary":
        return rng.integers(0, 2, size=(n, 1)).astype("float32")
    return rng.standard_normal((n, classes)).astype("float32")


LOSSES = [
    ("binary_crossentropy", {}, "binary", "sigmoid"),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary", None),
    ("categorical_crossentropy", {}, "onehot", "softmax"),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, "onehot", None),
    ("sparse_categorical_crossentropy", {}, "sparse", "softmax"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sparse", None),
    ("mean_squared_error", {}, "real", None),
    ("mean_absolute_error", {}, "real", None),
    ("huber", {}, "real", None),
]


@pytest.mark.parity
@pytest.mark.parametrize(
    "case", LOSSES, ids=lambda c: f"{c[0]}-{'-'.join(map(str, c[1].values()))}"
)
def test_losses_match_keras(case):
    name, options, label_kind, output_activation = case
    rng = np.random.default_rng(3)
    y_true = _labels(label_kind, rng)
    width = 1 if label_kind == "binary" else 4
    logits = rng.standard_normal((6, width)).astype("float32") * 2
    y_pred = logits
    if output_activation == "sigmoid":
        y_pred = 1 / (1 + np.exp(-logits))
    elif output_activation == "softmax":
        y_pred = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    keras_class = {
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
        "mean_squared_error": keras.losses.MeanSquaredError,
        "mean_absolute_error": keras.losses.MeanAbsoluteError,
        "huber": keras.losses.Huber,
    }[name]
    lamina_class = getattr(lamina.losses, keras_class.__name__)
    expected = float(keras_class(**options)(y_true, y_pred))
    got = float(lamina_class(**options)(torch.tensor(y_true), torch.tensor(y_pred)))
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)
    weights = rng.random(6).astype("float32")
    expected_weighted = float(keras_class(**options)(y_true, y_pred, sample_weight=weights))
    got_weighted = float(
        lamina_class(**options)(torch.tensor(y_true), torch.tensor(y_pred), torch.tensor(weights))
    )
    assert got_weighted == pytest.approx(expected_weighted, rel=1e-5, abs=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "config", "shape"),
    [
        ("Dense", {"units": 3, "activation": "softmax"}, (2, 4)),
        ("Conv2D", {"filters": 2, "kernel_size": 3, "activation": "relu"}, (1, 5, 5, 3)),
        ("Conv1D", {"filters": 2, "kernel_size": 2, "activation": "softmax"}, (1, 6, 3)),
        ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3, "activation": "relu"}, (2, 4)),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_activation_set_to_none_after_construction_is_skipped_as_in_keras(name, config, shape):
    """Keras code drops a classifier's softmax with `model.layers[-1].activation = None`."""
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    reference = getattr(keras.layers, name)(**config)
    ours = getattr(lamina.layers, name)(**config)
    reference(x), ours(x)
    ours.set_weights(reference.get_weights())
    reference.activation = None
    ours.activation = None
    expected = keras.ops.convert_to_numpy(reference(x))
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours(x)), expected, atol=1e-5)
    assert (expected < 0).any()  # the activation really is gone


def _lambda_masking(framework):
    """Lambda's supports_masking, with and without a `mask`, and the mask its output carries."""
    plain = framework.layers.Lambda(lambda x: x * 2.0)
    keep = framework.layers.Lambda(lambda x: x * 2.0, mask=lambda inputs, mask: mask)
    tokens = np.array([[1, 2, 0]])
    embedded = framework.layers.Embedding(5, 2, mask_zero=True)(tokens)
    masks = [getattr(layer(embedded), "_keras_mask", None) for layer in (plain, keep)]
    return (
        plain.supports_masking,
        keep.supports_masking,
        [
            None if m is None else np.asarray(framework.ops.convert_to_numpy(m)).tolist()
            for m in masks
        ],
    )


def test_lambda_supports_masking_only_with_a_mask_as_in_keras():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's note that the plain Lambda drops the mask
        expected = _lambda_masking(keras)
    with pytest.warns(UserWarning, match="'lambda' .* does not support masking"):  # lamina's too
        assert _lambda_masking(lamina) == expected == (False, True, [None, [[1, 1, 0]]])
