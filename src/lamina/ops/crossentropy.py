"""Cross-entropy ops (Keras's `ops.nn`): binary, categorical, sparse categorical and CTC.

They return the per-example loss (no reduction). Probabilities are clipped to
`[epsilon, 1 - epsilon]` as Keras does; logits go through torch's fused log-softmax kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.ops.core import floating, symbolic_op, tensor


def _check_same_shape(target, output, who):
    if target.shape != output.shape:
        raise ValueError(
            f"{who}() expects target and output of the same shape; received "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}."
        )


@symbolic_op("binary_crossentropy")
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy between 0/1 targets and probabilities (or logits).

    Args:
        target: targets in [0, 1].
        output: probabilities, or logits when `from_logits=True`; same shape as `target`.
        from_logits: whether `output` is logits.
    """
    output = floating(tensor(output))
    target = tensor(target).to(output.dtype)
    _check_same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = backend.epsilon()
    return F.binary_cross_entropy(output.clamp(eps, 1 - eps), target, reduction="none")


@symbolic_op("categorical_crossentropy")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and class probabilities along `axis`.

    Args:
        target: target distributions.
        output: probabilities (rescaled to sum to one) or logits; same shape as `target`.
        from_logits: whether `output` is logits.
        axis: the class axis.
    """
    output = floating(tensor(output))
    target = tensor(target).to(output.dtype)
    _check_same_shape(target, output, "categorical_crossentropy")
    if from_logits:
        log_probs = F.log_softmax(output, dim=axis)
    else:
        eps = backend.epsilon()
        probs = output / output.sum(dim=axis, keepdim=True)
        log_probs = torch.log(probs.clamp(eps, 1 - eps))
    return -(target * log_probs).sum(dim=axis)


@symbolic_op("sparse_categorical_crossentropy")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class labels and class probabilities along `axis`.

    Args:
        target: integer labels, `output`'s shape without `axis` (or with it of size 1).
        output: probabilities or logits.
        from_logits: whether `output` is logits.
        axis: the class axis.
    """
    output = floating(tensor(output))
    target = tensor(target).long()
    if target.dim() == output.dim() and target.shape[axis] == 1:
        target = target.squeeze(axis)
    if from_logits:
        log_probs = F.log_softmax(output, dim=axis)
    else:
        eps = backend.epsilon()
        probs = output / output.sum(dim=axis, keepdim=True)
        log_probs = torch.log(probs.clamp(eps, 1 - eps))
    picked = torch.gather(log_probs, axis, target.unsqueeze(axis))
    return -picked.squeeze(axis)


@symbolic_op("ctc_loss")
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss per example.

    Args:
        target: `(batch, max_label_length)` integer labels.
        output: `(batch, max_time, classes)` logits.
        target_length, output_length: `(batch,)` true lengths.
        mask_index: the blank class.
    """
    logits = floating(tensor(output))
    log_probs = F.log_softmax(logits, dim=-1).transpose(0, 1)  # (time, batch, classes)
    return F.ctc_loss(
        log_probs,
        tensor(target).long(),
        tensor(output_length).long(),
        tensor(target_length).long(),
        blank=mask_index,
        reduction="none",
    )


@symbolic_op("ctc_decode")
def ctc_decode(
    inputs,
    sequence_lengths,
    strategy="greedy",
    beam_width=100,
    top_paths=1,
    merge_repeated=True,
    mask_index=0,
):
    """Greedy CTC decoding: the best class per step, repeats merged, blanks dropped.

    Args:
        inputs: `(batch, max_time, classes)` logits or probabilities.
        sequence_lengths: `(batch,)` true lengths.
        strategy: "greedy" (lamina decodes greedily only).
        merge_repeated: merge consecutive repeats before dropping blanks.
        mask_index: the blank class.

    Returns: (decoded `(1, batch, max_time)` int32 padded with -1, scores `(batch, 1)`: the
        negated sum of each step's largest input, as Keras).
    """
    if strategy != "greedy":
        raise ValueError(
            f"ctc_decode() supports strategy='greedy' only; received strategy={strategy!r}."
        )
    x = floating(tensor(inputs))
    lengths = tensor(sequence_lengths).long()
    best_scores, best = x.max(dim=-1)
    steps = torch.arange(x.shape[1], device=x.device)
    valid = steps.unsqueeze(0) < lengths.unsqueeze(1)
    keep = valid & (best != mask_index)
    if merge_repeated:
        repeated = torch.zeros_like(keep)
        repeated[:, 1:] = best[:, 1:] == best[:, :-1]
        keep &= ~repeated
    # stable order: kept labels first, in time order, then -1 padding
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
    decoded = torch.where(keep, best, -1).gather(1, order).to(torch.int32)
    scores = -(best_scores * valid).sum(dim=1, keepdim=True)
    return decoded.unsqueeze(0), scores
