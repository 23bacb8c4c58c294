"""The fast path: torch's fused RNN kernels (oneDNN on CPU, cuDNN on GPU) for the built-in cells.

A cell whose math a fused kernel computes exactly (`cell.fused_kind()`) runs here; masks are
handled when they are contiguous:

- no mask, or a mask with every step kept: one call on the whole batch;
- right-padded (`pad_sequences(padding="post")`) or left-padded (Keras's default "pre") masks: the
  sequences are packed (`pack_padded_sequence`), left-padded ones first rotated so their valid steps
  come first, which gives exactly Keras's semantics (masked steps carry the state over);
- any other mask (holes in the middle, empty sequences): None is returned and the caller loops.

Classifying a mask reads it on the host once per call. On CPU that is a plain memory read; on CUDA
it is one small synchronisation, which the packed cuDNN kernel needs anyway (torch takes the lengths
of a packed batch on the CPU).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_KERNELS = {
    "lstm": torch._VF.lstm,
    "gru": torch._VF.gru,
    "rnn_tanh": torch._VF.rnn_tanh,
    "rnn_relu": torch._VF.rnn_relu,
}


def _hidden(kind: str, states):
    """Keras's [h] or [h, c] (batch, units) -> torch's hx: (1, batch, units) or a pair of them."""
    if kind == "lstm":
        return (states[0].unsqueeze(0), states[1].unsqueeze(0))
    return states[0].unsqueeze(0)


def _final_states(kind: str, result, order=None):
    """torch's final hidden state(s) (1, batch, units) -> Keras's list of (batch, units)."""
    finals = list(result[1:])
    if order is not None:
        finals = [f.index_select(1, order) for f in finals]
    return [f.squeeze(0) for f in finals]


def _run_kernel(kind: str, *arguments):
    if not arguments[0].is_cuda:
        return _KERNELS[kind](*arguments)
    # cuDNN copies the weights into one buffer per call (Keras's single bias needs a zero second
    # one, so they are never one chunk) and warns about it: the copy is the size of the weights,
    # small beside the sequence's work.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single")
        return _KERNELS[kind](*arguments)


def run_full(cell, sequences: torch.Tensor, states):
    """Every step of every sequence: (outputs (batch, time, units), final states)."""
    kind = cell.fused_kind()
    train = torch.is_grad_enabled()  # cuDNN keeps its backward workspace only when asked
    result = _run_kernel(
        kind,
        sequences,
        _hidden(kind, states),
        cell.fused_params(),
        cell.use_bias,
        1,
        0.0,
        train,
        False,
        True,
    )
    return result[0], _final_states(kind, result)


def classify_mask(mask: torch.Tensor):
    """("full" | "right" | "left" | "other", lengths on the CPU) for a (batch, time) bool mask.

    The one host read per batch of a masked fused RNN, and a deliberate one: the fused kernels
    take packed sequences, whose lengths torch wants on the CPU, and which path to take depends
    on the mask's values. (The step loop would read nothing, at one kernel per time step.)"""
    keep = mask.detach().to("cpu", torch.bool).numpy()
    lengths = keep.sum(axis=1)
    steps = np.arange(keep.shape[1])
    if lengths.min() == keep.shape[1]:
        return "full", None
    if lengths.min() == 0:
        return "other", None
    if np.array_equal(keep, steps[None, :] < lengths[:, None]):
        return "right", torch.from_numpy(lengths.astype(np.int64))
    if np.array_equal(keep, steps[None, :] >= (keep.shape[1] - lengths)[:, None]):
        return "left", torch.from_numpy(lengths.astype(np.int64))
    return "other", None


def _rotation(lengths: torch.Tensor, time: int, device, sign: int) -> torch.Tensor:
    """(batch, time) indices rotating each left-padded row so its valid steps come first (sign=1)
    or back again (sign=-1)."""
    shift = (time - lengths).to(device)[:, None]
    return (torch.arange(time, device=device)[None, :] + sign * shift) % time


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[2]))


def run_masked(cell, sequences, states, mask, zero_output_for_mask: bool):
    """Fused run under a contiguous mask; None when the mask needs the step loop."""
    layout, lengths = classify_mask(mask)
    if layout == "full":
        return run_full(cell, sequences, states)
    if layout == "other":
        return None
    time = sequences.shape[1]
    if layout == "left":
        sequences = _gather_time(sequences, _rotation(lengths, time, sequences.device, 1))
    kind = cell.fused_kind()
    packed = pack_padded_sequence(sequences, lengths, batch_first=True, enforce_sorted=False)
    hidden = _hidden(kind, states)
    if kind == "lstm":
        hidden = tuple(h.index_select(1, packed.sorted_indices) for h in hidden)
    else:
        hidden = hidden.index_select(1, packed.sorted_indices)
    train = torch.is_grad_enabled()
    result = _run_kernel(
        kind,
        packed.data,
        packed.batch_sizes,
        hidden,
        cell.fused_params(),
        cell.use_bias,
        1,
        0.0,
        train,
        False,
    )
    outputs, _ = pad_packed_sequence(
        PackedSequence(
            result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        ),
        batch_first=True,
        total_length=time,
    )
    finals = _final_states(kind, result, packed.unsorted_indices)
    if layout == "left":
        # Rotated back, the padded steps come first again with zero outputs: Keras's too, since
        # its "previous output" starts at zero.
        return _gather_time(outputs, _rotation(lengths, time, outputs.device, -1)), finals
    if not zero_output_for_mask:
        # Keras repeats the last valid output over the padded tail.
        keep = mask[:, :, None]
        outputs = torch.where(keep, outputs, finals[0][:, None, :])
    return outputs, finals
