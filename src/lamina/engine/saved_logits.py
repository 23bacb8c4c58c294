"""The logits behind a softmax or sigmoid output, kept so a cross-entropy loss can use them.

Keras on TensorFlow (the tf.keras most Keras code is written for) remembers, on the output of its
`softmax` and `sigmoid` activations, the tensor they were computed from; its cross-entropy losses
then compute from those logits: one exact, fused kernel (torch's `cross_entropy`,
`binary_cross_entropy_with_logits`) instead of normalising, clipping to `[1e-7, 1 - 1e-7]` and
taking logs, a chain of some twenty small ops with their backward. The values agree except where
the probabilities saturate: there the clipped formula caps the loss at `-log(1e-7) = 16.12` and its
gradient vanishes, while the logits give the exact loss and a gradient.

A torch tensor can change after the fact, so lamina only trusts what it can check:

- the output's and the logits' version counters are recorded; an in-place change of either (a
  custom layer that clamps the softmax in place) and the logits are ignored;
- a softmax remembers its axis: only a softmax over the last axis stands for the categorical
  losses, whose class axis must be the last too;
- an inference tensor (`torch.inference_mode`, which evaluate and predict run under) has no version
  counter, so nothing is saved there: its loss takes the probability formula;
- inside torch.compile nothing is saved nor read (reading a version counter breaks the graph),
  and inductor fuses the probability formula anyway.

A mixed-precision model's outputs are cast to float32 before the loss (`carry` keeps the logits
reachable through that cast and through the metrics' `detach`); the losses cast the logits to the
output's dtype.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

_ATTRIBUTE = "_lamina_logits"


class _Saved(NamedTuple):
    logits: torch.Tensor
    activation: str  # "softmax" or "sigmoid"
    axis: int | None  # the softmax's axis, made non-negative; None for the sigmoid
    output_version: int
    logits_version: int


def attach(output, logits, activation, axis=None):
    """Remember on `output` that it is `activation(logits)` (over `axis` for a softmax).

    Args:
        output: the activation's result.
        logits: its input.
        activation: `"softmax"` or `"sigmoid"`.
        axis: the softmax's axis (an int), or None for the sigmoid.

    Returns:
        `output` itself.

    Example:
        >>> x = torch.tensor([[0.0, 40.0]])
        >>> logits_of(attach(torch.softmax(x, dim=-1), x, "softmax", -1), "softmax") is x
        True
    """
    if torch.compiler.is_compiling() or output.is_inference() or logits.is_inference():
        return output
    if axis is not None:
        if not isinstance(axis, int) or output.dim() == 0:
            return output
        axis = axis % output.dim()
    setattr(output, _ATTRIBUTE, _Saved(logits, activation, axis, output._version, logits._version))
    return output


def _valid(output, activation):
    """The saved record when `output` still is `activation` of its unchanged logits, else None."""
    if torch.compiler.is_compiling():
        return None
    saved = getattr(output, _ATTRIBUTE, None)
    if saved is None:
        return None
    if saved.__class__ is not _Saved:  # e.g. a plain tuple after a copy
        saved = _Saved(*saved)
    if saved.activation != activation:
        return None
    if output._version != saved.output_version or saved.logits._version != saved.logits_version:
        return None
    return saved


def logits_of(output, activation, axis=-1):
    """The logits `output` was computed from by `activation`, or None when they cannot stand in.

    Args:
        output: a loss's predictions.
        activation: the activation the loss can undo: `"softmax"` (categorical losses) or
            `"sigmoid"` (binary ones).
        axis: the loss's class axis; a softmax counts only when it and this axis are the last.

    Returns:
        The logits tensor, or None (no record, another activation, an in-place change since, or
        a softmax or loss over another axis).

    Example:
        >>> x = torch.zeros(2, 3)
        >>> p = attach(torch.softmax(x, dim=1), x, "softmax", 1)
        >>> logits_of(p, "softmax") is x, logits_of(p.mul_(2), "softmax")
        (True, None)
    """
    saved = _valid(output, activation)
    if saved is None:
        return None
    if activation == "softmax":
        last = output.dim() - 1
        if saved.axis != last or axis % output.dim() != last:
            return None
    return saved.logits


def produced_by(output, activation) -> bool:
    """Whether `output` is, unchanged, the result of `activation` (on any axis).

    Args:
        output: a loss's predictions.
        activation: `"softmax"` or `"sigmoid"`.

    Example:
        >>> x = torch.zeros(2)
        >>> produced_by(attach(torch.sigmoid(x), x, "sigmoid"), "sigmoid")
        True
    """
    return _valid(output, activation) is not None


def carry(source, target, detach=False):
    """Give `target` (a dtype cast or a detached alias of `source`) `source`'s logits, and its
    Keras mask: what a loss and the metrics read off a prediction besides its values.

    Args:
        source: a tensor that may carry logits.
        target: the tensor made from it, holding the same values.
        detach: detach the logits too (for a detached `target`).

    Returns:
        `target`.

    Example:
        >>> x = torch.zeros(2, dtype=torch.bfloat16)
        >>> wide = carry(attach(torch.sigmoid(x), x, "sigmoid"), torch.sigmoid(x).float())
        >>> logits_of(wide, "sigmoid") is x
        True
    """
    if target is source:
        return target
    mask = getattr(source, "_keras_mask", None)  # a masked sequence model's padded steps
    if mask is not None:
        target._keras_mask = mask
    saved = getattr(source, _ATTRIBUTE, None)
    if saved is None or target.is_inference():
        return target
    saved = _valid(source, saved[1])  # [1]: the activation, of a record or a plain tuple
    if saved is None:
        return target
    logits = saved.logits.detach() if detach else saved.logits
    # What `attach` records, without its checks: `_valid` found no compile in progress, the
    # axis is already made non-negative, and the logits are not inference tensors (a record
    # is never made of those; detaching keeps that).
    record = _Saved(logits, saved.activation, saved.axis, target._version, logits._version)
    setattr(target, _ATTRIBUTE, record)
    return target
