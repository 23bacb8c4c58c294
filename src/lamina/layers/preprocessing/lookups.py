"""StringLookup and IntegerLookup: the two public vocabulary lookups on `_IndexLookup`."""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors
from lamina.layers.preprocessing.index_lookup import _IndexLookup


class StringLookup(_IndexLookup):
    """Maps strings to integer ids through a vocabulary (or back with `invert=True`).

    Args:
        max_tokens: the most ids (special ones included), or None for no limit.
        num_oov_indices: ids for out-of-vocabulary strings (hashed among them if several).
        mask_token: a string that maps to id 0 ("int" output; dropped from the other modes).
        oov_token: what invert=True returns for an OOV id (default "[UNK]").
        vocabulary: a list/array of strings or a text file with one per line; or adapt().
        idf_weights: tf_idf only: the inverse document frequency of each vocabulary token.
        invert: map ids back to strings.
        output_mode: "int" (default), "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: non-int outputs have max_tokens columns.
        sparse: False only. encoding: the text encoding ("utf-8").
        salt: hash OOV strings with SipHash under this key (an int or a pair).

    Input shape: any, strings. Output shape: the same ("int"), else as CategoryEncoding's.

    Example:
        >>> StringLookup(vocabulary=["a", "b", "c"])([["a", "c", "z"]]).tolist()
        [[1, 3, 0]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        # In Keras's config (its lookups share one base); strings are hashed either way.
        self.oov_method = kwargs.pop("oov_method", "floormod")
        if self.oov_method not in ("floormod", "farmhash"):
            raise errors.value_error(
                type(self).__name__, "oov_method 'floormod' or 'farmhash'", f"{self.oov_method!r}"
            )
        super().__init__(
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
            name=name,
            **kwargs,
        )

    def _token(self, value):
        return value.decode(self.encoding) if isinstance(value, bytes) else str(value)

    _inverted_dtype = "string"

    def _inverted_output(self, tokens, shape):
        return np.asarray(tokens, dtype=object).reshape(shape).astype(str)

    def get_config(self):
        # As Keras's: no vocabulary_dtype (strings only), and the base's oov_method.
        return {**super().get_config(), "oov_method": self.oov_method, "encoding": self.encoding}


class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous ids through a vocabulary (or back with `invert=True`).

    Args:
        max_tokens, num_oov_indices, vocabulary, idf_weights, invert, output_mode,
        pad_to_max_tokens, sparse: as in StringLookup.
        mask_token: an integer that maps to id 0 ("int" output).
        oov_token: what invert=True returns for an OOV id (default -1).
        vocabulary_dtype: "int64" (default) or "int32".
        oov_method: "floormod" (default: OOV id = value mod num_oov_indices) or "farmhash".
        salt: with oov_method="farmhash", hash with SipHash under this key.

    Input shape: any, integers. Output shape: the same ("int"), else as CategoryEncoding's.

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(torch.tensor([[12, 1138, 42], [42, 1000, 36]])).tolist()
        [[1, 3, 4], [4, 0, 2]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        if oov_method not in ("floormod", "farmhash"):
            raise errors.value_error(
                type(self).__name__, "oov_method 'floormod' or 'farmhash'", f"{oov_method!r}"
            )
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        super().__init__(
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
            name=name,
            **kwargs,
        )

    def _token(self, value):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.value_error(
                self,
                "integer tokens (in the vocabulary and the inputs)",
                f"{value!r}",
                "use StringLookup for text.",
            ) from None

    def _hash_oov(self, token) -> int:
        if self.oov_method == "floormod":
            return token  # Python's % is a floor modulo, as tf.math.floormod
        return super()._hash_oov(token)

    _inverted_dtype = torch.int64

    def _inverted_output(self, tokens, shape):
        array = np.asarray(tokens, dtype=np.int64).reshape(shape)
        return torch.as_tensor(array, device=backend.default_device())

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_dtype": self.vocabulary_dtype,
            "oov_method": self.oov_method,
        }
