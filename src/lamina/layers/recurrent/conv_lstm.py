"""ConvLSTM1D, ConvLSTM2D, ConvLSTM3D: the RNN base running a ConvLSTMCell over time.

Inputs are `(batch, time, *spatial, channels)` (or `(batch, time, channels, *spatial)` with
`data_format="channels_first"`); the states h and c have the input convolution's output shape.
"""

from __future__ import annotations

import torch

from lamina import regularizers
from lamina.engine import errors
from lamina.layers import padding_rules, spatial
from lamina.layers.recurrent.base import RNN, cell_attribute, empty_like_layer
from lamina.layers.recurrent.cell_base import _keep_mask
from lamina.layers.recurrent.conv_lstm_cell import ConvLSTMCell

# The cell's arguments in Keras's order: the layer takes them and hands them to its cell.
_CELL_ARGUMENTS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


class _ConvLSTM(RNN):
    rank = 2

    def __init__(
        self,
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
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        arguments = locals()
        cell = ConvLSTMCell(
            self.rank,
            **{name: arguments[name] for name in _CELL_ARGUMENTS},
            name="conv_lstm_cell",
            dtype=kwargs.get("dtype"),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    # ----------------------------------------------------------------------------------------------
    # Shapes and states

    def _check_rank(self, shape) -> None:
        if len(shape) != self.rank + 3:
            layout = spatial.LAYOUTS[(self.cell.data_format, self.rank)].replace(
                "(batch, ", "(batch, time, "
            )
            raise errors.value_error(
                self,
                f"{self.rank + 3}-D input {layout}",
                f"a {len(shape)}-D input of shape {errors.format_shape(shape)}",
            )

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self._check_rank(input_shape)
        self.cell.build_from_shape((input_shape[0], *input_shape[2:]))

    def _state_shape(self, batch):
        if self.cell.data_format == "channels_last":
            return (batch, *self.cell.output_sizes, self.cell.filters)
        return (batch, self.cell.filters, *self.cell.output_sizes)

    def get_initial_state(self, batch_size, like=None):
        """[h, c] zeros of the cell's output shape (the layer must be built), on `like`'s
        device and in its dtype (default: the compute dtype on the default device)."""
        like = like if like is not None else empty_like_layer(self)
        shape = self._state_shape(batch_size)
        return [like.new_zeros(shape), like.new_zeros(shape)]

    def _checked_initial_state(self, initial_state, sequences):
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else []
        want = self._state_shape(sequences.shape[0])
        if len(states) != 2 or any(tuple(s.shape) != want for s in states):
            raise errors.value_error(
                self,
                f"initial_state as a list [h, c] of two tensors of shape {want}",
                f"{[tuple(getattr(s, 'shape', ())) for s in states] or initial_state!r}",
            )
        return [torch.as_tensor(s).to(sequences.dtype) for s in states]

    # ----------------------------------------------------------------------------------------------
    # Computing

    def _to_cf(self, x):
        y = spatial.to_torch(x, self.cell.data_format, self.rank)
        return y.squeeze(-1) if self.rank == 1 else y

    def _from_cf(self, y):
        y = y.unsqueeze(-1) if self.rank == 1 else y
        return spatial.from_torch(y, self.cell.data_format, self.rank).contiguous()

    def _run(self, sequences, states, mask, training):
        cell = self.cell
        batch, steps = sequences.shape[:2]
        if training and cell.dropout > 0.0:  # one mask per sequence, reused at every step
            keep = _keep_mask(
                (batch, 1, *sequences.shape[2:]), cell.dropout, sequences, cell.seed_generator
            )
            sequences = sequences * keep
        folded = self._to_cf(sequences.reshape(batch * steps, *sequences.shape[2:]))
        projected = cell.project_inputs(folded)
        projected = projected.reshape(batch, steps, *projected.shape[1:]).unbind(1)
        h, c = (self._to_cf(s) for s in states)
        recurrent_mask = None
        if training and cell.recurrent_dropout > 0.0:
            recurrent_mask = _keep_mask(h.shape, cell.recurrent_dropout, h, cell.seed_generator)
        outputs, output = [], None
        for t, step_input in enumerate(projected):
            new_h, new_c = cell.step(step_input, h, c, recurrent_mask)
            out = new_h
            if mask is not None:  # masked steps carry the states; the output as RNN's loop
                keep = mask[:, t].reshape(batch, *[1] * (self.rank + 1))
                held = output if output is not None and not self.zero_output_for_mask else None
                out = torch.where(keep, new_h, torch.zeros_like(new_h) if held is None else held)
                new_h = torch.where(keep, new_h, h)
                new_c = torch.where(keep, new_c, c)
            h, c, output = new_h, new_c, out
            if self.return_sequences:
                outputs.append(out)
        stacked = None
        if self.return_sequences:
            stacked = torch.stack(outputs, dim=1)
            if cell.data_format == "channels_last":
                stacked = stacked.movedim(2, -1)
            stacked = stacked.contiguous()
        return stacked, self._from_cf(output), [self._from_cf(h), self._from_cf(c)]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps, *step = input_shape
        sizes = spatial.spatial_shape((batch, *step), self.cell.data_format)
        cell = self.cell
        out = tuple(
            padding_rules.output_length(n, k, s, cell.padding, d)
            for n, k, s, d in zip(
                sizes, cell.kernel_size, cell.strides, cell.dilation_rate, strict=True
            )
        )
        state = (
            (*out, cell.filters) if cell.data_format == "channels_last" else (cell.filters, *out)
        )
        output = (batch, steps, *state) if self.return_sequences else (batch, *state)
        if self.return_state:
            return (output, (batch, *state), (batch, *state))
        return output

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {name: cell_config[name] for name in _CELL_ARGUMENTS}
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return {**super().get_config(), **config}


# filters, kernel_size, strides, ...: the cell's, read through the layer as in Keras.
for _name in _CELL_ARGUMENTS:
    setattr(_ConvLSTM, _name, cell_attribute(_name))


_DOC = """{rank}-D convolutional LSTM: an LSTM whose gates are convolutions (Shi et al., 2015).

    Args:
        filters: channels of the output and of the states.
        kernel_size, strides, padding ("valid" or "same"), data_format, dilation_rate: of the
            input convolution, as in Conv{rank}D; the recurrent convolution has stride 1 and
            "same" padding.
        activation, recurrent_activation: of the cell (tanh and sigmoid, as Keras).
        use_bias, unit_forget_bias, *_initializer, *_regularizer, *_constraint: as in LSTM.
        dropout, recurrent_dropout: fractions of the inputs / states dropped while training.
        return_sequences, return_state, go_backwards, stateful: as in RNN.

    Input shape: `(batch, time, {spatial}, channels)` (channels_last).
    Output shape: `(batch, [time,] {out}, filters)`; with return_state, `(output, h, c)`.

    Example:
        >>> layer = ConvLSTM{rank}D(4, 3, padding="same", return_sequences=True)
        >>> tuple(layer(torch.zeros({example})).shape)
        {result}
    """


def _conv_lstm_class(rank: int):
    spatial_names = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}[rank]
    out_names = {1: "new_steps", 2: "new_rows, new_cols", 3: "new_depth, new_rows, new_cols"}
    sizes = ", ".join(["5"] * rank)
    doc = _DOC.format(
        rank=rank,
        spatial=spatial_names,
        out=out_names[rank],
        example=f"(2, 3, {sizes}, 2)",
        result=f"(2, 3, {sizes}, 4)",
    )
    return type(f"ConvLSTM{rank}D", (_ConvLSTM,), {"rank": rank, "__doc__": doc})


ConvLSTM1D = _conv_lstm_class(1)
ConvLSTM2D = _conv_lstm_class(2)
ConvLSTM3D = _conv_lstm_class(3)
