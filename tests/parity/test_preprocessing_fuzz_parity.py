"""Parity with Keras 3 (torch backend) at the edges a differential fuzz of the preprocessing
layers found (those Keras runs without TensorFlow): values on a bin boundary, output dtypes,
and configs as Keras writes them and as lamina loads them.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina

pytestmark = pytest.mark.parity


def _config_without_name(layer):
    return {k: v for k, v in layer.get_config().items() if k != "name"}


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_float32_value_on_a_decimal_boundary_is_keras(mode):
    # 0.1 and -0.98 are not float32 numbers: a float32 input written as a boundary equals that
    # boundary in float32 (Keras's comparison), and so falls in the bin above.
    boundaries = [-0.98, 0.1, 0.63]
    x = np.array([[-0.98, 0.1], [0.63, 0.2]], dtype="float32")
    config = {"bin_boundaries": boundaries, "output_mode": mode}
    want = np.asarray(keras.layers.Discretization(**config)(x))
    got = lamina.layers.Discretization(**config)(torch.tensor(x)).cpu().numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_discretization_from_keras_config_gives_integer_ids():
    # Keras writes dtype "float32" for an int-mode layer, whose ids stay int32.
    x = np.array([[-1.0, 0.5, 2.0]], dtype="float32")
    theirs = keras.layers.Discretization(bin_boundaries=[0.0, 1.0])
    ours = lamina.layers.Discretization.from_config(theirs.get_config())
    got = ours(torch.tensor(x)).cpu().numpy()
    want = np.asarray(theirs(x))
    assert got.dtype == want.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    assert _config_without_name(ours) == _config_without_name(theirs)


@pytest.mark.parametrize("adapted", [False, True], ids=["given", "adapted"])
@pytest.mark.parametrize("axis", [-1, None, 1, (1, 2), -2])
def test_normalization_config_is_keras(axis, adapted):
    data = np.random.default_rng(0).standard_normal((6, 3, 4)).astype("float32")
    config = {"axis": axis, "invert": True}
    if not adapted:
        config.update(mean=0.5, variance=2.0)
    theirs, ours = keras.layers.Normalization(**config), lamina.layers.Normalization(**config)
    if adapted:
        theirs.adapt(data)
        ours.adapt(data)
    assert _config_without_name(ours) == _config_without_name(theirs)
    # Keras's config loads in lamina and normalizes alike.
    loaded = lamina.layers.Normalization.from_config(theirs.get_config())
    if adapted:
        loaded.adapt(data)
    np.testing.assert_allclose(
        loaded(torch.tensor(data)).cpu().numpy(), np.asarray(theirs(data)), atol=1e-4
    )


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_config_is_keras(mode):
    theirs = keras.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    ours = lamina.layers.CategoryEncoding(num_tokens=4, output_mode=mode)
    assert _config_without_name(ours) == _config_without_name(theirs)


# --------------------------------------------------------------------------------------------------
# The layers Keras runs only through TensorFlow (not installed with the reference): their configs
# as Keras 3.15's get_config writes them (keys read from its source; the base layer's name,
# trainable and dtype left out), loaded by lamina.

KERAS_TEXT_VECTORIZATION_CONFIG = {
    "max_tokens": None,
    "standardize": "lower_and_strip_punctuation",
    "split": "whitespace",
    "ngrams": 2,
    "output_mode": "int",
    "output_sequence_length": 6,
    "pad_to_max_tokens": False,
    "sparse": False,
    "ragged": False,
    "vocabulary": ["the", "cat", "the cat"],
    "idf_weights": None,
    "encoding": "utf-8",
    "vocabulary_size": 5,
}

KERAS_STRING_LOOKUP_CONFIG = {
    "invert": False,
    "max_tokens": None,
    "num_oov_indices": 1,
    "oov_token": "[UNK]",
    "mask_token": None,
    "output_mode": "int",
    "sparse": False,
    "pad_to_max_tokens": False,
    "idf_weights": None,
    "vocabulary": ["a", "b", "c"],
    "vocabulary_size": 4,
    "oov_method": "floormod",
    "salt": None,
    "encoding": "utf-8",
}

KERAS_INTEGER_LOOKUP_CONFIG = {
    "invert": False,
    "max_tokens": None,
    "num_oov_indices": 1,
    "oov_token": -1,
    "mask_token": None,
    "output_mode": "int",
    "sparse": False,
    "pad_to_max_tokens": False,
    "vocabulary_dtype": "int64",
    "idf_weights": None,
    "vocabulary": [12, 36],
    "vocabulary_size": 3,
    "oov_method": "floormod",
    "salt": None,
}


@pytest.mark.parametrize(
    "layer_name,keras_config,inputs,expected",
    [
        (
            "TextVectorization",
            KERAS_TEXT_VECTORIZATION_CONFIG,
            np.array(["The cat sat."]),
            [[2, 3, 1, 4, 1, 0]],
        ),
        ("StringLookup", KERAS_STRING_LOOKUP_CONFIG, np.array([["a", "z", "c"]]), [[1, 0, 3]]),
        ("IntegerLookup", KERAS_INTEGER_LOOKUP_CONFIG, np.array([[36, 7, 12]]), [[2, 0, 1]]),
    ],
    ids=["text_vectorization", "string_lookup", "integer_lookup"],
)
def test_lookup_layers_load_keras_configs_and_write_them_back(
    layer_name, keras_config, inputs, expected
):
    layer = getattr(lamina.layers, layer_name).from_config(dict(keras_config))
    assert layer(inputs).tolist() == expected
    config = layer.get_config()
    assert sorted(set(config) - {"name", "trainable", "dtype"}) == sorted(keras_config)
    for key in ("ngrams", "vocabulary_size", "oov_method", "encoding", "ragged", "sparse"):
        if key in keras_config:
            assert config[key] == keras_config[key], key


def test_text_vectorization_keeps_a_registered_standardize_through_its_config():
    # A custom function used to be written as None: the reloaded layer no longer standardized.
    @lamina.saving.register_keras_serializable(package="fuzz_parity")
    def shout(texts):
        return np.char.upper(texts)

    layer = lamina.layers.TextVectorization(vocabulary=["A", "B"], standardize=shout)
    config = layer.get_config()
    assert config["standardize"]["class_name"] == "function"
    reloaded = lamina.layers.TextVectorization.from_config(config)
    assert reloaded(np.array(["a b c"])).tolist() == layer(np.array(["a b c"])).tolist()
    assert reloaded(np.array(["a b c"])).tolist() == [[2, 3, 1]]


def test_hashing_with_a_mask_value_needs_two_bins():
    # One bin is the mask's: the other values would hash into zero bins (a bare
    # ZeroDivisionError on the first call before).
    with pytest.raises(ValueError, match="num_bins >= 2 with a mask_value"):
        lamina.layers.Hashing(num_bins=1, mask_value="")
    assert lamina.layers.Hashing(num_bins=2, mask_value="")(np.array([[""], ["a"]])).tolist() == [
        [0],
        [1],
    ]


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "float64", "int64"])
def test_discretization_encoded_output_takes_the_policys_compute_dtype(dtype):
    # A policy name used to be read as a dtype ("mixed_bfloat16" raised on the first call).
    x = np.array([[-1.0, 0.25, 2.0]], dtype="float32")
    config = {"bin_boundaries": [0.0, 0.5], "output_mode": "multi_hot", "dtype": dtype}
    theirs, ours = keras.layers.Discretization(**config), lamina.layers.Discretization(**config)
    want = theirs(x)
    got = ours(torch.tensor(x))
    assert str(got.dtype).removeprefix("torch.") == str(want.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.float().cpu().numpy(), want.float().numpy())
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
