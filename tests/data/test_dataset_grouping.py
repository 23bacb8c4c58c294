"""tf.data's window, group_by_window, bucket_by_sequence_length, scan, unique and cardinality on
lamina.data: element order, padding and sizes as tf.data documents them."""

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from lamina.data import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset


def ints(dataset):
    return [int(x) for x in dataset]


def ragged(rows):
    """A generator-backed pipeline of int64 rows of different lengths."""
    return Dataset.from_generator(lambda: (np.array(row, dtype=np.int64) for row in rows))


# ------------------------------------------------------------------------------------------------
# window


@pytest.mark.parametrize(
    "args, expected",
    [
        ((3,), [[0, 1, 2], [3, 4, 5], [6]]),
        ((3, 1), [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6], [6]]),
        ((3, 2, 1, True), [[0, 1, 2], [2, 3, 4], [4, 5, 6]]),
        ((3, 1, 2, True), [[0, 2, 4], [1, 3, 5], [2, 4, 6]]),
        ((2, 5), [[0, 1], [5, 6]]),
    ],
)
def test_window_takes_tf_datas_elements_and_counts_them(args, expected):
    windows = Dataset.range(7).window(*args)
    assert [ints(window) for window in windows] == expected
    assert windows.cardinality() == len(expected)


def test_window_of_pairs_is_a_pair_of_datasets_zipped_back_by_flat_map():
    pairs = Dataset.from_tensor_slices((np.arange(5.0), np.arange(5) * 10))
    first_x, first_y = next(iter(pairs.window(2)))
    assert isinstance(first_x, Dataset) and isinstance(first_y, Dataset)
    batches = pairs.window(2, drop_remainder=True).flat_map(
        lambda x, y: Dataset.zip((x.batch(2), y.batch(2)))
    )
    assert [(x.tolist(), y.tolist()) for x, y in batches] == [
        ([0.0, 1.0], [0, 10]),
        ([2.0, 3.0], [20, 30]),
    ]


def test_window_of_an_infinite_dataset_streams():
    windows = Dataset.range(3).repeat().window(2, shift=1)
    assert windows.cardinality() == INFINITE_CARDINALITY
    assert [ints(w) for w in windows.take(4)] == [[0, 1], [1, 2], [2, 0], [0, 1]]


def test_window_makes_sliding_training_sequences_for_fit():
    series = np.sin(np.arange(60, dtype="float32") / 5)
    windows = Dataset.from_tensor_slices(series).window(11, shift=1, drop_remainder=True)
    pairs = windows.flat_map(lambda w: w.batch(11)).map(lambda s: (s[:-1, None], s[-1:]))
    layers = lamina.layers
    model = lamina.Sequential([lamina.Input((10, 1)), layers.LSTM(4), layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(pairs.batch(16), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    assert windows.cardinality() == 50


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_window_rejects_a_size_that_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="window expects size to be a positive int"):
        Dataset.range(3).window(bad)


# ------------------------------------------------------------------------------------------------
# group_by_window and bucket_by_sequence_length


def test_group_by_window_reduces_full_groups_then_the_rest_in_key_order():
    grouped = Dataset.range(10).group_by_window(
        key_func=lambda x: 1 - x % 2, reduce_func=lambda key, w: w.batch(3), window_size=3
    )
    # Odd numbers are key 0 and even key 1: full groups come as they fill, the rest by key.
    assert [b.tolist() for b in grouped] == [[0, 2, 4], [1, 3, 5], [7, 9], [6, 8]]


def test_group_by_window_passes_the_key_and_sizes_groups_by_key():
    grouped = Dataset.range(9).group_by_window(
        key_func=lambda x: x % 3,
        reduce_func=lambda key, w: w.batch(5).map(lambda b: b * 0 + key),
        window_size_func=lambda key: key + 1,
    )
    assert [b.tolist() for b in grouped] == [[0], [0], [1, 1], [0], [2, 2, 2], [1]]


def test_group_by_window_needs_exactly_one_size_and_an_int_key():
    with pytest.raises(ValueError, match="exactly one of window_size and window_size_func"):
        Dataset.range(4).group_by_window(lambda x: x, lambda k, w: w)
    floats = Dataset.range(4).group_by_window(lambda x: x * 0.5, lambda k, w: w, window_size=2)
    with pytest.raises(TypeError, match="key_func to return an int64 scalar"):
        list(floats)


TF_DOC_ROWS = [[0], [1, 2, 3, 4], [5, 6, 7], [7, 8, 9, 10, 11], [13, 14, 15, 16, 19, 20], [21, 22]]


def test_bucket_by_sequence_length_pads_each_bucket_to_its_longest():
    buckets = ragged(TF_DOC_ROWS).bucket_by_sequence_length(
        element_length_func=lambda row: ops.shape(row)[0],
        bucket_boundaries=[3, 5],
        bucket_batch_sizes=[2, 2, 2],
    )
    assert [b.tolist() for b in buckets] == [
        [[1, 2, 3, 4], [5, 6, 7, 0]],
        [[7, 8, 9, 10, 11, 0], [13, 14, 15, 16, 19, 20]],
        [[0, 0], [21, 22]],
    ]


def test_bucket_by_sequence_length_pads_to_the_bucket_boundary():
    buckets = ragged(TF_DOC_ROWS).bucket_by_sequence_length(
        element_length_func=lambda row: ops.shape(row)[0],
        bucket_boundaries=[4, 7],
        bucket_batch_sizes=[2, 2, 2],
        pad_to_bucket_boundary=True,
        padding_values=-1,
    )
    assert [b.tolist() for b in buckets] == [
        [[0, -1, -1], [5, 6, 7]],
        [[1, 2, 3, 4, -1, -1], [7, 8, 9, 10, 11, -1]],
        [[21, 22, -1]],
        [[13, 14, 15, 16, 19, 20]],
    ]


def test_bucket_by_sequence_length_checks_its_arguments():
    rows = ragged(TF_DOC_ROWS)
    with pytest.raises(ValueError, match="one per bucket"):
        rows.bucket_by_sequence_length(len, [3, 5], [2, 2])
    with pytest.raises(ValueError, match="increase strictly"):
        rows.bucket_by_sequence_length(len, [5, 3], [2, 2, 2])
    too_long = rows.bucket_by_sequence_length(len, [3], [2, 2], pad_to_bucket_boundary=True)
    with pytest.raises(ValueError, match="shorter than the last boundary 3"):
        list(too_long)


# ------------------------------------------------------------------------------------------------
# scan, unique, cardinality


def test_scan_carries_a_structured_state():
    def step(state, x):
        total, count = state
        return (total + x, count + 1), (total + x) / (count + 1)

    means = Dataset.range(1, 5).scan((torch.tensor(0), torch.tensor(0)), step)
    assert [float(m) for m in means] == [1.0, 1.5, 2.0, 2.5]
    assert means.cardinality() == 4
    with pytest.raises(ValueError, match="return a pair"):
        list(Dataset.range(2).scan(0, lambda state, x: x))


def test_unique_keeps_first_occurrences_of_ints_and_text():
    assert ints(Dataset.from_tensor_slices(np.array([3, 1, 3, 2, 1])).unique()) == [3, 1, 2]
    words = Dataset.from_tensor_slices(np.array(["b", "a", "b"])).unique()
    assert [str(w) for w in words] == ["b", "a"]
    with pytest.raises(TypeError, match="integer or string scalars"):
        list(Dataset.from_tensor_slices(np.ones(3)).unique())


def test_cardinality_is_an_int_with_tf_datas_numpy():
    size = Dataset.range(10).batch(3).cardinality()
    assert size == 4 and isinstance(size, int)
    assert size.numpy() == 4 and size.numpy().dtype == np.int64
    assert Dataset.range(2).repeat().cardinality().numpy() == INFINITE_CARDINALITY
    assert Dataset.range(4).filter(lambda x: x > 1).cardinality() == UNKNOWN_CARDINALITY
