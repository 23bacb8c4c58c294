"""The vocabulary lookup shared by StringLookup and IntegerLookup (lookups.py): tokens <-> ids,
with Keras's layout of ids: [mask id (int output only)] [num_oov_indices OOV ids] [the
vocabulary, in order].

Out-of-vocabulary tokens take the one OOV id, or with several, a hash of the token (FarmHash,
or SipHash with a `salt`; IntegerLookup's default is the token modulo the OOV count). The
non-int output modes encode those ids (CategoryEncoding's rules), "tf_idf" weighting the counts.
"""

from __future__ import annotations

import collections
import os

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, hyperparameters, shape_inference
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode, encoded_shape
from lamina.layers.preprocessing.fingerprints import fingerprint64, siphash24
from lamina.layers.preprocessing.hashing import as_value_array
from lamina.layers.preprocessing.token_counts import (
    TokenCounts,
    read_vocabulary,
    save_vocabulary,
    vocabulary_path,
)

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class _IndexLookup(Layer):
    reads_text = True
    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(
        self,
        max_tokens,
        num_oov_indices,
        mask_token,
        oov_token,
        vocabulary,
        idf_weights,
        invert,
        output_mode,
        pad_to_max_tokens,
        sparse,
        salt,
        **kwargs,
    ):
        kwargs.pop("vocabulary_size", None)  # Keras's config writes it; the vocabulary says it
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":  # tf.keras 2.x's name, which Keras still takes
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise errors.value_error(self, f"output_mode in {_MODES}", f"{output_mode!r}")
        if invert and output_mode != "int":
            raise errors.value_error(
                self, "output_mode='int' with invert=True", f"output_mode={output_mode!r}"
            )
        hyperparameters.count(num_oov_indices, "num_oov_indices", errors.describe(self), 0)
        hyperparameters.count(max_tokens, "max_tokens", errors.describe(self), 2, optional=True)
        if sparse:
            raise errors.value_error(self, "sparse=False (lamina has no sparse outputs)", "True")
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = False
        self.salt = [salt, salt] if isinstance(salt, int) else salt
        self._tokens: list = []
        self._index: dict = {}
        self._counts = TokenCounts()  # what update_state has seen since the last finalize
        self.idf_weights = None
        self.input_vocabulary = vocabulary  # None: learned by adapt, saved among the assets
        self._build_at_init(_IndexLookup)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise errors.value_error(self, "idf_weights only with a vocabulary", "idf_weights")

    # ----------------------------------------------------------------------------------------------
    # The vocabulary

    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _specials(self) -> list:
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def _read_tokens(self, vocabulary) -> list:
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise errors.value_error(self, "a list vocabulary with tf_idf", "a file path")
            with open(vocabulary, encoding="utf-8") as handle:
                lines = [line.rstrip("\r\n") for line in handle]
            return [self._token(t) for t in lines]
        return [self._token(t) for t in as_value_array(vocabulary, self).reshape(-1).tolist()]

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (a list, array or file with one token per line), and for tf_idf its
        inverse document frequencies. Special tokens may lead it, in Keras's order."""
        tokens = self._read_tokens(vocabulary)
        if not tokens:
            raise errors.value_error(self, "a non-empty vocabulary", "an empty one")
        specials = self._specials()
        found_specials = tokens[: len(specials)] == specials
        if found_specials:
            tokens = tokens[len(specials) :]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise errors.value_error(self, "a vocabulary without repeats", f"repeats {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise errors.value_error(
                self,
                f"the mask token only at the start of the vocabulary (as {specials})",
                f"mask_token={self.mask_token!r} at index {tokens.index(self.mask_token)}",
            )
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise errors.value_error(
                self,
                f"the OOV token only at the start of the vocabulary (as {specials})",
                f"oov_token={self.oov_token!r} inside it",
            )
        size = self._token_start() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise errors.value_error(
                self, f"at most max_tokens={self.max_tokens} ids", f"a vocabulary of {size}"
            )
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise errors.value_error(self, "idf_weights with a tf_idf vocabulary", "None")
            weights = np.asarray(backend.as_numpy(idf_weights), dtype="float32").reshape(-1)
            if len(weights) != len(tokens) + (len(specials) if found_specials else 0):
                raise errors.value_error(
                    self, "idf_weights as long as the vocabulary", f"{len(weights)} weights"
                )
            if not found_specials:  # OOV ids get the mean weight, as in Keras
                weights = np.concatenate([np.full(self._token_start(), weights.mean()), weights])
            self._set_idf(weights)
        self._tokens = tokens
        self._index = {t: i + self._token_start() for i, t in enumerate(tokens)}
        self.input_vocabulary = vocabulary

    def _set_idf(self, weights: np.ndarray) -> None:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.pad(weights, (0, self.max_tokens - len(weights)))
        self.idf_weights = torch.as_tensor(weights, dtype=torch.float32)

    def adapt(self, data, steps=None) -> None:
        """Learn the vocabulary from `data` (an array or batches of arrays): tokens by
        frequency, ties broken by the larger token first, up to `max_tokens` ids. Runs
        `reset_state()`, `update_state` per batch (each value of a 1-D array a document), then
        `finalize_state()`."""
        self.reset_state()
        single = isinstance(data, (np.ndarray, torch.Tensor, list)) and not (
            isinstance(data, list) and data and isinstance(data[0], (np.ndarray, torch.Tensor))
        )
        for index, batch in enumerate([data] if single else data):
            if steps is not None and index >= steps:
                break
            batch = batch[0] if isinstance(batch, tuple) else batch
            self._counts.add(self._documents(batch, flat_is_one=False))
        self.finalize_state()

    def update_state(self, data) -> None:
        """Count the tokens of one batch, a document per row (a 1-D batch is one document, as
        in Keras); `finalize_state()` turns the counts into the vocabulary."""
        self._counts.add(self._documents(data, flat_is_one=True))

    def finalize_state(self) -> None:
        """Rank the counted tokens into the vocabulary (and the tf-idf weights), then forget the
        counts. With nothing counted the vocabulary stays as it is."""
        if not self._counts:
            return
        limit = None if self.max_tokens is None else self.max_tokens - self._token_start()
        ranked = self._counts.ranked((self.mask_token, self.oov_token), limit)
        self._tokens = ranked
        self._index = {t: i + self._token_start() for i, t in enumerate(ranked)}
        if self.output_mode == "tf_idf":
            idf = self._counts.inverse_document_frequency(ranked)
            mean = idf.mean() if len(idf) else 0.0
            self._set_idf(np.concatenate([np.full(self._token_start(), mean), idf]))
        self.input_vocabulary = None
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the counts `update_state` gathered (the vocabulary stays)."""
        self._counts.reset()

    def _documents(self, batch, flat_is_one: bool) -> list[list]:
        """A batch's rows as lists of tokens; a 1-D batch is one row or a row per value."""
        rows = _ragged_rows(batch, self)
        if rows is None:
            values = as_value_array(batch, self)
            if values.ndim > 1:
                rows = values.reshape(len(values), -1)
            else:
                rows = values.reshape(1, -1) if flat_is_one else values.reshape(-1, 1)
            rows = rows.tolist()
        return [[self._token(t) for t in row] for row in rows]

    def save_assets(self, dir_path) -> None:
        """Write a learned vocabulary (special tokens first) to `dir_path`/vocabulary.txt, as
        Keras; a vocabulary given as an argument travels in the config instead."""
        if self.input_vocabulary is None:
            save_vocabulary(dir_path, self.get_vocabulary(include_special_tokens=True))

    def load_assets(self, dir_path) -> None:
        """Read back the vocabulary `save_assets` wrote (a Keras file's, too)."""
        path = vocabulary_path(dir_path)
        if self.input_vocabulary is not None or path is None:
            return
        tokens = [self._token(t) for t in read_vocabulary(path)]
        if tokens == self._specials()[: len(tokens)]:
            return  # saved before any vocabulary was learned
        weights = None
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            weights = self.idf_weights[: len(tokens)]
        self.set_vocabulary(tokens, idf_weights=weights)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The tokens in id order; with special tokens, a token's position is its id."""
        if not include_special_tokens:
            return list(self._tokens)
        return self._specials() + list(self._tokens)

    def vocabulary_size(self) -> int:
        return self._token_start() + len(self._tokens)

    # ----------------------------------------------------------------------------------------------
    # Calling

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor):  # an Input of a functional model: record the call
            return shape_inference.call_host_layer_on_symbolic(self, inputs, self._output_dtype())
        # Strings never become tensors: the layer runs here, before torch sees any data.
        return self.call(inputs)

    def _output_dtype(self):
        if self.invert:
            return self._inverted_dtype
        return torch.int64 if self.output_mode == "int" else torch.float32

    def _oov_id(self, token) -> int:
        if self.num_oov_indices == 0:
            raise errors.value_error(
                self,
                "only in-vocabulary inputs with num_oov_indices=0",
                f"{token!r}",
                "set num_oov_indices=1 to map unknown tokens to an OOV id.",
            )
        if self.num_oov_indices == 1:
            return self._oov_start()
        return self._oov_start() + self._hash_oov(token) % self.num_oov_indices

    def _hash_oov(self, token) -> int:
        data = str(token).encode("utf-8")
        return fingerprint64(data) if self.salt is None else siphash24(self.salt, data)

    def _ids(self, values) -> list[int]:
        flat = [self._token(v) for v in values]
        masked = -1 if self.output_mode != "int" else 0
        ids = [
            masked
            if self.mask_token is not None and t == self.mask_token
            else self._index.get(t, None)
            for t in flat
        ]
        return [self._oov_id(t) if i is None else i for i, t in zip(ids, flat, strict=True)]

    def call(self, inputs):
        rows = None if self.invert else _ragged_rows(inputs, self)
        if rows is not None:
            # Rows of different lengths (Keras's ragged tensors): a vector per row, the
            # padding id -1 encoding nothing.
            if self.output_mode == "int":
                raise errors.value_error(
                    self,
                    "rows of one length with output_mode='int'",
                    f"rows of lengths {sorted({len(row) for row in rows})}",
                    "torch has no ragged tensors: pad the rows first (keras.utils."
                    "pad_sequences), or use output_mode='multi_hot', 'count' or 'tf_idf'.",
                )
            width = max(len(row) for row in rows)
            padded = np.full((len(rows), width), -1, dtype=np.int64)
            for index, row in enumerate(rows):
                padded[index, : len(row)] = self._ids(row)
            tensor = torch.as_tensor(padded, device=backend.default_device())
        else:
            values = as_value_array(inputs, self)
            if self.invert:
                return self._invert([int(i) for i in values.reshape(-1).tolist()], values.shape)
            ids = self._ids(values.reshape(-1).tolist())
            tensor = torch.as_tensor(
                np.asarray(ids, dtype=np.int64).reshape(values.shape),
                device=backend.default_device(),
            )
        if self.output_mode == "int":
            return tensor
        depth = self._depth()
        out = encode(tensor, "count" if self.output_mode == "tf_idf" else self.output_mode, depth)
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights.to(out.device)[:depth]
        return out

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _invert(self, ids, shape):
        vocabulary = self.get_vocabulary()
        start = self._token_start()
        tokens = [
            self.mask_token
            if self.mask_token is not None and i == 0
            else vocabulary[i]
            if start <= i < len(vocabulary)
            else self.oov_token
            for i in ids
        ]
        return self._inverted_output(tokens, shape)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self):
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.get_vocabulary(include_special_tokens=False) or None,
            "idf_weights": None
            if self.idf_weights is None
            else self.idf_weights[: self.vocabulary_size()].tolist(),
            "vocabulary_size": self.vocabulary_size(),
            "salt": self.salt,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("idf_weights") is not None and config.get("vocabulary") is not None:
            # Saved weights cover the special tokens too: put them back in front of the tokens.
            layer = cls(**{**config, "vocabulary": None, "idf_weights": None})
            specials = layer._specials()
            config["vocabulary"] = specials + list(config["vocabulary"])
        return super().from_config(config)


def _ragged_rows(inputs, layer) -> list[list] | None:
    """The rows of a batch whose rows differ in length (Keras's `tf.ragged.constant`, written
    as a list of lists), as lists of values; None for a rectangular batch."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return None
    if not all(isinstance(row, (list, tuple, np.ndarray)) for row in inputs):
        return None
    if len({len(row) for row in inputs}) == 1:
        return None
    return [as_value_array(list(row), layer).reshape(-1).tolist() for row in inputs]
