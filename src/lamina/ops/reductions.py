"""NumPy's further reductions: NaN-ignoring ones, quantiles and medians, counts, histograms.

torch's reductions do the arithmetic; this module maps NumPy's `axis` (None, an int or a tuple)
and `keepdims` onto them. Medians and quantiles interpolate as NumPy does (torch's own `median`
returns the lower of the two middle values, so they go through `torch.quantile`).
"""

from __future__ import annotations

import torch

from lamina.engine import errors
from lamina.ops.core import (
    axis_arg,
    cumulative_dtype,
    floating,
    floating_operands,
    narrows_64_bits,
    reduces_no_axis_when_empty,
    sum_dtype,
    symbolic_op,
    tensor,
)


def _axes(x: torch.Tensor, axis) -> tuple[int, ...]:
    axis = axis_arg(axis)
    if axis is None:
        return tuple(range(x.dim()))
    return tuple(a % x.dim() for a in (axis if isinstance(axis, tuple) else (axis,)))


def _flatten_axes(x: torch.Tensor, axes) -> torch.Tensor:
    """`x` with the axes to reduce moved to the end and merged into one."""
    kept = [a for a in range(x.dim()) if a not in axes]
    moved = x.permute((*kept, *axes))
    return moved.reshape(*moved.shape[: len(kept)], -1)


def _quantile(x, q, axis, method, keepdims, torch_fn):
    x = floating(tensor(x))
    axes = _axes(x, axis)
    # torch's quantiles take float32 and float64 only: half precision goes through float32.
    wide = x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    q = tensor(q).to(wide.dtype)
    values = _flatten_axes(wide, axes)
    if values.shape[-1] == 1 and q.dim() == 0:  # one value is every quantile of itself (torch's
        out = values[..., 0].to(x.dtype)  # interpolation would turn an inf into NaN)
    else:
        out = torch_fn(values, q, dim=-1, interpolation=method).to(x.dtype)
    if keepdims:
        for a in sorted(axes):
            out = out.unsqueeze(a + q.dim())
    return out


@symbolic_op("quantile")
@narrows_64_bits
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles (`q` in [0, 1]) over `axis`; `q`'s axes come first in the result.

    Args:
        x: input tensor.
        q: a number or a 1-D tensor of quantile levels.
        axis: axis or axes to reduce (all by default).
        method: "linear", "lower", "higher", "midpoint" or "nearest".
        keepdims: keep the reduced axes with size 1.

    Examples:
        >>> quantile(torch.arange(5.0), 0.5)
        tensor(2.)
    """
    return _quantile(x, q, axis, method, keepdims, torch.quantile)


@symbolic_op("nanquantile")
@narrows_64_bits
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles over the given axes, ignoring NaNs.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        q: a quantile level in [0, 1], or a 1-D tensor of levels.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        method: how to interpolate between data points: `"linear"` (default), `"lower"`,
            `"higher"`, `"midpoint"` or `"nearest"`.
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The quantiles; when `q` is 1-D, its axis comes first.

    Example:
        >>> lamina.ops.nanquantile(torch.tensor([1.0, np.nan, 3.0]), 0.5)
        tensor(2.)
    """
    return _quantile(x, q, axis, method, keepdims, torch.nanquantile)


@symbolic_op("percentile")
@narrows_64_bits
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles over the given axes: `quantile` with `q` in percent.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        q: a percentile in [0, 100], or a 1-D tensor of levels.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        method: how to interpolate between data points: `"linear"` (default), `"lower"`,
            `"higher"`, `"midpoint"` or `"nearest"`.
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The percentiles; when `q` is 1-D, its axis comes first.

    Example:
        >>> lamina.ops.percentile(torch.tensor([1.0, 2.0, 3.0, 4.0]), 50)
        tensor(2.5000)
        >>> lamina.ops.percentile(torch.tensor([1.0, 2.0, 3.0, 4.0]), np.array([0, 100]))
        tensor([1., 4.])
    """
    return _quantile(x, tensor(q) / 100.0, axis, method, keepdims, torch.quantile)


@symbolic_op("nanpercentile")
@narrows_64_bits
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles over the given axes, ignoring NaNs.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        q: a percentile in [0, 100], or a 1-D tensor of levels.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        method: how to interpolate between data points: `"linear"` (default), `"lower"`,
            `"higher"`, `"midpoint"` or `"nearest"`.
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The percentiles; when `q` is 1-D, its axis comes first.

    Example:
        >>> lamina.ops.nanpercentile(torch.tensor([1.0, np.nan, 3.0]), 50)
        tensor(2.)
    """
    return _quantile(x, tensor(q) / 100.0, axis, method, keepdims, torch.nanquantile)


@symbolic_op("median")
@reduces_no_axis_when_empty
@narrows_64_bits
def median(x, axis=None, keepdims=False):
    """The median over the given axes.

    An even count gives the mean of the two middle values, as NumPy (not the lower one, as
    torch). Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.median(np.array([[1, 3, 2], [4, 6, 8]]), axis=1)
        tensor([2., 6.])
        >>> lamina.ops.median(np.array([1, 4, 2, 3]))
        tensor(2.5000)
    """
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.quantile)


@symbolic_op("nanmedian")
@reduces_no_axis_when_empty
@narrows_64_bits
def nanmedian(x, axis=None, keepdims=False):
    """The median over the given axes, ignoring NaNs.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanmedian(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([1.0000, 3.5000])
    """
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.nanquantile)


@symbolic_op("nansum")
@reduces_no_axis_when_empty
def nansum(x, axis=None, keepdims=False):
    """The sum over the given axes, treating NaN as zero.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nansum(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([1., 7.])
    """
    x = tensor(x)
    return torch.nansum(x, dim=_axes(x, axis), keepdim=keepdims).to(sum_dtype(x.dtype))


@symbolic_op("nanmean")
@reduces_no_axis_when_empty
@narrows_64_bits
def nanmean(x, axis=None, keepdims=False):
    """The mean of the non-NaN elements over the given axes.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanmean(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([1.0000, 3.5000])
    """
    x = floating(tensor(x))
    return torch.nanmean(x, dim=_axes(x, axis), keepdim=keepdims)


def _nan_extreme(x, axis, keepdims, fill, torch_fn):
    x = tensor(x)
    axes = _axes(x, axis)
    if not x.is_floating_point():
        return torch_fn(x, dim=axes, keepdim=keepdims)
    nan = torch.isnan(x)
    out = torch_fn(torch.where(nan, fill, x), dim=axes, keepdim=keepdims)
    all_nan = torch.all(nan, dim=axes, keepdim=keepdims)
    return torch.where(all_nan, torch.nan, out)


@symbolic_op("nanmax")
@reduces_no_axis_when_empty
def nanmax(x, axis=None, keepdims=False):
    """The largest element over the given axes, ignoring NaNs.

    A slice of NaNs only gives NaN.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanmax(torch.tensor([[1.0, np.nan], [np.nan, np.nan]]), axis=1)
        tensor([1., nan])
    """
    return _nan_extreme(x, axis, keepdims, -torch.inf, torch.amax)


@symbolic_op("nanmin")
@reduces_no_axis_when_empty
def nanmin(x, axis=None, keepdims=False):
    """The smallest element over the given axes, ignoring NaNs.

    A slice of NaNs only gives NaN.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanmin(torch.tensor([[1.0, np.nan], [np.nan, np.nan]]), axis=1)
        tensor([1., nan])
    """
    return _nan_extreme(x, axis, keepdims, torch.inf, torch.amin)


@symbolic_op("nanprod")
@reduces_no_axis_when_empty
@narrows_64_bits
def nanprod(x, axis=None, keepdims=False):
    """The product over the given axes, treating NaN as one.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanprod(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([ 1., 12.])
    """
    x = tensor(x)
    dtype = sum_dtype(x.dtype)
    x = torch.nan_to_num(x, nan=1.0) if x.is_floating_point() else x
    for a in sorted(_axes(x, axis), reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x.to(dtype)


@symbolic_op("nanvar")
@reduces_no_axis_when_empty
@narrows_64_bits
def nanvar(x, axis=None, keepdims=False):
    """The variance of the non-NaN elements over the given axes.

    The population variance, dividing by the count of non-NaN elements. Integer inputs are
    computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanvar(torch.tensor([1.0, np.nan, 3.0]))
        tensor(1.)
    """
    x = floating(tensor(x))
    axes = _axes(x, axis)
    # Only the input's NaNs are skipped: inf - inf made while centring stays NaN, as in NumPy.
    present = ~torch.isnan(x)
    centred = torch.where(present, x - torch.nanmean(x, dim=axes, keepdim=True), 0)
    squares = (centred * centred.conj()).sum(dim=axes, keepdim=keepdims)
    return squares / present.sum(dim=axes, keepdim=keepdims)


@symbolic_op("nanstd")
@reduces_no_axis_when_empty
@narrows_64_bits
def nanstd(x, axis=None, keepdims=False):
    """The standard deviation of the non-NaN elements over the given axes.

    The population standard deviation, as `nanvar`. Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.nanstd(torch.tensor([1.0, np.nan, 3.0]))
        tensor(1.)
    """
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_arg(x, axis, keepdims, fill, torch_fn):
    x = tensor(x)
    nans = None
    if x.is_floating_point():
        nans = torch.isnan(x)
        x = torch.where(nans, fill, x)
    elif x.dtype == torch.bool:  # torch's argmax/argmin reject booleans
        x = x.to(torch.uint8)
    if axis is None:
        out = torch_fn(x.reshape(-1))
        out = out.reshape([1] * x.dim()) if keepdims else out
    else:
        out = torch_fn(x, dim=axis, keepdim=keepdims)
    if nans is not None:  # nothing but NaN: no index to give, -1 as Keras (NumPy raises)
        out = torch.where(torch.all(nans, dim=axis, keepdim=keepdims), -1, out)
    return out.to(torch.int32)


@symbolic_op("nanargmax")
def nanargmax(x, axis=None, keepdims=False):
    """The index of the largest element along an axis, ignoring NaNs.

    Args:
        x: input tensor.
        axis: the axis to search (default None: the flattened tensor).
        keepdims: whether to keep the searched axis as size 1 (default False).

    Returns:
        An int32 tensor of indices; -1 where every element searched is NaN (as Keras).

    Example:
        >>> lamina.ops.nanargmax(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([0, 1], dtype=torch.int32)
        >>> lamina.ops.nanargmax(torch.tensor([[1.0, np.nan], [3.0, 4.0]]))
        tensor(3, dtype=torch.int32)
    """
    return _nan_arg(x, axis, keepdims, -torch.inf, torch.argmax)


@symbolic_op("nanargmin")
def nanargmin(x, axis=None, keepdims=False):
    """The index of the smallest element along an axis, ignoring NaNs.

    Args:
        x: input tensor.
        axis: the axis to search (default None: the flattened tensor).
        keepdims: whether to keep the searched axis as size 1 (default False).

    Returns:
        An int32 tensor of indices; -1 where every element searched is NaN (as Keras).

    Example:
        >>> lamina.ops.nanargmin(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), axis=1)
        tensor([0, 0], dtype=torch.int32)
        >>> lamina.ops.nanargmin(torch.tensor([[1.0, np.nan], [3.0, 4.0]]))
        tensor(0, dtype=torch.int32)
    """
    return _nan_arg(x, axis, keepdims, torch.inf, torch.argmin)


def _cumulative(x, axis, dtype, fill, torch_fn):
    x = tensor(x)
    if fill is not None and x.is_floating_point():
        x = torch.nan_to_num(x, nan=fill)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch_fn(x, dim=axis, dtype=cumulative_dtype(x.dtype, dtype))


@symbolic_op("cumprod")
def cumprod(x, axis=None, dtype=None):
    """Cumulative product of the elements along an axis.

    Args:
        x: input tensor.
        axis: the axis to accumulate along (default None: the flattened tensor).
        dtype: dtype of the result (default None: `x`'s); booleans count in int32 and 64-bit
            dtypes narrow to 32 bits, as Keras.

    Returns:
        A tensor shaped like `x` (1-D when `axis` is None).

    Example:
        >>> lamina.ops.cumprod(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([[ 1,  2],
                [ 3, 12]], dtype=torch.int32)
        >>> lamina.ops.cumprod(np.array([[1.0, 2.0], [3.0, 4.0]]))
        tensor([ 1.,  2.,  6., 24.])
    """
    return _cumulative(x, axis, dtype, None, torch.cumprod)


@symbolic_op("nancumsum")
def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along an axis, treating NaN as zero.

    Args:
        x: input tensor.
        axis: the axis to accumulate along (default None: the flattened tensor).
        dtype: dtype of the result (default None: `x`'s); booleans count in int32 and 64-bit
            dtypes narrow to 32 bits, as Keras.

    Returns:
        A tensor shaped like `x` (1-D when `axis` is None).

    Example:
        >>> lamina.ops.nancumsum(torch.tensor([1.0, np.nan, 3.0]))
        tensor([1., 1., 4.])
    """
    return _cumulative(x, axis, dtype, 0.0, torch.cumsum)


@symbolic_op("nancumprod")
def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along an axis, treating NaN as one.

    Args:
        x: input tensor.
        axis: the axis to accumulate along (default None: the flattened tensor).
        dtype: dtype of the result (default None: `x`'s); booleans count in int32 and 64-bit
            dtypes narrow to 32 bits, as Keras.

    Returns:
        A tensor shaped like `x` (1-D when `axis` is None).

    Example:
        >>> lamina.ops.nancumprod(torch.tensor([2.0, np.nan, 3.0]))
        tensor([2., 2., 6.])
    """
    return _cumulative(x, axis, dtype, 1.0, torch.cumprod)


@symbolic_op("ptp")
@reduces_no_axis_when_empty
def ptp(x, axis=None, keepdims=False):
    """Peak to peak: the range `max - min` over the given axes.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.ptp(np.array([[4, 9, 2], [1, 1, 1]]), axis=1)
        tensor([7, 0])
    """
    x = tensor(x)
    axes = _axes(x, axis)
    return torch.amax(x, dim=axes, keepdim=keepdims) - torch.amin(x, dim=axes, keepdim=keepdims)


@symbolic_op("count_nonzero")
@reduces_no_axis_when_empty
def count_nonzero(x, axis=None, keepdims=False):
    """The number of non-zero elements over the given axes.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to count over (default None: all of them).
        keepdims: whether to keep the counted axes as size 1 (default False), as NumPy's and
            `tf.math.count_nonzero`'s argument of that name (Keras's op lacks it).

    Returns:
        An int32 tensor of counts.

    Example:
        >>> lamina.ops.count_nonzero(np.array([[0, 1, 2], [0, 0, 3]]))
        tensor(3, dtype=torch.int32)
        >>> lamina.ops.count_nonzero(np.array([[0, 1, 2], [0, 0, 3]]), axis=1)
        tensor([2, 1], dtype=torch.int32)
    """
    x = tensor(x)
    axes = _axes(x, axis)
    counts = torch.count_nonzero(x, dim=axes).to(torch.int32)
    if keepdims:
        counts = counts.reshape([1 if a in axes else size for a, size in enumerate(x.shape)])
    return counts


@symbolic_op("average")
@reduces_no_axis_when_empty
@narrows_64_bits
def average(x, axis=None, weights=None):
    """The mean over an axis, optionally weighted.

    With weights, it is `sum(x * weights) / sum(weights)`. Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: the axis to average over (default None: all of them).
        weights: weights shaped like `x`, or 1-D with the length of `axis` (default None: equal);
            weights of another shape need `axis`.

    Returns:
        The averaged tensor.

    Example:
        >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> lamina.ops.average(x, weights=torch.tensor([[1.0, 1.0], [2.0, 0.0]]))
        tensor(2.2500)
        >>> lamina.ops.average(x, axis=1, weights=torch.tensor([3.0, 1.0]))
        tensor([1.2500, 3.2500])
    """
    if weights is None:
        x = floating(tensor(x))
        return torch.mean(x, dim=_axes(x, axis))
    x, weights = floating_operands(x, weights)  # the dtype of both, as Keras
    if axis is None and weights.shape != x.shape:
        raise errors.value_error(
            "average()",
            f"weights shaped like x {tuple(x.shape)} when no axis is given",
            f"weights of shape {tuple(weights.shape)}",
            "pass axis= to weigh along one axis, as NumPy and Keras require.",
        )
    if axis is not None and weights.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis % x.dim()] = -1
        weights = weights.reshape(shape)
    weights = torch.broadcast_to(weights, x.shape)
    axes = _axes(x, axis)
    return torch.sum(x * weights, dim=axes) / torch.sum(weights, dim=axes)


@symbolic_op("bincount")
@narrows_64_bits
def bincount(x, weights=None, minlength=0, sparse=False):
    """Count how often each non-negative integer occurs.

    A 2-D `x` is counted row by row, giving one row of counts per row.

    Args:
        x: non-negative integers, 1-D or 2-D.
        weights: values shaped like `x` to sum instead of ones (default None).
        minlength: the least number of bins (default 0); there are at least `max(x) + 1`.
        sparse: must be False: sparse output is not supported.

    Returns:
        The counts: int32 without weights, else in the dtype of `x` promoted with the weights'.

    Example:
        >>> lamina.ops.bincount(np.array([0, 1, 1, 3]))
        tensor([1, 2, 0, 1], dtype=torch.int32)
        >>> weights = torch.tensor([0.5, 1.0, 2.0])
        >>> lamina.ops.bincount(np.array([0, 1, 1]), weights=weights, minlength=4)
        tensor([0.5000, 3.0000, 0.0000, 0.0000])
    """
    if sparse:
        raise ValueError("bincount() supports sparse=False only; received sparse=True.")
    x = tensor(x)
    w = None if weights is None else tensor(weights)
    counts_dtype = torch.int32 if w is None else torch.promote_types(x.dtype, w.dtype)
    x = x.long()
    length = max(int(x.max()) + 1 if x.numel() else 0, minlength)
    if x.dim() == 1:
        out = torch.bincount(x, weights=w, minlength=length)
    else:
        rows = [
            torch.bincount(r, None if w is None else w[i], minlength=length)
            for i, r in enumerate(x)
        ]
        out = torch.stack(rows)
    return out.to(counts_dtype)


@symbolic_op("histogram")
def histogram(x, bins=10, range=None):  # noqa: A002 - NumPy's name
    """Count the elements of `x` in equal-width bins.

    `x` is flattened; values outside `range` are ignored.

    Args:
        x: input tensor (integers are computed in float32).
        bins: the number of bins (default 10).
        range: the `(lower, upper)` limits of the bins (default None: `x`'s minimum and maximum).

    Returns:
        A tuple `(counts, edges)`: the float counts per bin and the `bins + 1` bin edges.

    Example:
        >>> lamina.ops.histogram(torch.tensor([0.0, 1.0, 1.0, 3.0, 4.0]), bins=4)
        (tensor([1., 2., 0., 2.]), tensor([0., 1., 2., 3., 4.]))
    """
    x = floating(tensor(x)).reshape(-1)
    lo, hi = (float(x.min()), float(x.max())) if range is None else range
    if lo == hi:  # a single value: a unit-wide range around it, as NumPy's
        lo, hi = lo - 0.5, hi + 0.5
    counts = torch.histc(x, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1, dtype=x.dtype, device=x.device)
    return counts, edges


@symbolic_op("trapezoid")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integrate `y` along an axis with the trapezoidal rule.

    Args:
        y: the sampled values (integers are computed in float32).
        x: the sample positions along `axis` (default None: evenly spaced, `dx` apart).
        dx: the spacing between samples when `x` is None (default 1.0).
        axis: the axis to integrate along (default -1).

    Returns:
        The integral, with `axis` removed.

    Example:
        >>> lamina.ops.trapezoid(torch.tensor([1.0, 2.0, 3.0]))
        tensor(4.)
        >>> lamina.ops.trapezoid(torch.tensor([1.0, 2.0, 3.0]), x=torch.tensor([0.0, 1.0, 3.0]))
        tensor(6.5000)
    """
    y = floating(tensor(y))
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    return torch.trapezoid(y, floating(tensor(x)), dim=axis)
