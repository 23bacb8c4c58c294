"""Attention layers: Attention (dot-product), AdditiveAttention, MultiHeadAttention."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from lamina import backend, constraints, initializers, regularizers
from lamina.engine import errors, func_transforms, functional, naming
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import attention_folding
from lamina.layers.masking_scores import fused_masked_logit, masked_logit
from lamina.quantizers import quantized_attention


def _masks_of(inputs, mask):
    if mask is not None:  # [query_mask, value_mask(, key_mask)]: the key's is not used
        mask = list(mask)[:2]
        return mask + [None] * (2 - len(mask))
    return [getattr(t, "_keras_mask", None) for t in inputs[:2]]


def _causal(query_steps: int, key_steps: int, device) -> torch.Tensor:
    return torch.ones(query_steps, key_steps, dtype=torch.bool, device=device).tril()


def attention_mask_tensor(attention_mask, query: torch.Tensor):
    """An `attention_mask` given as a list or NumPy array, as a tensor on the query's device
    (Keras takes either); a tensor or None as it is."""
    if attention_mask is None or isinstance(attention_mask, torch.Tensor):
        return attention_mask
    return torch.as_tensor(np.asarray(attention_mask), device=query.device)


def check_key_matches_value(layer, query_shape, value_shape=None, key_shape=None) -> None:
    """Keras's rule for an attention layer's `compute_output_shape`: the key's shape (default
    the value's, itself by default the query's) equals the value's but for the last axis.

    Args:
        layer: the attention layer, named in the error.
        query_shape: the query's shape.
        value_shape: the value's shape, or None.
        key_shape: the key's shape, or None.

    Example:
        >>> check_key_matches_value("mha", (None, 4, 8), (None, 3, 8), (None, 3, 2))
    """
    value_shape = tuple(query_shape if value_shape is None else value_shape)
    key_shape = value_shape if key_shape is None else tuple(key_shape)
    if value_shape[1:-1] != key_shape[1:-1]:
        raise errors.value_error(
            layer,
            "key and value shapes equal but for the last axis",
            f"value_shape={errors.format_shape(value_shape)}, "
            f"key_shape={errors.format_shape(key_shape)}",
            "the key and the value must have the same number of steps.",
        )


class _BaseDenseAttention(Layer):
    """What Attention and AdditiveAttention share: inputs [query, value(, key)], masks, softmax."""

    supports_masking = True

    def __init__(self, use_scale=False, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.dropout = check.dropout_rate(dropout, "dropout", self)
        self.seed = seed

    def _split(self, inputs, received=None):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3) or received:
            if received is None:
                received = (
                    f"a list of {len(inputs)}"
                    if isinstance(inputs, (list, tuple))
                    else f"a single {type(inputs).__name__}"
                )
            raise errors.value_error(
                self,
                "inputs as a list of length 2 or 3: [query, value] or [query, value, key]",
                received,
                "the layer must be called on a list; for self-attention pass the same tensor "
                "twice: layer([x, x]).",
            )
        query, value = inputs[0], inputs[1]
        return query, value, inputs[2] if len(inputs) == 3 else value

    def _check_mask(self, mask) -> None:
        if mask is None:
            return
        if not isinstance(mask, (list, tuple)):
            raise errors.value_error(
                self,
                "mask as a list [query_mask, value_mask] or [query_mask, value_mask, key_mask]",
                f"a single {type(mask).__name__}",
                "the layer mask must be a list, one entry (or None) per input.",
            )
        if len(mask) not in (2, 3):
            raise errors.value_error(
                self,
                "a mask list of length 2 or 3: [query_mask, value_mask(, key_mask)]",
                f"a list of {len(mask)}",
            )

    def build(self, input_shape):
        # One tensor's shape (a tuple of sizes) is not a list of shapes.
        single = isinstance(input_shape, (list, tuple)) and all(
            size is None or isinstance(size, numbers.Integral) for size in input_shape
        )
        self._split(input_shape, f"a single tensor of shape {input_shape}" if single else None)

    def call(
        self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False
    ):
        query, value, key = self._split(inputs)
        self._check_mask(mask)
        query_mask, value_mask = _masks_of(inputs, mask)
        scores = self._scores(query, key)
        keep = None if value_mask is None else value_mask[:, None, :].to(torch.bool)
        if use_causal_mask:
            causal = _causal(scores.shape[-2], scores.shape[-1], scores.device)[None]
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = scores + masked_logit(scores.dtype) * (~keep).to(scores.dtype)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0.0:
            weights = F.dropout(weights, self.dropout, training=True)
        result = torch.matmul(weights, value)
        if query_mask is not None:
            result = result * query_mask[:, :, None].to(result.dtype)
        return (result, weights) if return_attention_scores else result

    def compute_mask(self, inputs, mask=None):
        self._check_mask(mask)
        return _masks_of(inputs, mask)[0] if isinstance(inputs, (list, tuple)) else None

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class Attention(_BaseDenseAttention):
    """Dot-product (Luong-style) attention: `softmax(query @ key^T) @ value`.

    Args:
        use_scale: learn a scalar that multiplies the scores.
        score_mode: 'dot' or 'concat' (`sum(tanh(query + key))`, times a learnt scalar).
        dropout: fraction of the attention weights dropped while training.

    Call arguments: `inputs=[query, value]` or `[query, value, key]`; `mask=[query_mask,
    value_mask]` (taken from the inputs' masks when omitted); `return_attention_scores`;
    `use_causal_mask`; `training`.

    Input shape: query `(batch, Tq, dim)`, value and key `(batch, Tv, dim)`.
    Output shape: `(batch, Tq, dim)` (and the weights `(batch, Tq, Tv)` when asked).

    Example:
        >>> x = torch.ones(2, 4, 3)
        >>> tuple(Attention()([x, x]).shape)
        (2, 4, 3)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)
        self.score_mode = check.choice(score_mode, ("dot", "concat"), "score_mode", self)

    def build(self, input_shape):
        super().build(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones"
            )

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale if self.scale is not None else scores
        pairs = query[:, :, None, :] + key[:, None, :, :]
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * torch.tanh(pairs).sum(dim=-1)

    def get_config(self):
        return {**super().get_config(), "score_mode": self.score_mode}


class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau-style) attention: scores `sum(scale * tanh(query + key))`.

    Args:
        use_scale: learn a per-feature scale vector (default True).
        dropout: fraction of the attention weights dropped while training.

    Call arguments, input and output shapes: as for Attention.

    Example:
        >>> x = torch.ones(2, 4, 3)
        >>> tuple(AdditiveAttention()([x, x]).shape)
        (2, 4, 3)
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)
        # What Keras's AdditiveAttention answers (its Attention base's default); the scores are
        # additive all the same.
        self.score_mode = "dot"

    def build(self, input_shape):
        super().build(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(
                name="scale", shape=(input_shape[1][-1],), initializer="glorot_uniform"
            )

    def _scores(self, query, key):
        pairs = torch.tanh(query[:, :, None, :] + key[:, None, :, :])
        if self.scale is not None:
            pairs = pairs * self.scale
        return pairs.sum(dim=-1)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017), on torch's fused scaled_dot_product_attention.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default key_dim).
        dropout: dropout on the attention weights while training.
        use_bias: biases in the four projections.
        output_shape: the output's feature axes: an int or a tuple of ints (default: the
            query's feature size).
        attention_axes: the inner axes attended over, an int or a tuple (default None: every
            axis between batch and features, flattened into one sequence). On inputs of rank
            above 3 the inner axes not attended over act as batch axes, as in Keras.
        sliding_window: None (full attention) or a positive int w: a query attends only to keys
            less than w positions away (a symmetric band; with `use_causal_mask=True` the causal
            sliding window of Mistral-style models).
        flash_attention: accepted as Keras has it; torch's scaled_dot_product_attention picks
            its fastest kernel (flash included) by itself.
        use_gate: gated attention (Qiu et al. 2025): a sigmoid projection of the query,
            (dim, num_heads, value_dim), multiplies each head's output before the output
            projection.
        kernel_initializer, bias_initializer, *_regularizer, *_constraint: of the projections.

    Masked keys: as in Keras, a query whose keys are all masked attends uniformly on the fused
    path (no dropout, no scores returned) and gets zero weights on the explicit one.

    Call arguments: `query`, `value`, `key` (default value); `attention_mask` (batch, Tq, Tv) bool,
    True = attend (broadcastable, e.g. (batch, 1, Tv)); `value_mask`/`key_mask` (default: the
    inputs' own masks, e.g. from Embedding(mask_zero=True)); the query's mask is always the one
    the query tensor carries, as in Keras, which reads it there over a `query_mask` argument;
    `return_attention_scores`; `use_causal_mask`; `training`.

    Weights (Keras's layouts): query/key/value kernels (dim, num_heads, key_dim|value_dim) and
    biases (num_heads, head_dim); output kernel (num_heads, value_dim, output_dim), bias
    (output_dim,); with `use_gate`, a gate kernel and bias shaped as the value's. They are the
    layer's own weights, filed in the weights file under Keras's sub-layers (`query_dense`, ...).

    Input shape: query `(batch, Tq, dim)`, value/key `(batch, Tv, dim_v)`; or more inner axes.
    Output shape: `(batch, Tq, *output_shape)`, and scores `(batch, heads, Tq, Tv)` when asked
    (on rank-r inputs, Keras's `(batch, *other axes, heads, *query axes, *key axes)`).

    Example:
        >>> x = torch.ones(2, 5, 8)
        >>> tuple(MultiHeadAttention(num_heads=2, key_dim=4)(x, x).shape)
        (2, 5, 8)
    """

    supports_masking = True
    _subclasses_quantize = True  # Keras quantizes the projections' sub-layers of any subclass
    _calibrated_kernels = "projections"  # GPTQ / AWQ calibrate each projection
    # Keras holds each projection in an EinsumDense sub-layer; its weights file says so. The
    # gate's has no public property in Keras, so its file key keeps the attribute's underscore.
    # A quantized projection's kernel becomes the sub-layer's `kernel`, `kernel_scale`, ...
    # (float8: `kernel`, `inputs_scale`, ...).
    _keras_weight_groups = {
        f"{prefix}_{kind}": f"{'_' if prefix == 'gate' else ''}{prefix}_dense"
        for prefix in ("query", "key", "gate", "value", "output")
        for kind in quantized_attention.PROJECTION_VARIABLES
    }
    _keras_weight_paths = {
        f"{prefix}_{kind}": f"{'attention_output' if prefix == 'output' else prefix}/{kind}"
        for prefix in ("query", "key", "gate", "value", "output")
        for kind in quantized_attention.PROJECTION_VARIABLES
    }

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
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
        super().__init__(**kwargs)
        if sliding_window is not None:
            sliding_window = check.positive_int(sliding_window, "sliding_window", self)
        self.sliding_window = sliding_window
        self.use_gate = bool(use_gate)
        self.num_heads = check.positive_int(num_heads, "num_heads", self)
        self.key_dim = check.positive_int(key_dim, "key_dim", self)
        self.value_dim = check.positive_int(value_dim or key_dim, "value_dim", self)
        self.dropout = check.dropout_rate(dropout, "dropout", self)
        self.use_bias = bool(use_bias)
        self._output_shape = _output_axes(output_shape, self)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)  # as Keras's config holds it
        self.attention_axes = attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # Keras hands it to the projection sub-layers, not to this layer's own output: it
        # penalizes each projection's activity (see `_add_projection_penalties`).
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.quantization_config = None  # set by quantize()

    def _projection(self, prefix, kernel_shape, bias_shape):
        self.add_weight(
            name=f"{prefix}_kernel",
            shape=kernel_shape,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        setattr(self, f"{prefix}_bias", None)
        if self.use_bias:
            self.add_weight(
                name=f"{prefix}_bias",
                shape=bias_shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        rank = len(query_shape)
        attended = attention_folding.normalized_axes(self.attention_axes, rank, self)
        self.attention_axes = attended  # Keras's config then holds the axes it resolved
        # rank-3 inputs attend over their one inner axis as they come
        self._folding = attention_folding.Folding(rank, attended) if rank > 3 else None
        self._feature_sizes = (query_shape[-1], value_shape[-1], key_shape[-1])
        heads = self.num_heads
        self._projection("query", (query_shape[-1], heads, self.key_dim), (heads, self.key_dim))
        self._projection("key", (key_shape[-1], heads, self.key_dim), (heads, self.key_dim))
        if self.use_gate:  # Keras makes it between key and value: the weights keep that order
            shape = (query_shape[-1], heads, self.value_dim)
            self._projection("gate", shape, (heads, self.value_dim))
        self._projection("value", (value_shape[-1], heads, self.value_dim), (heads, self.value_dim))
        output_shape = self._output_shape or (query_shape[-1],)
        self._projection("output", (heads, self.value_dim, *output_shape), output_shape)
        # Keras builds Softmax and Dropout helper layers here; lamina fuses both into the kernel.
        naming.take_names_of("Softmax", "Dropout")
        if self.quantization_mode is not None:  # loaded quantized: the file fills the variables
            quantized_attention.build_quantized(self)

    def _projection_view(self, prefix) -> quantized_attention.Projection:
        if not self.built:  # Keras makes its sub-layers in build(): before, there are none
            raise AttributeError(
                errors.message(
                    self,
                    f"to be built before `{prefix}_dense` is read",
                    "a layer not built yet",
                    "call it on inputs (or build() it) first",
                )
            )
        return quantized_attention.Projection(self, prefix)

    @property
    def query_dense(self) -> quantized_attention.Projection:
        """The query projection as Keras's EinsumDense sub-layer shows it: `kernel`
        (dim, num_heads, key_dim), `bias` (num_heads, key_dim), `name`, `equation`, `weights`,
        over this layer's own weights (`query_kernel`, `query_bias`)."""
        return self._projection_view("query")

    @property
    def key_dense(self) -> quantized_attention.Projection:
        """The key projection, as `query_dense` shows the query's."""
        return self._projection_view("key")

    @property
    def value_dense(self) -> quantized_attention.Projection:
        """The value projection, as `query_dense` shows the query's (value_dim for key_dim)."""
        return self._projection_view("value")

    @property
    def output_dense(self) -> quantized_attention.Projection:
        """The output projection (Keras's `attention_output` sub-layer): `kernel`
        (num_heads, value_dim, output_dim), `bias` (output_dim,)."""
        return self._projection_view("output")

    def _quantize_weights(self, mode, config):
        # Keras quantizes the EinsumDense sub-layers holding the projections: so are these.
        if self.output_kernel.dim() != 3:
            raise errors.value_error(
                self,
                "an output projection onto one axis to quantize",
                f"output_shape={self._output_shape}",
                "quantize a layer whose output_shape is an int (or None).",
            )
        quantized_attention.quantize(self, mode, config)

    def _own_weights(self):
        entries = super()._own_weights()
        if self._is_quantized:  # listed by projection, as Keras's quantized sub-layers are
            return quantized_attention.keras_order(self, entries)
        return entries

    def build_from_shape(self, input_shape):
        """Deferred: symbolic calls pre-build from the query's shape alone, but the key and value
        projections need their own shapes, so the first call builds from all three."""

    def forward(self, query, value=None, key=None, *masks, **kwargs):
        # Keras builds MultiHeadAttention from three shapes; the base forward knows only one.
        # `masks`: call()'s later parameters given by position, `mha(q, v, k, mask)`. Keras 3
        # reads the fourth as query_mask (tf.keras read it as attention_mask), so do we.
        if masks and masks[0] is not None:
            warnings.warn(
                f"MultiHeadAttention '{self.name}' was given a mask by position: Keras 3 reads "
                "a fourth argument as query_mask, which the query's own mask replaces, so it "
                "masks nothing (tf.keras 2 read it as attention_mask). Hint: pass "
                "attention_mask=mask by keyword.",
                UserWarning,
                stacklevel=4,
            )
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
            if query.is_meta:  # shape inference: run on meta copies of the new weights
                from lamina.engine import symbolic

                return symbolic.meta_call(self, (query, value, key, *masks), kwargs)
        return super().forward(query, value, key, *masks, **kwargs)

    def _project(self, x, prefix):
        """(batch, T, dim) -> (batch, heads, T, head_dim) with one matrix product."""
        tap = self.__dict__.get("_calibration_tap")
        if tap is not None:  # GPTQ / AWQ calibration records each projection's inputs
            tap(prefix, x)
        if self._is_quantized:
            return quantized_attention.project(self, prefix, x).transpose(1, 2)
        kernel = getattr(self, f"{prefix}_kernel")
        bias = getattr(self, f"{prefix}_bias")
        dim, heads, head_dim = kernel.shape
        projected = F.linear(
            x, kernel.reshape(dim, heads * head_dim).T, None if bias is None else bias.reshape(-1)
        )
        return projected.unflatten(-1, (heads, head_dim)).transpose(1, 2)

    def _project_output(self, attended):
        """(batch, T, heads, value_dim) -> (batch, T, output_dim) with one matrix product."""
        tap = self.__dict__.get("_calibration_tap")
        if tap is not None:
            tap("output", attended)
        if self._is_quantized:
            return quantized_attention.project(self, "output", attended)
        heads, value_dim, *output_shape = self.output_kernel.shape
        bias = self.output_bias
        projected = F.linear(
            attended.flatten(2),
            self.output_kernel.reshape(heads * value_dim, -1).T,
            None if bias is None else bias.reshape(-1),
        )
        return projected if len(output_shape) == 1 else projected.unflatten(-1, output_shape)

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
        self._check_inputs(query, value, key, attention_mask)
        batch = query.shape[0]
        # Keras takes the query's mask from the query tensor, over any `query_mask=` given: a
        # query that carries no mask (the output of `x + attention(x)`) is not masked.
        query_mask = getattr(query, "_keras_mask", None)
        value_mask = getattr(value, "_keras_mask", None) if value_mask is None else value_mask
        key_mask = getattr(key, "_keras_mask", None) if key_mask is None else key_mask
        # Keras takes the masks off the inputs once read (the layer handles them): `x` in a
        # residual `x + attention(x, x)` no longer carries one, so layers after it do not warn.
        # A graph replay keeps them: there Keras gives each layer the mask its graph recorded.
        if not functional.REPLAYS[0]:
            for tensor in (query, value, key):
                if getattr(tensor, "_keras_mask", None) is not None:
                    tensor._keras_mask = None
        folding = self.__dict__.get("_folding")
        if folding is not None:  # rank > 3: the attended axes become the steps
            query_shape, key_shape = tuple(query.shape), tuple(key.shape)
            if attention_mask is not None:
                attention_mask = folding.fold_attention_mask(
                    attention_mask, query_shape, key_shape, self.num_heads, self
                )
            query, value, key = folding.fold(query), folding.fold(value), folding.fold(key)
            query_mask, value_mask, key_mask = map(
                folding.fold_mask, (query_mask, value_mask, key_mask)
            )
        q, k, v = (
            self._project(query, "query"),
            self._project(key, "key"),
            self._project(value, "value"),
        )
        gate = torch.sigmoid(self._project(query, "gate")) if self.use_gate else None
        self._add_projection_penalties(batch, q, k, gate, v)
        keep = self._attention_mask(
            q.shape[2],
            k.shape[2],
            q.device,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
        )
        if type(self)._compute_attention is not MultiHeadAttention._compute_attention:
            attended, scores = self._call_compute_attention(
                q, k, v, keep, training, return_attention_scores, use_causal_mask
            )
        elif return_attention_scores or self.dropout > 0.0 or (folding and keep is not None):
            # Keras's fused path takes only rank-3 inputs: on the others a query whose keys
            # are all masked gets zero weights, as on the explicit path.
            dropout = self.dropout if training else 0.0
            attended, scores = self._attend_explicitly(q, k, v, keep, dropout)
        else:
            # Keras's fused path replaces masked scores by a large negative number (not -inf),
            # so a query whose keys are all masked attends uniformly; an additive mask of that
            # number gives SDPA the same semantics.
            additive = (
                None
                if keep is None
                else torch.zeros(keep.shape, dtype=q.dtype, device=q.device).masked_fill(
                    ~keep, fused_masked_logit(q.dtype)
                )
            )
            attended = func_transforms.scaled_dot_product_attention(
                q, k, v, attn_mask=additive, scale=1.0 / math.sqrt(self.key_dim)
            )
        if gate is not None:
            attended = attended * gate
        output = self._project_output(attended.transpose(1, 2))
        self._add_projection_penalties(batch, output)
        if folding is not None:
            output = folding.unfold(output, query_shape, output.dim() - 2)
            if return_attention_scores:
                scores = folding.unfold_scores(scores, query_shape, key_shape)
        return (output, scores) if return_attention_scores else output

    def _add_projection_penalties(self, batch, *projections) -> None:
        """Keras's activity penalty of each projection sub-layer's output, over the batch size
        (an L1/L2 sum, the same whatever the heads' layout)."""
        regularizer = self.projection_activity_regularizer
        if regularizer is None:
            return
        for projected in projections:
            if projected is not None and not projected.is_meta:
                self.add_loss(regularizer(projected) / batch)

    def _check_inputs(self, query, value, key, attention_mask) -> None:
        """Shapes that cannot attend, named before torch's broadcasting error (or, for a key
        and value of different lengths, none at all: SDPA would pair them silently). One
        expression on the way through; the diagnosis only when it fails."""
        q, v, k = query.shape, value.shape, key.shape
        sizes = self.__dict__.get("_feature_sizes")  # None under a subclass's own build
        fine = (
            len(q) >= 3
            and len(v) == len(q)
            and len(k) == len(q)
            and q[0] == v[0]
            and (key is value or k[:-1] == v[:-1])
            and (len(q) == 3 or self._same_other_axes(q, v))
            and (sizes is None or (q[-1], v[-1], k[-1]) == sizes)
        )
        if not fine:
            self._raise_for_inputs({"query": q, "value": v, "key": k}, sizes)
        if attention_mask is not None and len(q) == 3:
            steps = (q[1], v[1])
            mask_steps = tuple(attention_mask.shape[-2:])
            if len(mask_steps) < 2 or any(
                size not in (1, wanted) for size, wanted in zip(mask_steps, steps, strict=True)
            ):
                raise errors.value_error(
                    self,
                    f"an attention_mask shaped (batch, {steps[0]}, {steps[1]}) (query steps, "
                    "value steps)",
                    f"shape {errors.format_shape(tuple(attention_mask.shape))}",
                )

    def _same_other_axes(self, query_shape, value_shape) -> bool:
        folding = self.__dict__.get("_folding")
        return folding is None or all(query_shape[a] == value_shape[a] for a in folding.other)

    def _raise_for_inputs(self, shapes, sizes) -> None:
        for name, shape in shapes.items():
            if len(shape) < 3:
                raise errors.value_error(
                    self,
                    f"a {name} of rank >= 3 (batch, steps, features)",
                    f"a {len(shape)}-D {name} of shape {errors.format_shape(tuple(shape))}",
                    "add the sequence axis, e.g. x[:, None, :] for one step per sample.",
                )
        value, key = shapes["value"], shapes["key"]
        if len({len(shape) for shape in shapes.values()}) > 1 or not (
            shapes["query"][0] == value[0]
            and key[:-1] == value[:-1]
            and self._same_other_axes(shapes["query"], value)
        ):
            described = ", ".join(
                f"{name} {errors.format_shape(tuple(shape))}" for name, shape in shapes.items()
            )
            raise errors.value_error(
                self,
                "query, value and key of one rank and batch size (and equal on the axes not "
                "attended over), and a key and value equal on every axis but the last",
                described,
            )
        for (name, shape), built in zip(shapes.items(), sizes, strict=True):
            if shape[-1] != built:
                raise errors.value_error(
                    self,
                    f"a {name} with {built} features on its last axis (the size it was built with)",
                    f"a {name} of shape {errors.format_shape(tuple(shape))}",
                    "feed inputs of the shape the layer was built for, or build a new layer.",
                )

    def _attention_mask(
        self,
        query_steps,
        key_steps,
        device,
        query_mask,
        value_mask,
        key_mask,
        attention_mask,
        use_causal_mask,
    ):
        """Keras's combination of every mask, as a bool (batch, 1 or heads, Tq, Tv) mask or
        None."""
        keep = None

        def both(a, b):
            return b if a is None else a & b

        if query_mask is not None:
            keep = both(keep, query_mask.flatten(1).to(torch.bool)[:, :, None])
        for mask in (value_mask, key_mask):
            if mask is not None:
                keep = both(keep, mask.flatten(1).to(torch.bool)[:, None, :])
        if use_causal_mask:
            keep = both(keep, _causal(query_steps, key_steps, device)[None])
        if self.sliding_window is not None:
            offsets = torch.arange(query_steps, device=device)[:, None] - torch.arange(
                key_steps, device=device
            )
            keep = both(keep, (offsets.abs() < self.sliding_window)[None])
        keep = None if keep is None else keep[:, None]  # the heads axis
        if attention_mask is not None:
            # As Keras: (Tq, Tv) or (batch, Tq, Tv) gain the heads (and batch) axes; a
            # (batch, heads, Tq, Tv) mask masks each head its own way.
            explicit = attention_mask.to(torch.bool)
            while explicit.dim() < 4:
                explicit = explicit.unsqueeze(-3)
            keep = both(keep, explicit)
        return keep

    def _attend_explicitly(self, q, k, v, keep, dropout):
        scores = torch.matmul(q * (1.0 / math.sqrt(self.key_dim)), k.transpose(-1, -2))
        weights = self._masked_softmax(scores, keep)
        if dropout:
            weights = F.dropout(weights, dropout, training=True)
        return torch.matmul(weights, v), weights

    # ----------------------------------------------------------------------------------------------
    # Keras's extension points. Subclasses written for Keras (locality self-attention, talking
    # heads, ...) override `_compute_attention` and call these; lamina's own path is fused above.

    _dot_product_equation = "aecd,abcd->acbe"  # key, query (batch, T, heads, dim) -> scores
    _combine_equation = "acbe,aecd->abcd"  # scores, value -> (batch, T, heads, dim)

    @property
    def _num_heads(self) -> int:
        return self.num_heads

    @property
    def _key_dim(self) -> int:
        return self.key_dim

    @property
    def _value_dim(self) -> int:
        return self.value_dim

    @property
    def _dropout_layer(self):
        """Keras's dropout on the attention weights, as a callable `(x, training=None)`."""

        def attention_dropout(weights, training=None):
            active = bool(training) and self.dropout > 0.0
            return F.dropout(weights, self.dropout, training=True) if active else weights

        return attention_dropout

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Softmax over the keys; masked keys get a large negative score and zero weight (a
        query with every key masked gets zero weights). A (batch, Tq, Tv) mask gains the heads
        axis."""
        if attention_mask is None:
            return torch.softmax(attention_scores, dim=-1)
        keep = attention_mask.to(torch.bool)
        while keep.dim() < attention_scores.dim():
            keep = keep.unsqueeze(-3)
        scores = attention_scores.masked_fill(~keep, masked_logit(attention_scores.dtype))
        return torch.softmax(scores, dim=-1).masked_fill(~keep, 0.0)

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        """Keras's hook: query (batch, Tq, heads, key_dim), key and value (batch, Tv, heads,
        dim), attention_mask (batch, Tq, Tv) with every mask already combined; returns the
        attended values (batch, Tq, heads, value_dim) and the weights (batch, heads, Tq, Tv)."""
        query = query * (1.0 / math.sqrt(self.key_dim))
        scores = torch.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer(scores, training=training)
        return torch.einsum(self._combine_equation, dropped, value), scores

    def _call_compute_attention(self, q, k, v, keep, training, return_scores, causal):
        """A subclass's `_compute_attention`, on Keras's (batch, T, heads, dim) layout. Extra
        arguments newer Keras passes go only to an override whose signature takes them (the
        override written for Keras 3.0 takes five)."""
        accepted = _newer_arguments_taken(type(self)._compute_attention)
        extra = {
            name: value
            for name, value in (
                ("return_attention_scores", return_scores),
                ("use_causal_mask", causal),
            )
            if name in accepted
        }
        attended, scores = self._compute_attention(
            q.transpose(1, 2),
            k.transpose(1, 2),
            v.transpose(1, 2),
            attention_mask=None if keep is None or keep.shape[1] > 1 else keep[:, 0],
            training=training,
            **extra,
        )
        return attended.transpose(1, 2), scores

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """Keras's signature: the query's shape, its last axis `output_shape` when given.

        Args:
            query_shape: the query's shape.
            value_shape: the value's shape (default the query's).
            key_shape: the key's shape (default the value's); all but its last axis must be
                the value's.

        Returns:
            The output's shape.
        """
        check_key_matches_value(self, query_shape, value_shape, key_shape)
        query_shape = tuple(query_shape)
        if self._output_shape is None:
            return query_shape
        return (*query_shape[:-1], *self._output_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "use_gate": self.use_gate,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }


def _output_axes(output_shape, layer) -> tuple[int, ...] | None:
    """Keras's `output_shape`: None (the query's feature size), an int, or a tuple of axes."""
    if not output_shape:
        return None
    try:
        shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
    except TypeError:  # a float or another non-iterable
        shape = (output_shape,)
    if not all(isinstance(size, numbers.Integral) and size > 0 for size in shape):
        raise errors.value_error(
            layer,
            "output_shape as a positive int or a tuple of positive ints",
            f"output_shape={output_shape!r}",
        )
    return shape


@functools.cache
def _newer_arguments_taken(compute_attention) -> frozenset:
    """Which of the arguments newer Keras passes `_compute_attention` an override takes (read
    once per override, not on every call)."""
    parameters = inspect.signature(compute_attention).parameters
    newer = {"return_attention_scores", "use_causal_mask"}
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return frozenset(newer)
    return frozenset(newer & set(parameters))
