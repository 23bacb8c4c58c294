"""SimpleRNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`."""

from __future__ import annotations

from lamina.layers.recurrent.builtin import BuiltinRNN
from lamina.layers.recurrent.cell_base import RecurrentCell, is_relu, is_tanh


class SimpleRNNCell(RecurrentCell):
    """The cell of a fully connected RNN whose output is fed back as its next input.

    Args:
        units: size of the output and of the state.
        activation: default tanh ('tanh' and 'relu' run on torch's fused kernel).
        use_bias, kernel_initializer ('glorot_uniform'), recurrent_initializer ('orthogonal'),
        bias_initializer ('zeros'), *_regularizer, *_constraint: as in Dense.
        dropout: fraction of the inputs dropped (one mask per sequence) while training.
        recurrent_dropout: fraction of the state dropped in the recurrent product while training.
        seed: an int to draw the dropout masks from the cell's own `SeedGenerator`: the same
            seed gives the same masks call after call (default None: torch's global generator,
            which `lamina.utils.set_random_seed` seeds).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Weights (Keras's shapes, in `cell.kernel` as in get_weights): kernel (features, units),
    recurrent_kernel (units, units), bias (units,).

    Call: `cell(inputs, states)` with inputs (batch, features) and states `[h]`, h of shape
    (batch, units); returns `(output, [new_h])`, output being new_h. `RNN(cell)` runs it over
    the time axis.

    Example:
        >>> cell = SimpleRNNCell(3)
        >>> output, states = cell(torch.zeros(2, 4), [torch.zeros(2, 3)])
        >>> tuple(output.shape), [tuple(s.shape) for s in states]
        ((2, 3), [(2, 3)])
    """

    def fused_kind(self):
        if is_tanh(self.activation):
            return "rnn_tanh"
        if is_relu(self.activation):
            return "rnn_relu"
        return None

    def step(self, projected, states, recurrent_mask=None):
        previous = states[0] if recurrent_mask is None else states[0] * recurrent_mask
        output = self.activation(projected + previous @ self.recurrent_kernel)
        return output, [output]


class SimpleRNN(BuiltinRNN):
    """Fully connected RNN: `RNN(SimpleRNNCell(units, ...))` with the cell's arguments inline.

    Args:
        units, activation, use_bias, initializers, regularizers, constraints, dropout,
            recurrent_dropout, seed: the cell's (see SimpleRNNCell).
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with return_sequences.

    Example:
        >>> layer = SimpleRNN(4)
        >>> tuple(layer(torch.zeros(2, 10, 3)).shape)
        (2, 4)
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
    takes_use_cudnn = False
    cell_config_omits = ("seed",)

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
