"""NumPy-style ops (Keras's `ops.numpy`): element-wise math, comparisons, reductions.

Arguments may be torch tensors, NumPy arrays or Python numbers; results are torch tensors. On
KerasTensors each op records a node of the functional graph (see `ops/core.py`).
"""

from __future__ import annotations

import torch

from lamina.ops.core import axis_arg, floating, operands, symbolic_op, tensor, to_dtype

_pair = operands
_axis = axis_arg
_float = floating


# --------------------------------------------------------------------------------------------------
# element-wise, two arguments


@symbolic_op("add")
def add(x1, x2):
    a, b = _pair(x1, x2)
    return torch.add(a, b)


@symbolic_op("subtract")
def subtract(x1, x2):
    a, b = _pair(x1, x2)
    return torch.sub(a, b)


@symbolic_op("multiply")
def multiply(x1, x2):
    a, b = _pair(x1, x2)
    return torch.mul(a, b)


@symbolic_op("divide")
def divide(x1, x2):
    a, b = _pair(x1, x2)
    return torch.true_divide(_float(a), b)


true_divide = divide


@symbolic_op("floor_divide")
def floor_divide(x1, x2):
    a, b = _pair(x1, x2)
    return torch.floor_divide(a, b)


@symbolic_op("mod")
def mod(x1, x2):
    a, b = _pair(x1, x2)
    return torch.remainder(a, b)


@symbolic_op("power")
def power(x1, x2):
    a, b = _pair(x1, x2)
    return torch.pow(a, b)


@symbolic_op("maximum")
def maximum(x1, x2):
    a, b = _pair(x1, x2)
    return torch.maximum(a, b)


@symbolic_op("minimum")
def minimum(x1, x2):
    a, b = _pair(x1, x2)
    return torch.minimum(a, b)


@symbolic_op("equal")
def equal(x1, x2):
    a, b = _pair(x1, x2)
    return torch.eq(a, b)


@symbolic_op("not_equal")
def not_equal(x1, x2):
    a, b = _pair(x1, x2)
    return torch.ne(a, b)


@symbolic_op("greater")
def greater(x1, x2):
    a, b = _pair(x1, x2)
    return torch.gt(a, b)


@symbolic_op("greater_equal")
def greater_equal(x1, x2):
    a, b = _pair(x1, x2)
    return torch.ge(a, b)


@symbolic_op("less")
def less(x1, x2):
    a, b = _pair(x1, x2)
    return torch.lt(a, b)


@symbolic_op("less_equal")
def less_equal(x1, x2):
    a, b = _pair(x1, x2)
    return torch.le(a, b)


@symbolic_op("logical_and")
def logical_and(x1, x2):
    a, b = _pair(x1, x2)
    return torch.logical_and(a, b)


@symbolic_op("logical_or")
def logical_or(x1, x2):
    a, b = _pair(x1, x2)
    return torch.logical_or(a, b)


@symbolic_op("logical_not")
def logical_not(x):
    return torch.logical_not(tensor(x))


@symbolic_op("matmul")
def matmul(x1, x2):
    return torch.matmul(tensor(x1), tensor(x2))


@symbolic_op("dot")
def dot(x1, x2):
    """NumPy's dot: matmul for 2-D and higher, product for scalars."""
    a, b = tensor(x1), tensor(x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    if b.dim() == 1 or a.dim() <= 2:
        return torch.matmul(a, b)
    return torch.tensordot(a, b, dims=([-1], [-2]))


@symbolic_op("einsum")
def einsum(subscripts, *operands):
    return torch.einsum(subscripts, *[tensor(x) for x in operands])


@symbolic_op("where")
def where(condition, x1=None, x2=None):
    """`x1` where `condition` else `x2`; with only a condition, the indices where it holds."""
    condition = tensor(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return torch.nonzero(condition, as_tuple=True)
    a, b = _pair(x1, x2)
    return torch.where(condition, a, b)


# --------------------------------------------------------------------------------------------------
# element-wise, one argument


def _unary(name, torch_fn, floating=False):
    @symbolic_op(name)
    def op(x):
        x = tensor(x)
        return torch_fn(_float(x) if floating else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}`, as NumPy's."
    return op


abs = _unary("abs", torch.abs)  # noqa: A001 - Keras's name
absolute = abs
negative = _unary("negative", torch.neg)
sign = _unary("sign", torch.sign)
square = _unary("square", torch.square)
sqrt = _unary("sqrt", torch.sqrt, floating=True)
rsqrt = _unary("rsqrt", torch.rsqrt, floating=True)
exp = _unary("exp", torch.exp, floating=True)
log = _unary("log", torch.log, floating=True)
log1p = _unary("log1p", torch.log1p, floating=True)
expm1 = _unary("expm1", torch.expm1, floating=True)
sin = _unary("sin", torch.sin, floating=True)
cos = _unary("cos", torch.cos, floating=True)
tan = _unary("tan", torch.tan, floating=True)
tanh = _unary("tanh", torch.tanh, floating=True)
arctan = _unary("arctan", torch.atan, floating=True)
erf = _unary("erf", torch.erf, floating=True)
floor = _unary("floor", torch.floor)
ceil = _unary("ceil", torch.ceil)
reciprocal = _unary("reciprocal", torch.reciprocal, floating=True)
isnan = _unary("isnan", torch.isnan)
isinf = _unary("isinf", torch.isinf)
isfinite = _unary("isfinite", torch.isfinite)


@symbolic_op("round")
def round(x, decimals=0):  # noqa: A001 - Keras's name
    """Round half to even, as NumPy."""
    return torch.round(tensor(x), decimals=decimals)


@symbolic_op("clip")
def clip(x, x_min, x_max):
    return torch.clamp(tensor(x), x_min, x_max)


# --------------------------------------------------------------------------------------------------
# reductions (axis=None reduces everything; keepdims keeps reduced axes as size 1)


def _reduce(fn, x, axis, keepdims):
    axis = _axis(axis)
    if axis is None:
        out = fn(x)
        return out.reshape([1] * x.dim()) if keepdims else out
    return fn(x, dim=axis, keepdim=keepdims)


@symbolic_op("sum")
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    x = tensor(x)
    return _reduce(torch.sum, x.to(torch.int32) if x.dtype == torch.bool else x, axis, keepdims)


@symbolic_op("mean")
def mean(x, axis=None, keepdims=False):
    return _reduce(torch.mean, _float(tensor(x)), axis, keepdims)


@symbolic_op("prod")
def prod(x, axis=None, keepdims=False):
    x = tensor(x)
    axis = _axis(axis)
    if isinstance(axis, tuple):  # torch.prod takes one axis at a time
        for a in sorted((a % x.dim() for a in axis), reverse=True):
            x = torch.prod(x, dim=a, keepdim=keepdims)
        return x
    return _reduce(torch.prod, x, axis, keepdims)


def _extreme(torch_fn, x, axis, keepdims):
    x = tensor(x)
    axis = _axis(axis)
    if axis is None:
        return _reduce(torch_fn, x, None, keepdims)
    return (
        torch.amax(x, dim=axis, keepdim=keepdims)
        if torch_fn is torch.max
        else torch.amin(x, dim=axis, keepdim=keepdims)
    )


@symbolic_op("max")
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    out = _extreme(torch.max, x, axis, keepdims)
    return out if initial is None else torch.clamp(out, min=initial)


@symbolic_op("min")
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    out = _extreme(torch.min, x, axis, keepdims)
    return out if initial is None else torch.clamp(out, max=initial)


amax, amin = max, min


@symbolic_op("var")
def var(x, axis=None, keepdims=False):
    """Population variance (NumPy's ddof=0)."""
    x = _float(tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.var(x, dim=dims, correction=0, keepdim=keepdims)


@symbolic_op("std")
def std(x, axis=None, keepdims=False):
    x = _float(tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.std(x, dim=dims, correction=0, keepdim=keepdims)


@symbolic_op("any")
def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    x = tensor(x).to(torch.bool)
    axis = _axis(axis)
    return _reduce(torch.any, x, axis, keepdims)


@symbolic_op("all")
def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    x = tensor(x).to(torch.bool)
    axis = _axis(axis)
    return _reduce(torch.all, x, axis, keepdims)


@symbolic_op("argmax")
def argmax(x, axis=None, keepdims=False):
    x = tensor(x)
    if x.dtype == torch.bool:  # torch's kernels take no booleans; the order is the same
        x = x.to(torch.uint8)
    out = torch.argmax(x, dim=axis, keepdim=keepdims if axis is not None else False)
    if axis is None and keepdims:
        out = out.reshape([1] * x.dim())
    return out.to(torch.int32)


@symbolic_op("argmin")
def argmin(x, axis=None, keepdims=False):
    x = tensor(x)
    if x.dtype == torch.bool:  # torch's kernels take no booleans; the order is the same
        x = x.to(torch.uint8)
    out = torch.argmin(x, dim=axis, keepdim=keepdims if axis is not None else False)
    if axis is None and keepdims:
        out = out.reshape([1] * x.dim())
    return out.to(torch.int32)


@symbolic_op("cumsum")
def cumsum(x, axis=None, dtype=None):
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumsum(x, dim=axis, dtype=None if dtype is None else to_dtype(dtype))


@symbolic_op("logsumexp")
def logsumexp(x, axis=None, keepdims=False):
    x = _float(tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


@symbolic_op("top_k")
def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """The `k` largest values on the last axis and their indices (int32)."""
    values, indices = torch.topk(tensor(x), k, dim=-1, sorted=sorted)
    return values, indices.to(torch.int32)


# --------------------------------------------------------------------------------------------------
# Keras's `ops.numpy` namespace also holds the ops implemented in sibling modules.

from lamina.ops.arrays import (  # noqa: E402, F401
    arange,
    argsort,
    broadcast_to,
    concatenate,
    expand_dims,
    eye,
    flip,
    full,
    full_like,
    identity,
    linspace,
    moveaxis,
    ones,
    ones_like,
    pad,
    ravel,
    repeat,
    reshape,
    sort,
    split,
    squeeze,
    stack,
    swapaxes,
    take,
    take_along_axis,
    tile,
    transpose,
    tril,
    triu,
    zeros,
    zeros_like,
)
from lamina.ops.control_flow import (  # noqa: E402, F401
    vectorize,
)
from lamina.ops.core import (  # noqa: E402, F401
    ndim,
    size,
    view,
)
from lamina.ops.elementwise import (  # noqa: E402, F401
    allclose,
    angle,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan2,
    arctanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    cbrt,
    conj,
    conjugate,
    copy,
    cosh,
    deg2rad,
    divide_no_nan,
    exp2,
    fabs,
    fmax,
    fmin,
    fmod,
    gcd,
    heaviside,
    hypot,
    i0,
    imag,
    isclose,
    isneginf,
    isposinf,
    isreal,
    lcm,
    ldexp,
    left_shift,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_xor,
    nan_to_num,
    nextafter,
    rad2deg,
    real,
    right_shift,
    signbit,
    sinc,
    sinh,
    trunc,
)
from lamina.ops.indexing import (  # noqa: E402, F401
    argpartition,
    digitize,
    get_item,
    isin,
    nonzero,
    searchsorted,
    select,
    unique,
    unravel_index,
)
from lamina.ops.linalg import (  # noqa: E402, F401
    norm,
    slogdet,
)
from lamina.ops.products import (  # noqa: E402, F401
    corrcoef,
    correlate,
    cross,
    diagonal,
    inner,
    kron,
    outer,
    tensordot,
    trace,
    vdot,
)
from lamina.ops.reductions import (  # noqa: E402, F401
    average,
    bincount,
    count_nonzero,
    cumprod,
    histogram,
    median,
    nanargmax,
    nanargmin,
    nancumprod,
    nancumsum,
    nanmax,
    nanmean,
    nanmedian,
    nanmin,
    nanpercentile,
    nanprod,
    nanquantile,
    nanstd,
    nansum,
    nanvar,
    percentile,
    ptp,
    quantile,
    trapezoid,
)
from lamina.ops.shaping import (  # noqa: E402, F401
    append,
    array,
    array_split,
    bartlett,
    blackman,
    diag,
    diagflat,
    diff,
    dsplit,
    dstack,
    empty,
    empty_like,
    fliplr,
    flipud,
    geomspace,
    hamming,
    hanning,
    hsplit,
    hstack,
    kaiser,
    logspace,
    meshgrid,
    roll,
    rot90,
    tri,
    vander,
    vsplit,
    vstack,
)
