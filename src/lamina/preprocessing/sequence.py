"""Sequence preprocessing: pad_sequences and timeseries windowing, in NumPy."""

from __future__ import annotations

import numpy as np

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


class TimeseriesWindows:
    """Batches of sliding windows over an array, as `timeseries_dataset_from_array` returns.

    Iterating yields `(windows, targets)` NumPy batches (or `windows` alone when there are no
    targets); `len()` is the number of batches. Iterating again reshuffles when `shuffle=True`.

    Keras returns a `tf.data.Dataset` here, and its programs chain that API on the result
    (`dataset.take(1)`, `.map(...)`, `.prefetch(...)`): those methods answer through
    `as_dataset()`, lamina's `Dataset` over these batches, whose elements are torch tensors
    (`.numpy()` works on them, as on TensorFlow's).
    """

    # tf.data.Dataset's methods a Keras program calls on this result, answered by `as_dataset()`.
    _DATASET_METHODS = frozenset(
        {
            "apply",
            "as_numpy_iterator",
            "batch",
            "cache",
            "cardinality",
            "enumerate",
            "filter",
            "map",
            "prefetch",
            "repeat",
            "shuffle",
            "skip",
            "take",
            "unbatch",
        }
    )

    def __init__(
        self, data, targets, starts, sequence_length, sampling_rate, batch_size, shuffle, seed
    ):
        self.data, self.targets = data, targets
        self.starts = starts
        self.sequence_length, self.sampling_rate = sequence_length, sampling_rate
        self.batch_size, self.shuffle = batch_size, shuffle
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def as_dataset(self):
        """These batches as a `lamina.data.Dataset` (tf.data's API, torch tensors for elements).

        Each pass over the dataset is a pass over the windows, reshuffled when `shuffle=True`.

        Returns:
            A `lamina.data.Dataset` yielding the batches this object yields, as tensors.

        Example:
            >>> windows = timeseries_dataset_from_array(np.arange(10.0), None, 3, batch_size=4)
            >>> [tuple(batch.shape) for batch in windows.as_dataset().take(1)]
            [(4, 3)]
        """
        from lamina.data import Dataset

        return Dataset.from_generator(self.__iter__)

    def __getattr__(self, name):
        if name in TimeseriesWindows._DATASET_METHODS:
            return getattr(self.as_dataset(), name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _windows(self, starts):
        offsets = np.arange(self.sequence_length) * self.sampling_rate
        return self.data[starts[:, None] + offsets[None, :]]

    def __iter__(self):
        starts = self._rng.permutation(self.starts) if self.shuffle else self.starts
        step = self.batch_size or 1
        for begin in range(0, len(starts), step):
            chosen = starts[begin : begin + step]
            windows = self._windows(chosen)
            if self.batch_size is None:
                windows = windows[0]
            if self.targets is None:
                yield windows
                continue
            # The target of a window is the one at the window's start index (Keras's rule).
            targets = (
                self.targets[chosen] if self.batch_size is not None else self.targets[chosen[0]]
            )
            yield windows, targets


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
) -> TimeseriesWindows:
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
        format: "tf" or "grain", accepted for Keras compatibility: either way lamina returns its
            re-iterable of NumPy batches.

    Returns: a re-iterable of `(windows, targets)` batches; windows `(batch, sequence_length,
    ...)`.

    Examples:
        >>> batches = timeseries_dataset_from_array(np.arange(10), np.arange(10), 3, batch_size=4)
        >>> first_windows, first_targets = next(iter(batches))
        >>> first_windows[1].tolist(), first_targets[1].item()
        ([1, 2, 3], 1)
    """
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    data = np.asarray(data)
    targets = None if targets is None else np.asarray(targets)
    for argument, number in (
        ("sequence_length", sequence_length),
        ("sequence_stride", sequence_stride),
        ("sampling_rate", sampling_rate),
    ):
        if int(number) <= 0:
            raise errors.value_error(
                "timeseries_dataset_from_array", f"a positive `{argument}`", f"{argument}={number}"
            )
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
    return TimeseriesWindows(
        data,
        targets,
        starts,
        int(sequence_length),
        int(sampling_rate),
        None if batch_size is None else int(batch_size),
        bool(shuffle),
        seed,
    )
