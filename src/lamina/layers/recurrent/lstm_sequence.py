"""A whole LSTM sequence as one autograd function, for captured train steps on the CPU.

Inside `compile(jit_compile=True)` on the CPU torch.compile cannot trace oneDNN's fused LSTM, so the
layer's step loop is unrolled into the graph. Left to autograd, that loop's backward computes the
recurrent kernel's gradient as T small products added up, and both kernels' gradients in the
layout `d_gates.T @ a`, which MKL runs several times slower than `a.T @ d_gates` (measured on the
benchmark's shapes: 116 us against 20 us for the input kernel, 172 against 108 for the
recurrent one). This function writes the backward by hand instead (the fused kernels' math):

- per step, only what the recurrence needs: the gates' gradient and one product for the previous
  hidden state's;
- after the loop, each kernel's gradient as ONE product over all steps in the fast layout,
  `(previous hiddens (batch*T, u)).T @ d_gates (batch*T, 4u)`, viewed back transposed;
- saved for the backward: the inputs, the four gate activations, the carries and the previous
  hidden states.

Gate order is Keras's: i, f, c (candidate), o; activations sigmoid and tanh (the fused kernel's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class LSTMSequence(torch.autograd.Function):
    """`apply(inputs, kernel, bias, recurrent_kernel, hidden, carry, keep_sequence)` ->
    `(outputs, final carry, ...)`: outputs (batch, T, units) when keep_sequence, else the last
    hidden state (batch, units); the other outputs are what the backward keeps. `inputs` is
    (batch, T, features); the weights are in torch's layout (`backend.rnn_kernel_from_keras`'s
    views of the cell's kernels), `kernel` (4 * units, features), `recurrent_kernel`
    (4 * units, units), `bias` (4 * units,) or None:
    gates = inputs @ kernel.T + bias + hidden @ recurrent_kernel.T."""

    # forward and backward are torch ops throughout: torch.func.vmap batches them itself
    generate_vmap_rule = True

    @staticmethod
    def forward(inputs, kernel, bias, recurrent_kernel, hidden, carry, keep_sequence):
        projected = F.linear(inputs, kernel, bias)
        hiddens, carries, activations = [hidden], [carry], []
        kernel_t = recurrent_kernel.t()
        for step_input in projected.unbind(1):
            gates = torch.addmm(step_input, hidden, kernel_t)
            i, f, c, o = gates.chunk(4, dim=1)
            i, f, c, o = i.sigmoid(), f.sigmoid(), c.tanh(), o.sigmoid()
            carry = f * carry + i * c
            hidden = o * carry.tanh()
            activations.append(torch.cat([i, f, c, o], dim=1))
            hiddens.append(hidden)
            carries.append(carry)
        outputs = torch.stack(hiddens[1:], dim=1) if keep_sequence else hidden
        # The previous hidden state of every step, (batch, T, units): h0 .. h(T-1).
        previous = torch.stack(hiddens[:-1], dim=1)
        return outputs, carry, torch.stack(activations, 1), torch.stack(carries, 1), previous

    @staticmethod
    def setup_context(ctx, inputs, output):
        sequences, kernel, bias, recurrent_kernel, _, _, keep_sequence = inputs
        _, _, activations, carries, previous = output
        ctx.keep_sequence = keep_sequence
        ctx.has_bias = bias is not None
        ctx.save_for_backward(sequences, kernel, recurrent_kernel, activations, carries, previous)
        ctx.mark_non_differentiable(activations, carries, previous)

    @staticmethod
    def backward(ctx, d_outputs, d_carry, _d_activations, _d_carries, _d_previous):
        sequences, kernel, recurrent_kernel, activations, carries, previous = ctx.saved_tensors
        steps = activations.shape[1]
        units = recurrent_kernel.shape[1]
        d_hidden = torch.zeros_like(carries[:, 0])
        d_carry = torch.zeros_like(d_hidden) if d_carry is None else d_carry
        d_gates = [None] * steps
        for t in reversed(range(steps)):
            if ctx.keep_sequence:
                if d_outputs is not None:
                    d_hidden = d_hidden + d_outputs[:, t]
            elif t == steps - 1 and d_outputs is not None:
                d_hidden = d_hidden + d_outputs
            i, f, c, o = activations[:, t].chunk(4, dim=1)
            carry_tanh = carries[:, t + 1].tanh()
            d_carry = d_carry + d_hidden * o * (1 - carry_tanh * carry_tanh)
            d_o = d_hidden * carry_tanh
            gate_grads = torch.cat(
                [
                    d_carry * c * i * (1 - i),
                    d_carry * carries[:, t] * f * (1 - f),
                    d_carry * i * (1 - c * c),
                    d_o * o * (1 - o),
                ],
                dim=1,
            )
            d_carry = d_carry * f
            d_hidden = gate_grads @ recurrent_kernel
            d_gates[t] = gate_grads
        # (batch * T, 4 * units). The weights' gradients are computed transposed, `a.T @ d_gates`,
        # then viewed back: MKL runs that layout several times faster than `d_gates.T @ a`.
        d_gates = torch.stack(d_gates, dim=1).reshape(-1, 4 * units)
        d_recurrent = (previous.reshape(-1, units).t() @ d_gates).t()
        flat_inputs = sequences.reshape(-1, sequences.shape[-1])
        d_kernel = (flat_inputs.t() @ d_gates).t()
        d_bias = d_gates.sum(0) if ctx.has_bias else None
        d_inputs = None
        if ctx.needs_input_grad[0]:
            d_inputs = (d_gates @ kernel).reshape(sequences.shape)
        return d_inputs, d_kernel, d_bias, d_recurrent, d_hidden, d_carry, None
