"""pad_sequences and timeseries_dataset_from_array: Keras's semantics on hand-checkable cases."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import lamina
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


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_index": -1},
        {"start_index": 11},
        {"end_index": -1},
        {"end_index": 10},
        {"start_index": 5, "end_index": 4},
        {"sampling_rate": 0},
        {"sampling_rate": 10},
        {"sequence_stride": 0},
        {"sequence_stride": 10},
    ],
    ids=str,
)
def test_window_arguments_are_refused_as_keras(kwargs):
    # A negative start_index used to index from the end, an end past the data ran on silently.
    from tests.parity.reference import keras

    with pytest.raises(ValueError) as expected:
        keras.utils.timeseries_dataset_from_array(np.arange(10), None, 3, **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(expected.value).strip())):
        timeseries_dataset_from_array(np.arange(10), None, 3, **kwargs)


def test_windows_are_a_dataset_with_tf_data_methods():
    # Keras returns a tf.data.Dataset, and programs call take(), map() and .numpy() on it.
    series = np.arange(40, dtype="float32").reshape(20, 2)
    targets = np.arange(20, dtype="float64")[:, None] * 10
    dataset = timeseries_dataset_from_array(
        series, targets, sequence_length=3, sampling_rate=2, batch_size=4
    )
    assert isinstance(dataset, lamina.data.Dataset) and len(dataset) == 4  # 16 windows
    for windows, labels in dataset.take(1):
        assert windows.numpy().shape == (4, 3, 2) and windows.dtype == torch.float32
        assert windows.numpy()[1].tolist() == [[2, 3], [6, 7], [10, 11]]
        assert labels.numpy().tolist() == [[0.0], [10.0], [20.0], [30.0]]
    doubled = dataset.map(lambda x, y: (x * 2, y)).prefetch(2)
    assert [float(x[0, 0, 0]) for x, _ in doubled] == [0.0, 16.0, 32.0, 48.0]


def test_windows_dataset_fits_with_validation_data():
    rng = np.random.default_rng(0)
    series = rng.standard_normal((60, 3)).astype("float32")

    def make(part):
        return timeseries_dataset_from_array(
            part, part[4:, :1], sequence_length=4, batch_size=8, shuffle=True, seed=1
        )

    model = lamina.Sequential([lamina.Input((4, 3)), lamina.layers.LSTM(4), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(make(series[:40]), validation_data=make(series[40:]), epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()


def test_text_windows_stay_numpy():
    words = np.array(["a", "b", "c", "d", "e"])
    (first, labels), *_ = timeseries_dataset_from_array(words, words, 2, batch_size=2)
    assert isinstance(first, np.ndarray) and first.tolist() == [["a", "b"], ["b", "c"]]
    assert labels.tolist() == ["a", "b"]
