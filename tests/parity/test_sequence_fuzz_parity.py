"""Parity with Keras 3 (torch backend) at the edges a differential fuzz of the recurrent and
attention layers found: configs (keys, nested layer entries, Keras's config loaded by lamina),
and outputs for the argument combinations the usual parity tests do not reach.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import assert_call_matches_keras

pytestmark = pytest.mark.parity


def _comparable(config):
    """A config without what legitimately differs between two sessions (auto-names) or what
    lamina writes only for layers that state it (nested `build_config`)."""
    if isinstance(config, dict):
        return {k: _comparable(v) for k, v in config.items() if k not in ("name", "build_config")}
    if isinstance(config, (list, tuple)):
        return [_comparable(v) for v in config]
    return config


def _sequence(shape=(2, 3, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _built_pair(make_keras, make_lamina, x):
    theirs, ours = make_keras(), make_lamina()
    theirs(torch.tensor(x))
    ours(torch.tensor(x, device=lamina.backend.default_device()))
    return theirs, ours


@pytest.mark.parametrize("layer_name", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_config_keys_are_keras(layer_name):
    # Keras lists activity_regularizer among the layer's arguments; SimpleRNN has no seed.
    config = {"units": 3, "activity_regularizer": "l2"}
    theirs = getattr(keras.layers, layer_name)(**config).get_config()
    ours = getattr(lamina.layers, layer_name)(**config).get_config()
    assert sorted(ours) == sorted(theirs)
    expected = keras.regularizers.serialize(keras.regularizers.get("l2"))
    # (Keras's SimpleRNN drops the argument it takes, and writes None: not copied.)
    assert ours["activity_regularizer"] == expected


def _bidirectional(module, layer_name, merge_mode, with_backward):
    cls = getattr(module.layers, layer_name)
    forward = cls(2, return_sequences=True)
    backward = cls(2, return_sequences=True, go_backwards=True) if with_backward else None
    return module.layers.Bidirectional(forward, merge_mode=merge_mode, backward_layer=backward)


@pytest.mark.parametrize("with_backward", [False, True], ids=["auto-backward", "backward-given"])
@pytest.mark.parametrize("merge_mode", ["concat", None])
@pytest.mark.parametrize("layer_name", ["LSTM", "GRU"])
def test_bidirectional_config_is_keras_and_loads_from_keras(layer_name, merge_mode, with_backward):
    x = _sequence()
    theirs, ours = _built_pair(
        lambda: _bidirectional(keras, layer_name, merge_mode, with_backward),
        lambda: _bidirectional(lamina, layer_name, merge_mode, with_backward),
        x,
    )
    keras_config = theirs.get_config()
    assert _comparable(ours.get_config()) == _comparable(keras_config)
    assert ours.get_config()["layer"]["config"]["name"].startswith("forward_")
    # Keras's config (both directions written out) loads in lamina and computes Keras's numbers.
    loaded = lamina.layers.Bidirectional.from_config(keras_config)
    loaded(torch.tensor(x, device=lamina.backend.default_device()))
    assert_call_matches_keras(theirs, loaded, [x])


def test_time_distributed_config_is_keras_and_loads_from_keras():
    x = _sequence((2, 3, 4, 5))
    theirs, ours = _built_pair(
        lambda: keras.layers.TimeDistributed(keras.layers.Conv1D(2, 2)),
        lambda: lamina.layers.TimeDistributed(lamina.layers.Conv1D(2, 2)),
        x,
    )
    assert _comparable(ours.get_config()) == _comparable(theirs.get_config())
    loaded = lamina.layers.TimeDistributed.from_config(theirs.get_config())
    loaded(torch.tensor(x, device=lamina.backend.default_device()))
    assert_call_matches_keras(theirs, loaded, [x])


@pytest.mark.parametrize("stacked", [False, True], ids=["one-cell", "stacked-cells"])
def test_rnn_of_cells_config_is_keras_and_loads_from_keras(stacked):
    def make(module):
        cells = [module.layers.GRUCell(3, reset_after=False), module.layers.LSTMCell(2)]
        cell = module.layers.StackedRNNCells(cells) if stacked else cells[0]
        return module.layers.RNN(cell, return_sequences=True)

    x = _sequence()
    theirs, ours = _built_pair(lambda: make(keras), lambda: make(lamina), x)
    assert _comparable(ours.get_config()) == _comparable(theirs.get_config())
    loaded = lamina.layers.RNN.from_config(theirs.get_config())
    loaded(torch.tensor(x, device=lamina.backend.default_device()))
    assert_call_matches_keras(theirs, loaded, [x])
