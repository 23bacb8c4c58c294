"""Recurrent layers: the RNN base, SimpleRNN, LSTM, GRU and their cells."""

from lamina.layers.recurrent.base import RNN
from lamina.layers.recurrent.gru import GRU, GRUCell
from lamina.layers.recurrent.lstm import LSTM, LSTMCell
from lamina.layers.recurrent.simple_rnn import SimpleRNN, SimpleRNNCell
from lamina.layers.recurrent.stacked_cells import StackedRNNCells

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
]
