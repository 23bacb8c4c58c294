"""`keras.preprocessing.text` of tf.keras 2.x, which Keras 3 removed (Tokenizer, one_hot,
hashing_trick, text_to_word_sequence, tokenizer_from_json).

Each of those names raises an ImportError that names its Keras 3 replacement, so
`from keras.preprocessing.text import Tokenizer` (DeepLearning.AI's NLP course before its
TextVectorization rewrite) says what to write instead rather than only "No module named".
"""

from lamina.engine import errors

_TEXT_VECTORIZATION = (
    "`keras.layers.TextVectorization`: `adapt(texts)` builds the vocabulary (`get_vocabulary()` "
    "lists it, most frequent first, 0 for padding and 1 for '[UNK]' as `oov_token`), calling "
    "the layer on texts gives the integer sequences `texts_to_sequences` gave, padded at the end "
    "(`ragged=True` keeps each row's length, for `keras.utils.pad_sequences`)"
)
_REPLACEMENTS = {
    "Tokenizer": _TEXT_VECTORIZATION,
    "tokenizer_from_json": "`keras.layers.TextVectorization.from_config(layer.get_config())`",
    "one_hot": "`keras.layers.Hashing(num_bins)` on the words, or " + _TEXT_VECTORIZATION,
    "hashing_trick": "`keras.layers.Hashing(num_bins)` on the words",
    "text_to_word_sequence": (
        "`keras.layers.TextVectorization(split='whitespace')`, or `text.lower().split()`"
    ),
}


def __getattr__(name):
    # Only reached for names this module lacks. An ImportError (not an AttributeError, which
    # `from ... import` would replace by its own "cannot import name") carries the hint.
    if name in _REPLACEMENTS:
        raise ImportError(
            f"`keras.preprocessing.text.{name}` is Keras 2 API that Keras 3 removed. "
            f"Use {_REPLACEMENTS[name]} instead.",
            name="lamina.preprocessing.text",
        )
    raise errors.missing_attribute("lamina.preprocessing.text", name, {})
