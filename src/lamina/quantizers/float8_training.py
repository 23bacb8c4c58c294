"""Dense, EinsumDense (and MultiHeadAttention's projections) in Keras's "float8" mode:
delayed-scaling float8 training.

The kernel stays a float weight. Each call rounds the inputs and the kernel through
`float8_e4m3fn` and, in the backward pass, the outputs' gradient through `float8_e5m2`, each at a
scale kept as a weight. The scales are delayed: a call uses the scale the previous steps left,
and in training it hands back the next one (the largest `|x|` of the amax history mapped onto the
format's largest value) and the history rolled one step, with this call's `max|x|` in front. They
come back as the "gradients" of the scale and history weights, which carry
`overwrite_with_gradient=True`: the optimizer writes them over the weights instead of taking a
step. Everything else flows straight through (the rounding's gradient is the identity).
"""

from __future__ import annotations

import torch

from lamina.dtype_policies.quantized import QuantizedFloat8DTypePolicy
from lamina.engine.layer import current_training
from lamina.quantizers import model_quantization as mq
from lamina.quantizers.functions import (
    compute_float8_amax_history,
    compute_float8_scale,
    quantize_and_dequantize,
)

# The weights a float8 layer adds, in Keras's order (each a scale and its history).
SCALED = ("inputs", "kernel", "outputs_grad")
SCALE_NAMES = tuple(f"{n}_{k}" for n in SCALED for k in ("scale", "amax_history"))
FILE_ORDER = ["kernel", "bias", *SCALE_NAMES]
_FORWARD_FORMAT = torch.float8_e4m3fn  # more mantissa: the values
_BACKWARD_FORMAT = torch.float8_e5m2  # more range: the gradients


def build(layer, config=None, loaded=False) -> None:
    """Add the scales and amax histories to a built Dense or EinsumDense (whose float kernel
    stays) and give it the "float8" policy: `quantize("float8")` and (`loaded`) the `build` of a
    layer loaded with a float8 policy both call it."""
    make_variables(layer)
    if loaded:
        # Keras builds a loaded float8 layer's scales before its kernel and bias, so they come
        # first in its `weights` (its files keep FILE_ORDER either way).
        scales = [spec for spec in layer._weight_specs if spec.name in SCALE_NAMES]
        layer._weight_specs = scales + [s for s in layer._weight_specs if s not in scales]
    mq.finish(layer, "float8", config, FILE_ORDER)


def make_variables(layer) -> None:
    """The scales and amax histories alone, in Keras's order, made with `layer.add_weight`
    next to its kernel (a MultiHeadAttention projection names them after itself)."""
    length = getattr(
        layer.dtype_policy,
        "amax_history_length",
        QuantizedFloat8DTypePolicy.default_amax_history_length,  # not yet float8: Keras's 1024
    )
    with torch.device(layer.kernel.device):
        for name in SCALE_NAMES:
            layer.add_weight(
                name=name,
                shape=(length,) if name.endswith("history") else (),
                initializer="zeros" if name.endswith("history") else "ones",
                dtype="float32",  # whatever the policy, as Keras
                autocast=False,
                overwrite_with_gradient=True,
            )


def dense_call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """`inputs @ kernel` of a float8 Dense (`bias` and the activation are the layer's)."""
    return _call(layer, inputs, torch.matmul)


def einsum_call(layer, inputs: torch.Tensor) -> torch.Tensor:
    """`einsum(equation, inputs, kernel)` of a float8 EinsumDense."""
    return _call(layer, inputs, lambda x, kernel: torch.einsum(layer.equation, x, kernel))


def _call(layer, inputs, product) -> torch.Tensor:
    compute = layer._compute_torch_dtype
    training = current_training(layer, None)
    # Keras reads the inputs and the kernel in the compute dtype (bfloat16 under a mixed
    # policy): their amax is that of the values it sees.
    x = _RoundForward.apply(
        inputs.to(compute), layer.inputs_scale, layer.inputs_amax_history, compute, training
    )
    kernel = _RoundForward.apply(
        layer.kernel.to(compute), layer.kernel_scale, layer.kernel_amax_history, compute, training
    )
    return _RoundGradient.apply(
        product(x, kernel), layer.outputs_grad_scale, layer.outputs_grad_amax_history, compute
    )


def bias(layer) -> torch.Tensor:
    """The bias a float8 layer adds: under a float32 policy Keras rounds it through bfloat16
    first (for XLA's fused bias add), so its value and, in torch, its gradient carry that."""
    if layer._compute_torch_dtype == torch.float32:
        return layer.bias.to(torch.bfloat16).to(layer.bias.dtype)
    return layer.bias


def _next_scale_and_history(seen, scale, amax_history, low_precision):
    """The delayed update: the scale from the history so far, then `max|seen|` rolled in."""
    dtype_max = float(torch.finfo(low_precision).max)
    new_scale = compute_float8_scale(amax_history.max(), scale, dtype_max)
    return new_scale, compute_float8_amax_history(seen, amax_history)


class _RoundForward(torch.autograd.Function):
    """`x` through float8_e4m3fn at `scale`; its gradient straight through, and in training the
    next scale and history as the scale's and history's gradients."""

    @staticmethod
    def forward(x, scale, amax_history, compute_dtype, training):
        return quantize_and_dequantize(x, scale, _FORWARD_FORMAT, compute_dtype)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, scale, amax_history, _, training = inputs
        ctx.training = training
        if training:
            ctx.save_for_backward(x, scale, amax_history)

    @staticmethod
    def backward(ctx, upstream):
        if not ctx.training:  # inference: the scales stay (Keras hands back no gradient)
            return upstream, None, None, None, None
        x, scale, amax_history = ctx.saved_tensors
        new_scale, new_history = _next_scale_and_history(x, scale, amax_history, _FORWARD_FORMAT)
        return upstream, new_scale, new_history, None, None


class _RoundGradient(torch.autograd.Function):
    """The outputs unchanged; their gradient through float8_e5m2 at `scale`, with the next
    scale and history (from that gradient) as the scale's and history's gradients."""

    @staticmethod
    def forward(outputs, scale, amax_history, compute_dtype):
        return outputs.view_as(outputs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, scale, amax_history, compute_dtype = inputs
        ctx.compute_dtype = compute_dtype
        ctx.save_for_backward(scale, amax_history)

    @staticmethod
    def backward(ctx, upstream):
        scale, amax_history = ctx.saved_tensors
        new_scale, new_history = _next_scale_and_history(
            upstream, scale, amax_history, _BACKWARD_FORMAT
        )
        rounded = quantize_and_dequantize(upstream, scale, _BACKWARD_FORMAT, ctx.compute_dtype)
        return rounded, new_scale, new_history, None
