"""GroupQueryAttention (Ainslie et al., 2023): fewer key/value heads than query heads, each
key/value head shared by a group of query heads. Multi-query attention is the one-group case."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend, constraints, initializers, regularizers
from lamina.engine import errors, func_transforms, naming
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers.attention import attention_mask_tensor, check_key_matches_value
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.masking_scores import fused_masked_logit, masked_logit


class GroupQueryAttention(Layer):
    """Attention with `num_query_heads` query heads and `num_key_value_heads` key/value heads.

    Args:
        head_dim: size of each head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key and value heads; must divide `num_query_heads`.
        dropout: dropout on the attention weights while training.
        use_bias: biases in the projections.
        sliding_window: if set, a query attends only to keys less than this many steps away.
        flash_attention: accepted for Keras compatibility (torch chooses its own kernel); not
            in the config, as Keras's.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: of the projections.
        use_gate: gate the attention output by `sigmoid(query @ W_gate)` before projecting.
        seed: kept in the config.

    Call arguments: `query` (batch, T, dim), `value` (batch, S, dim), `key` (default value),
    `query_mask`, `value_mask`, `key_mask`, `attention_mask` (batch, T, S),
    `return_attention_scores`, `training`, `use_causal_mask`.

    Output shape: the query's; with return_attention_scores, also the scores
    `(batch, num_query_heads, T, S)`. Weights (Keras's order): query, key, [gate,] value and
    attention_output EinsumDense kernels and biases.

    Example:
        >>> layer = GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = torch.zeros(2, 5, 8)
        >>> tuple(layer(x, x).shape)
        (2, 5, 8)
    """

    supports_masking = True

    def __init__(
        self,
        head_dim,
        num_query_heads,
        num_key_value_heads,
        dropout=0.0,
        use_bias=True,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        if kwargs.get("name") is None:  # Keras's class is GroupedQueryAttention, and so its names
            kwargs["name"] = naming.unique_name("grouped_query_attention")
        super().__init__(**kwargs)
        self.head_dim = check.positive_int(head_dim, "head_dim", self)
        self.num_query_heads = check.positive_int(num_query_heads, "num_query_heads", self)
        self.num_key_value_heads = check.positive_int(
            num_key_value_heads, "num_key_value_heads", self
        )
        if num_query_heads % num_key_value_heads:
            raise errors.value_error(
                self,
                "num_query_heads divisible by num_key_value_heads",
                f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}",
            )
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = check.rate(dropout, "dropout", self)
        self.use_bias = bool(use_bias)
        if sliding_window is not None and (
            not isinstance(sliding_window, int) or sliding_window <= 0
        ):
            raise errors.value_error(
                self, "sliding_window=None or a positive integer", f"{sliding_window!r}"
            )
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.use_gate = bool(use_gate)
        self.seed = seed

    def _projection(self, equation, output_shape, bias_axes, name, activation=None):
        return EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            activation=activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,  # the projections compute as this layer does, as Keras's
            name=name,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Created in Keras's order, which is the order of get_weights().
        self.query_dense = self._projection("bqm,muh->bquh", (None, heads, dim), "uh", "query")
        self.query_dense.build_from_shape(query_shape)
        self.key_dense = self._projection("bkm,mvh->bkvh", (None, kv_heads, dim), "vh", "key")
        self.key_dense.build_from_shape(key_shape)
        self.gate_dense = None
        if self.use_gate:
            self.gate_dense = self._projection(
                "bqm,muh->bquh", (None, heads, dim), "uh", "gate", activation="sigmoid"
            )
            self.gate_dense.build_from_shape(query_shape)
        self.value_dense = self._projection("bkm,mvh->bkvh", (None, kv_heads, dim), "vh", "value")
        self.value_dense.build_from_shape(value_shape)
        # Keras builds Softmax and Dropout helper layers here; lamina fuses both into the kernel.
        naming.take_names_of("Softmax", "Dropout")
        self.output_dense = self._projection(
            "bquh,uhm->bqm", (None, query_shape[-1]), "m", "attention_output"
        )
        self.output_dense.build_from_shape((None, None, heads, dim))

    def build_from_shape(self, input_shape):
        """Deferred to the first call, which knows the query, value and key shapes."""

    def forward(self, query, value=None, key=None, **kwargs):
        if not self.built:
            device = backend.default_device() if query.is_meta else query.device
            with torch.device(device):
                self.build(
                    tuple(query.shape),
                    None if value is None else tuple(value.shape),
                    None if key is None else tuple(key.shape),
                )
            self.built = True
            self._build_input_shape = (None, *query.shape[1:])
            self._apply_trainable()
            if query.is_meta:
                from lamina.engine import symbolic

                return symbolic.meta_call(self, (query, value, key), kwargs)
        return super().forward(query, value, key, **kwargs)

    def _keep_mask(self, query, value, masks, attention_mask, use_causal_mask):
        """Keras's combination of the masks: a bool (batch or 1, 1, T, S) mask, or None."""
        query_mask, value_mask, key_mask = masks
        steps_q, steps_k, device = query.shape[1], value.shape[1], query.device
        keep = None

        def both(a, b):
            return b if a is None else a & b

        if query_mask is not None:
            keep = both(keep, query_mask.to(torch.bool)[:, :, None])
        for mask in (value_mask, key_mask):
            if mask is not None:
                keep = both(keep, mask.to(torch.bool)[:, None, :])
        rows = torch.arange(steps_q, device=device)[:, None]
        cols = torch.arange(steps_k, device=device)[None, :]
        if use_causal_mask:
            keep = both(keep, (rows >= cols)[None])
        if self.sliding_window is not None:
            keep = both(keep, ((rows - cols).abs() < self.sliding_window)[None])
        if attention_mask is not None:
            keep = both(keep, attention_mask.to(torch.bool))
        return None if keep is None else keep[:, None]

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key = value if key is None else key
        attention_mask = attention_mask_tensor(attention_mask, query)
        masks = (
            getattr(query, "_keras_mask", None) if query_mask is None else query_mask,
            getattr(value, "_keras_mask", None) if value_mask is None else value_mask,
            getattr(key, "_keras_mask", None) if key_mask is None else key_mask,
        )
        keep = self._keep_mask(query, value, masks, attention_mask, use_causal_mask)
        gate = self.gate_dense(query) if self.gate_dense is not None else None
        # (batch, heads, steps, head_dim); each key/value head serves num_repeats query heads.
        q = self.query_dense(query).transpose(1, 2)
        k = self.key_dense(key).repeat_interleave(self.num_repeats, dim=2).transpose(1, 2)
        v = self.value_dense(value).repeat_interleave(self.num_repeats, dim=2).transpose(1, 2)
        scale = 1.0 / math.sqrt(self.head_dim)
        scores = None
        # Keras's rule: any dropout rate takes the explicit path, in inference too, where a
        # query whose keys are all masked gets zero weights (the fused one: uniform weights).
        if return_attention_scores or self.dropout > 0.0:
            logits = torch.matmul(q * scale, k.transpose(-1, -2))
            if keep is not None:
                logits = logits + (~keep).to(logits.dtype) * masked_logit(logits.dtype)
            scores = torch.softmax(logits, dim=-1)
            if keep is not None:
                scores = scores * keep.to(scores.dtype)
            weights = F.dropout(scores, self.dropout, training=True) if training else scores
            attended = torch.matmul(weights, v)
        else:
            additive = None
            if keep is not None:
                additive = torch.zeros(keep.shape, dtype=q.dtype, device=q.device).masked_fill(
                    ~keep, fused_masked_logit(q.dtype)
                )
            attended = func_transforms.scaled_dot_product_attention(
                q, k, v, attn_mask=additive, scale=scale
            )
        attended = attended.transpose(1, 2)
        if gate is not None:
            attended = attended * gate
        output = self.output_dense(attended)
        return (output, scores) if return_attention_scores else output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """The query's shape; the key's and value's must agree on every axis but the last.

        Args:
            query_shape: the query's shape.
            value_shape: the value's shape (default the query's).
            key_shape: the key's shape (default the value's).

        Returns:
            The output's shape.

        Example:
            >>> layer = GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2)
            >>> layer.compute_output_shape((None, 4, 8), (None, 3, 8))
            (None, 4, 8)
        """
        check_key_matches_value(self, query_shape, value_shape, key_shape)
        return tuple(query_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "use_gate": self.use_gate,
            "seed": self.seed,
        }
