"""What the built-in recurrent cells share: arguments, weights, dropout masks, the two-phase step.

A built-in cell computes one time step in two phases so that the RNN layer's loop stays cheap: the
input projection `x @ kernel (+ bias)` of every time step runs as one matrix product before the loop
(`project_inputs`), and only the recurrent part runs per step (`step`). Its kernels have Keras's
shape, `(in, gates * units)`, as views over memory in the order torch's fused kernels take
(`torch._VF.lstm` and friends: `(gates * units, in)`): `backend.rnn_kernel_from_keras(kernel)` is
that contiguous tensor, for free, so `layer.kernel`, `get_weights()` and files all read as in Keras.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import activations, backend, constraints, initializers, regularizers
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import noise_draws

# The activations torch's fused kernels compute; a cell with any other runs the step loop.
_TANH = {activations.tanh, torch.tanh, F.tanh}
_SIGMOID = {activations.sigmoid, torch.sigmoid, F.sigmoid}
_RELU = {activations.relu, torch.relu, F.relu}


def is_tanh(fn) -> bool:
    return fn in _TANH


def is_sigmoid(fn) -> bool:
    return fn in _SIGMOID


def is_relu(fn) -> bool:
    return fn in _RELU


class RecurrentCell(Layer):
    """Base of SimpleRNNCell, LSTMCell and GRUCell (not a public class).

    Subclasses set `gates` (blocks in the kernel) and `state_count`, and write `bias_shape`,
    `bias_initial_value`, `project_inputs`, `step` and `fused_kind`.
    """

    gates = 1
    state_count = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
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
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = check.positive_int(units, "units", self)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check.dropout_rate(dropout, "dropout", self)
        self.recurrent_dropout = check.dropout_rate(recurrent_dropout, "recurrent_dropout", self)
        self.seed = seed
        self.seed_generator = noise_draws.seed_generator_for(seed, self)
        # Keras's choice between per-gate products (1, forced by recurrent dropout) and one fused
        # product (2). lamina always computes the fused form; the value is kept for programs
        # that read it.
        self.implementation = 1 if self.recurrent_dropout else implementation
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    @property
    def state_size(self):
        return self.units if self.state_count == 1 else [self.units] * self.state_count

    @property
    def output_size(self) -> int:
        return self.units

    # ----------------------------------------------------------------------------------------------
    # Weights

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise errors.value_error(
                self,
                "a known feature size (last axis)",
                f"shape {errors.format_shape(input_shape)}",
            )
        width = self.gates * self.units
        # Keras's shapes over torch's memory order (see the module docstring).
        kernel_layout = (backend.rnn_kernel_to_keras, backend.rnn_kernel_from_keras)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            layout=kernel_layout,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            layout=kernel_layout,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=self.bias_shape(),
                initializer=self.bias_initial_value(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def bias_initial_value(self):
        return self.bias_initializer

    # ----------------------------------------------------------------------------------------------
    # Computing

    def dropout_masks(self, inputs: torch.Tensor, training: bool):
        """(input mask (batch, features), recurrent mask (batch, units)), each None when unused.

        Keras samples one mask per sequence and reuses it at every step (its cuDNN-path semantics).
        """
        if not training:
            return None, None
        batch = inputs.shape[0]
        input_mask = recurrent_mask = None
        if self.dropout > 0.0:
            input_mask = _keep_mask(
                (batch, inputs.shape[-1]), self.dropout, inputs, self.seed_generator
            )
        if self.recurrent_dropout > 0.0:
            recurrent_mask = _keep_mask(
                (batch, self.units), self.recurrent_dropout, inputs, self.seed_generator
            )
        return input_mask, recurrent_mask

    def get_dropout_mask(self, step_input: torch.Tensor) -> torch.Tensor | None:
        """The input dropout mask, shaped like `step_input`: drawn at the first call, then the
        same one until `reset_dropout_mask()` (Keras's cell API: one mask for every step of a
        sequence). None when `dropout` is 0. Values are 0 or 1 / (1 - dropout)."""
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = _keep_mask(
                step_input.shape, self.dropout, step_input, self.seed_generator
            )
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input: torch.Tensor) -> torch.Tensor | None:
        """The recurrent dropout mask, shaped like `step_input` (the previous state h): as
        `get_dropout_mask`, for `recurrent_dropout`."""
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = _keep_mask(
                step_input.shape, self.recurrent_dropout, step_input, self.seed_generator
            )
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        """Forget the cached input mask: the next `get_dropout_mask` draws a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the cached recurrent mask."""
        self._recurrent_dropout_mask = None

    def project_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The input part of every gate, for all time steps at once: (..., gates * units)."""
        return F.linear(inputs, backend.rnn_kernel_from_keras(self.kernel), self.bias)

    def step(self, projected, states, recurrent_mask=None):
        """One time step from projected inputs: (output, new_states)."""
        raise NotImplementedError

    def fused_kind(self) -> str | None:
        """The name of torch's fused kernel computing this cell exactly, or None."""
        return None

    def fused_params(self) -> list[torch.Tensor]:
        """Parameters in torch's layout and order: w_ih, w_hh(, b_ih, b_hh)."""
        params = [
            backend.rnn_kernel_from_keras(self.kernel),
            backend.rnn_kernel_from_keras(self.recurrent_kernel),
        ]
        if self.use_bias:
            # Keras has one bias; torch adds two. The recurrent one is zero (see STYLE.md §5).
            params += [self.bias, torch.zeros_like(self.bias)]
        return params

    def get_initial_state(self, batch_size: int, like: torch.Tensor | None = None):
        if self.built:
            kernel = self.kernel
            kwargs = {"dtype": kernel.dtype, "device": kernel.device}
        else:  # asked before build, as StackedRNNCells.get_initial_state may be
            kwargs = {
                "dtype": backend.to_torch_dtype(self.compute_dtype),
                "device": backend.default_device(),
            }
        if like is not None:
            kwargs["device"] = like.device
        return [torch.zeros(batch_size, self.units, **kwargs) for _ in range(self.state_count)]

    def call(self, inputs, states, training=None):
        """One step, Keras's cell API: `output, new_states = cell(x_t, states)`."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        recurrent_mask = None
        if training:
            # The cached masks, as Keras: every step of a sequence drops the same units; the
            # RNN running the cell resets them after the sequence.
            input_mask = self.get_dropout_mask(inputs)
            if input_mask is not None:
                inputs = inputs * input_mask
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        return self.step(self.project_inputs(inputs), states, recurrent_mask)

    # ----------------------------------------------------------------------------------------------
    # Config

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
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


def _keep_mask(shape, rate: float, like: torch.Tensor, seed_generator=None) -> torch.Tensor:
    """Inverted-dropout mask: 0 with probability `rate`, else 1 / (1 - rate)."""
    return noise_draws.bernoulli_mask(shape, rate, like, seed_generator)
