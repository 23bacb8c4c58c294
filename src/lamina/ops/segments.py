"""Segment reductions: rows of `data` combined by `segment_ids` (TensorFlow's unsorted_segment_*).

`torch.Tensor.scatter_reduce` does the work. As in Keras (torch backend), rows whose id is negative
or not below `num_segments` are dropped, and a segment that receives no row holds the reduction's
identity: 0 for a sum, 1 for a product, -inf / +inf for a max / min (the dtype's lowest / highest
value for integers).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor
from lamina.ops.core import symbolic_op, tensor


def _empty_fill(reduce, dtype):
    if reduce in ("sum", "prod"):
        return 0 if reduce == "sum" else 1
    if dtype.is_floating_point:
        return -float("inf") if reduce == "amax" else float("inf")
    info = torch.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _check_ids(data_shape, ids_shape, who):
    if len(ids_shape) != 1:
        raise errors.value_error(
            f"{who}() argument `segment_ids`",
            "a 1-D vector",
            f"shape {errors.format_shape(ids_shape)}",
            "flatten the ids and the matching leading axes of `data` first, or map over them.",
        )
    if None not in (ids_shape[0], data_shape[0]) and ids_shape[0] != data_shape[0]:
        raise errors.value_error(
            f"{who}() argument `segment_ids`",
            f"one id per row of `data` ({data_shape[0]} rows)",
            f"{ids_shape[0]} ids",
        )


def _segment_shape(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The symbolic shape: `num_segments` rows, unknown (None) where symbolic ids decide it, as
    in Keras. (Constant ids are counted by the usual probe.)"""
    data_shape, ids_shape = tuple(np.shape(data)), tuple(np.shape(segment_ids))
    _check_ids(data_shape, ids_shape, "segment reduction")
    if num_segments is None and not isinstance(segment_ids, KerasTensor):
        return None
    return (num_segments, *data_shape[1:])


def _segment(data, segment_ids, num_segments, reduce):
    data = tensor(data)
    ids = tensor(segment_ids).long()
    _check_ids(tuple(data.shape), tuple(ids.shape), f"segment_{reduce.removeprefix('a')}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    num_segments = int(num_segments)
    # Out-of-range ids go to one extra row, dropped at the end.
    ids = torch.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    fill = _empty_fill(reduce, data.dtype)
    out = torch.full(
        (num_segments + 1, *data.shape[1:]), fill, dtype=data.dtype, device=data.device
    )
    index = ids.reshape(-1, *([1] * (data.dim() - 1))).expand(-1, *data.shape[1:])
    return out.scatter_reduce(0, index, data, reduce=reduce, include_self=True)[:num_segments]


@symbolic_op("segment_sum", shape_rule=_segment_shape)
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


@symbolic_op("segment_max", shape_rule=_segment_shape)
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The maximum of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; see the module's note on empty segments
    and out-of-range ids.

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


@symbolic_op("segment_min", shape_rule=_segment_shape)
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The minimum of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; see the module's note on empty segments
    and out-of-range ids.

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


@symbolic_op("segment_prod", shape_rule=_segment_shape)
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The product of the rows of `data` that share a segment id.

    These are TensorFlow's unsorted segment reductions; see the module's note on empty segments
    and out-of-range ids.

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
