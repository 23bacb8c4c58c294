"""NumPy-style ops (Keras's `ops.numpy`): element-wise math, comparisons, reductions.

Arguments may be torch tensors, NumPy arrays or Python numbers; results are torch tensors. On
KerasTensors each op records a node of the functional graph (see `ops/core.py`).
"""

from __future__ import annotations

import torch

from lamina.ops.core import axis_arg as _axis
from lamina.ops.core import boolean_product as _boolean_product
from lamina.ops.core import booleans_as_int32 as _booleans_as_int32
from lamina.ops.core import cumulative_dtype as _cumulative_dtype
from lamina.ops.core import floating as _float
from lamina.ops.core import floating_operands as _floating_operands
from lamina.ops.core import narrows_64_bits as _narrows_64_bits
from lamina.ops.core import operands as _pair
from lamina.ops.core import reduces_no_axis_when_empty as _reduces_no_axis_when_empty
from lamina.ops.core import sum_dtype as _sum_dtype
from lamina.ops.core import symbolic_op as _symbolic_op
from lamina.ops.core import tensor as _tensor
from lamina.ops.core import to_dtype as _to_dtype

# --------------------------------------------------------------------------------------------------
# element-wise, two arguments


@_symbolic_op("add", broadcasts=True)
def add(x1, x2):
    """Add two tensors element-wise, broadcasting their shapes.

    A Python number takes the dtype of the tensor it is added to when that keeps its value.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.add(np.array([1, 2]), np.array([3, 4]))
        tensor([4, 6])
    """
    a, b = _pair(x1, x2)
    return torch.add(a, b)


@_symbolic_op("subtract", broadcasts=True)
def subtract(x1, x2):
    """Subtract `x2` from `x1` element-wise, broadcasting their shapes.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.subtract(np.array([5, 7]), np.array([1, 2]))
        tensor([4, 5])
    """
    a, b = _pair(x1, x2)
    if (a.dtype == torch.bool) != (b.dtype == torch.bool):  # torch refuses bool; NumPy counts 0/1
        a, b = (a.to(b.dtype), b) if a.dtype == torch.bool else (a, b.to(a.dtype))
    return torch.sub(a, b)


@_symbolic_op("multiply", broadcasts=True)
def multiply(x1, x2):
    """Multiply two tensors element-wise, broadcasting their shapes.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.multiply(np.array([1, 2]), np.array([3, 4]))
        tensor([3, 8])
    """
    a, b = _pair(x1, x2)
    return torch.mul(a, b)


@_symbolic_op("divide", broadcasts=True)
def divide(x1, x2):
    """Divide `x1` by `x2` element-wise (true division).

    Integer inputs give a float32 result, as in Keras. `true_divide` is the same op.

    Args:
        x1: the dividend.
        x2: the divisor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.divide(np.array([1, 3]), np.array([2, 2]))
        tensor([0.5000, 1.5000])
    """
    return torch.true_divide(*_floating_operands(x1, x2))


true_divide = divide


@_symbolic_op("floor_divide", broadcasts=True)
@_narrows_64_bits
def floor_divide(x1, x2):
    """Divide `x1` by `x2` element-wise, rounding the quotient down.

    Args:
        x1: the dividend.
        x2: the divisor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.floor_divide(np.array([7, -7]), np.array([2, 2]))
        tensor([ 3, -4], dtype=torch.int32)
    """
    a, b = _pair(x1, x2)
    return torch.floor_divide(a, b)


@_symbolic_op("mod", broadcasts=True)
def mod(x1, x2):
    """The remainder of `x1 / x2` element-wise, with the sign of the divisor (NumPy's rule).

    Args:
        x1: the dividend.
        x2: the divisor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.mod(np.array([7, -7]), np.array([3, 3]))
        tensor([1, 2])
    """
    a, b = _booleans_as_int32(*_pair(x1, x2))
    return torch.remainder(a, b)


@_symbolic_op("power", broadcasts=True)
def power(x1, x2):
    """`x1` raised to the power `x2`, element-wise.

    Args:
        x1: the bases.
        x2: the exponents, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.power(np.array([2, 3]), np.array([3, 2]))
        tensor([8, 9])
    """
    a, b = _pair(x1, x2)
    return torch.pow(a, b)


@_symbolic_op("maximum", broadcasts=True)
@_narrows_64_bits
def maximum(x1, x2):
    """The larger of `x1` and `x2`, element by element.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.maximum(np.array([1, 5]), np.array([3, 2]))
        tensor([3, 5], dtype=torch.int32)
    """
    a, b = _pair(x1, x2)
    return torch.maximum(a, b)


@_symbolic_op("minimum", broadcasts=True)
@_narrows_64_bits
def minimum(x1, x2):
    """The smaller of `x1` and `x2`, element by element.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.minimum(np.array([1, 5]), np.array([3, 2]))
        tensor([1, 2], dtype=torch.int32)
    """
    a, b = _pair(x1, x2)
    return torch.minimum(a, b)


@_symbolic_op("equal", broadcasts=True)
def equal(x1, x2):
    """`x1 == x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.equal(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([False,  True, False])
    """
    a, b = _pair(x1, x2)
    return torch.eq(a, b)


@_symbolic_op("not_equal", broadcasts=True)
def not_equal(x1, x2):
    """`x1 != x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.not_equal(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([ True, False,  True])
    """
    a, b = _pair(x1, x2)
    return torch.ne(a, b)


@_symbolic_op("greater", broadcasts=True)
def greater(x1, x2):
    """`x1 > x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.greater(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([False, False,  True])
    """
    a, b = _pair(x1, x2)
    return torch.gt(a, b)


@_symbolic_op("greater_equal", broadcasts=True)
def greater_equal(x1, x2):
    """`x1 >= x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.greater_equal(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([False,  True,  True])
    """
    a, b = _pair(x1, x2)
    return torch.ge(a, b)


@_symbolic_op("less", broadcasts=True)
def less(x1, x2):
    """`x1 < x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.less(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([ True, False, False])
    """
    a, b = _pair(x1, x2)
    return torch.lt(a, b)


@_symbolic_op("less_equal", broadcasts=True)
def less_equal(x1, x2):
    """`x1 <= x2`, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.less_equal(np.array([1, 2, 3]), np.array([3, 2, 1]))
        tensor([ True,  True, False])
    """
    a, b = _pair(x1, x2)
    return torch.le(a, b)


@_symbolic_op("logical_and", broadcasts=True)
def logical_and(x1, x2):
    """Logical AND of two tensors, element-wise (nonzero counts as True).

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.logical_and(np.array([True, True, False]), np.array([True, False, False]))
        tensor([ True, False, False])
    """
    a, b = _pair(x1, x2)
    return torch.logical_and(a, b)


@_symbolic_op("logical_or", broadcasts=True)
def logical_or(x1, x2):
    """Logical OR of two tensors, element-wise (nonzero counts as True).

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.logical_or(np.array([True, True, False]), np.array([True, False, False]))
        tensor([ True,  True, False])
    """
    a, b = _pair(x1, x2)
    return torch.logical_or(a, b)


@_symbolic_op("logical_not")
def logical_not(x):
    """Logical NOT, element-wise (nonzero counts as True).

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.logical_not(np.array([True, False]))
        tensor([False,  True])
    """
    return torch.logical_not(_tensor(x))


@_symbolic_op("matmul", unifies=True)
@_narrows_64_bits
def matmul(x1, x2):
    """Matrix product of two tensors, NumPy's `matmul` rules.

    1-D arguments are treated as vectors; leading axes of 3-D and higher arguments are batch axes
    and broadcast.

    Args:
        x1: left operand.
        x2: right operand.

    Returns:
        The product tensor; int32 for two int8 operands, as in Keras.

    Example:
        >>> lamina.ops.matmul(np.array([[1, 2], [3, 4]]), np.array([[1], [1]]))
        tensor([[3],
                [7]], dtype=torch.int32)
    """
    a, b = _tensor(x1), _tensor(x2)
    if _all_int8((a, b)):
        a, b = a.to(torch.int32), b.to(torch.int32)
    return _boolean_product(torch.matmul, a, b)


@_symbolic_op("dot", unifies=True)
@_narrows_64_bits
def dot(x1, x2):
    """Dot product of two tensors, NumPy's `dot` rules.

    Scalars multiply; 1-D and 2-D arguments take the matrix (or inner) product; for N-D `x1` it sums
    over the last axis of `x1` and the second-to-last of `x2`.

    Args:
        x1: left operand.
        x2: right operand.

    Returns:
        The product tensor.

    Example:
        >>> lamina.ops.dot(np.array([1, 2, 3]), np.array([4, 5, 6]))
        tensor(32, dtype=torch.int32)
        >>> lamina.ops.dot(np.array([[1, 2], [3, 4]]), np.array([1, 1]))
        tensor([3, 7], dtype=torch.int32)
    """
    a, b = _tensor(x1), _tensor(x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    if b.dim() <= 2:  # an N-D `b` is not a batch of matrices here: NumPy's dot contracts its
        return _boolean_product(torch.matmul, a, b)  # second-last axis, keeping every other
    return _boolean_product(lambda p, q: torch.tensordot(p, q, dims=([-1], [-2])), a, b)


@_symbolic_op("einsum", unifies=True)
def einsum(subscripts, *operands, **kwargs):
    """Evaluate an Einstein-summation expression over the operands.

    Args:
        subscripts: the summation as a string, such as `"ij,jk->ik"`.
        *operands: the tensors the subscripts name, in order.
        **kwargs: NumPy's contraction options (such as `optimize`), accepted as Keras does; torch
            chooses the contraction order itself.

    Returns:
        The result tensor; int32 where every operand is int8, as in Keras.

    Example:
        >>> lamina.ops.einsum("ij,j->i", np.array([[1, 2], [3, 4]]), np.array([1, 1]))
        tensor([3, 7])
    """
    tensors = [_tensor(x) for x in operands]
    if not _all_int8(tensors):
        return torch.einsum(subscripts, *tensors)
    # in int32, so sums cannot wrap; a full sum of int32 is int64 in torch, int32 in Keras
    return torch.einsum(subscripts, *[t.to(torch.int32) for t in tensors]).to(torch.int32)


def _all_int8(tensors) -> bool:
    """Whether every operand of a product is int8: Keras's `matmul` and `einsum` then give int32
    (as JAX does), computed in int32 so that sums of products cannot wrap."""
    for t in tensors:  # a loop: this module's `all` is the op; most products stop at once
        if t.dtype != torch.int8:
            return False
    return bool(tensors)


@_symbolic_op("where", broadcasts=True)
def where(condition, x1=None, x2=None):
    """Pick from `x1` where `condition` holds and from `x2` elsewhere.

    With only a condition given, it returns the indices where the condition holds, one tensor per
    axis
    (NumPy's `nonzero`).

    Args:
        condition: boolean tensor (other dtypes count nonzero as True).
        x1: values taken where `condition` is True (default None).
        x2: values taken where `condition` is False (default None). The three broadcast together.

    Returns:
        A tensor of the broadcast shape, or a tuple of index tensors when `x1` and `x2` are None.

    Example:
        >>> lamina.ops.where(np.array([True, False, True]), np.array([1, 2, 3]), 0)
        tensor([1, 0, 3])
        >>> lamina.ops.where(np.array([0, 1, 1]))
        (tensor([1, 2]),)
    """
    condition = _tensor(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return torch.nonzero(condition, as_tuple=True)
    a, b = _pair(x1, x2)
    return torch.where(condition, a, b)


# --------------------------------------------------------------------------------------------------
# element-wise, one argument


def _unary(name, torch_fn, floating=False):
    @_symbolic_op(name)
    def op(x):
        x = _tensor(x)
        return torch_fn(_float(x) if floating else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}`, as NumPy's."
    return op


def _bool_unchanged(torch_fn):
    """`torch_fn`, except that booleans (which torch's integer kernels reject) pass through."""
    return lambda x: x if x.dtype == torch.bool else torch_fn(x)


abs = _unary("abs", _bool_unchanged(torch.abs))  # noqa: A001 - Keras's name
abs.__doc__ = """Absolute value, element-wise (`absolute` is the same op).

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.abs(np.array([-2, 3]))
        tensor([2, 3])
"""
absolute = abs
negative = _unary("negative", torch.neg)
negative.__doc__ = """Negate a tensor element-wise.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.negative(np.array([-2, 3]))
        tensor([ 2, -3])
"""
sign = _unary("sign", torch.sign)
sign.__doc__ = """The sign of each element: -1, 0 or 1.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.sign(torch.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
"""
square = _unary("square", lambda x: torch.square(x.to(torch.int32) if x.dtype == torch.bool else x))
square.__doc__ = """Square each element.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (int32 for booleans, as Keras).

    Example:
        >>> lamina.ops.square(np.array([-2, 3]))
        tensor([4, 9])
"""
sqrt = _unary("sqrt", torch.sqrt, floating=True)
sqrt.__doc__ = """Square root, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.sqrt(torch.tensor([1.0, 4.0, 9.0]))
        tensor([1., 2., 3.])
"""
rsqrt = _unary("rsqrt", torch.rsqrt, floating=True)
rsqrt.__doc__ = """Reciprocal of the square root, `1 / sqrt(x)`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.rsqrt(torch.tensor([1.0, 4.0]))
        tensor([1.0000, 0.5000])
"""
exp = _unary("exp", torch.exp, floating=True)
exp.__doc__ = """Exponential, `e ** x`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.exp(torch.tensor([0.0, 1.0]))
        tensor([1.0000, 2.7183])
"""
log = _unary("log", torch.log, floating=True)
log.__doc__ = """Natural logarithm, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.log(torch.tensor([1.0, np.e])).round(decimals=4)  # 1 ulp off on AVX-512
        tensor([0., 1.])
"""
log1p = _unary("log1p", torch.log1p, floating=True)
log1p.__doc__ = """`log(1 + x)`, element-wise, accurate for small `x`.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.log1p(torch.tensor([0.0, 1e-8]))
        tensor([0.0000e+00, 1.0000e-08])
"""
expm1 = _unary("expm1", torch.expm1, floating=True)
expm1.__doc__ = """`exp(x) - 1`, element-wise, accurate for small `x`.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.expm1(torch.tensor([0.0, 1e-8]))
        tensor([0.0000e+00, 1.0000e-08])
"""
sin = _unary("sin", torch.sin, floating=True)
sin.__doc__ = """Sine of each element (radians).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.sin(torch.tensor([0.0, np.pi / 2]))
        tensor([0., 1.])
"""
cos = _unary("cos", torch.cos, floating=True)
cos.__doc__ = """Cosine of each element (radians).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.cos(torch.tensor([0.0, np.pi]))
        tensor([ 1., -1.])
"""
tan = _unary("tan", torch.tan, floating=True)
tan.__doc__ = """Tangent of each element (radians).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.tan(torch.tensor([0.0, np.pi / 4]))
        tensor([0., 1.])
"""
tanh = _unary("tanh", torch.tanh, floating=True)
tanh.__doc__ = """Hyperbolic tangent, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.tanh(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
"""
arctan = _unary("arctan", torch.atan, floating=True)
arctan.__doc__ = """Inverse tangent, element-wise, in radians.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.arctan(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7854])
"""
erf = _unary("erf", torch.erf, floating=True)
erf.__doc__ = """The Gauss error function, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.erf(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8427])
"""
floor = _unary("floor", _narrows_64_bits(torch.floor), floating=True)
floor.__doc__ = """Round each element down to the nearest integer.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`; integers and booleans give float32, as in Keras.

    Example:
        >>> lamina.ops.floor(torch.tensor([-1.5, 1.5]))
        tensor([-2.,  1.])
"""
ceil = _unary("ceil", _narrows_64_bits(torch.ceil), floating=True)
ceil.__doc__ = """Round each element up to the nearest integer.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`; integers and booleans give float32, as in Keras.

    Example:
        >>> lamina.ops.ceil(torch.tensor([-1.5, 1.5]))
        tensor([-1.,  2.])
"""
reciprocal = _unary("reciprocal", torch.reciprocal, floating=True)
reciprocal.__doc__ = """`1 / x`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x` (float for integer `x`).

    Example:
        >>> lamina.ops.reciprocal(torch.tensor([1.0, 2.0, 4.0]))
        tensor([1.0000, 0.5000, 0.2500])
"""
isnan = _unary("isnan", torch.isnan)
isnan.__doc__ = """Whether each element is NaN.

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isnan(torch.tensor([1.0, np.inf, np.nan]))
        tensor([False, False,  True])
"""
isinf = _unary("isinf", torch.isinf)
isinf.__doc__ = """Whether each element is positive or negative infinity.

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isinf(torch.tensor([1.0, np.inf, np.nan]))
        tensor([False,  True, False])
"""
isfinite = _unary("isfinite", torch.isfinite)
isfinite.__doc__ = """Whether each element is finite (neither infinite nor NaN).

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isfinite(torch.tensor([1.0, np.inf, np.nan]))
        tensor([ True, False, False])
"""


@_symbolic_op("round")
def round(x, decimals=0):  # noqa: A001 - Keras's name
    """Round each element to `decimals` decimal places, halves to the nearest even value (as NumPy).

    Args:
        x: input tensor.
        decimals: how many decimal places to keep (default 0; negative rounds to tens, hundreds,
            ...).

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.round(torch.tensor([0.5, 1.5, 2.5]))
        tensor([0., 2., 2.])
        >>> lamina.ops.round(torch.tensor([1.234, 5.678]), decimals=1)
        tensor([1.2000, 5.7000])
    """
    x = _tensor(x)
    if x.is_floating_point() or x.is_complex():
        return torch.round(x, decimals=decimals)
    if decimals >= 0:  # integers (and booleans) are already whole: torch has no kernel for them
        return x
    return torch.round(x.double(), decimals=decimals).to(x.dtype)


@_symbolic_op("clip")
def clip(x, x_min, x_max):
    """Limit each element to the interval `[x_min, x_max]`.

    Args:
        x: input tensor.
        x_min: the smallest value kept (a number or a tensor broadcast against `x`); smaller
            elements become `x_min`.
        x_max: the largest value kept, likewise; larger elements become `x_max`.

    Returns:
        A tensor of the broadcast shape of `x` and the bounds, of their promoted dtype (booleans
        clip as int32).

    Example:
        >>> lamina.ops.clip(np.array([-3, 0, 5]), 0, 2)
        tensor([0, 0, 2])
        >>> lamina.ops.clip(np.array([-3.0, 0.0, 5.0]), np.array([0.0, 1.0, 2.0]), 4.0)
        tensor([0., 1., 4.], dtype=torch.float64)
    """
    x = _tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    scalar = (int, float, type(None))
    if isinstance(x_min, scalar) and isinstance(x_max, scalar):
        return torch.clamp(x, x_min, x_max)
    bounds = [None if b is None else _pair(x, b)[1] for b in (x_min, x_max)]
    return torch.clamp(x, *bounds)


# --------------------------------------------------------------------------------------------------
# reductions (axis=None reduces everything; keepdims keeps reduced axes as size 1)


def _reduce(fn, x, axis, keepdims):
    axis = _axis(axis)
    if axis is None:
        out = fn(x)
        return out.reshape([1] * x.dim()) if keepdims else out
    return fn(x, dim=axis, keepdim=keepdims)


@_symbolic_op("sum")
@_reduces_no_axis_when_empty
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Sum of the elements over the given axes.

    Booleans and 8/16-bit integers are summed as int32; other dtypes keep theirs (Keras's rule).

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.sum(np.array([[1, 2], [3, 4]]))
        tensor(10)
        >>> lamina.ops.sum(np.array([[1, 2], [3, 4]]), axis=0)
        tensor([4, 6])
    """
    x = _tensor(x)
    return _reduce(torch.sum, x, axis, keepdims).to(_sum_dtype(x.dtype))


@_symbolic_op("mean")
@_reduces_no_axis_when_empty
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over the given axes.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.mean(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([1.5000, 3.5000])
    """
    return _reduce(torch.mean, _float(_tensor(x)), axis, keepdims)


@_symbolic_op("prod")
@_reduces_no_axis_when_empty
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product of the elements over the given axes.

    Booleans and 8/16-bit integers multiply as int32, 64-bit dtypes as their 32-bit kin; other
    dtypes keep theirs (Keras's rule). A `dtype` given is kept as it is.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).
        dtype: the dtype of the product and result (default None: as above).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.prod(np.array([[1, 2], [3, 4]]))
        tensor(24, dtype=torch.int32)
        >>> lamina.ops.prod(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([ 2, 12], dtype=torch.int32)
    """
    x = _tensor(x)
    # the cumulative ops' rule: Keras's promotion narrows int64 / float64 to 32 bits
    dtype = _cumulative_dtype(_sum_dtype(x.dtype)) if dtype is None else _to_dtype(dtype)
    x = x.to(dtype)
    axis = _axis(axis)
    if isinstance(axis, tuple):  # torch.prod takes one axis at a time
        for a in sorted((a % x.dim() for a in axis), reverse=True):
            x = torch.prod(x, dim=a, keepdim=keepdims)
        return x.to(dtype)
    return _reduce(torch.prod, x, axis, keepdims).to(dtype)


def _extreme(torch_fn, x, axis, keepdims):
    x = _tensor(x)
    axis = _axis(axis)
    if axis is None:
        return _reduce(torch_fn, x, None, keepdims)
    return (
        torch.amax(x, dim=axis, keepdim=keepdims)
        if torch_fn is torch.max
        else torch.amin(x, dim=axis, keepdim=keepdims)
    )


def _with_initial(x, axis, initial):
    """`x` with `initial` appended along every axis reduced, so it counts as one more element.

    Then an empty `x` has an extreme too (`initial`), as in NumPy."""
    if initial is None:
        return x
    x = _tensor(x)
    axes = range(x.dim()) if axis is None else _axis(axis)
    widths = [0] * (2 * x.dim())  # torch's pad lists (before, after) from the last axis back
    for a in (axes,) if isinstance(axes, int) else axes:
        widths[2 * (x.dim() - 1 - a % x.dim()) + 1] = 1
    return torch.nn.functional.pad(x, widths, value=initial)


def _extreme_with_initial(torch_fn, x, axis, keepdims, initial):
    x = _tensor(x)
    if initial is not None and x.dim() == 0:
        # A scalar has no axis to append `initial` along: compare the two directly.
        bound = torch.as_tensor(initial, dtype=x.dtype, device=x.device)
        return (torch.maximum if torch_fn is torch.max else torch.minimum)(x, bound)
    return _extreme(torch_fn, _with_initial(x, axis, initial), axis, keepdims)


@_symbolic_op("max")
@_reduces_no_axis_when_empty
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The largest element over the given axes (`amax` is the same op).

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).
        initial: a lower bound on the result (default None: none).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.max(np.array([[1, 2], [3, 4]]), axis=0)
        tensor([3, 4])
        >>> lamina.ops.max(np.array([[1, 2], [3, 4]]), initial=10)
        tensor(10)
    """
    return _extreme_with_initial(torch.max, x, axis, keepdims, initial)


@_symbolic_op("min")
@_reduces_no_axis_when_empty
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The smallest element over the given axes (`amin` is the same op).

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).
        initial: an upper bound on the result (default None: none).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.min(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([1, 3])
        >>> lamina.ops.min(np.array([[1, 2], [3, 4]]), initial=0)
        tensor(0)
    """
    return _extreme_with_initial(torch.min, x, axis, keepdims, initial)


amax, amin = max, min


@_symbolic_op("var")
@_reduces_no_axis_when_empty
@_narrows_64_bits
def var(x, axis=None, keepdims=False):
    """Variance over the given axes.

    The population variance, dividing by N (NumPy's `ddof=0`). Integer inputs are computed in
    float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.var(np.array([[1, 2], [3, 4]]), axis=0)
        tensor([1., 1.])
    """
    x = _float(_tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.var(x, dim=dims, correction=0, keepdim=keepdims)


@_symbolic_op("std")
@_reduces_no_axis_when_empty
def std(x, axis=None, keepdims=False):
    """Standard deviation over the given axes.

    The population standard deviation, dividing by N (NumPy's `ddof=0`). Integer inputs are computed
    in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.std(np.array([[1, 2], [3, 4]]), axis=0)
        tensor([1., 1.])
    """
    x = _float(_tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.std(x, dim=dims, correction=0, keepdim=keepdims)


@_symbolic_op("any")
@_reduces_no_axis_when_empty
def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether any element is True (nonzero) over the given axes.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        A boolean tensor.

    Example:
        >>> lamina.ops.any(np.array([[0, 1], [0, 0]]), axis=1)
        tensor([ True, False])
    """
    x = _tensor(x).to(torch.bool)
    axis = _axis(axis)
    return _reduce(torch.any, x, axis, keepdims)


@_symbolic_op("all")
@_reduces_no_axis_when_empty
def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether every element is True (nonzero) over the given axes.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        A boolean tensor.

    Example:
        >>> lamina.ops.all(np.array([[1, 1], [0, 1]]), axis=1)
        tensor([ True, False])
    """
    x = _tensor(x).to(torch.bool)
    axis = _axis(axis)
    return _reduce(torch.all, x, axis, keepdims)


@_symbolic_op("argmax")
def argmax(x, axis=None, keepdims=False):
    """The index of the largest element along an axis (the first one on ties).

    Boolean tensors are accepted.

    Args:
        x: input tensor.
        axis: the axis to search (default None: the flattened tensor).
        keepdims: whether to keep the searched axis as size 1 (default False).

    Returns:
        An int32 tensor of indices.

    Example:
        >>> lamina.ops.argmax(np.array([[1, 5, 2], [7, 0, 3]]), axis=1)
        tensor([1, 0], dtype=torch.int32)
        >>> lamina.ops.argmax(np.array([[1, 5, 2], [7, 0, 3]]))
        tensor(3, dtype=torch.int32)
    """
    x = _tensor(x)
    if x.dtype == torch.bool:  # torch's kernels take no booleans; the order is the same
        x = x.to(torch.uint8)
    out = torch.argmax(x, dim=axis, keepdim=keepdims if axis is not None else False)
    if axis is None and keepdims:
        out = out.reshape([1] * x.dim())
    return out.to(torch.int32)


@_symbolic_op("argmin")
def argmin(x, axis=None, keepdims=False):
    """The index of the smallest element along an axis (the first one on ties).

    Boolean tensors are accepted.

    Args:
        x: input tensor.
        axis: the axis to search (default None: the flattened tensor).
        keepdims: whether to keep the searched axis as size 1 (default False).

    Returns:
        An int32 tensor of indices.

    Example:
        >>> lamina.ops.argmin(np.array([[1, 5, 2], [7, 0, 3]]), axis=1)
        tensor([0, 1], dtype=torch.int32)
        >>> lamina.ops.argmin(np.array([[1, 5, 2], [7, 0, 3]]))
        tensor(4, dtype=torch.int32)
    """
    x = _tensor(x)
    if x.dtype == torch.bool:  # torch's kernels take no booleans; the order is the same
        x = x.to(torch.uint8)
    out = torch.argmin(x, dim=axis, keepdim=keepdims if axis is not None else False)
    if axis is None and keepdims:
        out = out.reshape([1] * x.dim())
    return out.to(torch.int32)


@_symbolic_op("cumsum")
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum of the elements along an axis.

    Args:
        x: input tensor.
        axis: the axis to accumulate along (default None: the flattened tensor).
        dtype: the dtype of the result and accumulator (default None: `x`'s); booleans count
            in int32 and 64-bit dtypes narrow to 32 bits, as Keras.

    Returns:
        A tensor shaped like `x` (1-D when `axis` is None).

    Example:
        >>> lamina.ops.cumsum(np.array([[1, 2], [3, 4]]), axis=1)
        tensor([[1, 3],
                [3, 7]], dtype=torch.int32)
        >>> lamina.ops.cumsum(np.array([[1.0, 2.0], [3.0, 4.0]]))
        tensor([ 1.,  3.,  6., 10.])
    """
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumsum(x, dim=axis, dtype=_cumulative_dtype(x.dtype, dtype))


@_symbolic_op("logsumexp")
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over the given axes, computed without overflow.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.
        axis: an axis or tuple of axes to reduce (default None: all of them).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The reduced tensor.

    Example:
        >>> lamina.ops.logsumexp(torch.tensor([0.0, 0.0]))
        tensor(0.6931)
        >>> lamina.ops.logsumexp(torch.tensor([1000.0, 1000.0]))
        tensor(1000.6932)
    """
    x = _float(_tensor(x))
    dims = _axis(axis) if axis is not None else tuple(range(x.dim()))
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


@_symbolic_op("top_k")
def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """The `k` largest values along the last axis, with their indices.

    Args:
        x: input tensor.
        k: how many values to return per row.
        sorted: whether the values come in descending order (default True).

    Returns:
        A tuple `(values, indices)`, each shaped like `x` with the last axis of size `k`; the
        indices
        are int32.

    Example:
        >>> values, indices = lamina.ops.top_k(np.array([[1, 5, 2, 4]]), k=2)
        >>> values, indices
        (tensor([[5, 4]]), tensor([[1, 3]], dtype=torch.int32))
    """
    values, indices = torch.topk(_tensor(x), k, dim=-1, sorted=sorted)
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
from lamina.ops.padding import pad  # noqa: E402, F401
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

# The public names: exactly Keras's `ops.numpy`. erf, logsumexp, rsqrt and top_k (defined here) and
# norm are public in `lamina.ops` (Keras: `ops`, `ops.math`, `ops.linalg`), not in this namespace.
__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any", "append",
    "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "argmax", "argmin", "argpartition", "argsort", "array", "array_split", "average",
    "bartlett", "bincount", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "blackman",
    "broadcast_to", "cbrt", "ceil", "clip", "concatenate", "conj", "conjugate", "copy",
    "corrcoef", "correlate", "cos", "cosh", "count_nonzero", "cross", "cumprod", "cumsum",
    "deg2rad", "diag", "diagflat", "diagonal", "diff", "digitize", "divide", "divide_no_nan",
    "dot", "dsplit", "dstack", "einsum", "empty", "empty_like", "equal", "exp", "exp2",
    "expand_dims", "expm1", "eye", "fabs", "flip", "fliplr", "flipud", "floor", "floor_divide",
    "fmax", "fmin", "fmod", "full", "full_like", "gcd", "geomspace", "get_item", "greater",
    "greater_equal", "hamming", "hanning", "heaviside", "histogram", "hsplit", "hstack",
    "hypot", "i0", "identity", "imag", "inner", "isclose", "isfinite", "isin", "isinf", "isnan",
    "isneginf", "isposinf", "isreal", "kaiser", "kron", "lcm", "ldexp", "left_shift", "less",
    "less_equal", "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logspace", "matmul", "max",
    "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis", "multiply",
    "nan_to_num", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean",
    "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum",
    "nanvar", "ndim", "negative", "nextafter", "nonzero", "not_equal", "ones", "ones_like",
    "outer", "pad", "percentile", "power", "prod", "ptp", "quantile", "rad2deg", "ravel",
    "real", "reciprocal", "repeat", "reshape", "right_shift", "roll", "rot90", "round",
    "searchsorted", "select", "sign", "signbit", "sin", "sinc", "sinh", "size", "slogdet",
    "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "swapaxes",
    "take", "take_along_axis", "tan", "tanh", "tensordot", "tile", "trace", "transpose",
    "trapezoid", "tri", "tril", "triu", "true_divide", "trunc", "unique", "unravel_index",
    "vander", "var", "vdot", "vectorize", "view", "vsplit", "vstack", "where", "zeros",
    "zeros_like",
]  # fmt: skip
