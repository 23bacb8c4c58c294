"""Reuters newswire topics: 11,228 wires as lists of word ids in 46 topics, from Keras's
`reuters.npz` (and `reuters_word_index.json`) on local disk."""

from __future__ import annotations

import json

import numpy as np

from lamina.datasets.archive import ORIGIN, locate
from lamina.datasets.token_sequences import object_array, read_npz, reindex
from lamina.engine import errors


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    **kwargs,
):
    """Return `(x_train, y_train), (x_test, y_test)` as Keras's `reuters.load_data` does.

    Args:
        path: the `.npz` file (keys x, y) or its name in the cache folders; nothing is
            downloaded (an absent file raises FileNotFoundError naming it).
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from: as in
            `imdb.load_data`.
        test_split: the fraction of wires held out for testing (after the shuffle).
    """
    if kwargs:
        raise errors.unexpected_arguments("reuters.load_data()", kwargs)
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1); received test_split={test_split}.")
    found = locate("reuters", ["reuters.npz"], path, ORIGIN + "reuters.npz")
    arrays = read_npz(found)
    if not {"x", "y"} <= set(arrays):
        raise ValueError(
            f"reuters.load_data expects {found!r} to hold arrays x and y; it holds "
            f"{sorted(arrays)}. Hint: use Keras's reuters.npz."
        )
    x, y = arrays["x"], arrays["y"]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    sequences, labels = reindex(
        list(x[order]),
        y[order],
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
        dataset="reuters",
    )
    cut = int(len(sequences) * (1 - test_split))
    x = object_array(sequences)
    return (x[:cut], labels[:cut]), (x[cut:], labels[cut:])


def get_word_index(path="reuters_word_index.json") -> dict[str, int]:
    """The word -> rank index of the Reuters data, from Keras's JSON file."""
    found = locate("reuters", ["reuters_word_index.json"], path, ORIGIN + "reuters_word_index.json")
    with open(found, encoding="utf-8") as handle:
        return json.load(handle)


# The 46 Reuters newswire topics, in the order of the data set's label ids.
_TOPICS = (
    "cocoa",
    "grain",
    "veg-oil",
    "earn",
    "acq",
    "wheat",
    "copper",
    "housing",
    "money-supply",
    "coffee",
    "sugar",
    "trade",
    "reserves",
    "ship",
    "cotton",
    "carcass",
    "crude",
    "nat-gas",
    "cpi",
    "money-fx",
    "interest",
    "gnp",
    "meal-feed",
    "alum",
    "oilseed",
    "gold",
    "tin",
    "strategic-metal",
    "livestock",
    "retail",
    "ipi",
    "iron-steel",
    "rubber",
    "heat",
    "jobs",
    "lei",
    "bop",
    "zinc",
    "orange",
    "pet-chem",
    "dlr",
    "gas",
    "silver",
    "wpi",
    "hog",
    "lead",
)


def get_label_names() -> tuple[str, ...]:
    """The topic names of the Reuters labels: `get_label_names()[y]` names label `y`.

    Returns:
        A tuple of the 46 topic strings, indexed by label id.

    Example:
        >>> names = get_label_names()
        >>> len(names), names[3], names[4]
        (46, 'earn', 'acq')
    """
    return tuple(_TOPICS)
