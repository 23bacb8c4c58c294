"""TextVectorization: strings -> token ids (or multi-hot / count / tf-idf vectors).

Strings are not tensors in torch, so this layer works on Python strings (a list, a NumPy array of
str, or a batch from a data set) before the model, as Keras recommends for text preprocessing;
its output is a torch tensor a model takes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import numpy as np
import torch

from lamina import backend
from lamina.data.ragged_rows import RaggedRows
from lamina.engine import errors, shape_inference
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers.preprocessing.token_counts import (
    TokenCounts,
    read_vocabulary,
    save_vocabulary,
    vocabulary_path,
)
from lamina.saving import keras_entry, object_serialization

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_PADDING, _OOV = "", "[UNK]"
_MODES = ("int", "multi_hot", "count", "tf_idf")
_OLD_MODE_NAMES = {"binary": "multi_hot", "tf-idf": "tf_idf"}


def _standardize_lower_and_strip(text: str) -> str:
    return _PUNCTUATION.sub("", text.lower())


_STANDARDIZERS = {
    None: lambda text: text,
    "lower": str.lower,
    "strip_punctuation": lambda text: _PUNCTUATION.sub("", text),
    "lower_and_strip_punctuation": _standardize_lower_and_strip,
}
_SPLITTERS = {
    None: lambda text: [text],
    "whitespace": str.split,
    "character": list,
}


class TextVectorization(Layer):
    """Maps strings to token ids (or bag-of-words vectors) with a vocabulary learnt by `adapt`.

    Args:
        max_tokens: vocabulary size cap, counting the padding token '' and the OOV token
            '[UNK]' in 'int' mode (only '[UNK]' in the other modes).
        standardize: 'lower_and_strip_punctuation' (default), 'lower', 'strip_punctuation',
            None, or a function called, as in Keras, on a whole batch: it receives a NumPy
            array of strings of shape (batch,) and returns as many strings.
        split: 'whitespace' (default), 'character', None, or a function that receives the
            standardized batch (a NumPy array of strings) and returns one token list per string.
        ngrams: None, an int n (1..n-grams) or a tuple of n-gram sizes.
        output_mode: 'int' (ids, 0 for padding, 1 for unknown tokens), 'multi_hot', 'count' or
            'tf_idf' (vectors of the vocabulary's size).
        output_sequence_length: 'int' mode: pad with 0 / truncate every sequence to this length
            (default: the longest in the batch).
        pad_to_max_tokens: vector modes: width max_tokens even if the vocabulary is smaller.
        vocabulary, idf_weights: a vocabulary (list of tokens) to use instead of `adapt`.
        ragged: 'int' mode: each row as long as its text, as tf.keras's RaggedTensor (Keras 3
            takes it on TensorFlow only): a `RaggedRows`, padded with 0 for torch ops and a
            model, without padding when indexed, iterated or turned `.numpy()`.

    Vocabulary order after `adapt`: by frequency, ties by token in reverse lexicographic order
    (Keras's rule).

    Input: strings, shape (batch,) or (batch, 1). Output: int64 (batch, length) for 'int', else
    float32 (batch, vocabulary size).

    Example:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["the cat sat", "the cat"])
        >>> layer(["The cat!"]).tolist()
        [[2, 3, 0, 0]]
    """

    reads_text = True
    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        **kwargs,
    ):
        kwargs.pop("vocabulary_size", None)  # Keras's config writes it; the vocabulary says it
        super().__init__(**kwargs)
        self.ragged, self.encoding = bool(ragged), encoding
        self._ngrams_argument = ngrams  # the config holds it as given, as Keras's
        # Keras still takes the tf.keras 2.x names: "binary" for multi_hot, "tf-idf" for tf_idf.
        output_mode = _OLD_MODE_NAMES.get(output_mode, output_mode)
        self.output_mode = check.choice(output_mode, _MODES, "output_mode", self)
        if self.ragged and self.output_mode != "int":
            raise errors.value_error(
                self, "ragged=True only with output_mode='int'", f"output_mode={output_mode!r}"
            )
        if max_tokens is not None:
            max_tokens = check.positive_int(max_tokens, "max_tokens", self)
        self.max_tokens = max_tokens
        for argument, value, table in (
            ("standardize", standardize, _STANDARDIZERS),
            ("split", split, _SPLITTERS),
        ):
            if not callable(value) and value not in table:
                raise errors.value_error(
                    self, f"`{argument}` in {list(table)} or a function", f"{argument}={value!r}"
                )
        self.standardize, self.split = standardize, split
        self.ngrams = (
            tuple(range(1, ngrams + 1))
            if isinstance(ngrams, int)
            else None
            if ngrams is None
            else tuple(ngrams)
        )
        if output_sequence_length is not None and self.output_mode != "int":
            raise errors.value_error(
                self,
                "output_sequence_length only with output_mode='int'",
                f"output_mode={self.output_mode!r}",
            )
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._vocabulary: list[str] = []
        self._index: dict[str, int] = {}
        self._idf = None
        self._counts = TokenCounts()  # what update_state has seen since the last finalize
        self._vocabulary_given = False  # a learned vocabulary is saved among the assets
        self._build_at_init(TextVectorization)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ----------------------------------------------------------------------------------------------
    # Vocabulary

    @property
    def _specials(self) -> list[str]:
        return [_PADDING, _OOV] if self.output_mode == "int" else [_OOV]

    def _standardized(self, texts: list[str]) -> list[str]:
        if not callable(self.standardize):
            return [_STANDARDIZERS[self.standardize](text) for text in texts]
        # Keras hands a custom standardize the whole batch and expects a batch of the same
        # size back, so functions written with array ops (np.char.lower, ...) work as they are.
        result = self.standardize(np.asarray(texts, dtype=np.str_))
        result = backend.as_plain_numpy(result) if isinstance(result, torch.Tensor) else result
        result = np.asarray(result, dtype=object).reshape(-1)
        if len(result) != len(texts):
            raise errors.value_error(
                self,
                f"`standardize` to return {len(texts)} strings, one per input",
                f"{len(result)}",
                "a custom standardize receives a NumPy array of strings (batch,) and returns "
                "an array of the same shape (e.g. np.char.lower(texts)).",
            )
        return [item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in result]

    def _split(self, texts: list[str]) -> list[list[str]]:
        if not callable(self.split):
            return [list(_SPLITTERS[self.split](text)) for text in texts]
        # As with standardize, Keras calls a custom split once on the batch: one token list
        # per string comes back.
        result = list(self.split(np.asarray(texts, dtype=np.str_)))
        if len(result) != len(texts):
            raise errors.value_error(
                self,
                f"`split` to return {len(texts)} token lists, one per input",
                f"{len(result)}",
                "a custom split receives a NumPy array of strings (batch,) and returns a "
                "list of token lists (e.g. [text.split() for text in texts]).",
            )
        return [[str(token) for token in np.asarray(tokens).reshape(-1)] for tokens in result]

    def _tokens(self, texts) -> list[list[str]]:
        texts = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in texts]
        if not texts:
            return []
        rows = self._split(self._standardized(texts))
        if self.ngrams is None:
            return rows
        return [
            [" ".join(words[i : i + n]) for n in self.ngrams for i in range(len(words) - n + 1)]
            for words in rows
        ]

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learns the vocabulary (and idf weights) from strings or batches of strings:
        `reset_state()`, `update_state(data)`, `finalize_state()`. With `steps`, only that many
        batches are drawn from a generator or data set (which may be endless), as Keras."""
        self.reset_state()
        if steps is not None and not isinstance(data, (str, bytes, np.ndarray, list, tuple)):
            data = itertools.islice(data, steps)
        self.update_state(data)
        self.finalize_state()

    def update_state(self, data) -> None:
        """Standardize, split and count the strings of `data` (each string a document);
        `finalize_state()` turns the counts into the vocabulary."""
        for batch in _string_batches(data, self):
            self._counts.add(self._tokens(batch))

    def finalize_state(self) -> None:
        """Rank the counted tokens into the vocabulary (and the tf-idf weights), then forget the
        counts. With nothing counted the vocabulary stays as it is."""
        if not self._counts:
            return
        specials = self._specials
        limit = None if self.max_tokens is None else self.max_tokens - len(specials)
        learned = self._counts.ranked(specials, limit)
        idf = None
        if self.output_mode == "tf_idf":
            idf = self._counts.inverse_document_frequency(learned).tolist()
            idf = [float(np.mean(idf)) if idf else 0.0] + idf  # the OOV slot: the mean
        self._set_tokens(learned, idf)
        self._vocabulary_given = False
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the counts `update_state` gathered (the vocabulary stays)."""
        self._counts.reset()

    def save_assets(self, dir_path) -> None:
        """Write a learned vocabulary (special tokens first) to `dir_path`/vocabulary.txt, as
        Keras; a vocabulary given as an argument travels in the config instead."""
        if not self._vocabulary_given:
            save_vocabulary(dir_path, self.get_vocabulary(include_special_tokens=True))

    def load_assets(self, dir_path) -> None:
        """Read back the vocabulary `save_assets` wrote (a Keras file's, too)."""
        path = vocabulary_path(dir_path)
        if self._vocabulary_given or path is None:
            return
        tokens = read_vocabulary(path)
        if tokens == self._specials[: len(tokens)]:
            return  # saved before any vocabulary was learned
        self.set_vocabulary(tokens, None if self._idf is None else self._idf[: len(tokens)])

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (special tokens may lead it or be left out) and tf-idf weights."""
        tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in vocabulary]
        specials = self._specials
        if tokens[: len(specials)] == specials:
            tokens = tokens[len(specials) :]
        if len(set(tokens)) != len(tokens):
            raise errors.value_error(
                self, "a vocabulary without repeated tokens", "repeated tokens"
            )
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise errors.value_error(self, "idf_weights with output_mode='tf_idf'", "none")
            idf = [float(w) for w in backend.as_plain_numpy(idf_weights).ravel()]
            if len(idf) == len(tokens):
                idf = [float(np.mean(idf))] + idf
            self._set_tokens(tokens, idf)
        else:
            self._set_tokens(tokens, None)
        self._vocabulary_given = True

    def _set_tokens(self, learned, idf) -> None:
        self._vocabulary = self._specials + list(learned)
        self._index = {token: i for i, token in enumerate(self._vocabulary)}
        self._idf = None if idf is None else torch.tensor(idf, dtype=torch.float32)

    def get_vocabulary(self, include_special_tokens=True) -> list[str]:
        if include_special_tokens:
            return list(self._vocabulary)
        return self._vocabulary[len(self._specials) :]

    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    # ----------------------------------------------------------------------------------------------
    # Calling

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor):  # an Input of a functional model: record the call
            dtype = torch.int64 if self.output_mode == "int" else torch.float32
            return shape_inference.call_host_layer_on_symbolic(self, inputs, dtype)
        # Strings never become tensors: the layer runs here, before torch sees any data.
        return self.call(inputs)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) not in (1, 2) or (len(input_shape) == 2 and input_shape[1] != 1):
            raise errors.value_error(
                self,
                "strings of shape (batch,) or (batch, 1)",
                f"an input of shape {errors.format_shape(input_shape)}",
                "one string per sample: Input(shape=(1,), dtype='string').",
            )
        batch = input_shape[0]
        if self.output_mode == "int":
            return (batch, self.output_sequence_length)
        width = len(self._vocabulary)
        if self.pad_to_max_tokens and self.max_tokens is not None:
            width = max(width, self.max_tokens)
        return (batch, width)

    def call(self, inputs):
        if not self._vocabulary:
            raise errors.value_error(
                self,
                "a vocabulary",
                "none (the layer was not adapted)",
                "call layer.adapt(texts) or pass vocabulary= first.",
            )
        # One text (a str, or the 0-d string a Dataset.map over unbatched rows passes) gives one
        # row without the batch axis, as in Keras: `ds.map(lambda text, y: (layer(text), y))`.
        single = isinstance(inputs, (str, bytes)) or (
            isinstance(inputs, np.ndarray) and inputs.ndim == 0
        )
        texts = list(_iter_strings(inputs, self))
        oov = self._index[_OOV]
        ids = [[self._index.get(token, oov) for token in row] for row in self._tokens(texts)]
        device = backend.default_device()
        if self.output_mode == "int":
            length = self.output_sequence_length
            if length is None or self.ragged:  # TensorFlow's ragged rows are never cut
                length = max((len(row) for row in ids), default=0)
            out = np.zeros((len(ids), length), dtype=np.int64)
            for row, sequence in enumerate(ids):
                sequence = sequence[:length]
                out[row, : len(sequence)] = sequence
            result = torch.from_numpy(out).to(device)
            if single:
                return result[0]
            if self.ragged:
                return RaggedRows.from_padded(result, [len(row) for row in ids])
            return result
        width = len(self._vocabulary)
        if self.pad_to_max_tokens and self.max_tokens is not None:
            width = max(width, self.max_tokens)
        out = np.zeros((len(ids), width), dtype=np.float32)
        for row, sequence in enumerate(ids):
            np.add.at(out[row], sequence, 1.0)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1.0)
        result = torch.from_numpy(out)
        if self.output_mode == "tf_idf":
            weights = torch.zeros(width)
            weights[: len(self._idf)] = self._idf
            result = result * weights
        return (result[0] if single else result).to(device)

    def get_config(self):
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            # A custom function as Keras writes it (registered, it loads again), never None:
            # that would reload as "no standardization" without a word.
            "standardize": _serialized(self.standardize),
            "split": _serialized(self.split),
            "ngrams": self._ngrams_argument,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False,
            "ragged": self.ragged,
            "vocabulary": self.get_vocabulary(include_special_tokens=False) or None,
            "idf_weights": None if self._idf is None else self._idf.tolist(),
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("standardize", "split"):
            if isinstance(config.get(name), dict):
                config[name] = object_serialization.deserialize_keras_object(config[name])
        return super().from_config(config)


def _serialized(option):
    return keras_entry.serialize_keras_object(option) if callable(option) else option


def _string_batches(data, layer, size=1024) -> Iterable[list[str]]:
    """`_iter_strings` in lists of at most `size`: custom standardize/split see batches."""
    batch: list[str] = []
    for text in _iter_strings(data, layer):
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _iter_strings(data, layer) -> Iterable[str]:
    """Strings from a string, a list/array of strings, a (batch, 1) array, or batches of them."""
    if isinstance(data, (str, bytes)):
        yield data
        return
    if isinstance(data, np.ndarray) and data.dtype.kind in "USO":
        if data.ndim == 0:
            yield from _iter_strings(data.item(), layer)
            return
        for item in data.reshape(len(data), -1)[:, 0] if data.ndim > 1 else data:
            yield from _iter_strings(item, layer)
        return
    if isinstance(data, torch.Tensor):
        raise errors.value_error(
            layer, "strings (a list or NumPy array of str)", f"a tensor of dtype {data.dtype}"
        )
    if isinstance(data, Iterable):
        for item in data:
            if isinstance(item, tuple):  # (texts, labels) batches from a data set
                item = item[0]
            yield from _iter_strings(item, layer)
        return
    raise errors.value_error(
        layer, "strings (a list or NumPy array of str)", f"{type(data).__name__}"
    )
