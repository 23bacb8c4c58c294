"""`fake_quant_with_min_max_vars`: quantize-dequantize in the forward pass, straight-through back.

The range `[min, max]` is first nudged so that 0.0 falls exactly on the integer grid (TensorFlow's
`FakeQuantWithMinMaxVars` rule, which Keras follows). Gradients pass straight through inside the
nudged range, and the upstream gradient of the values clipped below (above) flows to `min_vals`
(`max_vals`), so the range itself can be learned.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina.ops.core import symbolic_op


def _nudged_range(min_range, max_range, num_bits, narrow_range):
    """`(nudged_min, nudged_max, scale, inv_scale)`, computed in at least float32."""
    compute = torch.promote_types(min_range.dtype, torch.float32)
    min_range, max_range = min_range.to(compute), max_range.to(compute)
    quant_max = (1 << num_bits) - 1
    quant_min = 1 if narrow_range else 0
    spread = max_range - min_range
    scale = spread / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / spread
    zero_point = torch.round(torch.clamp(quant_min - min_range / scale, quant_min, quant_max))
    return (quant_min - zero_point) * scale, (quant_max - zero_point) * scale, scale, inv_scale


class _FakeQuant(torch.autograd.Function):
    # setup_context style with a vmap rule and a forward-mode derivative: torch.func applies.
    generate_vmap_rule = True

    @staticmethod
    def forward(x, min_vals, max_vals, num_bits, narrow_range, axis):
        nudged_min, nudged_max, scale, inv_scale = _nudged_range(
            min_vals, max_vals, num_bits, narrow_range
        )
        quant_zero = torch.floor(-nudged_min * inv_scale + 0.5)
        shifted = torch.clamp(x.to(nudged_min.dtype), nudged_min, nudged_max) - nudged_min
        result = torch.floor(shifted * inv_scale - quant_zero + 0.5) * scale
        masks = (x >= nudged_min, x <= nudged_max, x <= nudged_min, x >= nudged_max)
        return result.to(x.dtype), *masks

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, min_vals, max_vals, _, _, axis = inputs
        _, above_min, below_max, at_min, at_max = output
        ctx.mark_non_differentiable(above_min, below_max, at_min, at_max)
        ctx.save_for_backward(above_min, below_max, at_min, at_max)
        ctx.save_for_forward(above_min, below_max, at_min, at_max)
        ctx.axis = axis
        ctx.shapes = (min_vals.shape, max_vals.shape)

    @staticmethod
    def backward(ctx, upstream, *_masks):
        above_min, below_max, at_min, at_max = ctx.saved_tensors
        zero = torch.zeros((), dtype=upstream.dtype, device=upstream.device)
        dx = torch.where(above_min & below_max, upstream, zero)
        reduced = [i for i in range(dx.ndim) if i != ctx.axis]

        def gather(mask, shape):
            flowing = torch.where(mask, upstream, zero)
            if ctx.axis is None:
                return flowing.sum().reshape(shape)
            # sum(dim=[]) would sum everything: a 1-D input is the channel axis alone
            return (flowing.sum(dim=reduced) if reduced else flowing).reshape(shape)

        grad_min = gather(at_min, ctx.shapes[0])
        grad_max = gather(at_max, ctx.shapes[1])
        return dx, grad_min, grad_max, None, None, None

    @staticmethod
    def jvp(ctx, x_tangent, min_tangent, max_tangent, *_):
        """The backward's transpose: x's tangent inside the range, the range ends' outside."""
        above_min, below_max, at_min, at_max = ctx.saved_tensors
        tangent = torch.where(above_min & below_max, x_tangent, 0.0)
        if min_tangent is not None:
            tangent = tangent + torch.where(at_min, min_tangent, 0.0)
        if max_tangent is not None:
            tangent = tangent + torch.where(at_max, max_tangent, 0.0)
        return tangent, None, None, None, None


@symbolic_op("fake_quant_with_min_max_vars")  # as Keras: on an Input it records a graph node
def fake_quant_with_min_max_vars(
    inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None
):
    """Fake-quantizes `inputs` to `num_bits` within `[min_vals, max_vals]`, per tensor or channel.

    The values are clipped to the (nudged) range, snapped to one of `2**num_bits` levels
    (`2**num_bits - 1` with `narrow_range`) and returned as floats of the input's dtype. The
    gradient is the identity inside the range and zero outside; the gradients of the clipped
    values flow to `min_vals` and `max_vals`, which may therefore be trained.

    Args:
        inputs: the float tensor.
        min_vals: the lower end of the range: a scalar, or one value per channel.
        max_vals: the upper end of the range, shaped like `min_vals`.
        num_bits: the bit width of the grid (default 8).
        narrow_range: leave out the lowest level, using `[1, 2**num_bits - 1]` (default False).
        axis: the channel axis of per-channel ranges; None (default) for one range. As in Keras,
            per-channel `min_vals` broadcast against `inputs` as given (so usually `axis=-1`).

    Example:
        >>> x = torch.tensor([-1.5, 0.4, 0.6, 3.0], requires_grad=True)
        >>> y = fake_quant_with_min_max_vars(x, -1.0, 2.0, num_bits=2)
        >>> y.tolist()
        [-1.0, 0.0, 1.0, 2.0]
        >>> y.sum().backward()
        >>> x.grad.tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    x = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())

    def tensor(value):
        if isinstance(value, torch.Tensor):
            return value.to(x.device)
        return torch.as_tensor(np.asarray(value, dtype="float32"), device=x.device)

    if axis is not None:
        axis = axis % x.ndim
    return _FakeQuant.apply(
        x, tensor(min_vals), tensor(max_vals), int(num_bits), bool(narrow_range), axis
    )[0]
