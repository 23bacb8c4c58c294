"""StackedRNNCells: several recurrent cells run as one, each feeding the next within a step."""

from __future__ import annotations

import torch

from lamina import backend
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.engine.serialization import layer_entry
from lamina.layers import layer_serialization


def _sizes(state_size) -> list[int]:
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


class StackedRNNCells(Layer):
    """Wraps a list of cells so `RNN` runs them as a stack: at each step the first cell's output
    is the second cell's input, and so on; the layer's output is the last cell's.

    Args:
        cells: a list of cells (SimpleRNNCell, LSTMCell, GRUCell or your own).

    The states are every cell's states in order, flattened: `[h_1, h_2, c_2, ...]` for a
    SimpleRNNCell under an LSTMCell (Keras nests them per cell; the tensors are the same).
    Weights: each cell's, in order (Keras's get_weights order).

    Example:
        >>> cells = StackedRNNCells([lamina.layers.LSTMCell(8), lamina.layers.GRUCell(4)])
        >>> tuple(lamina.layers.RNN(cells)(torch.zeros(2, 5, 3)).shape)
        (2, 4)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not hasattr(cell, "state_size") or not callable(cell):
                raise errors.value_error(
                    self,
                    "cells with a `state_size` and a call(inputs, states) method",
                    f"{type(cell).__name__}",
                )
        self.cells = list(cells)

    @property
    def state_size(self) -> list[int]:
        return [size for cell in self.cells for size in _sizes(cell.state_size)]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last.state_size)[0]

    def get_initial_state(self, batch_size=None):
        """Every cell's initial states, one list per cell (Keras's nesting): a cell's own
        `get_initial_state(batch_size)`, or zeros of (batch_size, size) per state."""
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                own = cell.get_initial_state(batch_size=batch_size)
            else:
                own = [
                    torch.zeros(
                        batch_size,
                        size,
                        dtype=backend.to_torch_dtype(self.compute_dtype),
                        device=backend.default_device(),
                    )
                    for size in _sizes(cell.state_size)
                ]
            states.append(list(own) if isinstance(own, (list, tuple)) else [own])
        return states

    def grouped(self, states) -> list[list]:
        """Flat states (this class's own order) as one list per cell, Keras's nesting of the
        states an RNN returns or takes."""
        groups, states = [], list(states)
        for cell in self.cells:
            count = len(_sizes(cell.state_size))
            own, states = states[:count], states[count:]
            # As Keras: a cell whose one state is a bare tensor (an int state_size and no
            # get_initial_state of its own) gives it unwrapped; the others give a list.
            bare = not hasattr(cell, "get_initial_state") and isinstance(cell.state_size, int)
            groups.append(own[0] if bare else own)
        return groups

    def build(self, input_shape):
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell.build_from_shape(input_shape)
            size = getattr(cell, "output_size", None) or _sizes(cell.state_size)[0]
            input_shape = (batch, size)

    def call(self, inputs, states, training=None):
        states = list(states)
        new_states = []
        for cell in self.cells:
            count = len(_sizes(cell.state_size))
            own, states = states[:count], states[count:]
            inputs, own = cell(inputs, own, training=training)
            new_states.extend(own if isinstance(own, (list, tuple)) else [own])
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [layer_entry(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [
            layer_serialization.deserialize(c, custom_objects) for c in config["cells"]
        ]
        return super().from_config(config)
