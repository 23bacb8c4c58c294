"""More of NumPy's element-wise ops: inverse trigonometry, bitwise, rounding, complex parts.

Every op here is torch's function of the same meaning, wrapped so it accepts NumPy arrays and
Python numbers and records a node on KerasTensors. Integer inputs to float-valued functions
(`arcsin`, `log2`, ...) are computed in float32, as Keras does.
"""

from __future__ import annotations

import torch

from lamina.engine import errors
from lamina.ops.core import (
    booleans_as_int32,
    floating,
    floating_operands,
    narrows_64_bits,
    operands,
    symbolic_op,
    tensor,
)


def _unary(name, torch_fn, float_valued=True):
    @symbolic_op(name)
    def op(x):
        x = tensor(x)
        return torch_fn(floating(x) if float_valued else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}`, as NumPy's.\n\nArgs:\n    x: input tensor."
    return op


def _binary(name, torch_fn, float_valued=False):
    @symbolic_op(name, broadcasts=True)
    def op(x1, x2):
        a, b = floating_operands(x1, x2) if float_valued else operands(x1, x2)
        return torch_fn(a, b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}` of two tensors, as NumPy's.\n\nArgs:\n    x1, x2: inputs."
    return op


def _bitwise(name, torch_fn):
    """A binary bitwise op under Keras's argument names for them, `x` and `y`."""

    @symbolic_op(name, broadcasts=True)
    def op(x, y):
        return torch_fn(*operands(x, y))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}` of two tensors, as NumPy's.\n\nArgs:\n    x, y: inputs."
    return op


arccos = _unary("arccos", torch.acos)
arccos.__doc__ = """Inverse cosine, element-wise, in radians (`[0, pi]`).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.arccos(torch.tensor([1.0, 0.0]))
        tensor([0.0000, 1.5708])
"""
arccosh = _unary("arccosh", torch.acosh)
arccosh.__doc__ = """Inverse hyperbolic cosine, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.arccosh(torch.tensor([1.0, 2.0]))
        tensor([0.0000, 1.3170])
"""
arcsin = _unary("arcsin", torch.asin)
arcsin.__doc__ = """Inverse sine, element-wise, in radians (`[-pi/2, pi/2]`).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.arcsin(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 1.5708])
"""
arcsinh = _unary("arcsinh", torch.asinh)
arcsinh.__doc__ = """Inverse hyperbolic sine, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.arcsinh(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8814])
"""
arctanh = _unary("arctanh", torch.atanh)
arctanh.__doc__ = """Inverse hyperbolic tangent, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.arctanh(torch.tensor([0.0, 0.5]))
        tensor([0.0000, 0.5493])
"""
cosh = _unary("cosh", torch.cosh)
cosh.__doc__ = """Hyperbolic cosine, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.cosh(torch.tensor([0.0, 1.0]))
        tensor([1.0000, 1.5431])
"""
sinh = _unary("sinh", torch.sinh)
sinh.__doc__ = """Hyperbolic sine, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sinh(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 1.1752])
"""
deg2rad = _unary("deg2rad", torch.deg2rad)
deg2rad.__doc__ = """Convert angles from degrees to radians.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.deg2rad(np.array([0, 90, 180]))
        tensor([0.0000, 1.5708, 3.1416])
"""
rad2deg = _unary("rad2deg", torch.rad2deg)
rad2deg.__doc__ = """Convert angles from radians to degrees.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.rad2deg(torch.tensor([0.0, np.pi / 2]))
        tensor([ 0., 90.])
"""
exp2 = _unary("exp2", torch.exp2)
exp2.__doc__ = """`2 ** x`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.exp2(np.array([0, 1, 3]))
        tensor([1., 2., 8.])
"""
log10 = _unary("log10", torch.log10)
log10.__doc__ = """Base-10 logarithm, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.log10(np.array([1, 100, 1000]))
        tensor([0., 2., 3.])
"""
log2 = _unary("log2", torch.log2)
log2.__doc__ = """Base-2 logarithm, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.log2(np.array([1, 8, 1024]))
        tensor([ 0.,  3., 10.])
"""
sinc = _unary("sinc", torch.sinc)
sinc.__doc__ = """The normalized sinc function, `sin(pi * x) / (pi * x)` (1 at 0), element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.sinc(torch.tensor([0.0, 0.5]))
        tensor([1.0000, 0.6366])
"""
i0 = _unary("i0", torch.special.i0)
i0.__doc__ = """The modified Bessel function of the first kind, order 0, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.i0(torch.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
"""
erfc = _unary("erfc", torch.special.erfc)
erfc.__doc__ = """The complementary error function, `1 - erf(x)`, element-wise.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.erfc(torch.tensor([0.0, 1.0]))
        tensor([1.0000, 0.1573])
"""
erfinv = _unary("erfinv", torch.special.erfinv)
erfinv.__doc__ = """The inverse error function, element-wise (defined on `(-1, 1)`).

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.erfinv(torch.tensor([0.0, 0.5]))
        tensor([0.0000, 0.4769])
"""
fabs = _unary("fabs", torch.abs)
fabs.__doc__ = """Absolute value, element-wise, always as a float.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.fabs(np.array([-2, 3]))
        tensor([2., 3.])
"""
trunc = _unary(
    "trunc", lambda x: x if x.dtype == torch.bool else torch.trunc(x), float_valued=False
)
trunc.__doc__ = """Round each element toward zero.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.trunc(torch.tensor([-1.7, 0.5, 2.9]))
        tensor([-1.,  0.,  2.])
"""
signbit = _unary("signbit", torch.signbit, float_valued=False)
signbit.__doc__ = """Whether each element's sign bit is set (True for negatives, and for -0.0).

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.signbit(torch.tensor([-1.0, -0.0, 0.0, 2.0]))
        tensor([ True,  True, False, False])
"""
isneginf = _unary("isneginf", torch.isneginf, float_valued=False)
isneginf.__doc__ = """Whether each element is negative infinity.

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isneginf(torch.tensor([-np.inf, 0.0, np.inf]))
        tensor([ True, False, False])
"""
isposinf = _unary("isposinf", torch.isposinf, float_valued=False)
isposinf.__doc__ = """Whether each element is positive infinity.

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isposinf(torch.tensor([-np.inf, 0.0, np.inf]))
        tensor([False, False,  True])
"""
isreal = _unary("isreal", torch.isreal, float_valued=False)
isreal.__doc__ = """Whether each element has a zero imaginary part (always True for real dtypes).

    Args:
        x: input tensor.

    Returns:
        A boolean tensor shaped like `x`.

    Example:
        >>> lamina.ops.isreal(torch.tensor([1 + 0j, 1 + 2j]))
        tensor([ True, False])
"""
real = _unary("real", torch.real, float_valued=False)
real.__doc__ = """The real part of each element (a real tensor is returned as is).

    Args:
        x: input tensor.

    Returns:
        A real tensor shaped like `x`.

    Example:
        >>> lamina.ops.real(torch.tensor([1 + 2j, 3 - 1j]))
        tensor([1., 3.])
"""
conj = _unary("conj", lambda x: torch.conj(x).resolve_conj(), float_valued=False)
conj.__doc__ = """The complex conjugate, element-wise (`conjugate` is the same op).

    A real tensor is returned unchanged.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.conj(torch.tensor([1 + 2j, 3 - 1j]))
        tensor([1.-2.j, 3.+1.j])
"""
conjugate = conj
angle = _unary("angle", torch.angle)
angle.__doc__ = """The argument (phase angle) of each complex element, in radians.

    A real tensor gives 0 for non-negative elements and pi for negative ones.

    Args:
        x: input tensor.

    Returns:
        A real floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.angle(torch.tensor([1 + 0j, 1j, -1 + 0j]))
        tensor([0.0000, 1.5708, 3.1416])
"""
bitwise_invert = _unary("bitwise_invert", torch.bitwise_not, float_valued=False)
bitwise_invert.__doc__ = """Bitwise NOT of each integer (or boolean) element.

    `bitwise_not` is the same op.

    Args:
        x: integer or boolean tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.bitwise_invert(np.array([0, 5, -1]))
        tensor([-1, -6,  0])
"""
bitwise_not = bitwise_invert
copy = _unary("copy", torch.clone, float_valued=False)
copy.__doc__ = """A copy of `x` that shares no memory with it.

    Args:
        x: input tensor.

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.copy(np.array([1, 2]))
        tensor([1, 2])
"""
view_as_real = _unary("view_as_real", torch.view_as_real, float_valued=False)
view_as_real.__doc__ = """View a complex tensor as real, with a last axis of size 2.

    The new axis holds (real, imag).

    Args:
        x: complex tensor.

    Returns:
        A real tensor of shape `x.shape + (2,)`, sharing `x`'s memory.

    Example:
        >>> lamina.ops.view_as_real(torch.tensor([1 + 2j, 3 - 1j]))
        tensor([[ 1.,  2.],
                [ 3., -1.]])
"""


@symbolic_op("view_as_complex")
def view_as_complex(x):
    """View a real tensor whose last axis has size 2 as complex numbers.

    The result is complex64 whatever the input's float dtype, as in Keras.

    Args:
        x: real tensor whose last axis has size 2 (real, imag).

    Returns:
        A complex64 tensor of shape `x.shape[:-1]`, sharing the memory of a contiguous float32
        `x`.

    Example:
        >>> lamina.ops.view_as_complex(torch.tensor([[1.0, 2.0], [3.0, -1.0]]))
        tensor([1.+2.j, 3.-1.j])
    """
    x = tensor(x)
    if x.dim() < 1 or x.shape[-1] != 2:
        raise errors.value_error(
            "view_as_complex()", "a last axis of size 2 (real, imag)", f"shape {tuple(x.shape)}"
        )
    return torch.view_as_complex(x.to(torch.float32).contiguous())


@symbolic_op("cbrt")
def cbrt(x):
    """Cube root, element-wise, negative numbers included.

    Integer inputs are computed in float32.

    Args:
        x: input tensor.

    Returns:
        A floating tensor shaped like `x`.

    Example:
        >>> lamina.ops.cbrt(torch.tensor([-8.0, 1.0, 27.0]))
        tensor([-2.,  1.,  3.])
    """
    x = floating(tensor(x))
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


@symbolic_op("imag")
def imag(x):
    """The imaginary part of each element (zeros for a real tensor).

    Args:
        x: input tensor.

    Returns:
        A real tensor shaped like `x`.

    Example:
        >>> lamina.ops.imag(torch.tensor([1 + 2j, 3 - 1j]))
        tensor([ 2., -1.])
    """
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


@symbolic_op("nan_to_num")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinite elements by finite numbers.

    Args:
        x: input tensor.
        nan: the value NaNs become (default 0.0).
        posinf: the value positive infinities become (default None: the dtype's largest finite
            value).
        neginf: the value negative infinities become (default None: the dtype's smallest finite
            value).

    Returns:
        A tensor shaped like `x`.

    Example:
        >>> lamina.ops.nan_to_num(torch.tensor([np.nan, np.inf, -np.inf]), posinf=9.0, neginf=-9.0)
        tensor([ 0.,  9., -9.])
    """
    return torch.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


arctan2 = _binary("arctan2", narrows_64_bits(torch.atan2), float_valued=True)
arctan2.__doc__ = """The angle of the point `(x2, x1)`: `arctan(x1 / x2)` in the right quadrant.

    Integer inputs are computed in float32; the two inputs are promoted to a common dtype.

    Args:
        x1: the y coordinates.
        x2: the x coordinates, broadcast against `x1`.

    Returns:
        A floating tensor of the broadcast shape, in radians in `[-pi, pi]`.

    Example:
        >>> lamina.ops.arctan2(torch.tensor([1.0, 1.0, -1.0]), torch.tensor([1.0, -1.0, -1.0]))
        tensor([ 0.7854,  2.3562, -2.3562])
"""
hypot = _binary("hypot", narrows_64_bits(torch.hypot), float_valued=True)
hypot.__doc__ = """The hypotenuse `sqrt(x1**2 + x2**2)`, element-wise.

    Integer inputs are computed in float32; the two inputs are promoted to a common dtype.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.hypot(torch.tensor([3.0, 5.0]), torch.tensor([4.0, 12.0]))
        tensor([ 5., 13.])
"""
logaddexp = _binary("logaddexp", narrows_64_bits(torch.logaddexp), float_valued=True)
logaddexp.__doc__ = """`log(exp(x1) + exp(x2))`, element-wise, without overflow.

    Integer inputs are computed in float32; the two inputs are promoted to a common dtype.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.logaddexp(torch.tensor(1000.0), torch.tensor(1000.0))
        tensor(1000.6932)
"""
logaddexp2 = _binary("logaddexp2", narrows_64_bits(torch.logaddexp2), float_valued=True)
logaddexp2.__doc__ = """`log2(2**x1 + 2**x2)`, element-wise, without overflow.

    Integer inputs are computed in float32; the two inputs are promoted to a common dtype.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.logaddexp2(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0]))
        tensor([2., 4.])
"""
nextafter = _binary("nextafter", narrows_64_bits(torch.nextafter), float_valued=True)
nextafter.__doc__ = """The next representable floating value after `x1` in the direction of `x2`.

    Integer inputs are computed in float32; the two inputs are promoted to a common dtype.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.nextafter(torch.tensor(1.0), torch.tensor(2.0)) - 1.0
        tensor(1.1921e-07)
"""
fmax = _binary("fmax", narrows_64_bits(torch.fmax))
fmax.__doc__ = """The larger of `x1` and `x2` element by element, ignoring NaN.

    Where one side is NaN the other is returned; NaN only where both are.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.fmax(torch.tensor([1.0, np.nan, np.nan]), torch.tensor([2.0, 3.0, np.nan]))
        tensor([2., 3., nan])
"""
fmin = _binary("fmin", narrows_64_bits(torch.fmin))
fmin.__doc__ = """The smaller of `x1` and `x2` element by element, ignoring NaN.

    Where one side is NaN the other is returned; NaN only where both are.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.fmin(torch.tensor([1.0, np.nan, np.nan]), torch.tensor([2.0, 3.0, np.nan]))
        tensor([1., 3., nan])
"""
fmod = _binary("fmod", lambda a, b: torch.fmod(*booleans_as_int32(a, b)))
fmod.__doc__ = """Remainder of `x1 / x2` with the sign of the dividend (C's `fmod`), element-wise.

    Unlike `mod`, whose result takes the sign of the divisor.

    Args:
        x1: the dividend.
        x2: the divisor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.fmod(np.array([7, -7]), np.array([3, 3]))
        tensor([ 1, -1])
"""
gcd = _binary("gcd", torch.gcd)
gcd.__doc__ = """Greatest common divisor of integers, element-wise.

    Args:
        x1: integer tensor.
        x2: integer tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.gcd(np.array([12, 7]), np.array([18, 5]))
        tensor([6, 1])
"""
lcm = _binary("lcm", torch.lcm)
lcm.__doc__ = """Least common multiple of integers, element-wise.

    Args:
        x1: integer tensor.
        x2: integer tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.lcm(np.array([4, 3]), np.array([6, 5]))
        tensor([12, 15])
"""
bitwise_and = _bitwise("bitwise_and", torch.bitwise_and)
bitwise_and.__doc__ = """Bitwise AND of integer (or boolean) tensors, element-wise.

    Args:
        x: integer or boolean tensor.
        y: integer or boolean tensor, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape of `x` and `y`.

    Example:
        >>> lamina.ops.bitwise_and(np.array([12, 10]), np.array([10, 6]))
        tensor([8, 2])
"""
bitwise_or = _bitwise("bitwise_or", torch.bitwise_or)
bitwise_or.__doc__ = """Bitwise OR of integer (or boolean) tensors, element-wise.

    Args:
        x: integer or boolean tensor.
        y: integer or boolean tensor, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape of `x` and `y`.

    Example:
        >>> lamina.ops.bitwise_or(np.array([12, 10]), np.array([10, 6]))
        tensor([14, 14])
"""
bitwise_xor = _bitwise("bitwise_xor", torch.bitwise_xor)
bitwise_xor.__doc__ = """Bitwise XOR of integer (or boolean) tensors, element-wise.

    Args:
        x: integer or boolean tensor.
        y: integer or boolean tensor, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape of `x` and `y`.

    Example:
        >>> lamina.ops.bitwise_xor(np.array([12, 10]), np.array([10, 6]))
        tensor([ 6, 12])
"""
bitwise_left_shift = _bitwise("bitwise_left_shift", torch.bitwise_left_shift)
bitwise_left_shift.__doc__ = """Shift the bits of `x` left by `y` places, element-wise.

    `left_shift` is the same op.

    Args:
        x: integer tensor.
        y: the shift amounts, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape of `x` and `y`.

    Example:
        >>> lamina.ops.bitwise_left_shift(np.array([1, 3]), np.array([2, 1]))
        tensor([4, 6])
"""
bitwise_right_shift = _bitwise("bitwise_right_shift", torch.bitwise_right_shift)
bitwise_right_shift.__doc__ = """Shift the bits of `x` right by `y` places, element-wise.

    `right_shift` is the same op. Negative numbers shift arithmetically (the sign bit is kept).

    Args:
        x: integer tensor.
        y: the shift amounts, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape of `x` and `y`.

    Example:
        >>> lamina.ops.bitwise_right_shift(np.array([8, 7]), np.array([2, 1]))
        tensor([2, 3])
"""
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift
logical_xor = _binary("logical_xor", torch.logical_xor)
logical_xor.__doc__ = """Logical XOR of two tensors, element-wise (nonzero counts as True).

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.logical_xor(np.array([True, True, False]), np.array([True, False, False]))
        tensor([False,  True, False])
"""


@symbolic_op("heaviside", broadcasts=True)
@narrows_64_bits
def heaviside(x1, x2):
    """The Heaviside step function: 0 where `x1 < 0`, `x2` where `x1 == 0`, 1 where `x1 > 0`.

    Integer inputs give float32.

    Args:
        x1: input tensor.
        x2: the value taken where `x1` is 0, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.heaviside(torch.tensor([-2.0, 0.0, 3.0]), 0.5)
        tensor([0.0000, 0.5000, 1.0000])
    """
    return torch.heaviside(*floating_operands(x1, x2))


@symbolic_op("ldexp")
@narrows_64_bits
def ldexp(x1, x2):
    """`x1 * 2**x2`, element-wise.

    Args:
        x1: the mantissas (integers are computed in float32).
        x2: integer exponents, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.ldexp(torch.tensor([1.0, 3.0]), np.array([3, -1]))
        tensor([8.0000, 1.5000])
    """
    a, b = operands(x1, x2)
    return torch.ldexp(floating(a), b)


@symbolic_op("divide_no_nan", broadcasts=True)
@narrows_64_bits
def divide_no_nan(x1, x2):
    """`x1 / x2` element-wise, with 0 wherever `x2` is 0.

    Integer inputs give float32; the result has no NaN or infinity from a zero divisor.

    Args:
        x1: the numerator.
        x2: the denominator, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape of `x1` and `x2`.

    Example:
        >>> lamina.ops.divide_no_nan(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 0.0, 1.0]))
        tensor([0.5000, 0.0000, 3.0000])
    """
    a, b = floating_operands(x1, x2)  # uint8 / bfloat16 is bfloat16, as Keras
    safe = torch.where(b == 0, torch.ones_like(b), b)
    return torch.where(b == 0, torch.zeros((), dtype=a.dtype, device=a.device), a / safe)


@symbolic_op("isclose", broadcasts=True)
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `x1` and `x2` are equal within a tolerance, element-wise.

    Elements count as close when `|x1 - x2| <= atol + rtol * |x2|`.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.
        rtol: relative tolerance (default 1e-5).
        atol: absolute tolerance (default 1e-8).
        equal_nan: whether two NaNs count as close (default False).

    Returns:
        A boolean tensor of the broadcast shape.

    Example:
        >>> lamina.ops.isclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0 + 1e-7, 2.1]))
        tensor([ True, False])
    """
    a, b = operands(x1, x2)
    common = torch.promote_types(a.dtype, b.dtype)
    return torch.isclose(a.to(common), b.to(common), rtol=rtol, atol=atol, equal_nan=equal_nan)


@symbolic_op("allclose", broadcasts=True)
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every element of `x1` is close to `x2` (see `isclose`).

    Elements count as close when `|x1 - x2| <= atol + rtol * |x2|`.

    Args:
        x1: first input tensor.
        x2: second input tensor, broadcast against `x1`.
        rtol: relative tolerance (default 1e-5).
        atol: absolute tolerance (default 1e-8).
        equal_nan: whether two NaNs count as close (default False).

    Returns:
        A boolean scalar tensor.

    Example:
        >>> lamina.ops.allclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0 + 1e-7, 2.1]))
        tensor(False)
    """
    return torch.all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))
