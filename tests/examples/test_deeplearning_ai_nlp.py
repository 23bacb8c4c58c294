"""Gaps DeepLearning.AI's "TensorFlow Developer" course 3 (natural language processing) found in
lamina, each reproduced in a few lines of our own. The course notebooks themselves are not copied
here; each test's comment names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np
import torch

import lamina
from lamina import layers
from lamina.data import Dataset
from lamina.preprocessing.sequence import pad_sequences
from tests.parity.reference import keras

# Week 1: `TextVectorization(ragged=True)` then `pad_sequences(rows.numpy())` pre-pads the
# headlines, as a tf.RaggedTensor's `.numpy()` is an object array of rows without padding.


def test_ragged_text_vectorization_rows_pre_pad_as_tensorflow_does():
    layer = layers.TextVectorization(ragged=True)
    layer.adapt(["i love my dog", "do you think my dog is amazing"])
    rows = layer(["i love my dog", "my dog"])
    assert rows[1].tolist() == [2, 3]
    assert [row.tolist() for row in rows] == [[8, 6, 2, 3], [2, 3]]
    padded = lamina.utils.pad_sequences(rows.numpy())
    np.testing.assert_array_equal(padded, [[8, 6, 2, 3], [0, 0, 2, 3]])
    # A model still reads the rows padded with 0 at the end (the tensor torch ops see).
    embedded = layers.Embedding(10, 2, mask_zero=True)(rows)
    assert tuple(embedded.shape) == (2, 4, 2)


def test_ragged_text_vectorization_keeps_rows_whole_and_needs_int_mode():
    # TensorFlow cuts no ragged row at output_sequence_length; only 'int' rows can be ragged.
    layer = layers.TextVectorization(ragged=True, output_sequence_length=2)
    layer.adapt(["a b c"])
    assert layer(["a b c", "a"]).to_list() == [[4, 3, 2], [4]]
    try:
        layers.TextVectorization(ragged=True, output_mode="multi_hot")
    except ValueError as error:
        assert "ragged=True only with output_mode='int'" in str(error)
    else:
        raise AssertionError("ragged=True with output_mode='multi_hot' was accepted")


# Week 2 (IMDB): reviews mapped through the layer one by one, gathered with
# `ragged_batch(cardinality()).get_single_element()`, then pre-padded by `pad_sequences`.


def test_dataset_ragged_batch_gathers_rows_of_different_lengths():
    rows = Dataset.from_tensor_slices(np.array(["a b c", "b", "c a"]))
    layer = layers.TextVectorization()
    layer.adapt(["a b c", "a b", "a"])
    sequences = rows.map(layer).ragged_batch(batch_size=rows.cardinality())
    batch = sequences.get_single_element()
    assert batch.to_list() == [[2, 3, 4], [3], [4, 2]]
    padded = lamina.utils.pad_sequences(batch.numpy(), maxlen=2, truncating="post")
    np.testing.assert_array_equal(padded, [[2, 3], [0, 3], [4, 2]])


def test_ragged_batch_stacks_equal_components_and_refuses_ragged_matrices():
    pairs = Dataset.from_tensor_slices((np.arange(3), np.array([1, 0, 1])))
    features, labels = next(iter(pairs.ragged_batch(3)))
    assert type(features) is torch.Tensor and labels.tolist() == [1, 0, 1]
    matrices = Dataset.from_generator(lambda: iter([np.zeros((1, 2)), np.zeros((2, 2))]))
    try:
        next(iter(matrices.ragged_batch(2)))
    except ValueError as error:
        assert "padded_batch() pads any rank" in str(error)
    else:
        raise AssertionError("ragged_batch stacked 2-D elements of different shapes")


# Week 2 (sarcasm): the GlobalAveragePooling1D demo averages a NumPy integer array.


def test_global_average_pooling_of_integers_is_float32_as_keras():
    sample = np.array([[[10, 2], [1, 3], [1, 1]]])
    ours = layers.GlobalAveragePooling1D()(sample)
    theirs = keras.layers.GlobalAveragePooling1D()(sample)
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs.cpu()), rtol=1e-6)


# Week 1-2, copies before the TextVectorization rewrite: `from tensorflow.keras.preprocessing.text
# import Tokenizer`. Keras 3 removed the module; lamina's import error names the replacement.


def test_keras_2_tokenizer_import_names_text_vectorization():
    for statement in (
        "from lamina.preprocessing.text import Tokenizer",
        "lamina.preprocessing.text.Tokenizer(num_words=100, oov_token='<OOV>')",
    ):
        try:
            exec(statement, {"lamina": lamina})
        except ImportError as error:
            assert "Keras 3 removed" in str(error)
            assert "keras.layers.TextVectorization" in str(error)
        else:
            raise AssertionError(f"{statement!r} did not raise")
    assert not hasattr(lamina.preprocessing.text, "texts_to_sequences")
    # pad_sequences stayed in Keras 3, under both of its names.
    assert pad_sequences is lamina.utils.pad_sequences
    assert hasattr(keras.preprocessing.sequence, "pad_sequences")


# Week 3 assignment: tweets from a pandas text column (an object array) in
# `Dataset.from_tensor_slices((sentences, labels))`, read back as `text.numpy().decode('utf-8')`.


def test_text_of_an_object_array_reads_back_as_tensorflow_text():
    sentences = np.array(["so happy today", "awful day"], dtype=object)
    rows = list(Dataset.from_tensor_slices((sentences, np.array([1, 0]))).take(2))
    assert rows[1][0].numpy().decode("utf-8") == "awful day"
    assert [int(label.numpy()) for _, label in rows] == [1, 0]
    # A batch of text stays a NumPy str array.
    batch = next(iter(Dataset.from_tensor_slices(sentences).batch(2)))
    assert batch.numpy().tolist() == ["so happy today", "awful day"]
