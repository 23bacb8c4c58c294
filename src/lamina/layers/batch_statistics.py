"""Training-mode batch normalization over the last axis with accurate reductions.

torch's CPU batch-norm kernel for channels-last memory (the layout of every lamina image tensor)
sums each channel naively, row after row, in one float32 accumulator per thread. On a
(16, 32, 32, 32) activation that costs about 1e-4 in the output and 1e-5 relative in the gamma
gradient, a hundred times the error of its channels-first kernel and of Keras's float32 step.

Here the tensor is seen as a (rows, channels) matrix (a view: channels-last memory is exactly that)
and every per-channel reduction is torch's column sum, which adds pairwise. The mean comes first
and the variance is the mean square of the centred values (two passes, so no cancellation), and
the backward pass is written out with the same column sums. Each column sum is split into row
blocks, because torch reduces over the leading axis of a matrix on one thread only; the blocks
are a fixed number, so the result does not depend on the thread count.

Every step is one vectorized, multithreaded pass over memory, and the forward keeps the centred
tensor it already computed for the backward instead of the input (the same memory). It costs more
than torch's fused channels-last kernel: forward + backward 1.27-1.64x its time on the seeds'
shapes at 2 threads (`python bench/bench_batchnorm.py`), about 2-4 % of the seeds' CNN step;
DESIGN.md's rule 10 puts accuracy first.

The Function has no vmap rule, no forward-mode derivative and a backward that is not itself
differentiable, so under torch.func transforms (and torch.compile) the same two-pass statistics
are composed from plain torch ops, which torch batches and differentiates itself.
"""

from __future__ import annotations

import torch

from lamina.engine import func_transforms

# Column sums split their rows into this many blocks (torch sums over the leading axis serially).
_ROW_BLOCKS = 16


def column_sum(matrix: torch.Tensor) -> torch.Tensor:
    """The sum over the rows of a (rows, channels) matrix, pairwise within blocks of rows.

    Args:
        matrix: a 2-D tensor.

    Returns:
        A 1-D tensor of `matrix.shape[1]` sums.

    Example:
        >>> column_sum(torch.ones(4096, 3)).tolist()
        [4096.0, 4096.0, 4096.0]
    """
    rows, channels = matrix.shape
    head = rows - rows % _ROW_BLOCKS
    if head < 64 * _ROW_BLOCKS:
        return matrix.sum(0)
    total = matrix[:head].reshape(_ROW_BLOCKS, head // _ROW_BLOCKS, channels).sum(1).sum(0)
    if head < rows:
        total += matrix[head:].sum(0)
    return total


class _ChannelsLastBatchNorm(torch.autograd.Function):
    """(y, mean, variance) of a (rows, channels) matrix; gradients for x, gamma and beta."""

    @staticmethod
    def forward(ctx, matrix, gamma, beta, epsilon):
        rows = matrix.shape[0]
        mean = column_sum(matrix).div_(rows)
        centred = matrix - mean
        outputs = centred * centred
        variance = column_sum(outputs).div_(rows)
        inverse_std = (variance + epsilon).rsqrt_()
        scale = inverse_std if gamma is None else inverse_std * gamma
        # The squares are spent: their buffer takes the outputs, (x - mean) * scale + beta.
        if beta is None:
            torch.mul(centred, scale, out=outputs)
        else:
            torch.addcmul(beta, centred, scale, out=outputs)
        ctx.save_for_backward(centred, inverse_std, gamma)
        ctx.mark_non_differentiable(mean, variance)
        return outputs, mean, variance

    @staticmethod
    def backward(ctx, grad_outputs, _grad_mean, _grad_variance):
        centred, inverse_std, gamma = ctx.saved_tensors
        needs_x, needs_gamma, needs_beta = ctx.needs_input_grad[:3]
        rows = centred.shape[0]
        grad_beta = column_sum(grad_outputs)
        product = grad_outputs * centred
        dot = column_sum(product)  # sum over rows of dy * (x - mean)
        grad_gamma = dot * inverse_std if needs_gamma else None
        grad_x = None
        if needs_x:
            # dx = a * (dy - mean(dy) - (x - mean) * inverse_std**2 * mean(dy * (x - mean))),
            # a = gamma * inverse_std: one fused pass for the two per-channel terms, one for dy.
            a = inverse_std if gamma is None else inverse_std * gamma
            shrink = a / -rows
            grad_x = torch.addcmul(
                grad_beta * shrink, centred, dot * inverse_std.square() * shrink, out=product
            )
            grad_x.addcmul_(grad_outputs, a)
        return grad_x, grad_gamma, grad_beta if needs_beta else None, None


def batch_norm_last_axis(inputs, gamma, beta, epsilon):
    """Training-mode batch normalization of `inputs` over every axis but the last.

    Args:
        inputs: a tensor whose last axis holds the channels (any rank >= 2).
        gamma, beta: per-channel scale and offset, or None.
        epsilon: added to the variance.

    Returns:
        (outputs shaped like `inputs`, batch mean, biased batch variance), the statistics
        detached and in float32 (float64 for float64 inputs).

    Example:
        >>> y, mean, variance = batch_norm_last_axis(torch.tensor([[0.0], [2.0]]), None, None, 0.0)
        >>> y.flatten().tolist(), mean.tolist(), variance.tolist()
        ([-1.0, 1.0], [1.0], [1.0])
    """
    compute_dtype = torch.float64 if inputs.dtype == torch.float64 else torch.float32
    matrix = inputs.to(compute_dtype).reshape(-1, inputs.shape[-1])
    gamma = None if gamma is None else gamma.to(compute_dtype)
    beta = None if beta is None else beta.to(compute_dtype)
    if torch.compiler.is_compiling():
        outputs, mean, variance = _composed(matrix, gamma, beta, float(epsilon), _fused_statistics)
    elif func_transforms.active():
        outputs, mean, variance = _composed(matrix, gamma, beta, float(epsilon), _column_statistics)
    else:
        outputs, mean, variance = _ChannelsLastBatchNorm.apply(matrix, gamma, beta, float(epsilon))
    return outputs.view(inputs.shape).to(inputs.dtype), mean, variance


def _composed(matrix, gamma, beta, epsilon, statistics):
    """The same function composed of torch ops, which autograd, torch.func and torch.compile
    differentiate (and batch) themselves; `statistics(matrix)` gives (variance, mean)."""
    variance, mean = statistics(matrix)
    scale = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        scale = scale * gamma
    outputs = (matrix - mean) * scale
    if beta is not None:
        outputs = outputs + beta
    return outputs, mean.detach(), variance.detach()


def _fused_statistics(matrix):
    """For torch.compile, which writes its own fused reductions (Welford's); Dynamo would only
    trace the Function."""
    return torch.var_mean(matrix, 0, correction=0)


def _column_statistics(matrix):
    """The Function's two passes of pairwise column sums, for torch.func transforms."""
    rows = matrix.shape[0]
    mean = column_sum(matrix) / rows
    centred = matrix - mean
    return column_sum(centred * centred) / rows, mean
