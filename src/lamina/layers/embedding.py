"""Embedding (token ids -> dense vectors, optionally masking id 0) and Masking."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.engine import errors, shape_inference
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers.lora import LoraLayer, lora_target_slot
from lamina.quantizers import quantized_embedding
from lamina.quantizers import registry as quantizers_registry


class Embedding(LoraLayer, Layer):
    """Turns non-negative integer token ids into dense vectors of size `output_dim`.

    Args:
        input_dim: vocabulary size: ids must lie in [0, input_dim).
        output_dim: size of each vector.
        embeddings_initializer: default 'uniform' (Keras's RandomUniform(-0.05, 0.05)).
        embeddings_regularizer, activity_regularizer, embeddings_constraint: as in Dense.
        mask_zero: id 0 is padding: the output carries a mask (batch, length) that recurrent and
            attention layers downstream honour. Then id 0 cannot be a real token.
        weights: optional `[matrix]` of shape (input_dim, output_dim) to start from (Keras 2).
        input_length: length of the input sequences (Keras 2): lets a Sequential build at
            definition time with integer inputs of shape (input_length,).
        lora_rank: enable low-rank adaptation of this rank when the layer is built (see
            `enable_lora`): the table freezes, `lora_embeddings_a` (input_dim, rank) and
            `lora_embeddings_b` (rank, output_dim) train.
        lora_alpha: scales the adaptation by `lora_alpha / lora_rank`. As in Keras, Embedding
            enables it at build with `lora_alpha = lora_rank`; `enable_lora(rank, lora_alpha)`
            sets another.
        quantization_config: the `QuantizationConfig` a quantized layer was made with (Keras
            writes it into a quantized model's config); set by `quantize()`.

    Out-of-range ids: on CPU they raise a ValueError naming the offending id (torch's own bounds
    check, intercepted: no cost per batch). On GPU an out-of-range id would be a device-side
    assert, and checking every batch would cost a host synchronisation, so the ids are checked on
    the layer's first call only.

    Input shape: `(batch, ...)` integers. Output shape: `(batch, ..., output_dim)`.

    Example:
        >>> layer = Embedding(100, 8, mask_zero=True)
        >>> out = layer(torch.tensor([[5, 3, 0]]))
        >>> tuple(out.shape), out._keras_mask.tolist()
        ((1, 3, 8), [[True, True, False]])
    """

    _lora_target = "embeddings"
    _lora_factor_names = ("lora_embeddings_a", "lora_embeddings_b")
    _lora_alpha_from_config = False  # Keras's Embedding enables at build with alpha = rank
    embeddings = lora_target_slot("embeddings")  # with LoRA on: the merged table, as Keras

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        activity_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        input_length=None,
        lora_rank=None,
        lora_alpha=None,
        sparse=False,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.quantization_config = quantizers_registry.deserialize_config(quantization_config)
        self.input_dim = check.positive_int(input_dim, "input_dim", self)
        self.output_dim = check.positive_int(output_dim, "output_dim", self)
        self._init_lora(lora_rank, lora_alpha)
        if isinstance(embeddings_initializer, str) and embeddings_initializer.lower() == "uniform":
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero  # as Keras: the layer that makes the mask
        self.input_length = input_length
        if input_length is not None:  # Keras 3 ignores it; lamina still builds from it, below
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        self._initial_weights = weights
        self._ids_checked = False
        # Keras 2 built the model from input_length: a Sequential starting with this layer
        # builds at definition time, fed integer ids.
        self.declared_input_dtype = "int32"
        if input_length is not None and self._declared_input_shape is None:
            self._declared_input_shape = (int(input_length),)
        if weights is not None:  # as Keras: built at once, so `layer.embeddings` reads them
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self._initial_weights = weights
            self.build()

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        if self.quantization_mode is not None:  # loaded quantized: the file fills the variables
            quantized_embedding.build_quantized(self)
        self._build_lora()

    @property
    def variable_serialization_spec(self) -> dict:
        """Keras's table of the variables this layer writes to a weights file, in order, for
        each quantization mode (None: not quantized)."""
        return quantized_embedding.serialization_spec()

    def _quantize_weights(self, mode, config):
        quantized_embedding.quantize(self, mode, config)

    def _lora_keras_shape(self):
        return (self.input_dim, self.output_dim)

    def _lora_project(self, inputs, factor_a):
        return F.embedding(inputs, factor_a)

    def _lora_dequantized(self):
        return quantized_embedding.dequantized_table(self)

    def _lora_unpacked_int4(self, packed):
        return quantized_embedding.unpack_int4(packed, self.output_dim, axis=-1)

    def _lora_requantized(self, merged):
        mode, config = self.quantization_mode, self.quantization_config
        return quantized_embedding.quantized_values(self, mode, config, merged)

    def _lookup(self, ids):
        if self._is_quantized:
            outputs = quantized_embedding.lookup(self, ids)
            if self.lora_enabled:  # QLoRA: a float low-rank path beside the integer table
                outputs = (outputs + self._lora_outputs(ids)).to(outputs.dtype)
            return outputs
        table = self._lora_kernel() if self.lora_enabled else self.embeddings
        return F.embedding(ids, table)

    def call(self, inputs):
        ids = inputs if not inputs.is_floating_point() else inputs.long()
        if shape_inference.in_probe() and not ids.is_meta:
            # A shape probe on real zeros: ids made from a probe size (positions from
            # arange(length)) may pass input_dim; only the output's shape is wanted.
            ids = ids.clamp(0, self.input_dim - 1)
        if ids.device.type == "cpu" or ids.is_meta:
            try:
                outputs = self._lookup(ids)
            except IndexError:
                raise self._out_of_range(ids) from None
        else:
            if not self._ids_checked:
                self._check_ids(ids)
                self._ids_checked = True
            outputs = self._lookup(ids)
        return outputs

    def _check_ids(self, ids) -> None:
        if ids.numel() and bool((ids.min() < 0) | (ids.max() >= self.input_dim)):
            raise self._out_of_range(ids)

    def _out_of_range(self, ids) -> ValueError:
        values = ids.detach().cpu().numpy()
        bad = values[(values < 0) | (values >= self.input_dim)]
        return errors.value_error(
            self,
            f"token ids in [0, {self.input_dim}) (input_dim={self.input_dim})",
            f"id {int(bad.max() if (bad >= 0).any() else bad.min())} "
            f"(ids range over [{int(values.min())}, {int(values.max())}])",
            "set input_dim to the vocabulary size + 1 (ids are 0-based), or cap the vocabulary "
            "when tokenizing (e.g. num_words= in imdb.load_data).",
        )

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def get_config(self):
        # input_length only where given: Keras 3 writes no such key.
        legacy = {} if self.input_length is None else {"input_length": self.input_length}
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            **legacy,
            "quantization_config": quantizers_registry.serialize(self.quantization_config),
            **self._lora_config(),
        }


class Masking(Layer):
    """Masks time steps whose features all equal `mask_value`, for the layers downstream.

    The output equals the input with masked steps zeroed, and carries a (batch, timesteps) mask.

    Args:
        mask_value: the padding value (default 0.0).

    Input shape: `(batch, timesteps, features)`. Output shape: the same.

    Example:
        >>> x = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
        >>> Masking()(x)._keras_mask.tolist()
        [[True, False]]
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value) if np.isscalar(mask_value) else mask_value
        self._build_at_init(Masking)

    def compute_mask(self, inputs, mask=None):
        if not isinstance(inputs, torch.Tensor):  # called directly on an array, as Keras allows
            inputs = torch.as_tensor(inputs)
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return inputs * keep.to(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
