"""Sequence preprocessing: pad_sequences (NumPy) and timeseries windows (a lamina.data pipeline)."""

from __future__ import annotations

import numpy as np

from lamina.data import Dataset, sources
from lamina.engine import errors

_SIDES = ("pre", "post")


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
) -> np.ndarray:
    """Pads (or truncates) a list of sequences to one length: a 2-D (or more) NumPy array.

    Args:
        sequences: a list (or object array) of sequences, each a list or array of ids (or of
            feature vectors: every element of a sequence then has the same shape).
        maxlen: the common length; default the longest sequence's.
        dtype: of the result (default 'int32'; use 'float32' or 'object' as needed).
        padding: 'pre' (default, Keras's) puts the padding before each sequence, 'post' after.
        truncating: 'pre' (default) drops the start of longer sequences, 'post' their end.
        value: the padding value.

    Returns: an array of shape `(len(sequences), maxlen, *element_shape)`.

    Examples:
        >>> pad_sequences([[1, 2], [3, 4, 5, 6]], maxlen=3).tolist()
        [[0, 1, 2], [4, 5, 6]]
    """
    if padding not in _SIDES:
        raise errors.value_error("pad_sequences", "padding 'pre' or 'post'", f"padding={padding!r}")
    if truncating not in _SIDES:
        raise errors.value_error(
            "pad_sequences", "truncating 'pre' or 'post'", f"truncating={truncating!r}"
        )
    if not hasattr(sequences, "__len__"):
        raise errors.value_error(
            "pad_sequences", "a list of sequences", f"{type(sequences).__name__}"
        )
    lengths, element_shape = [], None
    for index, sequence in enumerate(sequences):
        if not hasattr(sequence, "__len__"):
            raise errors.value_error(
                "pad_sequences",
                "every entry of `sequences` to be a sequence (list or array)",
                f"{type(sequence).__name__} at index {index}",
                "wrap single values in a list, or pass a list of lists.",
            )
        lengths.append(len(sequence))
        if element_shape is None and len(sequence):
            element_shape = np.asarray(sequence).shape[1:]
    element_shape = element_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)

    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and not is_text:
        raise errors.value_error(
            "pad_sequences",
            "a numeric `value` for a numeric dtype",
            f"value={value!r} with dtype={dtype!r}",
            "pass dtype=object for text sequences.",
        )
    result = np.full((len(lengths), maxlen, *element_shape), value, dtype=dtype)
    for row, sequence in enumerate(sequences):
        if not len(sequence) or maxlen == 0:
            continue
        kept = np.asarray(sequence, dtype=dtype)
        kept = kept[-maxlen:] if truncating == "pre" else kept[:maxlen]
        if kept.shape[1:] != element_shape:
            raise errors.value_error(
                "pad_sequences",
                f"elements of shape {element_shape} in every sequence",
                f"shape {kept.shape[1:]} in sequence {row}",
            )
        if padding == "post":
            result[row, : len(kept)] = kept
        else:
            result[row, maxlen - len(kept) :] = kept
    return result


def _check_window_arguments(length, start_index, end_index, sampling_rate, sequence_stride):
    """Keras's checks, in its order and words: a start or end outside the data would otherwise
    index from the end (a negative start) or run past it silently."""
    data = f"for data of length {length}"
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: {start_index=}")
        if start_index >= length:
            raise ValueError(
                f"`start_index` must be lower than the length of the data. Received: "
                f"{start_index=}, {data}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"{start_index=}, and {end_index=}"
            )
        if end_index >= length:
            raise ValueError(
                f"`end_index` must be lower than the length of the data. Received: "
                f"{end_index=}, {data}"
            )
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: {end_index=}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= length:
            raise ValueError(
                f"`{name}` must be lower than the length of the data. Received: "
                f"{name}={value}, {data}"
            )


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
    format="tf",
) -> Dataset:
    """Sliding windows over a time series, batched: Keras's `timeseries_dataset_from_array`.

    Window i covers `data[s, s + r, ..., s + r * (sequence_length - 1)]` with
    `s = start_index + i * sequence_stride` and `r = sampling_rate`; its target is `targets[s]`
    (to predict the value after a window, pass `targets=data[sequence_length:]`).

    Args:
        data: array (timesteps, ...) of the series.
        targets: array aligned with `data` (targets[i] belongs to the window starting at i), or
            None for windows alone.
        sequence_length: steps per window.
        sequence_stride: steps between the starts of consecutive windows.
        sampling_rate: steps between two samples within a window.
        batch_size: windows per batch (None: single windows, unbatched).
        shuffle, seed: shuffle the windows (reproducibly with a seed).
        start_index, end_index: use only `data[start_index:end_index]` as window starts and
            contents.
        format: "tf" or "grain", accepted for Keras compatibility: either way lamina returns a
            `lamina.data.Dataset`.

    Returns: a `lamina.data.Dataset` of `(windows, targets)` batches (windows alone when
    `targets` is None), as Keras returns a `tf.data.Dataset`: `take`, `map`, `prefetch` and the
    rest apply, and `fit` reads it. Windows are `(batch, sequence_length, ...)` torch tensors of
    the data's dtype (text stays NumPy).

    Examples:
        >>> batches = timeseries_dataset_from_array(np.arange(10), np.arange(10), 3, batch_size=4)
        >>> first_windows, first_targets = next(iter(batches.take(1)))
        >>> first_windows[1].tolist(), first_targets[1].item()
        ([1, 2, 3], 1)
    """
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    data = np.asarray(data)
    targets = None if targets is None else np.asarray(targets)
    if int(sequence_length) <= 0:
        raise errors.value_error(
            "timeseries_dataset_from_array",
            "a positive `sequence_length`",
            f"sequence_length={sequence_length}",
        )
    _check_window_arguments(len(data), start_index, end_index, sampling_rate, sequence_stride)
    if batch_size is not None and int(batch_size) <= 0:
        raise errors.value_error(
            "timeseries_dataset_from_array",
            "a positive `batch_size` (or None)",
            f"batch_size={batch_size}",
        )
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    span = (int(sequence_length) - 1) * int(sampling_rate)
    last_start = end - span - 1
    if last_start < start:
        raise errors.value_error(
            "timeseries_dataset_from_array",
            f"at least one window of {sequence_length} steps (sampling_rate={sampling_rate})",
            f"{end - start} usable time steps",
            "use a shorter sequence_length or more data.",
        )
    starts = np.arange(start, last_start + 1, int(sequence_stride))
    if targets is not None:
        starts = starts[starts < len(targets)]
    offsets = np.arange(int(sequence_length)) * int(sampling_rate)
    dataset = Dataset(sources.Windows(data, targets, starts, offsets))
    if shuffle:
        dataset = dataset.shuffle(len(starts), seed=seed)
    return dataset if batch_size is None else dataset.batch(int(batch_size))
