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


def test_keras_file_with_bidirectional_loads_in_lamina(tmp_path):
    # Keras writes backward_layer for every Bidirectional: such files used to fail to rebuild.
    inputs = keras.Input((4, 3))
    backward = keras.layers.GRU(2, return_sequences=True, go_backwards=True)
    hidden = keras.layers.Bidirectional(
        keras.layers.LSTM(2, return_sequences=True), backward_layer=backward
    )(inputs)
    outputs = keras.layers.Bidirectional(keras.layers.SimpleRNN(3))(hidden)
    theirs = keras.Model(inputs, outputs)
    theirs.save(tmp_path / "bidirectional.keras")
    ours = lamina.saving.load_model(tmp_path / "bidirectional.keras")
    x = _sequence((2, 4, 3))
    got = ours(torch.tensor(x, device=lamina.backend.default_device())).detach().cpu().numpy()
    np.testing.assert_allclose(got, theirs(x).detach().numpy(), atol=1e-6)


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


# --------------------------------------------------------------------------------------------------
# Attention


def _attention_pair(layer_name, config, inputs, **call_kwargs):
    theirs = getattr(keras.layers, layer_name)(**config)
    ours = getattr(lamina.layers, layer_name)(**config)
    device = lamina.backend.default_device()
    theirs(*[torch.tensor(x) for x in inputs], **call_kwargs)
    ours(*[torch.tensor(x, device=device) for x in inputs], **call_kwargs)
    return theirs, ours


@pytest.mark.parametrize(
    "attention_axes,rank",
    [(None, 3), (None, 4), (-2, 4), (1, 4)],
    ids=["none-rank3", "none-rank4", "negative-rank4", "int-rank4"],
)
def test_multi_head_attention_config_holds_resolved_axes(attention_axes, rank):
    # Keras resolves attention_axes when it builds (None: every inner axis) and writes that.
    config = {"num_heads": 2, "key_dim": 3, "attention_axes": attention_axes}
    x = _sequence((2, 3, 4) if rank == 3 else (2, 3, 2, 4))
    theirs, ours = _attention_pair("MultiHeadAttention", config, [x, x])
    assert _comparable(ours.get_config()) == _comparable(theirs.get_config())
    assert ours.attention_axes == tuple(theirs.attention_axes)


@pytest.mark.parametrize("use_gate", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize(
    "layer_name,config",
    [
        ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}),
        ("GroupQueryAttention", {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1}),
    ],
    ids=["mha", "gqa"],
)
def test_attention_activity_regularizer_penalties_are_keras(layer_name, config, use_gate):
    # Keras's attention layers hand activity_regularizer to their projection sub-layers, each
    # penalized once per call (GroupQueryAttention's output too).
    config = {**config, "activity_regularizer": "l2", "kernel_regularizer": "l1"}
    config["use_gate"] = use_gate
    q, v = _sequence((2, 3, 4), seed=1), _sequence((2, 5, 4), seed=2)
    theirs, ours = _attention_pair(layer_name, config, [q, v])
    ours.set_weights(theirs.get_weights())
    theirs(torch.tensor(q), torch.tensor(v))
    device = lamina.backend.default_device()
    ours(torch.tensor(q, device=device), torch.tensor(v, device=device))
    want = sorted(float(loss.detach()) for loss in theirs.losses)
    got = sorted(float(loss.detach()) for loss in ours.losses)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert ours.get_config()["activity_regularizer"] == theirs.get_config()["activity_regularizer"]


def test_einsum_dense_activity_penalty_counted_once():
    config = {"equation": "ab,bc->ac", "output_shape": 3, "activity_regularizer": "l2"}
    x = _sequence((2, 4))
    theirs, ours = keras.layers.EinsumDense(**config), lamina.layers.EinsumDense(**config)
    theirs(torch.tensor(x))
    ours(torch.tensor(x, device=lamina.backend.default_device()))
    assert len(ours.losses) == len(theirs.losses) == 1


def test_group_query_attention_auto_name_and_config_are_keras():
    config = {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1}
    x = _sequence()
    theirs, ours = _attention_pair("GroupQueryAttention", config, [x, x])
    assert ours.name == "grouped_query_attention"  # Keras's class is GroupedQueryAttention
    assert [w.path for w in ours.weights][0] == "grouped_query_attention/query/kernel"
    assert sorted(ours.get_config()) == sorted(theirs.get_config())


@pytest.mark.parametrize("return_attention_scores", [False, True], ids=["output", "scores"])
def test_group_query_attention_with_dropout_masks_as_keras_in_inference(return_attention_scores):
    # A dropout rate sends Keras down its explicit path even in inference: a query whose
    # keys are all masked (here by the query mask) gets zero weights, not uniform ones.
    config = {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1, "dropout": 0.5}
    q, v = _sequence((2, 4, 2), seed=3), _sequence((2, 3, 2), seed=4)
    query_mask = torch.tensor([[True, False, True, True], [True, True, True, False]])
    kwargs = {"query_mask": query_mask, "return_attention_scores": return_attention_scores}
    theirs, ours = _attention_pair("GroupQueryAttention", config, [q, v], **kwargs)
    assert_call_matches_keras(theirs, ours, [q, v], kwargs)


def test_group_query_attention_projections_compute_in_the_layers_dtype():
    # Keras hands the layer's dtype policy to its projections: float64 in, float64 out.
    config = {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1, "dtype": "float64"}
    x = _sequence().astype("float64")
    theirs, ours = _attention_pair("GroupQueryAttention", config, [x, x])
    ours.set_weights(theirs.get_weights())
    want = theirs(torch.tensor(x), torch.tensor(x))
    device = lamina.backend.default_device()
    got = ours(torch.tensor(x, device=device), torch.tensor(x, device=device))
    assert got.dtype == want.dtype == torch.float64
    torch.testing.assert_close(got.detach().cpu(), want.detach())


def _structure_types(value):
    """The container types of a result, outermost first (tensors and shapes' ints as leaves)."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple)) for v in value):
        return (type(value).__name__, [_structure_types(v) for v in value])
    return type(value).__name__ if isinstance(value, (list, tuple)) else "leaf"


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda L: L.LSTM(3, return_state=True), (2, 4, 5)),
        (lambda L: L.GRU(3, return_state=True, return_sequences=True), (2, 4, 5)),
        (lambda L: L.Bidirectional(L.SimpleRNN(3, return_state=True)), (2, 4, 5)),
        (lambda L: L.Bidirectional(L.LSTM(3, return_state=True), merge_mode=None), (2, 4, 5)),
        (lambda L: L.ConvLSTM1D(2, 3, return_state=True), (2, 4, 6, 5)),
    ],
    ids=["lstm", "gru-sequences", "bidirectional", "bidirectional-unmerged", "conv-lstm"],
)
def test_return_state_gives_tuples_as_keras(make, shape):
    # lamina returned lists; unpacking reads the same, but a model built on them returned lists
    # from predict() where Keras's returns tuples, and code that checks the type saw the other.
    x = _sequence(shape)
    theirs, ours = make(keras.layers), make(lamina.layers)
    results = [
        (theirs(x), ours(x)),
        (theirs.compute_output_shape(shape), ours.compute_output_shape(shape)),
        (make(keras.layers)(keras.Input(shape[1:])), make(lamina.layers)(lamina.Input(shape[1:]))),
    ]
    for want, got in results:
        assert _structure_types(got) == _structure_types(want)
    inputs = lamina.Input(shape[1:])
    model = lamina.Model(inputs, make(lamina.layers)(inputs))
    assert type(model.predict(x, verbose=0)) is tuple
