"""What the vocabulary layers (StringLookup, IntegerLookup, TextVectorization) learn from: token
and document counts, accumulated batch by batch, and the vocabulary file of a saved model.

Keras's adapt protocol: `reset_state()` empties the counts, `update_state(batch)` adds a batch,
`finalize_state()` ranks the tokens into the vocabulary; `adapt(data)` runs the three. A layer
whose vocabulary was learned (not given) saves it as `vocabulary.txt` among the model's assets,
one token a line, special tokens first, as Keras does.
"""

from __future__ import annotations

import collections
import os

import numpy as np

VOCABULARY_FILE = "vocabulary.txt"


class TokenCounts:
    """Token counts, the number of documents (rows) holding each token, and the documents seen.

    Example:
        >>> counts = TokenCounts()
        >>> counts.add([["a", "b", "a"], ["b"]])
        >>> counts.ranked(specials=[], limit=None), counts.documents
        (['b', 'a'], 2)
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.tokens: collections.Counter = collections.Counter()
        self.documents_with: collections.Counter = collections.Counter()
        self.documents = 0

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def add(self, rows) -> None:
        """Count the tokens of each row (a document)."""
        for row in rows:
            self.tokens.update(row)
            self.documents_with.update(set(row))
            self.documents += 1

    def ranked(self, specials, limit: int | None) -> list:
        """The tokens but `specials`, most frequent first, ties broken by the larger token first
        (Keras's order), at most `limit` of them."""
        counts = {t: n for t, n in self.tokens.items() if t not in set(specials)}
        ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        return ranked if limit is None else ranked[: max(limit, 0)]

    def inverse_document_frequency(self, tokens) -> np.ndarray:
        """`log(1 + documents / (1 + documents holding the token))` per token, as Keras."""
        held = np.array([self.documents_with[t] for t in tokens], dtype="float64")
        return np.log(1 + self.documents / (1 + held))


def save_vocabulary(dir_path: str, vocabulary) -> None:
    """Write `vocabulary` (special tokens included) to `dir_path`/vocabulary.txt."""
    with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as handle:
        handle.write("\n".join(str(token) for token in vocabulary))


def vocabulary_path(dir_path: str) -> str | None:
    """The path of the saved vocabulary in `dir_path`, or None when there is none."""
    path = os.path.join(dir_path, VOCABULARY_FILE)
    return path if os.path.exists(path) else None


def read_vocabulary(path: str) -> list[str]:
    """The lines of a vocabulary file, trailing empty lines dropped."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    return lines
