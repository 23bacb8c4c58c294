"""NumPy's further reductions: NaN-ignoring ones, quantiles and medians, counts, histograms.

torch's reductions do the arithmetic; this module maps NumPy's `axis` (None, an int or a tuple)
and `keepdims` onto them. Medians and quantiles interpolate as NumPy does (torch's own `median`
returns the lower of the two middle values, so they go through `torch.quantile`).
"""

from __future__ import annotations

import torch

from lamina.ops.core import axis_arg, floating, symbolic_op, tensor, to_dtype


def _axes(x: torch.Tensor, axis) -> tuple[int, ...]:
    axis = axis_arg(axis)
    if axis is None:
        return tuple(range(x.dim()))
    return tuple(a % x.dim() for a in (axis if isinstance(axis, tuple) else (axis,)))


def _flatten_axes(x: torch.Tensor, axes) -> torch.Tensor:
    """`x` with the axes to reduce moved to the end and merged into one."""
    kept = [a for a in range(x.dim()) if a not in axes]
    moved = x.permute(*kept, *axes)
    return moved.reshape(*moved.shape[: len(kept)], -1)


def _quantile(x, q, axis, method, keepdims, torch_fn):
    x = floating(tensor(x))
    axes = _axes(x, axis)
    q = tensor(q).to(x.dtype)
    out = torch_fn(_flatten_axes(x, axes), q, dim=-1, interpolation=method)
    if keepdims:
        for a in sorted(axes):
            out = out.unsqueeze(a + q.dim())
    return out


@symbolic_op("quantile")
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
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` ignoring NaNs."""
    return _quantile(x, q, axis, method, keepdims, torch.nanquantile)


@symbolic_op("percentile")
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` with `q` in percent (0-100)."""
    return _quantile(x, tensor(q) / 100.0, axis, method, keepdims, torch.quantile)


@symbolic_op("nanpercentile")
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """`percentile` ignoring NaNs."""
    return _quantile(x, tensor(q) / 100.0, axis, method, keepdims, torch.nanquantile)


@symbolic_op("median")
def median(x, axis=None, keepdims=False):
    """The median over `axis` (the mean of the two middle values for an even count)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.quantile)


@symbolic_op("nanmedian")
def nanmedian(x, axis=None, keepdims=False):
    """`median` ignoring NaNs."""
    return _quantile(x, 0.5, axis, "linear", keepdims, torch.nanquantile)


@symbolic_op("nansum")
def nansum(x, axis=None, keepdims=False):
    """`sum` treating NaN as zero."""
    x = tensor(x)
    return torch.nansum(x, dim=_axes(x, axis), keepdim=keepdims)


@symbolic_op("nanmean")
def nanmean(x, axis=None, keepdims=False):
    """`mean` of the non-NaN elements."""
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
def nanmax(x, axis=None, keepdims=False):
    """`max` ignoring NaNs (NaN where every element is NaN)."""
    return _nan_extreme(x, axis, keepdims, -torch.inf, torch.amax)


@symbolic_op("nanmin")
def nanmin(x, axis=None, keepdims=False):
    """`min` ignoring NaNs (NaN where every element is NaN)."""
    return _nan_extreme(x, axis, keepdims, torch.inf, torch.amin)


@symbolic_op("nanprod")
def nanprod(x, axis=None, keepdims=False):
    """`prod` treating NaN as one."""
    x = tensor(x)
    x = torch.nan_to_num(x, nan=1.0) if x.is_floating_point() else x
    for a in sorted(_axes(x, axis), reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x


@symbolic_op("nanvar")
def nanvar(x, axis=None, keepdims=False):
    """Population variance of the non-NaN elements."""
    x = floating(tensor(x))
    axes = _axes(x, axis)
    centred = x - torch.nanmean(x, dim=axes, keepdim=True)
    return torch.nanmean(centred * centred.conj(), dim=axes, keepdim=keepdims)


@symbolic_op("nanstd")
def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation of the non-NaN elements."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def _nan_arg(x, axis, keepdims, fill, torch_fn):
    x = tensor(x)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), fill, x)
    if axis is None:
        out = torch_fn(x.reshape(-1))
        return (out.reshape([1] * x.dim()) if keepdims else out).to(torch.int32)
    return torch_fn(x, dim=axis, keepdim=keepdims).to(torch.int32)


@symbolic_op("nanargmax")
def nanargmax(x, axis=None, keepdims=False):
    """`argmax` ignoring NaNs."""
    return _nan_arg(x, axis, keepdims, -torch.inf, torch.argmax)


@symbolic_op("nanargmin")
def nanargmin(x, axis=None, keepdims=False):
    """`argmin` ignoring NaNs."""
    return _nan_arg(x, axis, keepdims, torch.inf, torch.argmin)


def _cumulative(x, axis, dtype, fill, torch_fn):
    x = tensor(x)
    if fill is not None and x.is_floating_point():
        x = torch.nan_to_num(x, nan=fill)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if dtype is None:  # the input's dtype (bool counts in int32), as Keras, not torch's int64
        dtype = torch.int32 if x.dtype == torch.bool else x.dtype
    return torch_fn(x, dim=axis, dtype=to_dtype(dtype))


@symbolic_op("cumprod")
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (over the flattened tensor by default)."""
    return _cumulative(x, axis, dtype, None, torch.cumprod)


@symbolic_op("nancumsum")
def nancumsum(x, axis=None, dtype=None):
    """`cumsum` treating NaN as zero."""
    return _cumulative(x, axis, dtype, 0.0, torch.cumsum)


@symbolic_op("nancumprod")
def nancumprod(x, axis=None, dtype=None):
    """`cumprod` treating NaN as one."""
    return _cumulative(x, axis, dtype, 1.0, torch.cumprod)


@symbolic_op("ptp")
def ptp(x, axis=None, keepdims=False):
    """Peak to peak: `max - min` over `axis`."""
    x = tensor(x)
    axes = _axes(x, axis)
    return torch.amax(x, dim=axes, keepdim=keepdims) - torch.amin(x, dim=axes, keepdim=keepdims)


@symbolic_op("count_nonzero")
def count_nonzero(x, axis=None):
    """How many elements are non-zero over `axis` (int32)."""
    x = tensor(x)
    return torch.count_nonzero(x, dim=_axes(x, axis)).to(torch.int32)


@symbolic_op("average")
def average(x, axis=None, weights=None):
    """The (weighted) mean over `axis`; 1-D `weights` apply along `axis`.

    Args:
        x: input tensor.
        axis: axis to average over (all by default).
        weights: same shape as `x`, or 1-D of the length of `axis`.
    """
    x = floating(tensor(x))
    if weights is None:
        return torch.mean(x, dim=_axes(x, axis))
    weights = tensor(weights).to(x.dtype)
    if axis is not None and weights.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis % x.dim()] = -1
        weights = weights.reshape(shape)
    weights = torch.broadcast_to(weights, x.shape)
    axes = _axes(x, axis)
    return torch.sum(x * weights, dim=axes) / torch.sum(weights, dim=axes)


@symbolic_op("bincount")
def bincount(x, weights=None, minlength=0, sparse=False):
    """How often each non-negative integer occurs; a 2-D `x` counts row by row.

    Args:
        x: non-negative integers, 1-D or 2-D.
        weights: same shape as `x`: sum these instead of ones.
        minlength: at least this many bins.
    """
    if sparse:
        raise ValueError("bincount() supports sparse=False only; received sparse=True.")
    x = tensor(x).long()
    w = None if weights is None else tensor(weights)
    length = max(int(x.max()) + 1 if x.numel() else 0, minlength)
    if x.dim() == 1:
        out = torch.bincount(x, weights=w, minlength=length)
    else:
        rows = [
            torch.bincount(r, None if w is None else w[i], minlength=length)
            for i, r in enumerate(x)
        ]
        out = torch.stack(rows)
    return out.to(torch.int32) if w is None else out.to(w.dtype)


@symbolic_op("histogram")
def histogram(x, bins=10, range=None):  # noqa: A002 - NumPy's name
    """Counts of `x` in `bins` equal bins over `range` (its min and max by default).

    Returns: (counts, bin edges).
    """
    x = floating(tensor(x)).reshape(-1)
    lo, hi = (float(x.min()), float(x.max())) if range is None else range
    counts = torch.histc(x, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1, dtype=x.dtype, device=x.device)
    return counts, edges


@symbolic_op("trapezoid")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of `y` along `axis` by the trapezoidal rule (samples at `x`, or `dx` apart)."""
    y = floating(tensor(y))
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    return torch.trapezoid(y, floating(tensor(x)), dim=axis)
