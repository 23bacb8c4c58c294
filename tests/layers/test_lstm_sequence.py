"""The captured LSTM's hand-written backward (layers/recurrent/lstm_sequence.py) against autograd
through the cell's own step loop, and against finite differences (float64)."""

import pytest
import torch

from lamina import layers
from lamina.layers.recurrent.lstm_sequence import LSTMSequence

BATCH, STEPS, FEATURES, UNITS = 3, 4, 2, 5


def _inputs(use_bias):
    generator = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)

    bias = draw(4 * UNITS) if use_bias else None
    return (
        draw(BATCH, STEPS, FEATURES),
        draw(4 * UNITS, FEATURES),
        bias,
        draw(4 * UNITS, UNITS),
        draw(BATCH, UNITS),
        draw(BATCH, UNITS),
    )


def _cell_loop(keep_sequence, sequences, kernel, bias, recurrent_kernel, hidden, carry):
    """The reference: LSTMCell's own steps with the same weights, under plain autograd (the cell's
    kernels have Keras's shapes, the transposes of LSTMSequence's torch-layout ones)."""
    cell = layers.LSTMCell(UNITS, use_bias=bias is not None, dtype="float64")
    cell.build_from_shape((BATCH, FEATURES))
    weights = {"kernel": kernel.T, "recurrent_kernel": recurrent_kernel.T}
    if bias is not None:
        weights["bias"] = bias
    states, outputs = [hidden, carry], []
    for t in range(STEPS):
        output, states = torch.func.functional_call(cell, weights, (sequences[:, t], states))
        outputs.append(output)
    return (torch.stack(outputs, 1) if keep_sequence else outputs[-1]), states[1]


@pytest.mark.parametrize("keep_sequence", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
def test_outputs_and_gradients_match_the_cell_loop(keep_sequence, use_bias):
    arguments = _inputs(use_bias)
    outputs, carry, *_ = LSTMSequence.apply(*arguments, keep_sequence)
    expected_outputs, expected_carry = _cell_loop(keep_sequence, *arguments)
    torch.testing.assert_close(outputs, expected_outputs)
    torch.testing.assert_close(carry, expected_carry)

    # A loss that weighs every output and the final carry differently.
    weights = torch.linspace(-1.0, 2.0, outputs.numel(), dtype=torch.float64)
    differentiable = [a for a in arguments if a is not None]

    def loss(out, final):
        return (out.reshape(-1) * weights).sum() + (final * final).sum()

    got = torch.autograd.grad(loss(outputs, carry), differentiable)
    expected = torch.autograd.grad(loss(expected_outputs, expected_carry), differentiable)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)


def test_gradients_pass_finite_differences():
    arguments = _inputs(True)
    assert torch.autograd.gradcheck(
        lambda *a: LSTMSequence.apply(*a, True)[:2], arguments, eps=1e-6, atol=1e-5
    )
