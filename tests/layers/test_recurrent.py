"""Recurrent layers: fused vs loop agreement, masks, states, stateful, symbolic use, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.recurrent import fused
from lamina.preprocessing.sequence import pad_sequences
from tests import sequence_cases as cases
from tests.cases import case_id
from tests.layers import test_contract

FUSABLE = {
    "LSTM": {"units": 5},
    "GRU": {"units": 5},
    "SimpleRNN-tanh": {"units": 5},
    "SimpleRNN-relu": {"units": 5, "activation": "relu"},
}


def _layer(name, **extra):
    config = {**FUSABLE[name], **extra}
    return getattr(layers, name.split("-")[0])(**config)


def _loop_twin(layer):
    """The same layer and weights, forced onto the step loop."""
    twin = type(layer).from_config(layer.get_config())
    twin.build_from_shape(layer._build_input_shape)
    twin.set_weights(layer.get_weights())
    twin.cell.fused_kind = lambda: None
    return twin


def _outputs(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


@pytest.mark.parametrize("case", cases.RECURRENT, ids=case_id)
def test_recurrent_layer_contract(case):
    test_contract.test_layer_contract(case)


@pytest.mark.parametrize("name", list(FUSABLE))
@pytest.mark.parametrize("mask_kind", ["none", "right", "left", "holes", "mixed"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["fwd", "bwd"])
def test_fused_and_loop_paths_agree(name, mask_kind, go_backwards):
    layer = _layer(name, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = torch.randn(4, 6, 3)
    layer(x)
    twin = _loop_twin(layer)
    lengths = torch.tensor([6, 4, 1, 3])
    steps = torch.arange(6)[None, :]
    mask = {
        "none": None,
        "right": steps < lengths[:, None],
        "left": steps >= 6 - lengths[:, None],
        "holes": torch.rand(4, 6) > 0.3,
        "mixed": torch.cat([(steps < lengths[:, None])[:2], (steps >= 6 - lengths[:, None])[2:]]),
    }[mask_kind]
    state = [torch.randn(4, 5) for _ in range(2 if name == "LSTM" else 1)]
    x_fused, x_loop = x.clone().requires_grad_(), x.clone().requires_grad_()
    fused_out = _outputs(layer(x_fused, mask=mask, initial_state=state))
    loop_out = _outputs(twin(x_loop, mask=mask, initial_state=state))
    for a, b in zip(fused_out, loop_out, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    cotangents = [torch.randn_like(o) for o in fused_out]
    torch.autograd.backward(fused_out, cotangents)
    torch.autograd.backward(loop_out, cotangents)
    torch.testing.assert_close(x_fused.grad, x_loop.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "mask_kind,expected",
    [
        ("full", "full"),
        ("right", "right"),
        ("left", "left"),
        ("holes", "other"),
        ("empty", "other"),
    ],
)
def test_mask_classification(mask_kind, expected):
    steps = torch.arange(5)[None, :]
    lengths = torch.tensor([[5], [2]])
    mask = {
        "full": torch.ones(2, 5, dtype=torch.bool),
        "right": steps < lengths,
        "left": steps >= 5 - lengths,
        "holes": torch.tensor([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool),
        "empty": torch.tensor([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool),
    }[mask_kind]
    assert fused.classify_mask(mask)[0] == expected


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN-tanh"])
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_padded_batch_equals_unpadded_sequences(name, padding):
    """Embedding(mask_zero=True) + pad_sequences: each padded row gives the row alone's result."""
    rows = [[3, 1, 4, 1, 5, 9], [2, 6], [5, 3, 5]]
    padded = torch.tensor(pad_sequences(rows, padding=padding))
    embedding = layers.Embedding(10, 3, mask_zero=True)
    rnn = _layer(name, return_state=True)
    batched_output, *batched_states = rnn(embedding(padded))
    for index, row in enumerate(rows):
        alone_output, *alone_states = rnn(embedding(torch.tensor([row])))
        torch.testing.assert_close(batched_output[index], alone_output[0], atol=1e-6, rtol=1e-5)
        for batched, alone in zip(batched_states, alone_states, strict=True):
            torch.testing.assert_close(batched[index], alone[0], atol=1e-6, rtol=1e-5)


def test_return_sequences_mask_propagates_to_next_layer():
    embedding = layers.Embedding(10, 3, mask_zero=True)
    first = layers.LSTM(4, return_sequences=True)
    ids = torch.tensor([[0, 0, 2, 3], [1, 2, 3, 4]])
    hidden = first(embedding(ids))
    assert hidden._keras_mask.tolist() == [[False, False, True, True], [True] * 4]
    second = layers.GRU(2)
    masked = second(hidden)
    unmasked_row = second(first(embedding(ids[:1, 2:])))
    torch.testing.assert_close(masked[:1], unmasked_row, atol=1e-6, rtol=1e-5)


def test_go_backwards_equals_reversed_input():
    forward = layers.GRU(4, return_sequences=True)
    x = torch.randn(2, 5, 3)
    forward(x)
    backward = layers.GRU(4, return_sequences=True, go_backwards=True)
    backward(x)
    backward.set_weights(forward.get_weights())
    torch.testing.assert_close(backward(x), forward(x.flip(1)))


def test_stateful_layer_carries_state_and_resets():
    layer = layers.LSTM(4, stateful=True)
    whole = layers.LSTM(4)
    x = torch.randn(2, 6, 3)
    layer(x[:, :3])
    whole(x)
    whole.set_weights(layer.get_weights())
    layer.reset_states()
    layer(x[:, :3])
    continued = layer(x[:, 3:])
    torch.testing.assert_close(continued, whole(x), atol=1e-6, rtol=1e-5)
    layer.reset_states()
    torch.testing.assert_close(layer(x[:, :3]), whole(x[:, :3]))
    assert all(not s.requires_grad for s in layer.states)


def test_reset_states_needs_stateful():
    with pytest.raises(ValueError, match=r"expects stateful=True for reset_states\(\)"):
        layers.GRU(2).reset_states()


def test_dropout_only_while_training():
    layer = layers.LSTM(8, dropout=0.5, recurrent_dropout=0.5)
    x = torch.randn(4, 5, 3)
    inference = layer(x)
    torch.testing.assert_close(layer(x), inference)
    assert not torch.allclose(layer(x, training=True), inference)


def test_custom_cell_in_generic_rnn_matches_simple_rnn():
    class MinimalCell(layers.Layer):
        state_size = 4

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 4))
            self.recurrent_kernel = self.add_weight(
                name="recurrent_kernel", shape=(4, 4), initializer="orthogonal"
            )

        def call(self, inputs, states):
            output = torch.tanh(inputs @ self.kernel + states[0] @ self.recurrent_kernel)
            return output, [output]

    generic = layers.RNN(MinimalCell(), return_sequences=True)
    x = torch.randn(2, 5, 3)
    generic(x)
    reference = layers.SimpleRNN(4, use_bias=False, return_sequences=True)
    reference(x)
    reference.set_weights(generic.get_weights())
    torch.testing.assert_close(generic(x), reference(x), atol=1e-6, rtol=1e-5)


def test_rnn_of_builtin_cell_round_trips_config():
    layer = layers.RNN(layers.GRUCell(3, reset_after=False), return_sequences=True)
    x = torch.randn(2, 4, 2)
    y = layer(x)
    clone = layers.RNN.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x), y)
    assert not clone.cell.reset_after


def test_cell_called_alone_gives_one_step():
    cell = layers.LSTMCell(3)
    x, h, c = torch.randn(2, 4), torch.randn(2, 3), torch.randn(2, 3)
    output, (new_h, new_c) = cell(x, [h, c])
    layer = layers.LSTM(3, return_state=True)
    layer(x[:, None])
    layer.set_weights(cell.get_weights())
    expected, expected_h, expected_c = layer(x[:, None], initial_state=[h, c])
    torch.testing.assert_close(output, expected)
    torch.testing.assert_close(new_c, expected_c)


def test_lstm_initialisers_match_keras_defaults():
    layer = layers.LSTM(4)
    layer(torch.zeros(1, 2, 3))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (3, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    # Orthogonal init of Keras's (4, 16) recurrent kernel: orthonormal rows.
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(4), atol=1e-5)
    assert np.abs(kernel).max() <= np.sqrt(6 / (3 + 16)) + 1e-6


def test_gru_weight_shapes_follow_reset_after():
    after, before = layers.GRU(4), layers.GRU(4, reset_after=False)
    x = torch.zeros(1, 2, 3)
    after(x), before(x)
    assert [w.shape for w in after.get_weights()] == [(3, 12), (4, 12), (2, 12)]
    assert [w.shape for w in before.get_weights()] == [(3, 12), (4, 12), (12,)]


# --------------------------------------------------------------------------------------------------
# Keras's weight shapes (over torch's memory order)

KERAS_SHAPED = {
    "SimpleRNN": {},
    "LSTM": {},
    "GRU": {},
    "GRU-reset_before": {"reset_after": False},
}


def _built(m, name, x):
    layer = getattr(m.layers, name.split("-")[0])(4, return_sequences=True, **KERAS_SHAPED[name])
    layer(x)
    return layer


def _assigned_in_keras_layout(m, name):
    """Weights assigned through `layer.cell.<name>.assign` in Keras's layout, then a call: the
    shapes of `layer.weights`, their values read back, and the outputs."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    layer = _built(m, name, x)
    shapes = [tuple(w.shape) for w in layer.weights]
    for attribute in ("kernel", "recurrent_kernel", "bias"):
        weight = getattr(layer.cell, attribute)
        weight.assign((0.5 * rng.standard_normal(tuple(weight.shape))).astype("float32"))
    values = [m.ops.convert_to_numpy(w) for w in layer.weights]
    return shapes, values, m.ops.convert_to_numpy(layer(x))


@pytest.mark.parity
@pytest.mark.parametrize("name", list(KERAS_SHAPED))
def test_weights_have_keras_shapes_and_assign_in_keras_layout(name):
    from tests.parity import reference

    shapes, values, outputs = _assigned_in_keras_layout(lamina, name)
    keras_shapes, keras_values, keras_outputs = reference.keras_run(
        lambda m: _assigned_in_keras_layout(m, name)
    )
    assert shapes == keras_shapes
    for ours, theirs in zip(values, keras_values, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # float32, torch's fused kernels against Keras's step loop: rounding only.
    np.testing.assert_allclose(outputs, keras_outputs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_kernels_are_views_of_the_memory_torch_kernels_take(name):
    cell = _built(lamina, name, np.zeros((1, 2, 3), "float32")).cell
    for kernel in (cell.kernel, cell.recurrent_kernel):
        torch_layout = lamina.backend.rnn_kernel_from_keras(kernel)
        assert torch_layout.is_contiguous()  # what the fused kernels take, without a copy
        assert torch_layout.data_ptr() == kernel.data_ptr()


# --------------------------------------------------------------------------------------------------
# Symbolic use


def test_seq2seq_encoder_states_feed_decoder_initial_state():
    encoder_inputs = layers.Input(shape=(None, 7))
    _, state_h, state_c = layers.LSTM(16, return_state=True)(encoder_inputs)
    decoder_inputs = layers.Input(shape=(None, 5))
    decoder = layers.LSTM(16, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder(decoder_inputs, initial_state=[state_h, state_c])
    outputs = layers.Dense(5, activation="softmax")(decoder_outputs)
    model = lamina.Model([encoder_inputs, decoder_inputs], outputs)
    assert outputs.shape == (None, None, 5)
    result = model([torch.randn(3, 4, 7), torch.randn(3, 6, 5)])
    assert tuple(result.shape) == (3, 6, 5)


def test_sequential_stack_builds_from_input_shape():
    model = lamina.Sequential(
        [
            layers.LSTM(8, return_sequences=True, input_shape=(10, 5)),
            layers.GRU(4),
            layers.Dense(1),
        ]
    )
    assert model.output_shape == (None, 1)
    assert model.count_params() == (4 * (5 * 8 + 8 * 8 + 8)) + (3 * (8 * 4 + 4 * 4) + 2 * 12) + 5


# --------------------------------------------------------------------------------------------------
# Errors


def test_two_dimensional_input_names_the_missing_feature_axis():
    with pytest.raises(
        ValueError,
        match=(
            r"Layer 'lstm' \(LSTM\) expects 3-D input \(batch, timesteps, features\); received a "
            r"2-D input of shape \(32, 10\)\. Hint: add the feature axis: "
            r"x = x\.reshape\(32, 10, 1\)"
        ),
    ):
        layers.LSTM(4)(torch.zeros(32, 10))


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_input_checks_hold_after_a_step_of_another_shape(name):
    layer = getattr(layers, name)(4)
    layer(torch.zeros(2, 3, 5))
    layer(torch.zeros(2, 3, 5))  # checked once for this shape
    layer(torch.zeros(6, 7, 5))  # another batch and length: checked again, and fine
    with pytest.raises(ValueError, match=r"axis -1 of its input to be 5 \(the size it was built"):
        layer(torch.zeros(2, 3, 6))
    with pytest.raises(ValueError, match=r"expects 3-D input"):
        layer(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"axis -1 of its input to be 5"):
        layer(torch.zeros(2, 3, 6))  # a refused shape is never taken as checked


def test_two_dimensional_symbolic_input_fails_at_definition():
    with pytest.raises(ValueError, match=r"expects 3-D input .* declare input_shape=\(10, 1\)"):
        lamina.Sequential([layers.SimpleRNN(4, input_shape=(10,))])


def test_nested_sequences_for_a_structured_cell_are_named_at_definition():
    """Keras 2's nested cell inputs (a tuple of sequences): Keras 3's RNN takes one tensor, and
    so does lamina's, which says so rather than misreading the tuple's shapes as one shape."""

    class PairCell(layers.Layer):
        state_size = 4

        def call(self, inputs, states):
            return states[0], states

    left = lamina.Input((None, 3))
    right = lamina.Input((None, 2, 5))
    with pytest.raises(
        ValueError,
        match=(
            r"Layer 'rnn' \(RNN\) expects one sequence tensor \(batch, timesteps, features\); "
            r"received a nested input of 2 tensors of shapes \(None, None, 3\), "
            r"\(None, None, 2, 5\)\. Hint: .*concatenate the features"
        ),
    ):
        layers.RNN(PairCell())((left, right))


def test_initial_state_count_is_checked():
    with pytest.raises(
        ValueError,
        match=(
            r"expects initial_state as a list of 2 tensor\(s\) \[h, c\], each \(batch, units\); "
            r"received 1 tensor\(s\)"
        ),
    ):
        layers.LSTM(4)(torch.zeros(2, 3, 5), initial_state=[torch.zeros(2, 4)])


def test_initial_state_shape_is_checked():
    with pytest.raises(
        ValueError,
        match=(
            r"expects initial_state\[0\] of shape \(2, 4\) \(batch, units\); "
            r"received shape \(2, 8\)"
        ),
    ):
        layers.GRU(4)(torch.zeros(2, 3, 5), initial_state=[torch.zeros(2, 8)])
