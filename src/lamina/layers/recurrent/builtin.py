"""The layer side of SimpleRNN, LSTM and GRU: an RNN that owns one built-in cell.

Keras's recurrent layers take the cell's arguments and the RNN's in one signature, and read the
cell's hyperparameters back as attributes (`lstm.units`); these properties say so explicitly.
"""

from __future__ import annotations

from lamina import regularizers
from lamina.layers.recurrent.base import RNN, cell_attribute

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
    # The cell's config keys the layer's config leaves out: Keras's SimpleRNN has no `seed`.
    cell_config_omits = ()
    # LSTM and GRU take (and keep) `use_cudnn`; SimpleRNN, as Keras's, has no such argument.
    takes_use_cudnn = True

    def __init__(self, units, **kwargs):
        use_cudnn = kwargs.pop("use_cudnn", "auto") if self.takes_use_cudnn else None
        rnn_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGUMENTS}
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _LAYER_ARGUMENTS}
        if "use_cudnn" in kwargs:  # refused by the base layer, naming this class
            layer_kwargs["use_cudnn"] = kwargs.pop("use_cudnn")
        # Keras names the cell "lstm_cell" etc. whatever the layer's name: weight paths then read
        # "lstm_1/lstm_cell/kernel", and the cell takes no number from the auto-name counters.
        cell = self.cell_class(
            units, name=self.cell_name, dtype=layer_kwargs.get("dtype"), **kwargs
        )
        super().__init__(cell, **rnn_kwargs, **layer_kwargs)
        if self.takes_use_cudnn:
            self.use_cudnn = use_cudnn

    # Keras reads the cell's hyperparameters through the layer.
    units = cell_attribute("units")
    activation = cell_attribute("activation")
    use_bias = cell_attribute("use_bias")
    dropout = cell_attribute("dropout")
    recurrent_dropout = cell_attribute("recurrent_dropout")
    kernel_initializer = cell_attribute("kernel_initializer")
    recurrent_initializer = cell_attribute("recurrent_initializer")
    bias_initializer = cell_attribute("bias_initializer")
    kernel_regularizer = cell_attribute("kernel_regularizer")
    recurrent_regularizer = cell_attribute("recurrent_regularizer")
    bias_regularizer = cell_attribute("bias_regularizer")
    kernel_constraint = cell_attribute("kernel_constraint")
    recurrent_constraint = cell_attribute("recurrent_constraint")
    bias_constraint = cell_attribute("bias_constraint")

    def get_config(self):
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", *self.cell_config_omits):
            cell_config.pop(key, None)
        # Keras lists the layer's activity regularizer among the cell's arguments.
        activity = {"activity_regularizer": regularizers.serialize(self.activity_regularizer)}
        return {**super().get_config(), **cell_config, **activity}
