"""More of NumPy's element-wise ops: inverse trigonometry, bitwise, rounding, complex parts.

Every op here is torch's function of the same meaning, wrapped so it accepts NumPy arrays and
Python numbers and records a node on KerasTensors. Integer inputs to float-valued functions
(`arcsin`, `log2`, ...) are computed in float32, as Keras does.
"""

from __future__ import annotations

import torch

from lamina.ops.core import floating, operands, symbolic_op, tensor


def _unary(name, torch_fn, float_valued=True):
    @symbolic_op(name)
    def op(x):
        x = tensor(x)
        return torch_fn(floating(x) if float_valued else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}`, as NumPy's.\n\nArgs:\n    x: input tensor."
    return op


def _binary(name, torch_fn, float_valued=False):
    @symbolic_op(name)
    def op(x1, x2):
        a, b = operands(x1, x2)
        if float_valued:
            a, b = floating(a), floating(b)
            common = torch.promote_types(a.dtype, b.dtype)
            a, b = a.to(common), b.to(common)
        return torch_fn(a, b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}` of two tensors, as NumPy's.\n\nArgs:\n    x1, x2: inputs."
    return op


arccos = _unary("arccos", torch.acos)
arccosh = _unary("arccosh", torch.acosh)
arcsin = _unary("arcsin", torch.asin)
arcsinh = _unary("arcsinh", torch.asinh)
arctanh = _unary("arctanh", torch.atanh)
cosh = _unary("cosh", torch.cosh)
sinh = _unary("sinh", torch.sinh)
deg2rad = _unary("deg2rad", torch.deg2rad)
rad2deg = _unary("rad2deg", torch.rad2deg)
exp2 = _unary("exp2", torch.exp2)
log10 = _unary("log10", torch.log10)
log2 = _unary("log2", torch.log2)
sinc = _unary("sinc", torch.sinc)
i0 = _unary("i0", torch.special.i0)
erfc = _unary("erfc", torch.special.erfc)
erfinv = _unary("erfinv", torch.special.erfinv)
fabs = _unary("fabs", torch.abs)
trunc = _unary("trunc", torch.trunc, float_valued=False)
signbit = _unary("signbit", torch.signbit, float_valued=False)
isneginf = _unary("isneginf", torch.isneginf, float_valued=False)
isposinf = _unary("isposinf", torch.isposinf, float_valued=False)
isreal = _unary("isreal", torch.isreal, float_valued=False)
real = _unary("real", torch.real, float_valued=False)
conj = _unary("conj", lambda x: torch.conj(x).resolve_conj(), float_valued=False)
conjugate = conj
angle = _unary("angle", torch.angle)
bitwise_invert = _unary("bitwise_invert", torch.bitwise_not, float_valued=False)
bitwise_not = bitwise_invert
copy = _unary("copy", torch.clone, float_valued=False)
view_as_real = _unary("view_as_real", torch.view_as_real, float_valued=False)
view_as_complex = _unary("view_as_complex", torch.view_as_complex, float_valued=False)


@symbolic_op("cbrt")
def cbrt(x):
    """Element-wise cube root, defined for negative numbers too.

    Args:
        x: input tensor.
    """
    x = floating(tensor(x))
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


@symbolic_op("imag")
def imag(x):
    """The imaginary part (zeros for a real tensor).

    Args:
        x: input tensor.
    """
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


@symbolic_op("nan_to_num")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, infinities by `posinf`/`neginf` (the dtype's extremes by default).

    Args:
        x: input tensor.
        nan, posinf, neginf: replacement values.
    """
    return torch.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


arctan2 = _binary("arctan2", torch.atan2, float_valued=True)
hypot = _binary("hypot", torch.hypot, float_valued=True)
logaddexp = _binary("logaddexp", torch.logaddexp, float_valued=True)
logaddexp2 = _binary("logaddexp2", torch.logaddexp2, float_valued=True)
nextafter = _binary("nextafter", torch.nextafter, float_valued=True)
fmax = _binary("fmax", torch.fmax)
fmin = _binary("fmin", torch.fmin)
fmod = _binary("fmod", torch.fmod)
gcd = _binary("gcd", torch.gcd)
lcm = _binary("lcm", torch.lcm)
bitwise_and = _binary("bitwise_and", torch.bitwise_and)
bitwise_or = _binary("bitwise_or", torch.bitwise_or)
bitwise_xor = _binary("bitwise_xor", torch.bitwise_xor)
bitwise_left_shift = _binary("bitwise_left_shift", torch.bitwise_left_shift)
bitwise_right_shift = _binary("bitwise_right_shift", torch.bitwise_right_shift)
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift
logical_xor = _binary("logical_xor", torch.logical_xor)


@symbolic_op("heaviside")
def heaviside(x1, x2):
    """0 where `x1 < 0`, `x2` where `x1 == 0`, 1 where `x1 > 0`.

    Args:
        x1: input tensor.
        x2: the value at zero.
    """
    a, b = operands(x1, x2)
    common = torch.promote_types(a.dtype, b.dtype)
    if not common.is_floating_point:
        common = torch.float32
    return torch.heaviside(a.to(common), b.to(common))


@symbolic_op("ldexp")
def ldexp(x1, x2):
    """`x1 * 2**x2`.

    Args:
        x1: mantissas.
        x2: integer exponents.
    """
    a, b = operands(x1, x2)
    return torch.ldexp(floating(a), b)


@symbolic_op("divide_no_nan")
def divide_no_nan(x1, x2):
    """`x1 / x2`, with 0 wherever `x2` is 0.

    Args:
        x1: numerator.
        x2: denominator.
    """
    a, b = operands(x1, x2)
    a = floating(a)
    safe = torch.where(b == 0, torch.ones_like(b), b)
    return torch.where(b == 0, torch.zeros((), dtype=a.dtype, device=a.device), a / safe)


@symbolic_op("isclose")
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Element-wise `|x1 - x2| <= atol + rtol * |x2|`.

    Args:
        x1, x2: inputs.
        rtol, atol: relative and absolute tolerances.
        equal_nan: whether two NaNs count as close.
    """
    a, b = operands(x1, x2)
    common = torch.promote_types(a.dtype, b.dtype)
    return torch.isclose(a.to(common), b.to(common), rtol=rtol, atol=atol, equal_nan=equal_nan)


@symbolic_op("allclose")
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every element is close (see `isclose`), as a boolean scalar tensor.

    Args:
        x1, x2: inputs.
        rtol, atol: relative and absolute tolerances.
        equal_nan: whether two NaNs count as close.
    """
    return torch.all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))
