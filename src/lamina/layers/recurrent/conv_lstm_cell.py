"""ConvLSTMCell: one step of a convolutional LSTM, the cell ConvLSTM1D/2D/3D run over time.

The input convolution of many steps runs as one batched convolution (`project_inputs`, time
folded into the batch); only the recurrent convolution (stride 1, 'same' padding, as Keras) runs
per step (`step`), on channels-first tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import activations, backend, constraints, initializers, regularizers
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import noise_draws, padding_rules, spatial
from lamina.layers.recurrent.cell_base import _keep_mask

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_KERNEL_LAYOUT = (backend.conv_kernel_to_keras, backend.conv_kernel_from_keras)


class ConvLSTMCell(Layer):
    """One ConvLSTM step (not exported by Keras either; built and run by ConvLSTM1D/2D/3D).

    Weights (Keras's shapes, over torch's memory order: `spatial.kernel_weight`): kernel
    `(*kernel_size, channels, 4 * filters)`, recurrent_kernel `(*kernel_size, filters,
    4 * filters)`, bias `(4 * filters,)`, gate blocks in the order i, f, c, o.
    """

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rank = rank
        self.filters = check.positive_int(filters, "filters", self)
        self.kernel_size = check.int_tuple(kernel_size, rank, "kernel_size", self)
        self.strides = check.int_tuple(strides, rank, "strides", self)
        self.padding = check.choice(padding, ("valid", "same"), "padding", self)
        self.data_format = backend.standardize_data_format(data_format)
        self.dilation_rate = check.int_tuple(dilation_rate, rank, "dilation_rate", self)
        check.strides_without_dilation(self.strides, self.dilation_rate, self)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        self.state_size = self.filters

    def build(self, input_shape):
        """`input_shape`: one time step, `(batch, *spatial, channels)` or channels-first."""
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        channels = input_shape[spatial.channel_axis(self.data_format)]
        if channels is None or any(s is None for s in sizes):
            raise errors.value_error(
                self,
                "known spatial sizes and channels (ConvLSTM needs static spatial shapes)",
                f"a step shape {errors.format_shape(input_shape)}",
            )
        self.spatial_sizes = tuple(sizes)
        self.output_sizes = tuple(
            padding_rules.output_length(n, k, s, self.padding, d)
            for n, k, s, d in zip(
                sizes, self.kernel_size, self.strides, self.dilation_rate, strict=True
            )
        )
        width = 4 * self.filters
        self.kernel = spatial.kernel_weight(
            self,
            self.data_format,
            name="kernel",
            shape=(*self.kernel_size, channels, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            layout=_KERNEL_LAYOUT,
        )
        self.recurrent_kernel = spatial.kernel_weight(
            self,
            self.data_format,
            name="recurrent_kernel",
            shape=(*self.kernel_size, self.filters, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            layout=_KERNEL_LAYOUT,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(width,),
                initializer=self._bias_initial_value(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _bias_initial_value(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, filters = self.bias_initializer, self.filters

        def forget_gate_ones(shape, dtype=torch.float32):
            return torch.cat(
                [
                    base((filters,), dtype=dtype),
                    torch.ones(filters, dtype=dtype),
                    base((2 * filters,), dtype=dtype),
                ]
            )

        return forget_gate_ones

    # ----------------------------------------------------------------------------------------------
    # Computing, on channels-first tensors

    def project_inputs(self, steps: torch.Tensor) -> torch.Tensor:
        """(N, C, *spatial) inputs of many steps -> their (N, 4F, *out) input convolutions."""
        x, pad = padding_rules.apply(
            steps, self.padding, self.kernel_size, self.strides, self.dilation_rate
        )
        kernel = backend.conv_kernel_from_keras(self.kernel)  # a view: no copy
        return _CONV[self.rank](x, kernel, self.bias, self.strides, pad, self.dilation_rate)

    def step(self, projected, h, c, recurrent_mask=None):
        """One step from the projected input: the new (h, c), channels-first."""
        if recurrent_mask is not None:
            h = h * recurrent_mask
        ones = (1,) * self.rank
        h_in, pad = padding_rules.apply(h, "same", self.kernel_size, ones, ones)
        recurrent_kernel = backend.conv_kernel_from_keras(self.recurrent_kernel)
        gates = projected + _CONV[self.rank](h_in, recurrent_kernel, None, 1, pad)
        i, f, g, o = gates.chunk(4, dim=1)
        i, f, o = (self.recurrent_activation(t) for t in (i, f, o))
        c = f * c + i * self.activation(g)
        return o * self.activation(c), c

    def call(self, inputs, states, training=None):
        """Keras's cell API on one Keras-layout step: `h, [h, c] = cell(x_t, [h, c])`."""
        to_cf = lambda t: spatial.to_torch(t, self.data_format, self.rank)  # noqa: E731
        from_cf = lambda t: spatial.from_torch(t, self.data_format, self.rank)  # noqa: E731
        h, c = (_squeeze_lift(to_cf(s), self.rank) for s in states)
        x = _squeeze_lift(to_cf(inputs), self.rank)
        if training and self.dropout > 0.0:
            x = x * _keep_mask(x.shape, self.dropout, x, self.seed_generator)
        h, c = self.step(self.project_inputs(x), h, c)
        h, c = (from_cf(_unsqueeze_lift(t, self.rank)).contiguous() for t in (h, c))
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


def _squeeze_lift(x, rank):
    # spatial.to_torch lifts 1-D data to (N, C, L, 1); the cell convolves in true rank.
    return x.squeeze(-1) if rank == 1 else x


def _unsqueeze_lift(x, rank):
    return x.unsqueeze(-1) if rank == 1 else x
