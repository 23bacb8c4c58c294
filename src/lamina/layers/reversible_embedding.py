"""ReversibleEmbedding: an Embedding that also maps vectors back to vocabulary logits."""

from __future__ import annotations

import torch

from lamina import backend
from lamina.layers.embedding import Embedding
from lamina.quantizers import quantized_embedding


class ReversibleEmbedding(Embedding):
    """Embedding with a reverse mode: `layer(ids)` embeds, `layer(vectors, reverse=True)` gives
    logits over the vocabulary, through the transposed embedding matrix (`tie_weights=True`,
    the language-model weight tying) or a separate `reverse_embeddings` weight.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
        embeddings_constraint, mask_zero: as in Embedding.
        tie_weights: reverse through `embeddings.T` (True) or a weight of its own (False).
        reverse_dtype: dtype of the reverse matrix product (None: the layer's).
        logit_soft_cap: if set, logits become `tanh(logits / cap) * cap`.

    Input shape: `(batch, ...)` ids; reverse: `(batch, ..., output_dim)`.
    Output shape: `(batch, ..., output_dim)`; reverse: `(batch, ..., input_dim)`.
    Weights: embeddings `(input_dim, output_dim)`, and with `tie_weights=False`
    reverse_embeddings `(output_dim, input_dim)`.

    Example:
        >>> layer = ReversibleEmbedding(10, 4)
        >>> vectors = layer(torch.tensor([[1, 2]]))
        >>> tuple(layer(vectors, reverse=True).shape)
        (1, 2, 10)
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        tie_weights=True,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        reverse_dtype=None,
        logit_soft_cap=None,
        **kwargs,
    ):
        super().__init__(
            input_dim,
            output_dim,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            **kwargs,
        )
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)  # a quantized table already (Embedding.build)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings",
                shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
            )
            if self.quantization_mode is not None:  # loaded quantized: the file fills it
                quantized_embedding.build_reverse_quantized(self)

    @property
    def variable_serialization_spec(self) -> dict:
        """As Embedding's, the untied reverse table's variables after the table's."""
        return quantized_embedding.serialization_spec(self.tie_weights)

    def _quantize_weights(self, mode, config):
        quantized_embedding.quantize(self, mode, config)
        if not self.tie_weights:
            quantized_embedding.quantize_reverse(self, mode, config)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        if self._is_quantized:
            logits = quantized_embedding.reverse_call(self, inputs)
            if self.logit_soft_cap is not None:
                logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
            return logits
        if self.tie_weights:  # LoRA's update reaches the tied projection too, as in Keras
            kernel = (self._lora_kernel() if self.lora_enabled else self.embeddings).T
        else:
            kernel = self.reverse_embeddings
        if self.reverse_dtype is not None:
            dtype = backend.to_torch_dtype(self.reverse_dtype)
            inputs, kernel = inputs.to(dtype), kernel.to(dtype)
        logits = torch.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, mask=None):
        if inputs.is_floating_point():  # reverse mode: logits carry no mask
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return (*input_shape, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.pop("input_length", None)
        return {
            **config,
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
