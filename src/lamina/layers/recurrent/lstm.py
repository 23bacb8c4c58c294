"""LSTM (Hochreiter & Schmidhuber 1997): Keras's gates i, f, c, o are torch's i, f, g, o."""

from __future__ import annotations

import torch

from lamina import activations, initializers
from lamina.layers.recurrent.base import cell_attribute
from lamina.layers.recurrent.builtin import BuiltinRNN
from lamina.layers.recurrent.cell_base import RecurrentCell, is_sigmoid, is_tanh


class LSTMCell(RecurrentCell):
    """The cell of an LSTM layer.

    Args:
        units: size of the output and of each state (h, c).
        activation: for the candidate and the output (default tanh).
        recurrent_activation: for the gates (default sigmoid). tanh with sigmoid runs on torch's
            fused kernel.
        unit_forget_bias: add 1 to the forget gate's bias at initialisation (Jozefowicz et al.).
        **kwargs: use_bias, the kernel/recurrent/bias initializers, regularizers and
            constraints, dropout, recurrent_dropout and seed, with SimpleRNNCell's meanings and
            defaults; and the base layer arguments (`name`, `dtype`, ...), see `Layer`.

    Weights (Keras's shapes, in `cell.kernel` as in get_weights): kernel (features, 4 * units),
    recurrent_kernel (units, 4 * units), bias (4 * units,), gate blocks in the order i, f, c, o.

    Call: `cell(inputs, states)` with inputs (batch, features) and states `[h, c]`; returns
    `(output, [new_h, new_c])`, output being new_h. `RNN(cell)` runs it over the time axis.

    Example:
        >>> cell = LSTMCell(3)
        >>> output, states = cell(torch.zeros(2, 4), [torch.zeros(2, 3), torch.zeros(2, 3)])
        >>> tuple(output.shape), [tuple(s.shape) for s in states]
        ((2, 3), [(2, 3), (2, 3)])
        >>> cell.get_weights()[2][3:6].tolist()  # unit_forget_bias: the f block starts at 1
        [1.0, 1.0, 1.0]
    """

    gates = 4
    state_count = 2

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def bias_initial_value(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def forget_gate_ones(shape, dtype=torch.float32):
            return torch.cat(
                [
                    base((units,), dtype=dtype),
                    torch.ones(units, dtype=dtype),
                    base((2 * units,), dtype=dtype),
                ]
            )

        return initializers.get(forget_gate_ones)

    def fused_kind(self):
        if is_tanh(self.activation) and is_sigmoid(self.recurrent_activation):
            return "lstm"
        return None

    def step(self, projected, states, recurrent_mask=None):
        hidden, carry = states
        previous = hidden if recurrent_mask is None else hidden * recurrent_mask
        gates = projected + previous @ self.recurrent_kernel
        i, f, c, o = gates.chunk(4, dim=-1)
        gate = self.recurrent_activation
        carry = gate(f) * carry + gate(i) * self.activation(c)
        hidden = gate(o) * self.activation(carry)
        return hidden, [hidden, carry]

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class LSTM(BuiltinRNN):
    """Long Short-Term Memory layer: `RNN(LSTMCell(units, ...))` with the cell's arguments inline.

    Runs on torch's fused LSTM kernel (oneDNN on CPU, cuDNN on GPU) when the activations are tanh
    and sigmoid, no recurrent_dropout is active and the mask (if any) is contiguous padding;
    otherwise on a step loop. Both give the same numbers.

    Args:
        units, activation, recurrent_activation, use_bias, unit_forget_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed: see LSTMCell.
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.
        use_cudnn: accepted for compatibility; the fused kernel is chosen automatically.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with return_sequences; with
    return_state, `(output, h, c)`.

    Example:
        >>> output, h, c = LSTM(8, return_state=True)(torch.zeros(2, 5, 3))
        >>> tuple(output.shape), tuple(c.shape)
        ((2, 8), (2, 8))
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation, **kwargs
        )

    recurrent_activation = cell_attribute("recurrent_activation")
    unit_forget_bias = cell_attribute("unit_forget_bias")
