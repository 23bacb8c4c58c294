"""Cross-entropy ops (Keras's `ops.nn`): binary, categorical, sparse categorical and CTC.

They return the per-example loss (no reduction). Probabilities are clipped to
`[epsilon, 1 - epsilon]` as Keras does; logits go through torch's fused log-softmax kernels.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict

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


def _promoted(output, target):
    """`output` and `target` in one floating dtype: `output`'s, widened by a floating `target`'s
    (a float32 target with a float16 output gives float32, as Keras)."""
    output = floating(output)
    if target.is_floating_point():
        output = output.to(torch.promote_types(output.dtype, target.dtype))
    return output, target.to(output.dtype)


@symbolic_op("binary_crossentropy")
def binary_crossentropy(target, output, from_logits=False):
    """Binary cross-entropy between 0/1 targets and predicted probabilities (or logits).

    Computed element-wise, without reduction. Probabilities are clipped to `[epsilon, 1 - epsilon]`,
    as Keras does.

    Args:
        target: targets, usually in `[0, 1]` (soft or noisy ones outside it are taken, as Keras).
        output: predicted probabilities, or logits when `from_logits` is True; shaped like `target`.
        from_logits: whether `output` holds logits rather than probabilities (default False).

    Returns:
        A floating tensor shaped like `target`.

    Example:
        >>> lamina.ops.binary_crossentropy(torch.tensor([1.0, 0.0]), torch.tensor([0.9, 0.2]))
        tensor([0.1054, 0.2231])
        >>> lamina.ops.binary_crossentropy(torch.tensor([1.0]), torch.tensor([0.0]), True)
        tensor([0.6931])
    """
    output, target = _promoted(tensor(output), tensor(target))
    _check_same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = backend.epsilon()
    # Through the logits: torch's binary_cross_entropy refuses targets outside [0, 1], which
    # Keras on TensorFlow takes (noisy GAN labels); the same formula, still one fused kernel.
    logits = torch.logit(output.clamp(eps, 1 - eps))
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


@symbolic_op("categorical_crossentropy")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between target distributions (one-hot or soft) and predicted class scores.

    No reduction over the batch. Probabilities are rescaled to sum to one and clipped to
    `[epsilon, 1 - epsilon]`, as Keras does.

    Args:
        target: target distributions over `axis`.
        output: predicted probabilities, or logits when `from_logits` is True; shaped like `target`.
        from_logits: whether `output` holds logits rather than probabilities (default False).
        axis: the class axis (default -1).

    Returns:
        A floating tensor shaped like `target` without `axis`.

    Example:
        >>> target = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
        >>> lamina.ops.categorical_crossentropy(target, torch.tensor([[0.5, 0.5], [0.8, 0.2]]))
        tensor([0.6931, 0.2231])
    """
    output, target = _promoted(tensor(output), tensor(target))
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
    """Cross-entropy between integer class labels and predicted class scores.

    No reduction over the batch. Probabilities are rescaled to sum to one and clipped to
    `[epsilon, 1 - epsilon]`, as Keras does.

    Args:
        target: integer labels, shaped like `output` without `axis` (or with `axis` of size 1).
        output: predicted probabilities, or logits when `from_logits` is True.
        from_logits: whether `output` holds logits rather than probabilities (default False).
        axis: the class axis (default -1).

    Returns:
        A floating tensor shaped like `output` without `axis`.

    Example:
        >>> output = torch.tensor([[0.5, 0.5], [0.8, 0.2]])
        >>> lamina.ops.sparse_categorical_crossentropy(np.array([1, 0]), output)
        tensor([0.6931, 0.2231])
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


def _at_least_float32(x):
    """Floating, and float32 for the half types: CTC's dynamic range needs it (Keras promotes)."""
    x = floating(x)
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


@symbolic_op("ctc_loss")
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The connectionist temporal classification (CTC) loss of each example.

    Args:
        target: `(batch, max_label_length)` integer labels, padded past each example's length.
        output: `(batch, max_time, classes)` logits (log-softmax is applied inside).
        target_length: `(batch,)` the true label lengths.
        output_length: `(batch,)` the true input lengths (time steps).
        mask_index: the class index of the CTC blank (default 0).

    Returns:
        A `(batch,)` tensor of losses (negative log-likelihoods), float32 for float16 and
        bfloat16 outputs (computed in float32, as Keras).

    Example:
        >>> logits = torch.zeros(1, 2, 2)
        >>> lamina.ops.ctc_loss(np.array([[1]]), logits, np.array([1]), np.array([2]))
        tensor([0.2877])
    """
    logits = _at_least_float32(tensor(output))
    log_probs = F.log_softmax(logits, dim=-1).transpose(0, 1)  # (time, batch, classes)
    return F.ctc_loss(
        log_probs,
        tensor(target).long(),
        tensor(output_length).long(),
        tensor(target_length).long(),
        blank=mask_index,
        reduction="none",
    )


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf or b == -math.inf:
        return max(a, b)
    high = max(a, b)
    return high + math.log1p(math.exp(-abs(a - b)))


def _prefix_beam_search(log_probs: list, blank: int, beam_width: int, top_paths: int):
    """CTC prefix beam search over one sequence's `(time, classes)` log-probabilities.

    Each beam is a collapsed label sequence with two log-scores: its paths that end in a label
    and those that end in a blank (a repeated label merges into the first unless a blank lies
    between). Every step extends each beam by every class, merges equal sequences and keeps the
    `beam_width` best. Returns the `top_paths` best `(labels, log-score)` pairs."""
    beams = {(): (-math.inf, 0.0)}  # labels -> (ending in a label, ending in a blank)
    for step in log_probs:
        candidates = defaultdict(lambda: [-math.inf, -math.inf])
        for labels, (label_end, blank_end) in beams.items():
            total = _logaddexp(label_end, blank_end)
            same = candidates[labels]
            same[1] = _logaddexp(same[1], total + step[blank])
            tail = labels[-1] if labels else None
            for label, score in enumerate(step):
                if label == blank:
                    continue
                if label == tail:  # the repeat merges; only after a blank does it start anew
                    same[0] = _logaddexp(same[0], label_end + score)
                    source = blank_end
                else:
                    source = total
                longer = candidates[(*labels, label)]
                longer[0] = _logaddexp(longer[0], source + score)
        beams = dict(
            heapq.nlargest(beam_width, candidates.items(), key=lambda kv: _logaddexp(*kv[1]))
        )
    best = heapq.nlargest(top_paths, beams.items(), key=lambda kv: _logaddexp(*kv[1]))
    return [(labels, _logaddexp(*ends)) for labels, ends in best]


def _beam_search_decode(x, lengths, beam_width, top_paths, blank):
    batch, max_time, _ = x.shape
    if x.is_meta:  # shape inference: the shapes without the search
        decoded = torch.empty((top_paths, batch, max_time), dtype=torch.int32, device="meta")
        return decoded, torch.empty((batch, top_paths), dtype=x.dtype, device="meta")
    log_probs = F.log_softmax(x, dim=-1).tolist()  # one host copy: the search runs in Python
    decoded = torch.full((top_paths, batch, max_time), -1, dtype=torch.int32)
    scores = torch.full((batch, top_paths), -math.inf, dtype=x.dtype)
    for b, length in enumerate(lengths.cpu().tolist()):
        best = _prefix_beam_search(log_probs[b][:length], blank, beam_width, top_paths)
        for k, (labels, score) in enumerate(best):
            decoded[k, b, : len(labels)] = torch.tensor(labels, dtype=torch.int32)
            scores[b, k] = score
    return decoded.to(x.device), scores.to(x.device)


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
    """Decode CTC outputs, greedily or by beam search.

    `"greedy"` takes the best class at each step, merges repeats and drops blanks.
    `"beam_search"` runs a CTC prefix beam search on the log-softmax of `inputs` (in Python, one
    sequence at a time: a decoding step, not a training one).

    Args:
        inputs: `(batch, max_time, classes)` logits or probabilities.
        sequence_lengths: `(batch,)` the true lengths (time steps).
        strategy: `"greedy"` (default) or `"beam_search"`.
        beam_width: the number of label sequences kept at each step of the beam search
            (default 100).
        top_paths: the number of best sequences the beam search returns (default 1; greedy
            decoding returns one).
        merge_repeated: whether greedy decoding merges consecutive repeats before dropping
            blanks (default True; the beam search always merges them, as CTC does).
        mask_index: the class index of the CTC blank (default 0; None: the last class).

    Returns:
        A pair `(decoded, scores)`: `decoded` is `(top_paths, batch, max_time)` int32 labels padded
        with -1. Greedy `scores` are `(batch, 1)`, the negated sum of each step's largest input;
        beam-search `scores` are `(batch, top_paths)` log-probabilities of the sequences, best
        first, as Keras. Scores are float32 for float16 and bfloat16 inputs, as in Keras.

    Example:
        >>> inputs = np.array([[[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]]])
        >>> decoded, scores = lamina.ops.ctc_decode(inputs, np.array([4]))
        >>> decoded
        tensor([[[ 1,  1, -1, -1]]], dtype=torch.int32)
    """
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(
            "ctc_decode() expects strategy in ['greedy', 'beam_search']; received "
            f"strategy={strategy!r}."
        )
    x = _at_least_float32(tensor(inputs))
    lengths = tensor(sequence_lengths).long()
    mask_index = x.shape[-1] - 1 if mask_index is None else int(mask_index)
    if strategy == "beam_search":
        return _beam_search_decode(
            x.detach().cpu(), lengths.cpu(), beam_width, top_paths, mask_index
        )
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
