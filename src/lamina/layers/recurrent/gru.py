"""GRU (Cho et al. 2014), its weights in Keras's shapes and gate order z, r, h.

torch's fused GRU kernel takes the gates in the order r, z, n, which no view of Keras's order can
give: that path copies each weight into torch's order once per call (not per time step), 1-5 % of
a small GRU(64)'s training step on a 2-core CPU, 1-2 % of a GRU(256)'s. The step loop reads
Keras's order as it is.
"""

from __future__ import annotations

import torch.nn.functional as F

from lamina import activations, backend
from lamina.layers.recurrent.base import cell_attribute
from lamina.layers.recurrent.builtin import BuiltinRNN
from lamina.layers.recurrent.cell_base import RecurrentCell, is_sigmoid, is_tanh


class GRUCell(RecurrentCell):
    """The cell of a GRU layer.

    Args:
        units: size of the output and of the state.
        activation: for the candidate (default tanh).
        recurrent_activation: for the update and reset gates (default sigmoid).
        reset_after: apply the reset gate after the recurrent product (Keras 2+ and cuDNN's
            convention, the default; runs on torch's fused GRU kernel) or before it (the original
            paper's; a step loop).
        **kwargs: use_bias, the kernel/recurrent/bias initializers, regularizers and
            constraints, dropout, recurrent_dropout and seed, with SimpleRNNCell's meanings and
            defaults; and the base layer arguments (`name`, `dtype`, ...), see `Layer`.

    Weights (Keras's shapes, in `cell.kernel` as in get_weights): kernel (features, 3 * units),
    recurrent_kernel (units, 3 * units), gate blocks z, r, h; bias (2, 3 * units) with reset_after
    (input bias, then recurrent bias), else (3 * units,).

    Call: `cell(inputs, states)` with inputs (batch, features) and states `[h]`; returns
    `(output, [new_h])`. `RNN(cell)` runs it over the time axis.

    Example:
        >>> cell = GRUCell(3)
        >>> output, states = cell(torch.zeros(2, 4), [torch.zeros(2, 3)])
        >>> tuple(output.shape), len(states)
        ((2, 3), 1)
        >>> [tuple(w.shape) for w in cell.get_weights()]
        [(4, 9), (3, 9), (2, 9)]
    """

    gates = 3

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    def fused_kind(self):
        standard = is_tanh(self.activation) and is_sigmoid(self.recurrent_activation)
        return "gru" if standard and self.reset_after else None

    def fused_params(self):
        # torch's gate order r, z, n: one copy of each weight per call (see the module docstring).
        params = [
            backend.gru_kernel_from_keras(self.kernel),
            backend.gru_kernel_from_keras(self.recurrent_kernel),
        ]
        if self.use_bias:
            params += backend.gru_bias_from_keras(self.bias).unbind(0)
        return params

    def project_inputs(self, inputs):
        bias = self.bias
        if bias is not None and self.reset_after:
            bias = bias[0]
        return F.linear(inputs, backend.rnn_kernel_from_keras(self.kernel), bias)

    def step(self, projected, states, recurrent_mask=None):
        hidden = states[0]
        previous = hidden if recurrent_mask is None else hidden * recurrent_mask
        input_z, input_r, input_h = projected.chunk(3, dim=-1)
        gate = self.recurrent_activation
        if self.reset_after:
            recurrent_bias = None if self.bias is None else self.bias[1]
            recurrent_z, recurrent_r, recurrent_h = F.linear(
                previous, backend.rnn_kernel_from_keras(self.recurrent_kernel), recurrent_bias
            ).chunk(3, dim=-1)
            reset = gate(input_r + recurrent_r)
            candidate = self.activation(input_h + reset * recurrent_h)
        else:
            gate_kernel, candidate_kernel = self.recurrent_kernel.split(2 * self.units, dim=1)
            recurrent_z, recurrent_r = (previous @ gate_kernel).chunk(2, dim=-1)
            reset = gate(input_r + recurrent_r)
            candidate = self.activation(input_h + (reset * previous) @ candidate_kernel)
        update = gate(input_z + recurrent_z)
        hidden = update * hidden + (1.0 - update) * candidate
        return hidden, [hidden]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


class GRU(BuiltinRNN):
    """Gated Recurrent Unit layer: `RNN(GRUCell(units, ...))` with the cell's arguments inline.

    Runs on torch's fused GRU kernel when reset_after=True, the activations are tanh and sigmoid,
    no recurrent_dropout is active and the mask (if any) is contiguous padding; otherwise a loop.

    Args:
        units, activation, recurrent_activation, reset_after, use_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed: see GRUCell.
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with return_sequences.

    Example:
        >>> tuple(GRU(6, return_sequences=True)(torch.zeros(2, 5, 3)).shape)
        (2, 5, 6)
    """

    cell_class = GRUCell
    cell_name = "gru_cell"

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs
    ):
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=reset_after,
            **kwargs,
        )

    recurrent_activation = cell_attribute("recurrent_activation")
    reset_after = cell_attribute("reset_after")
