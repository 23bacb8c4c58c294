"""pad_sequences and timeseries_dataset_from_array: Keras's semantics on hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.preprocessing.sequence import pad_sequences, timeseries_dataset_from_array

ROWS = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize(
    "padding,truncating,expected",
    [
        ("pre", "pre", [[0, 1, 2, 3], [0, 0, 0, 4], [6, 7, 8, 9]]),
        ("post", "pre", [[1, 2, 3, 0], [4, 0, 0, 0], [6, 7, 8, 9]]),
        ("pre", "post", [[0, 1, 2, 3], [0, 0, 0, 4], [5, 6, 7, 8]]),
        ("post", "post", [[1, 2, 3, 0], [4, 0, 0, 0], [5, 6, 7, 8]]),
    ],
    ids=["pre-pre", "post-pre", "pre-post", "post-post"],
)
def test_pad_sequences_sides(padding, truncating, expected):
    out = pad_sequences(ROWS, maxlen=4, padding=padding, truncating=truncating)
    assert out.dtype == np.int32
    assert out.tolist() == expected


def test_pad_sequences_defaults_to_longest_and_takes_value_and_dtype():
    out = pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=-1.0)
    assert out.dtype == np.float32 and out.tolist() == [[-1.0, 0.5], [1.5, 2.5]]
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]


def test_pad_sequences_of_feature_vectors():
    out = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], maxlen=3, dtype="float32")
    assert out.shape == (2, 3, 3) and out[1, :2].sum() == 0


def test_pad_sequences_object_array_as_imdb_gives():
    reviews = np.empty(2, dtype=object)
    reviews[0], reviews[1] = [1, 14, 22], [1, 5]
    assert pad_sequences(reviews, maxlen=2).tolist() == [[14, 22], [1, 5]]


def test_pad_sequences_errors():
    with pytest.raises(
        ValueError,
        match=r"pad_sequences expects padding 'pre' or 'post'; "
        r"received padding='left'",
    ):
        pad_sequences(ROWS, padding="left")
    with pytest.raises(
        ValueError,
        match=r"every entry of `sequences` to be a sequence .*"
        r"received int at index 1",
    ):
        pad_sequences([[1], 2])


def test_windows_targets_and_batching():
    data = np.arange(10)
    batches = list(
        timeseries_dataset_from_array(data[:-3], data[3:], sequence_length=3, batch_size=2)
    )
    assert len(batches) == 3
    windows, targets = batches[0]
    assert windows.tolist() == [[0, 1, 2], [1, 2, 3]] and targets.tolist() == [3, 4]
    assert batches[-1][0].tolist() == [[4, 5, 6]]


def test_windows_stride_sampling_and_range():
    windows = timeseries_dataset_from_array(
        np.arange(20),
        None,
        sequence_length=3,
        sequence_stride=4,
        sampling_rate=2,
        batch_size=None,
        start_index=1,
        end_index=12,
    )
    assert [w.tolist() for w in windows] == [[1, 3, 5], [5, 7, 9]]
    assert len(windows) == 2


def test_windows_shuffle_is_reproducible_and_complete():
    make = lambda: timeseries_dataset_from_array(  # noqa: E731
        np.arange(30), None, sequence_length=2, batch_size=5, shuffle=True, seed=7
    )
    first = np.concatenate([b[:, 0] for b in make()])
    again = np.concatenate([b[:, 0] for b in make()])
    assert first.tolist() == again.tolist() and sorted(first.tolist()) == list(range(29))


def test_windows_error_when_series_too_short():
    with pytest.raises(
        ValueError,
        match=r"expects at least one window of 5 steps "
        r"\(sampling_rate=1\); received 3 usable time steps",
    ):
        timeseries_dataset_from_array(np.arange(3), None, sequence_length=5)


# Keras returns a tf.data.Dataset from timeseries_dataset_from_array, and its programs chain that
# API on the result: `for x, y in windows.take(1): x.numpy()`.
def test_timeseries_windows_answer_the_dataset_api_with_tensors():
    series = np.arange(40, dtype="float32").reshape(20, 2)
    windows = timeseries_dataset_from_array(series, series[:, 0], 4, sampling_rate=2, batch_size=5)
    taken = list(windows.take(1))
    assert len(taken) == 1
    inputs, targets = taken[0]
    assert isinstance(inputs, torch.Tensor)
    assert inputs.numpy().shape == (5, 4, 2)
    np.testing.assert_array_equal(inputs.numpy()[1, :, 0], [2.0, 6.0, 10.0, 14.0])
    np.testing.assert_array_equal(targets.numpy(), [0.0, 2.0, 4.0, 6.0, 8.0])
    doubled = [x for x, _ in windows.map(lambda x, y: (x * 2, y)).skip(1).take(1)]
    np.testing.assert_array_equal(doubled[0].numpy()[0, :, 0], [20.0, 28.0, 36.0, 44.0])
    # The object itself still iterates NumPy batches, and len() counts them.
    assert isinstance(next(iter(windows))[0], np.ndarray)
    assert len(windows) == len(list(windows.as_dataset())) == 3


def test_timeseries_windows_unknown_attribute_is_an_attribute_error():
    windows = timeseries_dataset_from_array(np.arange(10.0), None, 3, batch_size=4)
    with pytest.raises(AttributeError, match="no attribute 'window_count'"):
        windows.window_count  # noqa: B018
