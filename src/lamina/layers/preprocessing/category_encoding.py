"""Integer ids -> one-hot, multi-hot or count vectors: `encode`, shared by the categorical
layers (Discretization, Hashing, the lookups), and the CategoryEncoding layer."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.ops_backend import DataLayer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def _one_hot(ids: torch.Tensor, depth: int, dtype) -> torch.Tensor:
    # Keras's one_hot: an id outside [0, depth) gives a row of zeros.
    valid = (ids >= 0) & (ids < depth)
    hot = F.one_hot(torch.where(valid, ids, 0).long(), depth).to(dtype)
    return hot * valid.unsqueeze(-1).to(dtype)


def encode(ids, output_mode: str, depth: int, dtype=torch.float32, count_weights=None):
    """Keras's encoding of integer ids: 'int' casts; 'one_hot' adds an axis of size `depth`
    (replacing a trailing axis of 1); 'multi_hot' and 'count' reduce axis 1 of a batch (axis 0
    of a single sample) to a `depth`-vector of presence or counts (weighted by count_weights)."""
    ids = torch.as_tensor(ids)
    if output_mode == "int":
        return ids.long()
    if ids.ndim == 0:
        ids = ids.unsqueeze(-1)
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids.squeeze(-1)
        return _one_hot(ids, depth, dtype)
    axis = 1 if ids.ndim > 1 else 0
    if count_weights is not None:
        dtype = torch.as_tensor(count_weights).dtype
    hot = _one_hot(ids, depth, dtype)
    if output_mode == "multi_hot":
        return hot.amax(dim=axis)
    if count_weights is not None:
        hot = hot * torch.as_tensor(count_weights, dtype=dtype).unsqueeze(-1)
    return hot.sum(dim=axis)


def encoded_shape(input_shape, output_mode: str, depth: int) -> tuple:
    """The output shape `encode` gives for `input_shape`."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return (*input_shape[:-1], depth)
        return (*input_shape, depth)
    if len(input_shape) > 1:
        return (input_shape[0], *input_shape[2:], depth)
    return (depth,)


def as_id_tensor(inputs) -> torch.Tensor:
    """Integer inputs (lists, arrays, tensors) as a tensor on lamina's device; a symbolic input
    (a functional model's `Input`) as it is, for the layer call to record."""
    if isinstance(inputs, (torch.Tensor, KerasTensor)):
        return inputs
    return torch.as_tensor(np.asarray(inputs), device=backend.default_device())


class CategoryEncoding(DataLayer, Layer):
    """Encodes integer ids in [0, num_tokens) as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of ids (the size of the output's last axis).
        output_mode: "multi_hot" (default; "binary" is its old name), "one_hot" or "count".
        sparse: accepted for Keras compatibility; lamina returns dense tensors (False only).

    Call arguments: `inputs` integer ids, `count_weights` (same shape; "count" mode only).

    Input shape: `(batch,)` or `(batch, k)`. Output shape: `(batch, num_tokens)` (one_hot of
    `(batch, k)` with k > 1: `(batch, k, num_tokens)`).

    Example:
        >>> CategoryEncoding(4, output_mode="count")(torch.tensor([[0, 1, 1], [3, 3, 2]])).tolist()
        [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]]
    """

    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in OUTPUT_MODES:
            raise errors.value_error(
                self, f"output_mode in {OUTPUT_MODES}", f"output_mode={output_mode!r}"
            )
        if num_tokens is None or num_tokens < 1:
            raise errors.value_error(
                self,
                "num_tokens >= 1",
                f"num_tokens={num_tokens}",
                "for an unknown number of ids use IntegerLookup instead.",
            )
        if sparse:
            raise errors.value_error(self, "sparse=False (lamina has no sparse outputs)", "True")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False
        self._build_at_init(CategoryEncoding)

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(as_id_tensor(inputs), *args, **kwargs)

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise errors.value_error(
                self,
                "count_weights only with output_mode='count'",
                f"count_weights with output_mode={self.output_mode!r}",
            )
        return encode(inputs, self.output_mode, self.num_tokens, self._dtype, count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }  # (no `sparse`, as Keras's: lamina's outputs are dense)
