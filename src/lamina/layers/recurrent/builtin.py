"""The layer side of SimpleRNN, LSTM and GRU: an RNN that owns one built-in cell.

Keras's recurrent layers take the cell's arguments and the RNN's in one signature, and read the
cell's hyperparameters back as attributes (`lstm.units`); these properties say so explicitly.
"""

from __future__ import annotations

from lamina.layers.recurrent.base import RNN

# The arguments that belong to the RNN (and Layer) rather than to the cell.
_RNN_ARGUMENTS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
    "activity_regularizer",
)
_LAYER_ARGUMENTS = (
    "name",
    "trainable",
    "dtype",
    "input_shape",
    "input_dim",
    "batch_input_shape",
    "batch_size",
    "autocast",
)


class BuiltinRNN(RNN):
    """An RNN built around `cell_class(**cell_arguments)`; subclasses set `cell_class`."""

    cell_class = None
    cell_name = None

    def __init__(self, units, *, use_cudnn="auto", **kwargs):
        rnn_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGUMENTS}
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _LAYER_ARGUMENTS}
        # Keras names the cell "lstm_cell" etc. whatever the layer's name: weight paths then read
        # "lstm_1/lstm_cell/kernel", and the cell takes no number from the auto-name counters.
        cell = self.cell_class(
            units, name=self.cell_name, dtype=layer_kwargs.get("dtype"), **kwargs
        )
        super().__init__(cell, **rnn_kwargs, **layer_kwargs)
        self.use_cudnn = use_cudnn

    # Keras reads the cell's hyperparameters through the layer.
    @property
    def units(self):
        return self.cell.units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def use_bias(self):
        return self.cell.use_bias

    @property
    def dropout(self):
        return self.cell.dropout

    @property
    def recurrent_dropout(self):
        return self.cell.recurrent_dropout

    @property
    def kernel_initializer(self):
        return self.cell.kernel_initializer

    @property
    def recurrent_initializer(self):
        return self.cell.recurrent_initializer

    @property
    def bias_initializer(self):
        return self.cell.bias_initializer

    def get_config(self):
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**super().get_config(), **cell_config}
