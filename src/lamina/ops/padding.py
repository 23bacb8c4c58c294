"""`pad`: NumPy's padding rules (every `pad_width` form, every mode Keras names) on torch.

torch's own padding kernels take widths for the last few axes only, and their non-constant modes
only some ranks and dtypes; so, apart from the one-call constant case, each axis is padded in
turn by gathering indices (`edge`, `reflect`, `symmetric`, `wrap`) or by appending statistics
(`maximum`, `mean`, `median`, `minimum`) and ramps (`linear_ramp`). Padding axis by axis is also
NumPy's order, so corners (and the statistics of later axes) come out as NumPy's do.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lamina.engine.errors import value_error
from lamina.ops.core import symbolic_op, tensor

_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap", "circular")
_STAT_MODES = ("maximum", "mean", "median", "minimum")
MODES = ("constant", "empty", "linear_ramp", *_INDEX_MODES, *_STAT_MODES)


def _per_axis_pairs(value, ndim: int, what: str):
    """Broadcast `value` to one (before, after) pair per axis, as NumPy's `pad` does."""
    array = np.asarray(value)
    try:
        pairs = np.broadcast_to(array, (ndim, 2))
    except ValueError:
        raise value_error(
            "pad()",
            f"{what} as an int, (n,), (before, after) or one (before, after) pair per axis "
            f"({ndim} axes)",
            f"{what}={value!r}",
        ) from None
    return pairs


def _widths(pad_width, ndim: int) -> list[tuple[int, int]]:
    pairs = _per_axis_pairs(pad_width, ndim, "pad_width")
    if pairs.dtype.kind not in "iu" or (pairs < 0).any():
        raise value_error("pad()", "pad_width of non-negative integers", f"pad_width={pad_width!r}")
    return [(int(before), int(after)) for before, after in pairs.tolist()]


def _gather_index(n: int, before: int, after: int, mode: str, device) -> torch.Tensor:
    """Source index, along an axis of size `n`, of every position of its padded version."""
    index = torch.arange(-before, n + after, device=device)
    if mode == "edge" or (mode == "reflect" and n == 1):
        return index.clamp(0, n - 1)
    if mode in ("wrap", "circular"):
        return index.remainder(n)
    period = 2 * n - 2 if mode == "reflect" else 2 * n
    index = index.remainder(period)
    mirror = period - index if mode == "reflect" else period - 1 - index
    return torch.where(index >= n, mirror, index)


def _statistic(x: torch.Tensor, axis: int, mode: str) -> torch.Tensor:
    if mode == "maximum":
        return x.amax(dim=axis, keepdim=True)
    if mode == "minimum":
        return x.amin(dim=axis, keepdim=True)
    wide = x.double()
    if mode == "mean":
        stat = wide.mean(dim=axis, keepdim=True)
    else:  # NumPy's median averages the two middle values, torch's picks the lower
        stat = wide.quantile(0.5, dim=axis, keepdim=True)
    if not x.is_floating_point() and not x.is_complex():
        stat = stat.round()  # NumPy rounds integer statistics (half to even, as torch does)
    return stat.to(x.dtype)


def _ramp(edge: torch.Tensor, end: float, width: int, axis: int, leading: bool) -> torch.Tensor:
    """`width` values going linearly from `end` to `edge` (leading) or from `edge` to `end`."""
    shape = [1] * edge.dim()
    shape[axis] = width
    steps = torch.arange(width, device=edge.device, dtype=torch.float64).reshape(shape)
    fraction = steps / width if leading else (steps + 1) / width
    start, stop = (end, edge.double()) if leading else (edge.double(), end)
    values = start + (stop - start) * fraction
    if not edge.is_floating_point():
        values = values.floor()  # NumPy (2.x linspace) rounds an integer ramp down
    return values.to(edge.dtype)


def _pad_axis(x, axis, before, after, mode, fill) -> torch.Tensor:
    if before == 0 and after == 0:
        return x
    n = x.shape[axis]
    if mode in _INDEX_MODES:
        if n == 0:
            raise value_error(
                "pad()", f"a non-empty axis to extend in mode={mode!r}", f"axis {axis} of size 0"
            )
        return x.index_select(axis, _gather_index(n, before, after, mode, x.device))
    shape = list(x.shape)
    parts = []
    for width, leading in ((before, True), (after, False)):
        shape[axis] = width
        if width == 0:
            continue
        if mode in ("constant", "empty"):
            part = torch.full(shape, fill[0 if leading else 1], dtype=x.dtype, device=x.device)
        elif mode == "linear_ramp":
            edge = x.narrow(axis, 0 if leading else n - 1, 1)
            part = _ramp(edge, fill[0 if leading else 1], width, axis, leading)
        else:
            part = _statistic(x, axis, mode).expand(shape)
        parts.append((part, leading))
    before_parts = [p for p, leading in parts if leading]
    after_parts = [p for p, leading in parts if not leading]
    return torch.cat([*before_parts, x, *after_parts], dim=axis)


@symbolic_op("pad")
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad a tensor, NumPy's `pad` rules.

    Args:
        x: input tensor.
        pad_width: how much to add before and after each axis: an int `n` or `(n,)` (n on both
            sides of every axis), a pair `(before, after)` (the same for every axis), or one pair
            per axis, first axis first, e.g. `((1, 2), (0, 1))`.
        mode: `"constant"` (default: fill with `constant_values`), `"edge"` (repeat the border
            value), `"reflect"` (mirror without repeating the border), `"symmetric"` (mirror
            repeating it), `"wrap"` or `"circular"` (periodic), `"maximum"`, `"minimum"`, `"mean"`
            or `"median"` (that statistic of the axis), `"linear_ramp"` (from the border value
            down to 0) or `"empty"` (unspecified values; lamina fills 0).
        constant_values: the fill value in `"constant"` mode (default None: 0); like `pad_width`
            it may also be a pair or one pair per axis.

    Returns:
        The padded tensor, of `x`'s dtype.

    Example:
        >>> lamina.ops.pad(np.array([[1, 2]]), (1, 2), constant_values=-1)
        tensor([[-1, -1, -1, -1, -1],
                [-1,  1,  2, -1, -1],
                [-1, -1, -1, -1, -1],
                [-1, -1, -1, -1, -1]])
        >>> lamina.ops.pad(np.array([1, 2, 3]), 2, mode="reflect")
        tensor([3, 2, 1, 2, 3, 2, 1])
        >>> lamina.ops.pad(np.array([1, 2, 3]), 2, mode="symmetric")
        tensor([2, 1, 1, 2, 3, 3, 2])
    """
    if mode not in MODES:
        raise value_error("pad()", f"mode in {list(MODES)}", f"mode={mode!r}")
    if constant_values is not None and mode != "constant":
        raise value_error(
            "pad()",
            "constant_values only with mode='constant'",
            f"mode={mode!r}, constant_values={constant_values!r}",
        )
    x = tensor(x)
    widths = _widths(pad_width, x.dim())
    if mode == "constant" and np.ndim(constant_values) == 0:
        flat = [v for pair in reversed(widths) for v in pair]  # torch: last axis first
        value = 0 if constant_values is None else constant_values
        if x.dtype == torch.bool:
            return F.pad(x.to(torch.uint8), flat, value=int(bool(value))).bool()
        return F.pad(x, flat, value=value)
    fills = (
        _per_axis_pairs(constant_values, x.dim(), "constant_values").tolist()
        if mode == "constant"
        else [(0, 0)] * x.dim()
    )
    for axis, (before, after) in enumerate(widths):
        x = _pad_axis(x, axis, before, after, mode, fills[axis])
    return x
