"""Embedding, Masking, Bidirectional, TimeDistributed, attention and TextVectorization: shapes,
masks, Keras 2 habits (input_length) and pinned error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import Dataset
from tests.parity import reference

# --------------------------------------------------------------------------------------------------
# Embedding and Masking


def test_embedding_input_length_builds_sequential_at_definition():
    model = lamina.Sequential(
        [
            layers.Embedding(input_dim=10000, output_dim=128, input_length=200),
            layers.LSTM(8),
        ]
    )
    assert model.layers[0].output_shape == (None, 200, 128)
    assert model.count_params() == 10000 * 128 + 4 * (128 * 8 + 8 * 8 + 8)
    ids = np.random.default_rng(0).integers(0, 10000, size=(2, 200))
    assert tuple(model.predict(ids, verbose=0).shape) == (2, 8)


def test_embedding_looks_up_rows_and_accepts_initial_weights():
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    layer = layers.Embedding(4, 3, weights=[matrix])
    out = layer(torch.tensor([[3, 0]]))
    assert out.tolist() == [[[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]]
    assert getattr(out, "_keras_mask", None) is None


def test_embedding_with_initial_weights_is_built_at_once_as_in_keras():
    layer = layers.Embedding(3, 4, weights=np.ones((3, 4)))  # a bare matrix too, as Keras
    assert layer.built and layer.embeddings.numpy().tolist() == np.ones((3, 4)).tolist()


def test_embedding_supports_masking_when_it_masks_zero_as_in_keras():
    assert layers.Embedding(4, 3, mask_zero=True).supports_masking
    assert not layers.Embedding(4, 3).supports_masking


def test_embedding_default_initializer_is_uniform_005():
    layer = layers.Embedding(1000, 8)
    layer(torch.tensor([[1]]))
    weights = layer.get_weights()[0]
    assert np.abs(weights).max() <= 0.05 and weights.std() > 0.02


@pytest.mark.parametrize("bad_id,shown", [(10, "id 10"), (-1, "id -1")])
def test_embedding_rejects_ids_outside_the_vocabulary(bad_id, shown):
    with pytest.raises(
        ValueError,
        match=(
            rf"Layer 'embedding' \(Embedding\) expects token ids in \[0, 10\) \(input_dim=10\); "
            rf"received {shown} .*Hint: set input_dim to the vocabulary size \+ 1"
        ),
    ):
        layers.Embedding(10, 2)(torch.tensor([[1, bad_id]]))


def test_masking_zeroes_and_masks_padded_steps():
    x = torch.tensor([[[1.0, 2.0], [-1.0, -1.0], [3.0, -1.0]]])
    out = layers.Masking(mask_value=-1.0)(x)
    assert out._keras_mask.tolist() == [[True, False, True]]
    assert out[0, 1].tolist() == [0.0, 0.0]


def test_masking_feeds_lstm_like_dropping_the_steps():
    lstm = layers.LSTM(3)
    x = torch.randn(1, 4, 2)
    padded = torch.cat([x, torch.zeros(1, 2, 2)], dim=1)
    torch.testing.assert_close(lstm(layers.Masking()(padded)), lstm(x), atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# Wrappers


@pytest.mark.parametrize("merge_mode,width", [("concat", 8), ("sum", 4), ("ave", 4), ("mul", 4)])
def test_bidirectional_shapes_and_weights(merge_mode, width):
    layer = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=merge_mode)
    assert tuple(layer(torch.randn(2, 5, 3)).shape) == (2, 5, width)
    assert layer.forward_layer.name == "forward_lstm"
    assert layer.backward_layer.name == "backward_lstm" and layer.backward_layer.go_backwards
    assert len(layer.get_weights()) == 6


def test_bidirectional_with_input_shape_builds_sequential():
    model = lamina.Sequential(
        [
            layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(10, 5)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(1),
        ]
    )
    assert model.output_shape == (None, 1)
    assert (
        model.count_params()
        == 2 * 4 * (5 * 64 + 64 * 64 + 64) + 2 * 4 * (128 * 32 + 32 * 32 + 32) + 65
    )


def test_bidirectional_return_state_lists_both_directions():
    outputs = layers.Bidirectional(layers.GRU(3, return_state=True))(torch.randn(2, 4, 2))
    assert [tuple(o.shape) for o in outputs] == [(2, 6), (2, 3), (2, 3)]


def test_bidirectional_config_round_trip():
    layer = layers.Bidirectional(layers.GRU(3), merge_mode="sum")
    x = torch.randn(2, 4, 2)
    y = layer(x)
    clone = layers.Bidirectional.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x), y)


def test_bidirectional_errors():
    with pytest.raises(ValueError, match=r"expects a recurrent layer .*received Dense"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match=r"expects merge_mode in .*received merge_mode='max'"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match=r"backward_layer to run the other way"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))


def test_time_distributed_applies_layer_per_step():
    dense = layers.Dense(2)
    wrapper = layers.TimeDistributed(dense)
    x = torch.randn(3, 4, 5)
    out = wrapper(x)
    assert tuple(out.shape) == (3, 4, 2)
    torch.testing.assert_close(out[:, 1], dense(x[:, 1]))


def test_time_distributed_needs_a_time_axis():
    with pytest.raises(
        ValueError, match=r"expects input of rank >= 3 \(batch, timesteps, \.\.\.\)"
    ):
        layers.TimeDistributed(layers.Dense(2))(torch.randn(3, 4))


# --------------------------------------------------------------------------------------------------
# Attention


def test_attention_weights_sum_to_one_over_unmasked_keys():
    query, value = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    value._keras_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    _, weights = layers.Attention()([query, value], return_attention_scores=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    assert weights[0, :, 3:].abs().max() < 1e-6


def test_attention_needs_query_and_value():
    with pytest.raises(
        ValueError,
        match=r"expects inputs as a list of length 2 or 3: \[query, value\] or \[query, value, "
        r"key\]; received a single tensor of shape \(2, 3, 4\)",
    ):
        layers.Attention()(torch.randn(2, 3, 4))


def test_multi_head_attention_sdpa_and_explicit_paths_agree_with_causal_mask():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = torch.randn(2, 6, 4)
    fused = layer(x, x, use_causal_mask=True)
    explicit, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)
    assert tuple(scores.shape) == (2, 2, 6, 6)
    assert scores[:, :, 0, 1:].abs().max() == 0


def test_multi_head_attention_in_functional_model_with_cross_attention_shapes():
    query = layers.Input(shape=(7, 8))
    value = layers.Input(shape=(5, 3))
    out = layers.MultiHeadAttention(num_heads=2, key_dim=4, output_shape=6)(query, value)
    assert out.shape == (None, 7, 6)
    model = lamina.Model([query, value], out)
    assert tuple(model([torch.randn(2, 7, 8), torch.randn(2, 5, 3)]).shape) == (2, 7, 6)


def _names_after_attention(m):
    tokens = m.Input(shape=(4, 8))
    attended = m.layers.MultiHeadAttention(num_heads=2, key_dim=4)(tokens, tokens)
    x = m.layers.Dropout(0.1)(attended)
    x = m.layers.Softmax()(x)
    return [layer.name for layer in m.Model(tokens, x).layers]


@pytest.mark.parity
def test_multi_head_attention_takes_the_auto_names_of_keras_inner_layers():
    ours = _names_after_attention(lamina)
    assert ours[-2:] == ["dropout_1", "softmax_1"]
    assert ours == reference.keras_run(_names_after_attention)


def test_multi_head_attention_over_two_inner_axes():
    layer = layers.MultiHeadAttention(num_heads=1, key_dim=2)
    x = torch.randn(2, 3, 4, 5)
    assert tuple(layer(x, x).shape) == (2, 3, 4, 5)
    over_one = layers.MultiHeadAttention(num_heads=1, key_dim=2, attention_axes=(2,))
    output, scores = over_one(x, x, return_attention_scores=True)
    # axis 1 acts as a batch axis: scores (batch, 3, heads, 4 queries, 4 keys), as Keras's
    assert (tuple(output.shape), tuple(scores.shape)) == ((2, 3, 4, 5), (2, 3, 1, 4, 4))
    # each row of axis 1 attends on its own: changing one row leaves the others' outputs
    changed = x.clone()
    changed[:, 0] += 1.0
    torch.testing.assert_close(over_one(changed, changed)[:, 1:], over_one(x, x)[:, 1:])


@pytest.mark.parametrize("axes", [0, 3, (1, 1), ()])
def test_multi_head_attention_refuses_axes_it_cannot_attend_over(axes):
    x = torch.randn(2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"attention_axes among the inner axes \(1, 2\)"):
        layers.MultiHeadAttention(num_heads=1, key_dim=2, attention_axes=axes)(x, x)


def test_multi_head_attention_names_a_mask_that_does_not_fit_the_axes():
    x = torch.randn(2, 3, 4, 5)
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=2)
    with pytest.raises(ValueError, match=r"broadcastable to \(2, 3, 2, 4, 4\)"):
        layer(x, x, attention_mask=torch.ones(2, 3, 4, 5, dtype=torch.bool))


def test_multi_head_attention_output_shape_of_several_axes_round_trips():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, output_shape=(2, 5))
    x = torch.randn(2, 4, 6)
    assert tuple(layer(x, x).shape) == (2, 4, 2, 5)
    assert layer.compute_output_shape((2, 4, 6)) == (2, 4, 2, 5)
    clone = layers.MultiHeadAttention.from_config(layer.get_config())
    clone(x, x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x, x), layer(x, x))
    with pytest.raises(ValueError, match="output_shape as a positive int"):
        layers.MultiHeadAttention(num_heads=2, key_dim=3, output_shape=(2, 0))
    with pytest.raises(ValueError, match="output projection onto one axis to quantize"):
        layer.quantize("int8")


PROJECTIONS = ("query_dense", "key_dense", "value_dense", "output_dense")


def _described_projections(m, weights, use_bias):
    layer = m.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, use_bias=use_bias)
    layer(np.zeros((1, 5, 6), "float32"), np.zeros((1, 4, 6), "float32"))
    if weights is not None:
        layer.set_weights(weights)
    return {
        name: (
            projection.name,
            projection.equation,
            projection.bias_axes,
            projection.built,
            [np.asarray(m.ops.convert_to_numpy(w)) for w in projection.weights],
            None if projection.bias is None else tuple(projection.bias.shape),
        )
        for name in PROJECTIONS
        for projection in [getattr(layer, name)]
    }, layer


@pytest.mark.parity
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
def test_multi_head_attention_projection_sub_layers_as_keras(use_bias):
    theirs, keras_layer = _described_projections(reference.keras, None, use_bias)
    ours, layer = _described_projections(lamina, keras_layer.get_weights(), use_bias)
    for name in PROJECTIONS:
        *described, weights, bias_shape = ours[name]
        *expected, expected_weights, expected_bias_shape = theirs[name]
        assert described == expected and bias_shape == expected_bias_shape
        assert [w.shape for w in weights] == [w.shape for w in expected_weights]
        for mine, reference_weight in zip(weights, expected_weights, strict=True):
            np.testing.assert_array_equal(mine, reference_weight)
    # The same objects as the layer's own weights: a write through one is a write to the layer.
    assert layer.query_dense.kernel is layer.query_kernel
    ours_paths = [w.path.split("/", 1)[1] for w in layer.output_dense.weights]
    assert ours_paths == [w.path.split("/", 1)[1] for w in keras_layer.output_dense.weights]


def test_multi_head_attention_projection_writes_through_to_the_layer():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    assert not hasattr(layer, "query_dense")  # Keras makes its sub-layers in build()
    x = torch.randn(1, 4, 5)
    layer(x, x)
    layer.query_dense.kernel.assign(np.zeros((5, 2, 3), "float32"))
    assert not layer.query_kernel.any()
    kernel, bias = layer.output_dense.get_weights()
    layer.output_dense.set_weights([kernel * 2, bias + 1])
    np.testing.assert_allclose(layer.output_kernel.detach().numpy(), kernel * 2)
    assert layer.get_weights()[-1].tolist() == (bias + 1).tolist()
    with pytest.raises(ValueError, match=r"Projection 'key' of .* expects a list of 2 arrays"):
        layer.key_dense.set_weights([kernel])
    assert layer.value_dense.trainable
    with pytest.raises(AttributeError, match=r"set `trainable` on the MultiHeadAttention layer"):
        layer.value_dense.trainable = False  # not silently ignored


# --------------------------------------------------------------------------------------------------
# TextVectorization


def test_text_vectorization_int_mode_vocabulary_and_padding():
    layer = layers.TextVectorization(max_tokens=5, output_sequence_length=4)
    layer.adapt(["The cat sat.", "the cat", "a dog"])
    # '' and '[UNK]' count towards max_tokens; ties by reverse lexicographic order (Keras).
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "cat", "sat"]
    assert layer(["the dog sat on the cat"]).tolist() == [[2, 1, 4, 1]]
    assert layer(np.array([["Cat!"]])).tolist() == [[3, 0, 0, 0]]


def test_text_vectorization_ragged_rows_are_padded_for_torch_and_unpadded_when_read():
    # tf.keras gives a RaggedTensor: rows read one by one (or `.numpy()`) have no padding; the
    # whole feeds torch as rows padded with 0 (Hands-On ML's chapter 13 asks for ragged rows).
    layer = layers.TextVectorization(ragged=True)
    layer.adapt(["a b", "a"])
    rows = layer(["a b", "b"])
    np.testing.assert_array_equal(rows.to_tensor().numpy(), [[2, 3], [3, 0]])
    assert rows.to_list() == [[2, 3], [3]] and rows[1].tolist() == [3]
    assert [row.tolist() for row in rows.numpy()] == [[2, 3], [3]]
    assert type(rows + 1) is torch.Tensor


def test_text_vectorization_of_one_text_has_no_batch_axis_as_in_keras():
    # tf.data recipes map the layer over unbatched rows: each row is one (0-d) string.
    layer = layers.TextVectorization(max_tokens=5, output_sequence_length=4)
    layer.adapt(["The cat sat.", "the cat", "a dog"])
    assert layer(np.array("the dog sat")).tolist() == [2, 1, 4, 0]
    assert layer("Cat!").tolist() == [3, 0, 0, 0]
    rows = Dataset.from_tensor_slices((np.array(["the cat", "sat"]), np.array([1, 0])))
    ids, labels = next(iter(rows.map(lambda text, label: (layer(text), label)).batch(2)))
    assert ids.tolist() == [[2, 3, 0, 0], [4, 0, 0, 0]] and labels.tolist() == [1, 0]
    counts = layers.TextVectorization(output_mode="count")
    counts.adapt(["a a b"])
    assert counts("a a").tolist() == [0.0, 2.0, 0.0]


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("multi_hot", [[1.0, 1.0, 1.0, 0.0]]),
        ("count", [[1.0, 2.0, 1.0, 0.0]]),
    ],
)
def test_text_vectorization_bag_of_words_modes(mode, expected):
    layer = layers.TextVectorization(output_mode=mode)
    layer.adapt(["a a b", "a c", "c"])
    assert layer.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    assert layer(["a a c zebra"]).tolist() == expected


def test_text_vectorization_tf_idf_uses_keras_formula():
    layer = layers.TextVectorization(output_mode="tf_idf")
    layer.adapt(["a b", "a", "a"])
    idf_a, idf_b = np.log(1 + 3 / (1 + 3)), np.log(1 + 3 / (1 + 1))
    out = layer(["a a b"])
    np.testing.assert_allclose(out.cpu().numpy()[0], [0.0, 2 * idf_a, idf_b], rtol=1e-6)


def test_text_vectorization_set_vocabulary_and_errors():
    layer = layers.TextVectorization()
    with pytest.raises(
        ValueError,
        match=r"expects a vocabulary; received none \(the layer was "
        r"not adapted\)",
    ):
        layer(["text"])
    layer.set_vocabulary(["x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]
    assert layer(["y x z"]).tolist() == [[3, 2, 1]]
    with pytest.raises(ValueError, match=r"expects `output_mode` in"):
        layers.TextVectorization(output_mode="one_hot")


@pytest.mark.parametrize(
    "config,shape,dtype",
    [
        ({}, (None, None), "int64"),
        ({"output_sequence_length": 3}, (None, 3), "int64"),
        ({"output_mode": "multi_hot"}, (None, 4), "float32"),
    ],
)
def test_text_vectorization_on_a_string_input_joins_the_graph(config, shape, dtype):
    layer = layers.TextVectorization(**config)
    layer.adapt(["a a b", "a c", "c"])
    text = lamina.Input(shape=(1,), dtype="string")
    encoded = layer(text)
    assert (encoded.shape, encoded.dtype) == (shape, dtype)
    strings = np.array([["a b zebra"], ["c"]])
    out = lamina.Model(text, encoded)(strings)
    assert out.tolist() == layer(strings).tolist()


def test_text_vectorization_int_ids_feed_an_embedding_in_one_model():
    vectorizer = layers.TextVectorization(output_sequence_length=5)
    vectorizer.adapt(["the cat sat", "the dog"])
    text = lamina.Input(shape=(1,), dtype="string")
    vectors = layers.Embedding(vectorizer.vocabulary_size(), 2)(vectorizer(text))
    pooled = layers.GlobalAveragePooling1D()(vectors)
    model = lamina.Model(text, pooled)
    assert tuple(model(np.array([["the cat"], ["a bird"]])).shape) == (2, 2)


def test_a_sequential_led_by_text_vectorization_builds_on_its_first_strings():
    vectorizer = layers.TextVectorization(output_mode="multi_hot")
    vectorizer.adapt(["the cat", "the dog"])
    classifier = lamina.Sequential([layers.Dense(2)])
    classifier.build((None, vectorizer.vocabulary_size()))
    end_to_end = lamina.Sequential([vectorizer, classifier])
    texts = np.array(["the cat", "a dog"])
    predicted = end_to_end.predict(texts, verbose=0)
    assert end_to_end.input.dtype == "string"
    np.testing.assert_allclose(predicted, classifier.predict(vectorizer(texts), verbose=0))


def test_text_vectorization_rejects_a_symbolic_input_of_many_strings_per_sample():
    layer = layers.TextVectorization(vocabulary=["x"])
    expected = r"strings of shape \(batch,\) or \(batch, 1\).*\(None, 3\)"
    with pytest.raises(ValueError, match=expected):
        layer(lamina.Input(shape=(3,), dtype="string"))


def test_text_vectorization_custom_standardize_and_split_see_the_whole_batch():
    seen = []

    def standardize(texts):  # array code, as a Keras standardize is written
        seen.append(texts.shape)
        return np.char.replace(np.char.lower(texts), "<br />", " ")

    def split(texts):
        return [text.split(" ") for text in texts]

    layer = layers.TextVectorization(standardize=standardize, split=split)
    layer.adapt(np.array(["A<br />b", "b c", "B"]))
    assert seen == [(3,)]
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    assert layer(np.array([["C<br />A"], ["b"]])).tolist() == [[3, 4], [2, 0]]


def test_text_vectorization_custom_standardize_must_keep_the_batch_size():
    layer = layers.TextVectorization(standardize=lambda texts: texts[:1])
    with pytest.raises(ValueError, match=r"`standardize` to return 2 strings.*received 1"):
        layer.adapt(["a", "b"])


# A model of positions (a table looked up at arange(length)) tiled over the batch by a repeats
# tensor made from the input's shape, called as a whole on a KerasTensor: the tile needs the
# tensor's values, so the model's shape is probed on real zeros, with a probe length beyond the
# position table. Keras traces a nested model layer by layer and has no such probe; lamina probes
# it whole, and the lookup must not reject the probe's stand-in ids.
POSITION_TABLE = np.random.default_rng(5).normal(size=(6, 3)).astype("float32")


def _tiled_positions_model(m):
    class Positions(m.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.table = m.layers.Embedding(6, 3)

        def call(self, ids):
            return self.table(m.ops.arange(m.ops.shape(ids)[1]))[None, :, :]

    class OverBatch(m.layers.Layer):
        def call(self, rows, ids):
            repeats = m.ops.concatenate(
                [m.ops.expand_dims(m.ops.shape(ids)[0], -1), m.ops.convert_to_tensor([1, 1])],
                axis=0,
            )
            return m.ops.tile(rows, repeats)

    ids = m.Input(shape=(None,), dtype="int32")
    inner = m.Model(ids, OverBatch()(Positions()(ids), ids))
    outer_ids = m.Input(shape=(None,), dtype="int32")
    model = m.Model(outer_ids, inner(outer_ids))
    model.set_weights([POSITION_TABLE])
    return tuple(model.output.shape), model.predict(np.zeros((2, 4), "int32"), verbose=0)


def test_embedding_of_positions_from_an_unknown_length_joins_the_graph():
    shape, out = _tiled_positions_model(lamina)
    assert shape == (None, None, 3)
    np.testing.assert_allclose(out[1], POSITION_TABLE[:4], rtol=1e-6)


@pytest.mark.parity
def test_embedding_of_positions_from_an_unknown_length_matches_keras():
    ours = _tiled_positions_model(lamina)
    theirs = reference.keras_run(_tiled_positions_model)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)


def test_embedding_still_rejects_out_of_range_ids_in_real_data_after_a_probe():
    inputs = lamina.Input(shape=(None,), dtype="int32")
    model = lamina.Model(inputs, lamina.layers.Embedding(6, 3)(inputs))
    with pytest.raises(ValueError, match="token ids in"):
        model.predict(np.full((1, 2), 7, "int32"), verbose=0)


class _MaskScaled(layers.Layer):
    """Each sample times its mask: shows which mask a wrapped layer received."""

    supports_masking = True

    def call(self, inputs, mask=None):
        return inputs if mask is None else inputs * mask.to(inputs.dtype).unsqueeze(-1)


def test_time_distributed_hands_each_step_its_mask_as_keras():
    sequence = torch.arange(12, dtype=torch.float32).reshape(3, 2, 2)
    mask = torch.tensor([[False, True], [True, False], [True, True]])
    out = layers.TimeDistributed(_MaskScaled())(sequence, mask=mask)
    assert out.tolist() == (sequence * mask.unsqueeze(-1)).tolist()
    with pytest.raises(ValueError, match=r"first two axes \(batch, timesteps\)"):
        layers.TimeDistributed(_MaskScaled())(sequence, mask=mask[:2])


def test_multi_head_attention_compute_output_shape_takes_keras_arguments():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4, output_shape=8)
    assert layer.compute_output_shape((2, 3, 5), (2, 7, 6), key_shape=(2, 7, 9)) == (2, 3, 8)
    assert layers.MultiHeadAttention(2, 4).compute_output_shape((None, 3, 5), (None, 7, 6)) == (
        None,
        3,
        5,
    )
    with pytest.raises(ValueError, match="key and value shapes equal but for the last axis"):
        layer.compute_output_shape((2, 3, 5), (2, 7, 6), key_shape=(2, 8, 6))


@pytest.mark.parametrize("mask_shape", [(5, 5), (2, 5, 5), (2, 2, 5, 5)])
def test_multi_head_attention_masks_of_keras_shapes_match_keras(mask_shape):
    x = torch.rand(2, 5, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.tril(torch.ones(5, 5)).expand(mask_shape).clone()
    if len(mask_shape) == 4:
        mask[:, 1, :, 0] = 0  # the second head also ignores the first key
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    theirs = reference.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    ours(x, x), theirs(x, x)
    theirs.set_weights(ours.get_weights())
    for scores in (False, True):
        got = ours(x, x, attention_mask=mask, return_attention_scores=scores)
        want = theirs(x, x, attention_mask=mask, return_attention_scores=scores)
        got, want = (got[0], want[0]) if scores else (got, want)
        torch.testing.assert_close(got, want.detach(), atol=1e-5, rtol=1e-5)


def test_masking_compute_mask_takes_an_array_as_keras():
    x = np.array([[[0.0, 0.0], [1.0, 2.0]], [[2.0, 2.0], [0.0, 0.0]]])
    mask = layers.Masking(mask_value=0.0).compute_mask(x)
    assert mask.tolist() == [[False, True], [True, False]]


def test_text_vectorization_adapts_on_steps_of_an_endless_generator_as_keras():
    def texts():
        while True:
            yield ["hello world", "foo bar"]

    layer = layers.TextVectorization()
    layer.adapt(texts(), steps=3)
    assert sorted(layer.get_vocabulary()[2:]) == ["bar", "foo", "hello", "world"]
