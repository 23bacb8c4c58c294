"""What the IMDB and Reuters loaders share: reading Keras's `.npz` of token lists without running
code, and Keras's re-indexing of the tokens (start, out-of-vocabulary, offset, vocabulary cap)."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from lamina.datasets.archive import safe_unpickle


def read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an `.npz`, object arrays (lists of token ids) included.

    `np.load(allow_pickle=True)` would unpickle object arrays with the full pickle machinery,
    which can run code; here they go through the restricted unpickler that admits arrays, lists
    and numbers only.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as raw:
                handle = io.BytesIO(raw.read())
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            _shape, _fortran_order, dtype = read_header(handle)
            if dtype.hasobject:
                value = np.asarray(safe_unpickle(handle), dtype=object)
            else:
                handle.seek(0)
                value = np.lib.format.read_array(handle, allow_pickle=False)
            arrays[member[: -len(".npy")]] = value
    return arrays


def reindex(
    sequences,
    labels,
    *,
    num_words,
    skip_top,
    maxlen,
    start_char,
    oov_char,
    index_from,
    dataset: str,
):
    """Keras's rules, in Keras's order: prepend start_char and shift ids by index_from, drop
    sequences of maxlen tokens or more, then map ids outside [skip_top, num_words) to oov_char
    (or drop them when oov_char is None)."""
    if start_char is not None:
        sequences = [[start_char] + [int(w) + index_from for w in s] for s in sequences]
    elif index_from:
        sequences = [[int(w) + index_from for w in s] for s in sequences]
    else:
        sequences = [[int(w) for w in s] for s in sequences]
    if maxlen:
        kept = [i for i, s in enumerate(sequences) if len(s) < maxlen]
        if not kept:
            raise ValueError(
                f"{dataset}.load_data expects maxlen to leave some sequences; received "
                f"maxlen={maxlen}, shorter than every sequence. Hint: increase maxlen."
            )
        sequences = [sequences[i] for i in kept]
        labels = labels[kept]
    if not num_words:
        num_words = max(max(s) for s in sequences if s)
    if oov_char is not None:
        sequences = [[w if skip_top <= w < num_words else oov_char for w in s] for s in sequences]
    else:
        sequences = [[w for w in s if skip_top <= w < num_words] for s in sequences]
    return sequences, labels


def object_array(lists) -> np.ndarray:
    """A 1-D object array of lists (np.array would make a 2-D array of equal-length lists)."""
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out
