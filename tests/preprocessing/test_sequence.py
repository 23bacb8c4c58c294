"""pad_sequences and timeseries_dataset_from_array: Keras's semantics on hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest

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
