"""The case catalogue of the sequence layers (recurrent, wrappers, embedding, attention).

Same `Case` as tests/cases.py. Tolerance: 1e-5 for at most ~10 recurrent steps (float32 products
of a few hundred terms, chained through the steps); LONG cases run 50 steps, where rounding
compounds through the recurrence, and state 1e-4.
"""

from __future__ import annotations

from tests.cases import Case


def _c(layer, config, shape, name, **extra):
    return Case(layer, config, tuple(shape), name, **extra)


SEQ = (3, 7, 4)  # batch, timesteps, features

RECURRENT = [
    _c("SimpleRNN", {"units": 5}, SEQ, "tanh"),
    _c("SimpleRNN", {"units": 5, "activation": "relu", "return_sequences": True}, SEQ, "relu-seq"),
    _c(
        "SimpleRNN",
        {"units": 5, "activation": "sigmoid", "go_backwards": True},
        SEQ,
        "sigmoid-loop-backwards",
    ),
    _c("SimpleRNN", {"units": 3, "use_bias": False, "return_sequences": True}, SEQ, "nobias"),
    _c("LSTM", {"units": 6}, SEQ, "default"),
    _c("LSTM", {"units": 6, "return_sequences": True, "go_backwards": True}, SEQ, "seq-backwards"),
    _c("LSTM", {"units": 4, "use_bias": False, "unit_forget_bias": False}, SEQ, "nobias"),
    _c(
        "LSTM",
        {
            "units": 4,
            "activation": "relu",
            "recurrent_activation": "hard_sigmoid",
            "return_sequences": True,
        },
        SEQ,
        "relu-hardsigmoid-loop",
    ),
    _c("GRU", {"units": 6}, SEQ, "reset-after"),
    _c(
        "GRU", {"units": 6, "reset_after": False, "return_sequences": True}, SEQ, "reset-before-seq"
    ),
    _c("GRU", {"units": 4, "use_bias": False, "go_backwards": True}, SEQ, "nobias-backwards"),
    _c("GRU", {"units": 4, "reset_after": False, "use_bias": False}, SEQ, "reset-before-nobias"),
]

STATEFUL_OUTPUTS = [
    _c("LSTM", {"units": 5, "return_state": True}, SEQ, "state"),
    _c("LSTM", {"units": 5, "return_state": True, "return_sequences": True}, SEQ, "seq-state"),
    _c("GRU", {"units": 5, "return_state": True}, SEQ, "state"),
    _c("GRU", {"units": 5, "return_state": True, "reset_after": False}, SEQ, "state-before"),
    _c("SimpleRNN", {"units": 5, "return_state": True, "return_sequences": True}, SEQ, "seq-state"),
]

LONG = [
    _c("LSTM", {"units": 8}, (2, 50, 3), "50-steps"),
    _c("GRU", {"units": 8}, (2, 50, 3), "50-steps"),
]

ATTENTION_INPUTS = {"query": (2, 4, 6), "value": (2, 5, 6)}
