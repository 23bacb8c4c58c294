"""The RNN weight-layout converters of lamina.backend: round trips and hand-checkable anchors."""

import numpy as np
import pytest
import torch

from lamina import backend

CONVERTERS = {
    "rnn_kernel": (backend.rnn_kernel_to_keras, backend.rnn_kernel_from_keras, (8, 3)),
    "gru_kernel": (backend.gru_kernel_to_keras, backend.gru_kernel_from_keras, (6, 4)),
    "gru_bias": (backend.gru_bias_to_keras, backend.gru_bias_from_keras, (6,)),
    "gru_bias_reset_after": (backend.gru_bias_to_keras, backend.gru_bias_from_keras, (2, 6)),
}


@pytest.mark.parametrize("kind", list(CONVERTERS))
@pytest.mark.parametrize("array_type", ["torch", "numpy"])
def test_converter_round_trips(kind, array_type):
    to_keras, from_keras, torch_shape = CONVERTERS[kind]
    stored = torch.arange(float(np.prod(torch_shape))).reshape(torch_shape)
    if array_type == "numpy":
        stored = stored.numpy()
    back = from_keras(to_keras(stored))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(stored))


def test_gru_kernel_anchor_reorders_gates_r_z_n_to_z_r_h():
    # torch rows (units=1): r = [1, 2], z = [3, 4], n = [5, 6] over 2 inputs.
    torch_weight = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    keras_kernel = backend.gru_kernel_to_keras(torch_weight)
    # Keras (in=2, 3 units): columns z, r, h.
    assert keras_kernel.tolist() == [[3.0, 1.0, 5.0], [4.0, 2.0, 6.0]]


def test_gru_bias_anchor_swaps_on_last_axis_only():
    torch_bias = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # rows: input, recurrent
    assert backend.gru_bias_to_keras(torch_bias).tolist() == [[2.0, 1.0, 3.0], [5.0, 4.0, 6.0]]


def test_lstm_kernel_anchor_keeps_gate_order_and_transposes():
    torch_weight = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])  # i, f, g, o
    assert backend.rnn_kernel_to_keras(torch_weight).tolist() == [
        [1.0, 3.0, 5.0, 7.0],
        [2.0, 4.0, 6.0, 8.0],
    ]
