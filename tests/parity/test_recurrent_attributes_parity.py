"""Keras's public attributes of the recurrent layers and cells, read on lamina's: the cell's
settings through the layer, state sizes, `inner_loop`, the cells' cached dropout masks,
StackedRNNCells' initial states and Bidirectional's stateful surface, compared with Keras 3."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina

pytestmark = pytest.mark.parity

SETTINGS = {
    "kernel_regularizer": "l2",
    "recurrent_regularizer": {"class_name": "L1", "config": {"l1": 0.5}},
    "bias_regularizer": "l1",
    "kernel_constraint": "max_norm",
    "recurrent_constraint": "unit_norm",
    "bias_constraint": "non_neg",
}
SERIALIZERS = {"regularizer": "regularizers", "constraint": "constraints"}


def serialized(framework, attribute, value):
    kind = SERIALIZERS[attribute.rsplit("_", 1)[1]]
    entry = getattr(framework, kind).serialize(value)
    # Keras keeps regularizer factors as float32: 0.01 reads back as 0.009999999776...
    config = {k: round(v, 6) if isinstance(v, float) else v for k, v in entry["config"].items()}
    return entry["class_name"], config


@pytest.mark.parametrize("layer_name", ["LSTM", "GRU", "SimpleRNN"])
def test_layer_reads_its_cells_regularizers_and_constraints_as_keras(layer_name):
    ours = getattr(lamina.layers, layer_name)(3, **SETTINGS)
    theirs = getattr(keras.layers, layer_name)(3, **SETTINGS)
    for attribute in SETTINGS:
        assert getattr(ours, attribute) is getattr(ours.cell, attribute)
        assert serialized(lamina, attribute, getattr(ours, attribute)) == serialized(
            keras, attribute, getattr(theirs, attribute)
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda k: k.layers.LSTM(3),
        lambda k: k.layers.GRU(2),
        lambda k: k.layers.SimpleRNN(4),
        lambda k: k.layers.RNN(k.layers.LSTMCell(2)),
        lambda k: k.layers.RNN(k.layers.StackedRNNCells([k.layers.GRUCell(2)])),
    ],
    ids=["LSTM", "GRU", "SimpleRNN", "RNN-LSTMCell", "RNN-stacked"],
)
def test_state_size_and_single_state_as_keras(make):
    ours, theirs = make(lamina), make(keras)
    assert list(ours.state_size) == list(theirs.state_size)
    assert ours.single_state == theirs.single_state


@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backward"])
def test_inner_loop_matches_keras(return_sequences, go_backwards):
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    config = {"return_sequences": return_sequences, "go_backwards": go_backwards}
    theirs = keras.layers.LSTM(3, **config)
    theirs(x)
    ours = lamina.layers.LSTM(3, **config)
    ours(torch.tensor(x))
    ours.set_weights(theirs.get_weights())
    states = [np.random.default_rng(1).normal(size=(2, 3)).astype("float32") for _ in range(2)]
    expected = theirs.inner_loop(
        torch.tensor(x), [torch.tensor(s) for s in states], mask=None, training=False
    )
    got = ours.inner_loop(torch.tensor(x), [torch.tensor(s) for s in states], None)
    for mine, reference in zip(
        [got[0], got[1], *got[2]], [expected[0], expected[1], *expected[2]], strict=True
    ):
        assert tuple(mine.shape) == tuple(reference.shape)
        np.testing.assert_allclose(mine.detach(), reference.detach().cpu(), atol=1e-5)


@pytest.mark.parametrize("cell_name", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_cell_dropout_masks_are_cached_until_reset(cell_name):
    cell = getattr(lamina.layers, cell_name)(3, dropout=0.5, recurrent_dropout=0.25, seed=1)
    step = torch.ones(64, 6)
    mask = cell.get_dropout_mask(step)
    assert tuple(mask.shape) == (64, 6)
    assert set(mask.unique().tolist()) == {0.0, 2.0}
    assert 0.35 < (mask == 0).float().mean() < 0.65
    assert cell.get_dropout_mask(step) is mask
    recurrent = cell.get_recurrent_dropout_mask(torch.ones(64, 3))
    assert tuple(recurrent.shape) == (64, 3)
    assert set(recurrent.unique().tolist()) == {0.0, np.float32(4.0 / 3.0)}
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    assert cell.get_dropout_mask(step) is not mask
    assert cell.get_recurrent_dropout_mask(torch.ones(64, 3)) is not recurrent


@pytest.mark.parametrize("cell_name", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_cell_without_dropout_answers_no_mask_as_keras(cell_name):
    ours = getattr(lamina.layers, cell_name)(3)
    theirs = getattr(keras.layers, cell_name)(3)
    assert ours.get_dropout_mask(torch.ones(2, 4)) is theirs.get_dropout_mask(torch.ones(2, 4))
    assert ours.get_recurrent_dropout_mask(torch.ones(2, 3)) is None
    assert theirs.get_recurrent_dropout_mask(torch.ones(2, 3)) is None


@pytest.mark.parametrize("cell_name", ["LSTMCell", "GRUCell"])
@pytest.mark.parametrize(
    "kwargs", [{}, {"recurrent_dropout": 0.2}, {"implementation": 1}], ids=["plain", "rd", "impl1"]
)
def test_cell_implementation_as_keras(cell_name, kwargs):
    ours = getattr(lamina.layers, cell_name)(3, **kwargs)
    theirs = getattr(keras.layers, cell_name)(3, **kwargs)
    assert ours.implementation == theirs.implementation


def test_cell_called_step_by_step_reuses_its_mask_and_rnn_resets_it():
    cell = lamina.layers.SimpleRNNCell(4, dropout=0.5, seed=3)
    x, state = torch.ones(8, 5), [torch.zeros(8, 4)]
    first, _ = cell(x, state, training=True)
    second, _ = cell(x, state, training=True)
    torch.testing.assert_close(first, second)  # one mask for every step of a sequence
    stacked = lamina.layers.RNN(lamina.layers.StackedRNNCells([cell]))
    stacked(torch.ones(8, 3, 5), training=True)
    assert cell._dropout_mask is None


def test_stacked_cells_initial_state_nests_per_cell_as_keras():
    def make(k):
        return k.layers.StackedRNNCells([k.layers.LSTMCell(2), k.layers.GRUCell(3)])

    def shapes(states):
        return [[tuple(s.shape) for s in own] for own in states]

    ours = make(lamina).get_initial_state(batch_size=4)
    theirs = make(keras).get_initial_state(batch_size=4)
    assert shapes(ours) == shapes(theirs) == [[(4, 2), (4, 2)], [(4, 3)]]
    assert all(float(s.abs().sum()) == 0.0 for own in ours for s in own)


def test_stacked_cells_return_and_take_states_nested_per_cell_as_keras():
    def structure(outputs):
        if isinstance(outputs, (list, tuple)):
            return [structure(o) for o in outputs]
        return tuple(outputs.shape)

    x = np.zeros((2, 3, 5), "float32")
    results = []
    for k in (lamina, keras):
        layer = k.layers.RNN([k.layers.SimpleRNNCell(4), k.layers.LSTMCell(3)], return_state=True)
        _, first, second = layer(x)
        results.append(structure(layer(x, initial_state=[first, second])))
    assert results[0] == results[1] == [(2, 3), [(2, 4)], [(2, 3), (2, 3)]]


def _one_state_cell(k):
    """A Keras-style custom cell: an int state_size, no get_initial_state of its own."""

    class OneStateCell(k.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")

        def call(self, inputs, states):
            output = inputs @ self.kernel + states[0]
            return output, [output]

    return OneStateCell


def test_stacked_custom_cell_returns_its_one_state_bare_as_keras():
    x = np.ones((2, 3, 4), "float32")
    results = []
    for k in (lamina, keras):
        cells = [_one_state_cell(k)(3), k.layers.LSTMCell(2)]
        _, first, second = k.layers.RNN(cells, return_state=True)(x)
        results.append((tuple(first.shape), [tuple(s.shape) for s in second]))
    assert results[0] == results[1] == ((2, 3), [(2, 2), (2, 2)])


def test_bidirectional_stateful_surface_as_keras():
    plain_ours = lamina.layers.Bidirectional(lamina.layers.LSTM(2))
    plain_theirs = keras.layers.Bidirectional(keras.layers.LSTM(2))
    assert plain_ours.stateful is plain_theirs.stateful is False
    assert plain_ours.states is plain_theirs.states is None

    layer = lamina.layers.Bidirectional(lamina.layers.LSTM(2, stateful=True))
    assert layer.stateful is True
    x = torch.ones(3, 4, 5)
    first = layer(x)
    assert isinstance(layer.states, tuple) and len(layer.states) == 4
    assert [tuple(s.shape) for s in layer.states] == [(3, 2)] * 4
    assert not torch.allclose(layer(x), first)  # the states carried over
    layer.reset_state()
    torch.testing.assert_close(layer(x), first)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_conv_lstm_reads_its_cells_settings_as_keras(rank):
    config = {
        "filters": 4,
        "kernel_size": 3,
        "strides": 1,
        "padding": "same",
        "dilation_rate": 1,
        "dropout": 0.1,
        "recurrent_dropout": 0.2,
        "unit_forget_bias": False,
        "use_bias": True,
        **SETTINGS,
    }
    ours = getattr(lamina.layers, f"ConvLSTM{rank}D")(**config)
    theirs = getattr(keras.layers, f"ConvLSTM{rank}D")(**config)
    for attribute in (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "dropout",
        "recurrent_dropout",
        "unit_forget_bias",
        "use_bias",
    ):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    for attribute in ("activation", "recurrent_activation"):
        assert getattr(ours, attribute).__name__ == getattr(theirs, attribute).__name__
    for attribute in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        assert type(getattr(ours, attribute)).__name__ == type(getattr(theirs, attribute)).__name__
    for attribute in SETTINGS:
        assert serialized(lamina, attribute, getattr(ours, attribute)) == serialized(
            keras, attribute, getattr(theirs, attribute)
        )
    assert ours.single_state == theirs.single_state


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda k: k.layers.LSTM(3), None),
        (lambda k: k.layers.GRU(2), None),
        (lambda k: k.layers.RNN(k.layers.SimpleRNNCell(4)), None),
        (lambda k: k.layers.ConvLSTM2D(3, 3), (None, 2, 5, 5, 1)),
    ],
    ids=["LSTM", "GRU", "RNN", "ConvLSTM2D"],
)
def test_get_initial_state_from_a_batch_size_as_keras(make, shape):
    ours, theirs = make(lamina), make(keras)
    if shape is not None:
        ours.build(shape)
        theirs.build(shape)
    got, want = ours.get_initial_state(4), theirs.get_initial_state(4)
    assert [tuple(s.shape) for s in got] == [tuple(s.shape) for s in want]
    assert all(s.dtype == torch.float32 and float(s.abs().sum()) == 0.0 for s in got)


def test_conv_lstm_inner_loop_matches_keras():
    x = np.random.default_rng(2).random((2, 3, 5, 5, 1)).astype("float32")
    theirs = keras.layers.ConvLSTM2D(2, 3, padding="same")
    theirs(x)
    ours = lamina.layers.ConvLSTM2D(2, 3, padding="same")
    ours(torch.tensor(x))
    ours.set_weights(theirs.get_weights())
    expected = theirs.inner_loop(torch.tensor(x), theirs.get_initial_state(2), None)
    got = ours.inner_loop(torch.tensor(x), ours.get_initial_state(2), None)
    for mine, reference in zip(
        [got[0], got[1], *got[2]], [expected[0], expected[1], *expected[2]], strict=True
    ):
        assert tuple(mine.shape) == tuple(reference.shape)
        np.testing.assert_allclose(mine.detach(), reference.detach().cpu(), atol=1e-5)


@pytest.mark.parametrize("layer_name", ["LSTM", "GRU"])
@pytest.mark.parametrize("use_cudnn", [True, False, "auto"])
def test_bidirectional_copies_keep_use_cudnn_as_keras(layer_name, use_cudnn):
    """use_cudnn is not in the config, so Bidirectional's copies lost it ('auto')."""

    def directions(framework):
        bidi = framework.layers.Bidirectional(
            getattr(framework.layers, layer_name)(1, use_cudnn=use_cudnn)
        )
        return bidi.forward_layer.use_cudnn, bidi.backward_layer.use_cudnn

    assert directions(lamina) == directions(keras) == (use_cudnn, use_cudnn)


def test_simple_rnn_has_no_use_cudnn_as_keras():
    """Keras's SimpleRNN has no `use_cudnn` (nor do Bidirectional's copies of it) and refuses the
    argument; lamina's carried 'auto' and took it."""
    for framework in (lamina, keras):
        rnn = framework.layers.SimpleRNN(1)
        bidi = framework.layers.Bidirectional(rnn)
        assert not hasattr(rnn, "use_cudnn")
        assert not hasattr(bidi.forward_layer, "use_cudnn")
        assert not hasattr(bidi.backward_layer, "use_cudnn")
    with pytest.raises(ValueError, match="use_cudnn"):
        keras.layers.SimpleRNN(1, use_cudnn=True)
    with pytest.raises(TypeError, match=r"SimpleRNN\(\) got unexpected keyword.*use_cudnn"):
        lamina.layers.SimpleRNN(1, use_cudnn=True)
