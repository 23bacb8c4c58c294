"""The categorical preprocessing layers: CategoryEncoding, Discretization, Hashing,
HashedCrossing, StringLookup, IntegerLookup.

Keras 3 runs Hashing, HashedCrossing and the lookups (and Discretization.adapt) only through
TensorFlow, which the test environment lacks; their expected values are the ones Keras's own
documentation prints, and the hashes are checked against published FarmHash/SipHash outputs
(TensorFlow's documented examples) and against the farmhashpy bindings for long strings.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.preprocessing.fingerprints import fingerprint64, siphash24

VOCAB = ["a", "b", "c", "d"]
BATCH = np.array([["a", "c", "d"], ["d", "z", "b"]])


def test_fingerprint64_matches_farmhash_on_every_length_path():
    # tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3) == [0, 2, 2]
    assert [fingerprint64(s.encode()) % 3 for s in ["Hello", "TensorFlow", "2.x"]] == [0, 2, 2]
    # farmhashpy 0.4's fingerprint64 of "lamina" * n: the 17-32, 33-64 and > 64 byte paths
    # (lamina's implementation agreed with it on every length 0-199, 500 and 1000).
    assert fingerprint64(b"lamina" * 3) == 0xB05435EEE72A0806
    assert fingerprint64(b"lamina" * 6) == 0x7A16C59728792592
    assert fingerprint64(b"lamina" * 20) == 0xB618D1ED4A531EF4
    # tf.strings.to_hash_bucket_strong(["Hello", "TF"], 3, [1, 2]) == [2, 0]
    assert [siphash24((1, 2), s.encode()) % 3 for s in ["Hello", "TF"]] == [2, 0]


def test_hashing_matches_keras_documentation():
    data = [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert layers.Hashing(num_bins=3)(data).tolist() == [[1], [0], [1], [1], [2]]
    masked = layers.Hashing(num_bins=3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]])
    assert masked.tolist() == [[1], [1], [0], [2], [2]]
    assert layers.Hashing(num_bins=3, salt=[133, 137])(data).tolist() == [[1], [2], [1], [0], [2]]
    assert layers.Hashing(num_bins=3, salt=133)(data).tolist() == [[0], [0], [2], [1], [0]]


def test_hashing_output_modes_and_config():
    layer = layers.Hashing(num_bins=3, output_mode="multi_hot")
    assert layer([["A", "B"], ["C", "C"]]).tolist() == [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    clone = layers.Hashing.from_config(layers.Hashing(4, salt=7).get_config())
    assert clone.salt == [7, 7]
    with pytest.raises(ValueError, match="`num_bins` to be an integer >= 1"):
        layers.Hashing(0)


def test_hashed_crossing_matches_keras_documentation():
    cross = layers.HashedCrossing(num_bins=5)
    out = cross((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])))
    assert out.tolist() == [1, 4, 1, 1, 3]
    one_hot = layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    assert one_hot((["A"], [101])).tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0]]


def test_string_lookup_matches_keras_documentation():
    assert layers.StringLookup(vocabulary=VOCAB)(BATCH).tolist() == [[1, 3, 4], [4, 0, 2]]
    two_oov = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert two_oov(np.array([["a", "c", "d"], ["m", "z", "b"]])).tolist() == [
        [2, 4, 5],
        [0, 1, 3],
    ]
    masked = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert masked(np.array([["a", "c", ""], ["", "z", "b"]])).tolist() == [[2, 4, 0], [0, 1, 3]]
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert inverse(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [
        ["a", "c", "d"],
        ["d", "[UNK]", "b"],
    ]


@pytest.mark.parametrize(
    "mode, want",
    [
        ("multi_hot", [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
        ("count", [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
        ("tf_idf", [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    ],
)
def test_string_lookup_output_modes_match_keras_documentation(mode, want):
    idf = [0.25, 0.75, 0.6, 0.4] if mode == "tf_idf" else None
    layer = layers.StringLookup(vocabulary=VOCAB, output_mode=mode, idf_weights=idf)
    out = layer(np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]]))
    np.testing.assert_allclose(out.numpy(), np.array(want, dtype="float32"), rtol=1e-6)


def test_string_lookup_adapt_ranks_by_frequency_and_round_trips():
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(np.array([["d", "z", "b", "z"], ["a", "c", "d", "d"]]))
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    # idf = log(1 + documents / (1 + documents containing the token)); OOV: their mean
    idf = np.log(1 + 2 / (1 + np.array([2, 1, 1, 1, 1])))
    np.testing.assert_allclose(layer.idf_weights.numpy(), [idf.mean(), *idf], rtol=1e-6)
    clone = layers.StringLookup.from_config(layer.get_config())
    assert clone.get_vocabulary() == layer.get_vocabulary()
    torch.testing.assert_close(clone(BATCH), layer(BATCH))
    limited = layers.StringLookup(max_tokens=3)
    limited.adapt(np.array([["d", "z", "b", "z"], ["a", "c", "d", "d"]]))
    assert limited.get_vocabulary() == ["[UNK]", "d", "z"]


def test_string_lookup_reads_a_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n", encoding="utf-8")
    assert layers.StringLookup(vocabulary=str(path))(BATCH).tolist() == [[1, 3, 4], [4, 0, 2]]


def test_lookup_errors_are_pinned():
    with pytest.raises(ValueError, match="a vocabulary without repeats"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="only in-vocabulary inputs"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["z"])
    with pytest.raises(ValueError, match="output_mode='int' with invert=True"):
        layers.StringLookup(vocabulary=VOCAB, invert=True, output_mode="count")
    text = r"IntegerLookup.*expects integer tokens.*received 'fixed'.*Hint: use StringLookup"
    with pytest.raises(ValueError, match=text):
        layers.IntegerLookup(vocabulary=[1, "fixed"])
    with pytest.raises(ValueError, match=text):
        layers.IntegerLookup(vocabulary=[1, 2])(np.array(["fixed"]))


def test_string_lookup_takes_rows_of_different_lengths_as_keras_ragged_labels():
    labels = [["cs.CV", "cs.LG"], ["cs.LG"], ["stat.ML", "cs.LG", "x"]]
    lookup = layers.StringLookup(output_mode="multi_hot")
    lookup.adapt(labels)
    assert lookup.get_vocabulary() == ["[UNK]", "cs.LG", "x", "stat.ML", "cs.CV"]
    hot = lookup([["cs.CV"], ["cs.LG", "new", "cs.LG"]])
    assert hot.tolist() == [[0, 0, 0, 0, 1], [1, 1, 0, 0, 0]]
    counts = layers.StringLookup(vocabulary=["a", "b"], output_mode="count")
    assert counts([["a", "a"], ["b"]]).tolist() == [[0, 2, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match=r"rows of one length with output_mode='int'.*\[1, 2\]"):
        layers.StringLookup(vocabulary=["a"])([["a"], ["a", "a"]])


def test_integer_lookup_matches_keras_documentation():
    vocab = [12, 36, 1138, 42]
    data = torch.tensor([[12, 1138, 42], [42, 1000, 36]])
    assert layers.IntegerLookup(vocabulary=vocab)(data).tolist() == [[1, 3, 4], [4, 0, 2]]
    two_oov = layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert two_oov(torch.tensor([[12, 1138, 42], [37, 1000, 36]])).tolist() == [
        [2, 4, 5],
        [1, 0, 3],
    ]
    inverse = layers.IntegerLookup(vocabulary=vocab, invert=True)
    assert inverse(torch.tensor([[1, 3, 4], [4, 0, 2]])).tolist() == [
        [12, 1138, 42],
        [42, -1, 36],
    ]
    adapted = layers.IntegerLookup()
    adapted.adapt(np.array([[12, 1138, 42], [42, 1000, 36]]))
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]


def test_discretization_adapt_takes_interpolated_quantiles():
    # 8 values, fewer than 1 / epsilon: the summary keeps them all, and the 4 bins' boundaries
    # are the values at cumulative fractions 1/4, 2/4, 3/4 of the sorted data (Keras's
    # algorithm; its documentation's example output predates it).
    data = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    layer = layers.Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, [0.0, 0.5, 1.3], rtol=1e-6)
    assert layer(data).tolist() == [[0, 2, 3, 2], [1, 3, 3, 1]]
    clone = layers.Discretization.from_config(layer.get_config())
    assert clone.bin_boundaries == layer.bin_boundaries


def test_category_encoding_gives_zero_rows_for_out_of_range_ids():
    out = layers.CategoryEncoding(3, output_mode="one_hot")(np.array([0, 5, -1]))
    assert out.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


# --------------------------------------------------------------------------------------------------
# Inside a functional model: the lookups and Hashing called on an `Input`


def test_string_lookup_on_a_string_input_joins_the_graph():
    text = lamina.Input(shape=(1,), dtype="string")
    ids = layers.StringLookup(vocabulary=VOCAB)(text)
    hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(text)
    assert (ids.shape, ids.dtype) == ((None, 1), "int64")
    assert (hot.shape, hot.dtype) == ((None, 5), "float32")
    model = lamina.Model(text, [ids, hot])
    got_ids, got_hot = model(np.array([["c"], ["z"]]))
    assert got_ids.tolist() == [[3], [0]]
    assert got_hot.tolist() == [[0.0, 0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]]


def test_inverted_lookups_on_an_input_give_back_the_vocabulary_dtype():
    ids = lamina.Input(shape=(2,), dtype="int64")
    words = layers.StringLookup(vocabulary=VOCAB, invert=True)(ids)
    numbers = layers.IntegerLookup(vocabulary=[7, 9], invert=True)(ids)
    assert (words.dtype, numbers.dtype) == ("string", "int64")
    got_words, got_numbers = lamina.Model(ids, [words, numbers])(np.array([[1, 0]]))
    assert got_words.tolist() == [["a", "[UNK]"]]
    assert got_numbers.tolist() == [[7, -1]]


def test_integer_lookup_and_hashing_on_an_integer_input():
    numbers = lamina.Input(shape=(1,), dtype="int64")
    ids = layers.IntegerLookup(vocabulary=[12, 36])(numbers)
    buckets = layers.Hashing(num_bins=3)(numbers)
    model = lamina.Model(numbers, [ids, buckets])
    got_ids, got_buckets = model(np.array([[36], [5]]))
    assert got_ids.tolist() == [[2], [0]]
    direct = layers.Hashing(num_bins=3)(np.array([[36], [5]]))
    assert got_buckets.tolist() == direct.tolist()


def test_hashing_a_string_input_feeds_an_embedding():
    text = lamina.Input(shape=(1,), dtype="string")
    buckets = layers.Hashing(num_bins=3)(text)
    embedding = layers.Embedding(3, 2)
    vectors = embedding(buckets)
    assert vectors.shape == (None, 1, 2)
    out = lamina.Model(text, vectors)(np.array([["A"], ["B"], ["C"]]))
    table = embedding.get_weights()[0]
    # Keras's documented buckets for A, B, C with num_bins=3: 1, 0, 1.
    np.testing.assert_allclose(out.detach().cpu().numpy()[:, 0], table[[1, 0, 1]])


def test_hashed_crossing_of_two_inputs_joins_the_graph():
    letters = lamina.Input(shape=(), dtype="string")
    numbers = lamina.Input(shape=(), dtype="int64")
    crossed = layers.HashedCrossing(num_bins=5)((letters, numbers))
    assert (crossed.shape, crossed.dtype) == ((None,), "int64")
    model = lamina.Model([letters, numbers], crossed)
    out = model([np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])])
    assert out.tolist() == [1, 4, 1, 1, 3]  # Keras's documented crosses


def _encoded_by_a_model(m):
    ids = m.Input(shape=(3,), dtype="int64")
    values = m.Input(shape=(3,))
    counts = m.layers.CategoryEncoding(num_tokens=5, output_mode="count")(ids)
    buckets = m.layers.Discretization(bin_boundaries=[0.0, 1.0])(values)
    model = m.Model([ids, values], [counts, buckets])
    out = model([np.array([[0, 4, 4], [1, 2, 3]]), np.array([[-1.0, 0.5, 2.0], [0, 1, 3]])])
    return [counts.shape, buckets.shape] + [m.ops.convert_to_numpy(o) for o in out]


@pytest.mark.parity
def test_category_encoding_and_discretization_on_inputs_match_keras():
    from tests.parity import reference

    ours = _encoded_by_a_model(lamina)
    theirs = reference.keras_run(_encoded_by_a_model)
    assert ours[:2] == [tuple(s) for s in theirs[:2]]
    for a, b in zip(ours[2:], theirs[2:], strict=True):
        np.testing.assert_array_equal(a, b)
