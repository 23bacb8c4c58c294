"""tf.keras's `warmstart_embedding_matrix`: an embedding matrix carried over to a new vocabulary.

Keras 3 dropped it; TF's warm-start tutorial is built on it, and it is a few lines over NumPy.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import initializers
from lamina.engine import errors


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy"):  # a lamina Variable
        return np.asarray(value.numpy())
    return np.asarray(value)


def _tokens(vocabulary) -> list:
    return [t.decode() if isinstance(t, bytes) else t for t in _as_array(vocabulary).tolist()]


def warmstart_embedding_matrix(
    base_vocabulary, new_vocabulary, base_embeddings, new_embeddings_initializer="uniform"
):
    """The embedding matrix of `new_vocabulary`: rows of tokens also in `base_vocabulary` copied
    from `base_embeddings`, the others drawn from `new_embeddings_initializer` (tf.keras 2's
    `keras.utils.warmstart_embedding_matrix`; a token listed twice in the base vocabulary takes
    its last row, as there).

    Args:
        base_vocabulary: the tokens (list or array) the base embeddings were trained on.
        new_vocabulary: the tokens of the new vocabulary, in their new order.
        base_embeddings: the base matrix, (len(base_vocabulary), dim): array, tensor or Variable.
        new_embeddings_initializer: an initializer (name or object) for the new tokens' rows.

    Returns:
        A float tensor of shape (len(new_vocabulary), dim), to `assign` to a new Embedding's
        `embeddings`.

    Example:
        >>> base = np.arange(6, dtype="float32").reshape(3, 2)
        >>> new = warmstart_embedding_matrix(["", "a", "b"], ["", "b", "c", "a"], base)
        >>> new[[0, 1, 3]].tolist()
        [[0.0, 1.0], [4.0, 5.0], [2.0, 3.0]]
    """
    base = _as_array(base_embeddings)
    base_tokens, new_tokens = _tokens(base_vocabulary), _tokens(new_vocabulary)
    if base.ndim != 2 or base.shape[0] != len(base_tokens):
        raise errors.value_error(
            "warmstart_embedding_matrix",
            f"base_embeddings of shape ({len(base_tokens)}, dim), one row per base token",
            f"shape {base.shape}",
            "pass the base Embedding's get_weights()[0] with the vocabulary it was trained on.",
        )
    initializer = initializers.get(new_embeddings_initializer)
    dtype = str(base.dtype) if base.dtype.kind == "f" else "float32"
    result = torch.as_tensor(initializer(shape=(len(new_tokens), base.shape[1]), dtype=dtype))
    row_of = {token: row for row, token in enumerate(base_tokens)}
    pairs = [(index, row_of[token]) for index, token in enumerate(new_tokens) if token in row_of]
    if pairs:
        new_rows, base_rows = zip(*pairs, strict=True)
        result = result.clone()
        result[list(new_rows)] = torch.as_tensor(base[list(base_rows)], device=result.device).to(
            result.dtype
        )
    return result
