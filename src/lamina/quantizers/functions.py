"""Quantization arithmetic: abs-max int8, grouped int4 with zero point, float8 scales, nibbles.

These are the function-level tools of `keras.quantizers`, written on torch. Each takes a torch
tensor or a NumPy array and returns torch tensors; the numbers follow Keras's (round half to even,
clip to the quantized range, scale in the input's dtype).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors

_INT4_DTYPES = ("int8", "uint8")


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _torch_dtype(dtype) -> torch.dtype:
    """A torch dtype from a name, including the float8 names `backend.to_torch_dtype` lacks."""
    if isinstance(dtype, torch.dtype):
        return dtype
    found = getattr(torch, str(dtype), None)
    if isinstance(found, torch.dtype):
        return found
    return backend.to_torch_dtype(dtype)


def _axes(axis, rank):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % rank for a in axes)


def abs_max_quantize(
    inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None, to_numpy=False
):
    """Quantizes `inputs` symmetrically: `round(x * scale)` with `scale = hi / (max|x| + eps)`.

    The maximum of `|inputs|` along `axis` (kept as a size-1 dimension) maps to `value_range[1]`;
    the rounded values are clipped to `value_range` and cast to `dtype`.

    Args:
        inputs: the float tensor (or array) to quantize.
        axis: the axis, or tuple of axes, reduced to find the absolute maximum.
        value_range: `(low, high)` of the quantized values (default `(-127, 127)`).
        dtype: the dtype of the quantized output (default `"int8"`).
        epsilon: added to the maximum so an all-zero slice divides safely (default
            `backend.epsilon()`, 1e-7).
        to_numpy: compute on the host CPU, as Keras's memory-saving path does; the result is
            the same.

    Returns:
        `(quantized, scale)`: `scale` has the input's dtype and `quantized * (1 / scale)`
        approximates `inputs`.

    Example:
        >>> q, scale = abs_max_quantize(torch.tensor([[1.0, -2.0], [0.5, 0.25]]), axis=-1)
        >>> q.tolist()
        [[64, -127], [127, 63]]
        >>> scale.shape
        torch.Size([2, 1])
    """
    epsilon = backend.epsilon() if epsilon is None else epsilon
    x = _as_tensor(inputs)
    device = x.device
    if to_numpy:
        x = x.detach().cpu()
    axes = _axes(axis, x.ndim)
    peak = x.abs().amax(dim=axes, keepdim=True)
    # A true division, as Keras's: torch's `number / tensor` multiplies by the reciprocal, one
    # ulp away at times.
    denominator = peak.to(torch.promote_types(x.dtype, torch.float32)) + epsilon
    scale = torch.div(torch.tensor(value_range[1], dtype=denominator.dtype), denominator)
    scale = scale.to(x.dtype)
    outputs = torch.clamp(torch.round(x * scale), value_range[0], value_range[1])
    return outputs.to(_torch_dtype(dtype)).to(device), scale.to(device)


def abs_max_quantize_grouped_with_zero_point(
    inputs, block_size, value_range=(-8, 7), dtype="int8", epsilon=None, to_numpy=False
):
    """Quantizes a 2-D kernel asymmetrically, per group of `block_size` rows and per column.

    Each group spans `block_size` rows of axis 0 (the last group is zero-padded); its
    `scale = (max - min + epsilon) / (2**bits - 1)` and `zero_point = round(-min / scale) +
    low`, so `q = clip(round(x / scale) + zero_point, low, high)`. A group whose minimum equals
    its maximum is widened by one on each side first, as Keras's device path does.

    Args:
        inputs: the `(input_dim, output_dim)` float kernel.
        block_size: rows per group along axis 0.
        value_range: `(low, high)` of the quantized values (default `(-8, 7)`, int4).
        dtype: the dtype of the quantized output (default `"int8"`).
        epsilon: added to each group's range (default `backend.epsilon()`).
        to_numpy: Keras's host path, the one its layers take: the zero padding counts in the
            last group's range (also when there is one group) and a flat group is not widened.

    Returns:
        `(quantized, scale, zero_point)`: `quantized` has the input's shape, `scale` and
        `zero_point` (int8) have shape `(ceil(input_dim / block_size), output_dim)`.

    Example:
        >>> kernel = torch.tensor([[0.0, -1.0], [1.5, 1.0], [3.0, 0.0], [1.0, 2.0]])
        >>> q, scale, zero = abs_max_quantize_grouped_with_zero_point(kernel, block_size=2)
        >>> q.tolist()
        [[-8, -8], [7, 6], [7, -8], [-1, 7]]
        >>> zero.tolist(), zero.dtype
        ([[-8, -1], [-8, -8]], torch.int8)
    """
    epsilon = backend.epsilon() if epsilon is None else epsilon
    x = _as_tensor(inputs)
    device = x.device
    if to_numpy:
        x = x.detach().cpu()
    if x.ndim != 2:
        raise errors.value_error(
            "abs_max_quantize_grouped_with_zero_point",
            "a 2-D (input_dim, output_dim) kernel",
            f"shape {tuple(x.shape)}",
        )
    low, high = value_range
    bits = int(math.log2(high - low + 1))
    input_dim, output_dim = x.shape
    n_groups = -(-input_dim // block_size)
    padded = torch.cat([x, x.new_zeros(n_groups * block_size - input_dim, output_dim)])
    groups = padded.reshape(n_groups, block_size, output_dim)
    if to_numpy:
        # Keras's host path (the one its layers take) differs from its device path: the zero
        # padding counts in the last group's range even when there is one group, and a flat
        # group is not widened.
        lo, hi = groups.amin(dim=1), groups.amax(dim=1)
        spread = (hi - lo) + epsilon
        high_zero = high
    else:
        if n_groups > 1:
            lo, hi = groups.amin(dim=1), groups.amax(dim=1)
        else:
            lo, hi = x.amin(dim=0, keepdim=True), x.amax(dim=0, keepdim=True)
        flat = lo == hi
        lo, hi = torch.where(flat, lo - 1, lo), torch.where(flat, hi + 1, hi)
        spread = hi - lo
        if epsilon > 0:
            spread = spread + epsilon
        high_zero = 2 ** (bits - 1) - 1
    scale = torch.div(spread, torch.tensor(float(2**bits - 1), dtype=spread.dtype))
    if not to_numpy:
        scale = torch.where(scale <= 0, torch.full_like(scale, 1e-8), scale)
    zero = torch.clamp(torch.round(-lo / scale) + low, low, high_zero)
    quantized = torch.round(groups / scale[:, None, :]) + zero[:, None, :]
    quantized = torch.clamp(quantized, low, high).to(_torch_dtype(dtype))
    quantized = quantized.reshape(n_groups * block_size, output_dim)[:input_dim]
    return quantized.to(device), scale.to(device), zero.to(torch.int8).to(device)


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """Rounds `inputs` through a float8 grid: `cast(clip(x / scale), quantized_dtype) * scale`.

    Args:
        inputs: the float tensor.
        scale: the scale (a scalar tensor or broadcastable) dividing `inputs` before the cast.
        quantized_dtype: the low-precision float, `"float8_e4m3fn"` or `"float8_e5m2"`.
        compute_dtype: the float dtype of the computation and of the result.

    Example:
        >>> x = torch.tensor([0.3, 1.0, 1000.0])
        >>> quantize_and_dequantize(x, torch.tensor(1.0), "float8_e4m3fn", "float32").tolist()
        [0.3125, 1.0, 448.0]
    """
    compute = _torch_dtype(compute_dtype)
    low_precision = _torch_dtype(quantized_dtype)
    limit = float(torch.finfo(low_precision).max)
    scale = _as_tensor(scale).to(compute)
    x = _as_tensor(inputs).to(compute) / scale
    x = torch.clamp(x, -limit, limit).to(low_precision)
    return x.to(compute) * scale


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scale: `amax / dtype_max * 2**margin`, or `scale` where `amax` is 0 or inf.

    Delayed-scaling float8 training keeps a running `amax` (the largest `|x|` seen); the scale
    maps that `amax` onto the float8 format's largest finite value `dtype_max`.

    Args:
        amax: the observed absolute maximum (a scalar tensor).
        scale: the current scale, kept when `amax` is not a positive finite number.
        dtype_max: the largest finite value of the float8 format (448 for `float8_e4m3fn`).
        margin: a power-of-two headroom: the scale grows by `2**margin`.

    Example:
        >>> compute_float8_scale(torch.tensor(224.0), torch.tensor(1.0), 448.0).item()
        0.5
        >>> compute_float8_scale(torch.tensor(0.0), torch.tensor(3.0), 448.0).item()
        3.0
    """
    amax = _as_tensor(amax)
    inverse = torch.reciprocal(_as_tensor(scale))
    factor = dtype_max / amax / 2**margin
    factor = torch.where(amax > 0.0, factor, inverse)
    factor = torch.where(torch.isfinite(amax), factor, inverse)
    return torch.reciprocal(factor)


def compute_float8_amax_history(x, amax_history):
    """The amax history rolled one step: `max|x|` enters at index 0, the oldest entry leaves.

    Args:
        x: the tensor just seen.
        amax_history: the 1-D history of absolute maxima, newest first after the roll.

    Example:
        >>> compute_float8_amax_history(torch.tensor([-4.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]))
        tensor([4., 3., 1.])
    """
    history = _as_tensor(amax_history)
    rolled = torch.roll(history, shifts=-1, dims=0).clone()
    rolled[0] = _as_tensor(x).abs().max().to(history.dtype)
    return rolled


def _check_int4_dtype(dtype):
    if dtype not in _INT4_DTYPES:
        raise errors.value_error("dtype", "'int8' or 'uint8'", repr(dtype))


def pack_int4(arr, axis=0, dtype="int8"):
    """Packs int4 values (held in int8) two to a byte along `axis`: first in the low nibble.

    An odd length is padded with one zero row.

    Args:
        arr: an `int8` (or `uint8`) tensor holding values in `[-8, 7]` (`[0, 15]`).
        axis: the axis whose consecutive pairs share one byte (default 0).
        dtype: `"int8"` or `"uint8"`, the dtype of `arr` and of the packed result.

    Returns:
        `(packed, packed_shape, orig_len)`: the packed tensor, its shape as a tuple and the
        length of `axis` before padding (for `unpack_int4`).

    Example:
        >>> arr = torch.tensor([[-3, 7], [2, -8], [1, 0]], dtype=torch.int8)
        >>> packed, shape, n = pack_int4(arr)
        >>> packed.tolist(), shape, n
        ([[45, -121], [1, 0]], (2, 2), 3)
    """
    _check_int4_dtype(dtype)
    x = _as_tensor(arr)
    if backend.dtype_name(x.dtype) != dtype:
        raise TypeError(
            errors.message("pack_int4", f"a {dtype} tensor", f"{backend.dtype_name(x.dtype)}")
        )
    axis = axis % x.ndim
    front = torch.movedim(x, axis, 0)
    length = front.shape[0]
    if length % 2:
        front = torch.cat([front, front.new_zeros((1,) + tuple(front.shape[1:]))])
    # The nibbles combine in int16, so the shift cannot overflow; the byte wraps on the cast back.
    wide = front.to(torch.int16) & 0x0F
    combined = (wide[0::2] | (wide[1::2] << 4)).to(torch.uint8)
    packed = torch.movedim(combined.view(_torch_dtype(dtype)), 0, axis)
    return packed, tuple(packed.shape), length


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Unpacks `pack_int4`'s bytes back to one int4 value per element, dropping the padding.

    Args:
        packed: the `int8` or `uint8` tensor of packed nibbles.
        orig_len: the length of `axis` before packing (its third result).
        axis: the axis that was packed (default 0).
        dtype: `"int8"` gives signed values in `[-8, 7]`, `"uint8"` values in `[0, 15]`.

    Example:
        >>> packed = torch.tensor([[45, -121], [1, 0]], dtype=torch.int8)
        >>> unpack_int4(packed, 3).tolist()
        [[-3, 7], [2, -8], [1, 0]]
    """
    _check_int4_dtype(dtype)
    x = _as_tensor(packed)
    if backend.dtype_name(x.dtype) not in _INT4_DTYPES:
        raise TypeError(
            errors.message("unpack_int4", "an int8 or uint8 tensor", backend.dtype_name(x.dtype))
        )
    axis = axis % x.ndim
    front = torch.movedim(x, axis, 0).to(torch.int16)
    low, high = front & 0x0F, (front >> 4) & 0x0F
    if dtype == "int8":
        low, high = (low ^ 8) - 8, (high ^ 8) - 8
    interleaved = torch.stack([low, high], dim=1).reshape((-1,) + tuple(front.shape[1:]))
    return torch.movedim(interleaved[:orig_len].to(_torch_dtype(dtype)), 0, axis)
