"""IMDB movie-review sentiment: 25,000 + 25,000 reviews as lists of word ids, from Keras's
`imdb.npz` (and `imdb_word_index.json`) on local disk."""

from __future__ import annotations

import json

import numpy as np

from lamina.datasets.archive import ORIGIN, locate
from lamina.datasets.token_sequences import object_array, read_npz, reindex
from lamina.engine import errors


def load_data(
    path="imdb.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    **kwargs,
):
    """Return `(x_train, y_train), (x_test, y_test)` as Keras's `imdb.load_data` does.

    x: 1-D object arrays of lists of word ids (id i + index_from is the i-th most frequent word;
    start_char begins each review); y: int64 labels, 1 for positive.

    Args:
        path: the `.npz` file (keys x_train, y_train, x_test, y_test) or its name in the cache
            folders ($LAMINA_HOME/datasets, ~/.lamina/datasets, ~/.keras/datasets). Nothing is
            downloaded: an absent file raises FileNotFoundError naming it and where to put it.
        num_words: keep the num_words most frequent words; rarer ones become oov_char.
        skip_top: the skip_top most frequent words become oov_char too.
        maxlen: drop reviews of maxlen tokens or more.
        seed: shuffle seed (Keras's 113 gives Keras's order).
        start_char, oov_char, index_from: the reserved ids (Keras's 1, 2 and offset 3).

    Example:
        >>> (x_train, y_train), _ = load_data(path="imdb.npz", num_words=10000)  # doctest: +SKIP
    """
    if kwargs:
        raise errors.unexpected_arguments("imdb.load_data()", kwargs)
    found = locate("imdb", ["imdb.npz"], path, ORIGIN + "imdb.npz")
    arrays = read_npz(found)
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise ValueError(
            f"imdb.load_data expects {found!r} to hold x_train, y_train, x_test and y_test; it "
            f"lacks {sorted(missing)}. Hint: use Keras's imdb.npz."
        )
    # Keras shuffles train, then test, with one RandomState: the same order as Keras.
    rng = np.random.RandomState(seed)
    splits = []
    for name in ("train", "test"):
        x, y = arrays[f"x_{name}"], arrays[f"y_{name}"]
        order = np.arange(len(x))
        rng.shuffle(order)
        splits.append((x[order], y[order]))
    (x_train, y_train), (x_test, y_test) = splits
    sequences = list(x_train) + list(x_test)
    labels = np.concatenate([y_train, y_test])
    train_count = len(x_train)
    if maxlen:
        # Which reviews survive maxlen decides the split point: mark the training ones.
        labels = np.stack([labels, np.arange(len(labels)) < train_count], axis=1)
    sequences, labels = reindex(
        sequences,
        labels,
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
        dataset="imdb",
    )
    if maxlen:
        is_train = labels[:, 1].astype(bool)
        labels = labels[:, 0]
        train_count = int(is_train.sum())
    x = object_array(sequences)
    return (x[:train_count], labels[:train_count]), (x[train_count:], labels[train_count:])


def get_word_index(path="imdb_word_index.json") -> dict[str, int]:
    """The word -> rank index of the IMDB data (rank 1 = most frequent), from Keras's JSON file."""
    found = locate("imdb", ["imdb_word_index.json"], path, ORIGIN + "imdb_word_index.json")
    with open(found, encoding="utf-8") as handle:
        return json.load(handle)
