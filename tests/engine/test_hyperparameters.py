"""Numeric constructor arguments of losses, metrics and initializers are checked when the object
is made: before, a string or an out-of-range value failed later, inside a loss or a draw, in
torch's words ("pow() received an invalid combination of arguments", "normal expects std >=
0.0"), or did not fail at all (label smoothing of -5)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import initializers, losses, metrics
from lamina.engine import hyperparameters

REFUSED = [
    # (constructor, arguments, the argument the error names, what it expects)
    (
        losses.BinaryCrossentropy,
        {"label_smoothing": -5},
        "label_smoothing",
        r"a number in \[0, 1\]",
    ),
    (losses.CategoricalCrossentropy, {"label_smoothing": "0.1"}, "label_smoothing", "a number"),
    (losses.CategoricalCrossentropy, {"axis": "x"}, "axis", "an integer or a tuple of integers"),
    (losses.BinaryFocalCrossentropy, {"gamma": "2"}, "gamma", "a finite number"),
    (losses.CategoricalFocalCrossentropy, {"alpha": [0.25]}, "alpha", "a finite number"),
    (losses.Huber, {"delta": -1.0}, "delta", "a number >= 0"),
    (losses.Tversky, {"beta": "0.5"}, "beta", "a finite number"),
    (losses.Circle, {"margin": "0.4"}, "margin", "a finite number"),
    (metrics.BinaryAccuracy, {"threshold": "0.5"}, "threshold", "a finite number"),
    (metrics.BinaryIoU, {"threshold": None}, "threshold", "a finite number"),
    (metrics.TopKCategoricalAccuracy, {"k": 0}, "k", "an integer >= 1"),
    (metrics.SparseTopKCategoricalAccuracy, {"k": "5"}, "k", "an integer >= 1"),
    (metrics.CosineSimilarity, {"axis": 1.5}, "axis", "an integer or a tuple of integers"),
    (
        metrics.CategoricalCrossentropy,
        {"label_smoothing": 2.0},
        "label_smoothing",
        r"a number in \[0, 1\]",
    ),
    (initializers.RandomNormal, {"stddev": -1.0}, "stddev", "a number >= 0"),
    (initializers.TruncatedNormal, {"mean": "0"}, "mean", "a finite number"),
    (initializers.RandomUniform, {"minval": 1.0, "maxval": 0.5}, "maxval", "a number >= 1.0"),
    (initializers.Orthogonal, {"gain": "1"}, "gain", "a finite number"),
    (initializers.Identity, {"gain": None}, "gain", "a finite number"),
    (initializers.Constant, {"value": "x"}, "value", "a number or an array of numbers"),
]


@pytest.mark.parametrize(
    "constructor, arguments, argument, expected",
    REFUSED,
    ids=[f"{c.__module__.split('.')[1]}.{c.__name__}-{a}" for c, _, a, _ in REFUSED],
)
def test_bad_arguments_are_refused_when_constructed(constructor, arguments, argument, expected):
    pattern = rf"{constructor.__name__}\(\) expects `{argument}` to be {expected}.*; received"
    with pytest.raises(ValueError, match=pattern):
        constructor(**arguments)


@pytest.mark.parametrize(
    "make",
    [
        lambda: losses.BinaryCrossentropy(label_smoothing=np.float32(0.1)),
        lambda: losses.CategoricalCrossentropy(label_smoothing=torch.tensor(0.2), axis=1),
        lambda: losses.CosineSimilarity(axis=(1,)),
        lambda: losses.Huber(delta=0),
        lambda: metrics.TopKCategoricalAccuracy(k=np.int64(2)),
        lambda: metrics.BinaryAccuracy(threshold=0),
        lambda: initializers.RandomUniform(minval=0.5, maxval=0.5),
        lambda: initializers.Constant(np.eye(2)),
        lambda: initializers.Constant(torch.ones(2)),
        lambda: initializers.Constant([[1, 0], [0, 1]]),
    ],
)
def test_valid_arguments_are_accepted(make):
    made = make()
    assert made.get_config()  # constructed, and its config still reads back


def test_a_loss_from_a_config_is_checked_as_a_constructed_one():
    config = losses.serialize(losses.BinaryCrossentropy(label_smoothing=0.1))
    config["config"]["label_smoothing"] = 1.5
    with pytest.raises(ValueError, match=r"BinaryCrossentropy\(\) expects `label_smoothing`"):
        losses.deserialize(config)


def test_options_not_listed_are_left_to_their_function():
    hyperparameters.loss_options("Custom()", {"reduction": "sum", "from_logits": True})
    assert lamina.losses.get("mse") is not None


LAYERS_REFUSED = [
    # (layer, arguments, the argument the error names, what it expects); before, each failed
    # in a comparison ("'<' not supported between instances of 'str' and 'int'") or at the
    # first call in torch's words.
    (lamina.layers.ReLU, {"negative_slope": "0.1"}, "negative_slope", "a number >= 0"),
    (lamina.layers.LeakyReLU, {"negative_slope": -1}, "negative_slope", "a number >= 0"),
    (lamina.layers.Softmax, {"axis": "x"}, "axis", "an integer or a tuple of integers"),
    (lamina.layers.RMSNormalization, {"axis": "x"}, "axis", "an integer or a tuple of"),
    (lamina.layers.MixUp, {"alpha": "0.2"}, "alpha", "a number > 0"),
    (lamina.layers.AugMix, {"alpha": 0}, "alpha", "a number > 0"),
    (lamina.layers.RandomGrayscale, {"factor": "0.5"}, "factor", r"a number in \[0, 1\]"),
    (lamina.layers.RandomPerspective, {"scale": 2.0}, "scale", r"a number in \[0, 1\]"),
    (lamina.layers.Hashing, {"num_bins": "8"}, "num_bins", "an integer >= 1"),
    (lamina.layers.StringLookup, {"num_oov_indices": "1"}, "num_oov_indices", "an integer"),
    (lamina.layers.IntegerLookup, {"max_tokens": 1}, "max_tokens", "an integer >= 2 or None"),
    (lamina.layers.MelSpectrogram, {"fft_length": -5}, "fft_length", "an integer >= 1"),
    (lamina.layers.MelSpectrogram, {"sampling_rate": "16k"}, "sampling_rate", "a number > 0"),
]


@pytest.mark.parametrize(
    "layer, arguments, argument, expected",
    LAYERS_REFUSED,
    ids=[f"{c.__name__}-{a}" for c, _, a, _ in LAYERS_REFUSED],
)
def test_layers_refuse_bad_arguments_in_the_house_form(layer, arguments, argument, expected):
    pattern = rf"Layer '.*' \({layer.__name__}\) expects `{argument}` to be {expected}.*; received"
    with pytest.raises(ValueError, match=pattern):
        layer(**arguments)
