"""Gaps TensorFlow's text tutorials (tensorflow.org/tutorials/text, load_data, video, distribute)
found in lamina, each reproduced in a few lines of our own, grouped by tutorial. The tutorials
themselves are not copied here; see each test's docstring for the workflow it stands for.
"""

from __future__ import annotations

import warnings

import numpy as np

import lamina
from lamina import layers
from tests.parity.reference import keras

# text/transformer: a residual `x + attention(x, x)` inside a subclassed layer. Keras's
# MultiHeadAttention takes the masks off the tensors it reads, so the layers after it see no mask
# and do not warn that they drop one.


def _mask_facts(api):
    embedding = api.layers.Embedding(10, 4, mask_zero=True)
    attention = api.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    query = embedding(np.array([[1, 2, 0], [3, 0, 0]]))
    context = embedding(np.array([[1, 2, 0, 0], [3, 1, 0, 0]]))
    output = attention(query=query, value=context, key=context)
    return (
        getattr(query, "_keras_mask", None) is None,
        getattr(context, "_keras_mask", None) is None,
        np.asarray(output._keras_mask.cpu()).tolist(),
    )


def test_multi_head_attention_takes_the_masks_off_its_inputs_as_keras():
    ours = _mask_facts(lamina)
    assert ours == _mask_facts(keras)
    assert ours == (True, True, [[True, True, False], [True, False, False]])


def test_a_layer_after_self_attention_gives_no_dropped_mask_warning():
    class Residual(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.attention = layers.MultiHeadAttention(num_heads=2, key_dim=4)
            self.feed_forward = lamina.Sequential([layers.Dense(4)])  # supports no masking

        def call(self, x):
            return self.feed_forward(x + self.attention(query=x, value=x, key=x))

    x = layers.Embedding(10, 4, mask_zero=True)(np.array([[1, 2, 0], [3, 0, 0]]))
    block = Residual()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the block itself drops the mask, as in Keras
        block(x)
    x = layers.Embedding(10, 4, mask_zero=True)(np.array([[1, 2, 0], [3, 0, 0]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block.attention(query=x, value=x, key=x)
        block.feed_forward(x)
    assert [str(w.message) for w in caught] == []


def _pooled_beside_attention(api, data):
    inputs = api.Input((4,), dtype="int32")
    embedding = api.layers.Embedding(10, 2, mask_zero=True)
    x = embedding(inputs)
    attended = api.layers.MultiHeadAttention(num_heads=1, key_dim=2)(x, x)
    pooled = api.layers.GlobalAveragePooling1D()(x)  # runs after the attention
    model = api.Model(inputs, [pooled, api.layers.GlobalAveragePooling1D()(attended)])
    embedding.set_weights([np.arange(20, dtype="float32").reshape(10, 2)])
    return model, np.asarray(model.predict(data, verbose=0)[0])


def test_a_graph_gives_a_layer_beside_attention_the_mask_as_keras():
    data = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    model, ours = _pooled_beside_attention(lamina, data)
    _, theirs = _pooled_beside_attention(keras, data)
    np.testing.assert_allclose(ours, [[3.0, 4.0], [8.0, 9.0]])  # the mean of unmasked steps
    np.testing.assert_allclose(ours, theirs)
    np.testing.assert_allclose(model(data)[0].detach().numpy(), theirs)


# text/text_generation: a subclassed model written `super().__init__(self)` (tf.keras took it),
# whose call starts its GRU from `self.gru.get_initial_state(x)` (tf.keras's inputs argument)
# and generates one step at a time from the states it returned.


class _CharModel(lamina.Model):
    def __init__(self, vocab_size, units):
        super().__init__(self)
        self.embedding = layers.Embedding(vocab_size, 8)
        self.gru = layers.GRU(units, return_sequences=True, return_state=True)
        self.dense = layers.Dense(vocab_size)

    def call(self, inputs, states=None, return_state=False, training=False):
        x = self.embedding(inputs, training=training)
        if states is None:
            states = self.gru.get_initial_state(x)
        x, states = self.gru(x, initial_state=states, training=training)
        x = self.dense(x, training=training)
        return (x, states) if return_state else x


def test_a_model_passed_to_its_own_init_is_a_plain_subclassed_model():
    model = _CharModel(vocab_size=11, units=6)
    assert model._graph is None and len(model.layers) == 3
    assert tuple(model(np.ones((3, 5), "int64")).shape) == (3, 5, 11)


def test_rnn_initial_state_from_the_inputs_is_zeros_of_their_batch():
    gru = layers.GRU(6)
    states = gru.get_initial_state(lamina.ops.ones((4, 7, 3)))
    assert [tuple(s.shape) for s in states] == [(4, 6)] and float(states[0].abs().sum()) == 0
    assert [tuple(s.shape) for s in gru.get_initial_state(4)] == [(4, 6)]


def test_one_step_generation_carries_the_states_as_one_call_on_the_whole_sequence():
    model = _CharModel(vocab_size=11, units=6)
    ids = np.array([[1, 4, 2, 9, 3]])
    whole = model(ids)
    states, steps = None, []
    for t in range(ids.shape[1]):
        logits, states = model(ids[:, t : t + 1], states=states, return_state=True)
        steps.append(logits)
    np.testing.assert_allclose(
        lamina.ops.concatenate(steps, axis=1).detach().numpy(), whole.detach().numpy(), atol=1e-5
    )


# text/nmt_with_attention: `translate(texts)` reads the batch size of its text input with
# `ops.shape(texts)[0]` before vectorising it; the Decoder's `get_initial_state` calls the GRU's
# with the embedded start tokens (tf.keras's inputs argument, as in text_generation above).


def test_ops_shape_reads_the_shape_of_text_as_keras():
    sentences = np.array(["el gato come.", "la casa roja.", "un perro."])
    assert lamina.ops.shape(sentences) == tuple(keras.ops.shape(sentences)) == (3,)
    assert lamina.ops.shape(["el gato come."]) == (1,)
    assert lamina.ops.shape(np.array([["a", "b"]])) == (1, 2)
    assert lamina.ops.shape([[1, 2, 3]]) == (1, 3)


# text/warmstart_embedding_matrix: tf.keras.utils.warmstart_embedding_matrix (gone from Keras 3)
# carries a trained Embedding over to a re-adapted vocabulary, assigned to a new Embedding.


def test_warmstart_embedding_matrix_copies_the_rows_of_known_tokens():
    base = np.random.default_rng(0).random((4, 3)).astype("float32")
    new_vocabulary = ["", "[UNK]", "c", "new", "a"]
    matrix = lamina.utils.warmstart_embedding_matrix(
        ["", "[UNK]", "a", "c"], new_vocabulary, base, new_embeddings_initializer="zeros"
    )
    np.testing.assert_array_equal(np.asarray(matrix), base[[0, 1, 3]].tolist() + [[0] * 3, base[2]])
    embedding = layers.Embedding(len(new_vocabulary), 3)
    embedding.build(input_shape=[None])
    embedding.embeddings.assign(matrix)
    np.testing.assert_array_equal(embedding(np.array([4])).detach().numpy()[0], base[2])


def test_warmstart_embedding_matrix_takes_the_last_row_of_a_repeated_token():
    base = np.arange(8, dtype="float32").reshape(4, 2)
    matrix = lamina.utils.warmstart_embedding_matrix(["unk", "unk", "a", "b"], ["a", "unk"], base)
    assert np.asarray(matrix).tolist() == [[4.0, 5.0], [2.0, 3.0]]


# load_data/csv: a functional preprocessing head over string and number Inputs (StringLookup +
# CategoryEncoding, Normalization) is called on the same Inputs to build the trained model.


def test_a_functional_head_over_string_inputs_is_called_on_symbolic_inputs():
    inputs = {
        "sex": lamina.Input(shape=(1,), name="sex", dtype="string"),
        "fare": lamina.Input(shape=(1,), name="fare", dtype="float32"),
    }
    lookup = layers.StringLookup(vocabulary=np.array(["female", "male"]))
    one_hot = layers.CategoryEncoding(num_tokens=lookup.vocabulary_size())(lookup(inputs["sex"]))
    head = lamina.Model(inputs, layers.Concatenate()([inputs["fare"], one_hot]))
    features = head(inputs)
    assert features.shape == (None, 4) and features.dtype == "float32"
    model = lamina.Model(inputs, layers.Dense(1)(features))
    model.compile(optimizer="adam", loss="mse")
    data = {"sex": np.array(["male", "female", "male"]), "fare": np.array([7.0, 50.0, 9.0])}
    model.fit(data, np.array([0.0, 1.0, 0.0]), epochs=1, verbose=0)
    np.testing.assert_array_equal(
        np.asarray(head(data)), [[7, 0, 0, 1], [50, 0, 1, 0], [9, 0, 0, 1]]
    )


# load_data/text: TextVectorization(output_mode='binary'), tf.keras's older name of multi_hot
# that Keras still accepts, and `ops.expand_dims` on one question of a text batch.


def test_text_vectorization_binary_mode_is_multi_hot():
    texts = np.array(["how do i sort a list", "public static void main"])
    binary = layers.TextVectorization(max_tokens=20, output_mode="binary")
    multi_hot = layers.TextVectorization(max_tokens=20, output_mode="multi_hot")
    binary.adapt(texts)
    multi_hot.adapt(texts)
    assert binary.output_mode == "multi_hot" == binary.get_config()["output_mode"]
    np.testing.assert_array_equal(np.asarray(binary(texts)), np.asarray(multi_hot(texts)))


def test_expand_dims_takes_one_string_of_a_text_batch():
    batch = np.array(["how do i sort a list", "what is a jvm"])
    assert lamina.ops.expand_dims(batch[0], -1).tolist() == ["how do i sort a list"]
    assert lamina.ops.expand_dims("one question", 0).shape == (1,)
