"""Composite layers of issue 12 against Keras 3: StackedRNNCells, SpectralNormalization,
ReversibleEmbedding, GroupQueryAttention, Pipeline, serialize/deserialize."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.parity.reference import (
    assert_call_matches_keras,
    assert_layer_matches_keras,
    keras,
)

pytestmark = pytest.mark.parity


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("return_sequences", [False, True])
def test_stacked_rnn_cells_match_keras(return_sequences):
    def stack(module):
        cells = [module.LSTMCell(3), module.GRUCell(2), module.SimpleRNNCell(4)]
        return module.RNN(module.StackedRNNCells(cells), return_sequences=return_sequences)

    assert_layer_matches_keras(
        "RNN", {}, (2, 5, 3), keras_layer=stack(keras.layers), lamina_layer=stack(layers)
    )


def test_a_list_of_cells_runs_as_stacked_cells_as_keras():
    # Before: RNN refused a list (Keras's RNN docstring example stacks two cells this way).
    def stack(module):
        return module.RNN([module.LSTMCell(3), module.GRUCell(2)], return_sequences=True)

    assert isinstance(stack(layers).cell, layers.StackedRNNCells)
    assert_layer_matches_keras(
        "RNN", {}, (2, 5, 3), keras_layer=stack(keras.layers), lamina_layer=stack(layers)
    )


def test_stacked_rnn_cells_round_trip_through_config():
    layer = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3), layers.GRUCell(2)]))
    x = torch.tensor(_normal(2, 4, 3))
    y = layer(x)
    clone = layers.RNN.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x), y)
    assert layer.cell.state_size == [3, 3, 2]


@pytest.mark.parametrize(
    "inner, shape",
    [
        (lambda m: m.Dense(4), (3, 5)),
        (lambda m: m.Conv2D(3, 3), (2, 6, 6, 2)),
        (lambda m: m.DepthwiseConv2D(3, depth_multiplier=2), (2, 6, 6, 2)),
        (lambda m: m.Conv2DTranspose(3, 3, strides=2), (2, 4, 4, 2)),
    ],
    ids=["dense", "conv2d", "depthwise_conv2d", "conv2d_transpose"],
)
def test_spectral_normalization_training_step_matches_keras(inner, shape):
    reference = keras.layers.SpectralNormalization(inner(keras.layers), power_iterations=2)
    ours = layers.SpectralNormalization(inner(layers), power_iterations=2)
    x = _normal(*shape)
    reference(torch.tensor(x))
    ours(torch.tensor(x))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in reference.get_weights()]
    ours.set_weights(reference.get_weights())
    for _ in range(2):  # vector_u carries over between steps
        want = reference(torch.tensor(x), training=True)
        got = ours(torch.tensor(x), training=True)
        torch.testing.assert_close(got, want.detach(), atol=1e-5, rtol=1e-5)
    for a, b in zip(ours.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5)
    # inference leaves the kernel alone
    before = ours.get_weights()
    ours(torch.tensor(x))
    for a, b in zip(ours.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_spectral_normalization_of_an_embedding_keeps_float_outputs():
    # Keras casts the output to the input's dtype, which truncates an Embedding's vectors to
    # integers; lamina keeps them float (the kernel update itself is the same as for Dense).
    layer = layers.SpectralNormalization(layers.Embedding(7, 3), power_iterations=50)
    out = layer(torch.tensor([[1, 2]]), training=True)
    assert out.dtype == torch.float32
    # Fifty power steps find the largest singular value: after dividing, it is 1.
    singular_values = torch.linalg.svdvals(layer.layer.embeddings.detach())
    assert singular_values.max().item() == pytest.approx(1.0, abs=1e-4)


def test_spectral_normalization_gradients_match_keras_in_inference():
    assert_layer_matches_keras(
        "SpectralNormalization",
        {},
        (3, 5),
        keras_layer=keras.layers.SpectralNormalization(keras.layers.Dense(4)),
        lamina_layer=layers.SpectralNormalization(layers.Dense(4)),
    )


@pytest.mark.parametrize(
    "config",
    [{"input_dim": 11, "output_dim": 4}, {"input_dim": 9, "output_dim": 3, "tie_weights": False}],
    ids=["tied", "untied"],
)
def test_reversible_embedding_matches_keras_both_ways(config):
    init = {"embeddings_initializer": "glorot_uniform"}
    ours, reference = assert_layer_matches_keras(
        "ReversibleEmbedding", {**config, **init}, (2, 5), input_dtype="int64"
    )
    assert_call_matches_keras(
        reference, ours, [_normal(2, 5, config["output_dim"])], {"reverse": True}
    )


def test_reversible_embedding_soft_cap_matches_keras():
    config = {"input_dim": 6, "output_dim": 4, "logit_soft_cap": 0.5}
    reference, ours = (
        keras.layers.ReversibleEmbedding(**config),
        layers.ReversibleEmbedding(**config),
    )
    ids = torch.tensor([[1, 2, 3]])
    reference(ids)
    ours(ids)
    assert_call_matches_keras(reference, ours, [_normal(2, 3, 4) * 20], {"reverse": True})


GQA_CASES = [
    ({"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}, {}),
    ({"head_dim": 3, "num_query_heads": 6, "num_key_value_heads": 1}, {"use_causal_mask": True}),
    (
        {"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 2, "use_gate": True},
        {"return_attention_scores": True},
    ),
    (
        {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "sliding_window": 2},
        {"use_causal_mask": True, "return_attention_scores": True},
    ),
    ({"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 1, "use_bias": False}, {}),
]


@pytest.mark.parametrize("config, call_kwargs", GQA_CASES, ids=lambda v: str(sorted(v))[:40])
def test_group_query_attention_matches_keras(config, call_kwargs):
    init = {"bias_initializer": "random_normal"} if config.get("use_bias", True) else {}
    reference = keras.layers.GroupQueryAttention(**config, **init)
    ours = layers.GroupQueryAttention(**config, **init)
    query, value = _normal(2, 5, 6), _normal(2, 7, 6, seed=1)
    if call_kwargs.get("use_causal_mask"):
        value = _normal(2, 5, 6, seed=1)
    reference(torch.tensor(query), torch.tensor(value))
    ours(torch.tensor(query), torch.tensor(value))
    assert_call_matches_keras(reference, ours, [query, value], call_kwargs)


def test_group_query_attention_masks_match_keras():
    config = {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2}
    reference, ours = (
        keras.layers.GroupQueryAttention(**config),
        layers.GroupQueryAttention(**config),
    )
    query, value = _normal(2, 4, 6), _normal(2, 5, 6, seed=1)
    reference(torch.tensor(query), torch.tensor(value))
    ours(torch.tensor(query), torch.tensor(value))
    masks = {
        "query_mask": torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool),
        "value_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 0, 1, 0, 1]], dtype=torch.bool),
    }
    assert_call_matches_keras(reference, ours, [query, value], masks)


def test_pipeline_and_serialize_round_trip_with_keras_configs():
    ours = layers.Pipeline([layers.Rescaling(0.5), layers.Dense(3)], name="prep")
    reference = keras.layers.Pipeline([keras.layers.Rescaling(0.5), keras.layers.Dense(3)])
    x = torch.tensor(_normal(2, 4))
    reference(x)
    ours(x)
    ours.set_weights(reference.get_weights())
    torch.testing.assert_close(ours(x), reference(x).detach())
    # Keras's serialized Pipeline (and ours) deserialize into a lamina Pipeline.
    for entry in (keras.layers.serialize(reference), layers.serialize(ours)):
        clone = layers.deserialize(entry)
        assert isinstance(clone, layers.Pipeline)
        assert [type(layer).__name__ for layer in clone.layers] == ["Rescaling", "Dense"]
    assert layers.serialize(ours)["class_name"] == "Pipeline"
    dense = layers.deserialize(keras.layers.serialize(keras.layers.Dense(5, activation="relu")))
    assert (dense.units, dense.get_config()["activation"]) == (5, "relu")


def test_wrapper_subclass_builds_and_saves_its_layer():
    class Twice(layers.Wrapper):
        def call(self, inputs):
            return 2 * self.layer(inputs)

    layer = Twice(layers.Dense(2, kernel_initializer="ones"))
    assert layer(torch.ones(1, 3)).tolist() == [[6.0, 6.0]]
    clone = Twice.from_config(layer.get_config())
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 2
    with pytest.raises(ValueError, match="a lamina layer to wrap"):
        Twice(torch.nn.Linear(2, 2))


class _MaskCanary:
    """A layer that records the `training` and `mask` it is called with, and masks its output
    with its input."""

    def __init__(self):
        super().__init__()
        self.seen_training, self.seen_mask = None, False

    def call(self, x, training=False, mask=None):
        self.seen_training, self.seen_mask = training, mask is not None
        return x

    def compute_mask(self, x, mask=None):
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def _pipeline_passes(framework):
    canary = type("Canary", (_MaskCanary, framework.layers.Layer), {})
    pipeline = framework.layers.Pipeline([canary(), canary()])
    with warnings.catch_warnings():  # Keras: the Pipeline itself does not support masking
        warnings.simplefilter("ignore", UserWarning)
        pipeline(np.array([0]), training=True, mask=np.array([0]))
    return [(layer.seen_training, layer.seen_mask) for layer in pipeline.layers]


@pytest.mark.parity
def test_pipeline_passes_masks_along_as_keras():
    """The mask given to a Pipeline reaches its first layer, and each layer's output mask the
    next (lamina's Pipeline took no mask)."""
    assert _pipeline_passes(lamina) == _pipeline_passes(keras) == [(True, True), (True, True)]


@pytest.mark.parametrize(
    ("value_shape", "key_shape"),
    [((2, 2, 8), (2, 1, 7)), ((2, 3, 8), (2, 3, 5)), ((2, 3, 8), None)],
    ids=["steps-differ", "last-axis-differs", "no-key"],
)
def test_group_query_attention_output_shape_checks_key_as_keras(value_shape, key_shape):
    """compute_output_shape refuses a key whose axes (but the last) differ from the value's, as
    Keras does; lamina returned the query's shape whatever the key."""
    config = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 4}

    def outcome(library):
        layer = library.layers.GroupQueryAttention(**config)
        try:
            return tuple(layer.compute_output_shape((2, 4, 8), value_shape, key_shape))
        except ValueError:
            return "ValueError"

    assert outcome(lamina) == outcome(keras)
