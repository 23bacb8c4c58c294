"""Segment reductions: rows of `data` combined by `segment_ids` (TensorFlow's unsorted_segment_*).

`torch.Tensor.index_add` / `scatter_reduce` do the work; segments that receive no row hold 0.
"""

from __future__ import annotations

import torch

from lamina.ops.core import symbolic_op, tensor


def _segment(data, segment_ids, num_segments, reduce):
    data = tensor(data)
    ids = tensor(segment_ids).long()
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    out = torch.zeros((int(num_segments), *data.shape[1:]), dtype=data.dtype, device=data.device)
    index = ids.reshape(-1, *([1] * (data.dim() - 1))).expand(-1, *data.shape[1:])
    return out.scatter_reduce(0, index, data, reduce=reduce, include_self=False)


@symbolic_op("segment_sum")
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sums of the rows of `data` sharing a segment id.

    Args:
        data: `(n, ...)` values.
        segment_ids: `(n,)` integer ids in `[0, num_segments)`.
        num_segments: the number of segments (default: the largest id + 1).
        sorted: whether the ids are sorted (accepted; the result does not depend on it).

    Examples:
        >>> segment_sum(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 0, 1]))
        tensor([3., 3.])
    """
    return _segment(data, segment_ids, num_segments, "sum")


@symbolic_op("segment_max")
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The maximum of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; segments that receive no row hold 0.

    Args:
        data: `(n, ...)` values.
        segment_ids: `(n,)` integer ids in `[0, num_segments)`, in any order.
        num_segments: the number of segments (default None: the largest id plus one).
        sorted: whether the ids are sorted; accepted for Keras compatibility, the result does not
            depend on it (default False).

    Returns:
        A `(num_segments, ...)` tensor.

    Example:
        >>> lamina.ops.segment_max(np.array([1, 5, 2, 3]), np.array([0, 0, 1, 1]))
        tensor([5, 3])
    """
    return _segment(data, segment_ids, num_segments, "amax")


@symbolic_op("segment_min")
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The minimum of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; segments that receive no row hold 0.

    Args:
        data: `(n, ...)` values.
        segment_ids: `(n,)` integer ids in `[0, num_segments)`, in any order.
        num_segments: the number of segments (default None: the largest id plus one).
        sorted: whether the ids are sorted; accepted for Keras compatibility, the result does not
            depend on it (default False).

    Returns:
        A `(num_segments, ...)` tensor.

    Example:
        >>> lamina.ops.segment_min(np.array([1, 5, 2, 3]), np.array([0, 0, 1, 1]))
        tensor([1, 2])
    """
    return _segment(data, segment_ids, num_segments, "amin")


@symbolic_op("segment_prod")
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The product of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; segments that receive no row hold 0.

    Args:
        data: `(n, ...)` values.
        segment_ids: `(n,)` integer ids in `[0, num_segments)`, in any order.
        num_segments: the number of segments (default None: the largest id plus one).
        sorted: whether the ids are sorted; accepted for Keras compatibility, the result does not
            depend on it (default False).

    Returns:
        A `(num_segments, ...)` tensor.

    Example:
        >>> lamina.ops.segment_prod(np.array([1, 5, 2, 3]), np.array([0, 0, 1, 1]))
        tensor([5, 6])
    """
    return _segment(data, segment_ids, num_segments, "prod")
