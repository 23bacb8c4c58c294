"""GPTQ: a kernel quantized column by column, each column's rounding error spread over the
columns still to come through the inverse Hessian of the layer's inputs.

The matrix is the kernel seen as `(columns, rows)` = (outputs, input features); a "column" of the
solver is one input feature. lamina follows Keras 3.15's variant of the algorithm, so the same
float weights and calibration data give the same integers:
- the Hessian is a running mean of `2 x^T x` over the calibration rows, its diagonal damped by
  `hessian_damping` times its mean, and the error feedback uses its plain inverse (the reference
  code of the paper uses that inverse's Cholesky factor);
- columns are solved in blocks of 128; a group's scale and zero point come from the weights as
  they stood when its block began (the corrections made inside the block are not seen);
- `g_idx` holds each input row's `position / group_size` as a float, floored when read.
Keras computes a group's parameters again at each block start, so a group reaching across two
blocks (group_size=-1 with more than 128 rows, or a group size that does not divide 128) gets two
sets it cannot store and fails; lamina keeps the group's first set there.
"""

from __future__ import annotations

import torch

from lamina.quantizers import zero_point
from lamina.quantizers.functions import pack_int4

BLOCK_COLUMNS = 128  # columns solved together before their error reaches the later ones


class HessianAccumulator:
    """The running Hessian `2/N sum x^T x` of a layer's inputs, `rows` features wide.

    Args:
        rows: the number of input features (the kernel's contracted size).
        device: where the Hessian lives (the layer's device).
    """

    def __init__(self, rows: int, device=None):
        self.rows = rows
        self.hessian = torch.zeros((rows, rows), dtype=torch.float32, device=device)
        self.count = 0

    def update(self, inputs: torch.Tensor) -> None:
        """Fold a batch of inputs (any leading shape, `rows` last) into the mean."""
        x = inputs.reshape(-1, self.rows).to(torch.float32)
        gram = torch.matmul(x.T, x)
        gram = (gram + gram.T) / 2.0  # exactly symmetric, whatever the matmul's rounding
        total = self.count + x.shape[0]
        # The factors as float32 divisions, as Keras computes them.
        total_tensor = torch.tensor(float(total), device=x.device)
        if self.count > 0:
            previous = torch.tensor(float(self.count), device=x.device)
            self.hessian = self.hessian * (previous / total_tensor)
        self.hessian = self.hessian + (torch.tensor(2.0, device=x.device) / total_tensor) * gram
        self.count = total

    def damped(self, damping: float) -> torch.Tensor:
        """The Hessian with dead inputs' diagonal set to 1 and `damping` times the diagonal's
        mean added to it, so that it can be inverted."""
        diagonal = torch.diagonal(self.hessian)
        diagonal = torch.where(diagonal == 0.0, torch.ones_like(diagonal), diagonal)
        diagonal = diagonal + torch.tensor(damping, dtype=torch.float32) * torch.mean(diagonal)
        damped = self.hessian.clone()
        damped.diagonal().copy_(diagonal)
        return damped


def _descending_order(metric: torch.Tensor) -> torch.Tensor:
    """Indices sorting `metric` from largest to smallest, ties kept in index order (Keras adds
    `index / n * 1e-12` before a stable sort)."""
    metric = torch.where(torch.isfinite(metric), metric, torch.zeros_like(metric))
    count = metric.shape[0]
    index = torch.arange(count, dtype=torch.int32, device=metric.device)
    jitter = index.to(torch.float32) / torch.tensor(float(count), device=metric.device)
    return torch.argsort(-(metric + jitter * 1e-12), stable=True)


def solve(
    matrix: torch.Tensor,
    inverse_hessian: torch.Tensor,
    *,
    bits: int,
    group_size: int,
    symmetric: bool,
    per_channel: bool,
    order_metric: torch.Tensor | None = None,
):
    """GPTQ on a `(columns, rows)` float matrix: the integers, scales, zero points and g_idx.

    Args:
        matrix: the kernel as outputs by input features, float32.
        inverse_hessian: the inverse of the damped `(rows, rows)` Hessian.
        bits: bits per weight.
        group_size: input rows sharing a scale; -1 for one group of all rows.
        symmetric, per_channel: as `zero_point.parameters`.
        order_metric: when given, rows are solved from the largest metric down
            (`activation_order`), and the results put back in the original order.

    Returns:
        `(quantized, scale, zero, g_idx)`: int32 `(columns, rows)`, float32 and uint8
        `(columns, groups)`, float32 `(rows,)`.

    Example:
        >>> q, scale, zero, g_idx = solve(torch.eye(2), torch.eye(2), bits=8, group_size=-1,
        ...                               symmetric=False, per_channel=True)
        >>> q.tolist(), g_idx.tolist()
        ([[255, 0], [0, 255]], [0.0, 0.5])
    """
    rows = matrix.shape[1]
    permutation = None
    if order_metric is not None:
        permutation = _descending_order(order_metric)
        matrix = matrix[:, permutation]
        inverse_hessian = inverse_hessian[permutation][:, permutation]
    group = rows if group_size == -1 else group_size
    weights = matrix.clone()  # corrected block by block
    quantized = torch.zeros_like(matrix, dtype=torch.int32)
    parameters = {}  # group index -> (scale, zero, maxq), in the order groups are met
    for start in range(0, rows, BLOCK_COLUMNS):
        end = min(start + BLOCK_COLUMNS, rows)
        block = weights[:, start:end].clone()
        block_errors = torch.zeros_like(block)
        block_inverse = inverse_hessian[start:end, start:end]
        for offset in range(end - start):
            index = start + offset
            group_index = index // group
            if group_index not in parameters:
                first = group_index * group
                parameters[group_index] = zero_point.parameters(
                    weights[:, first : min(first + group, rows)], bits, symmetric, per_channel
                )
            scale, zero, maxq = parameters[group_index]
            column = block[:, offset : offset + 1]
            levels = zero_point.quantize(column, scale, zero, maxq)
            quantized[:, index : index + 1] = levels.to(torch.int32)
            restored = zero_point.dequantize(levels, scale, zero)
            error = (column - restored) / block_inverse[offset, offset]
            block_errors[:, offset : offset + 1] = error
            # The error reaches the block's later columns now, the later blocks below.
            block[:, offset + 1 :] -= error * block_inverse[offset : offset + 1, offset + 1 :]
        if end < rows:
            weights[:, end:] -= torch.matmul(block_errors, inverse_hessian[start:end, end:])
    g_idx = torch.arange(rows, dtype=torch.float32, device=matrix.device) / float(group)
    if permutation is not None:
        restore = torch.argsort(permutation, stable=True)
        g_idx, quantized = g_idx[restore], quantized[:, restore]
    scale = torch.cat([parameters[g][0] for g in sorted(parameters)], dim=1)
    zero = torch.cat([parameters[g][1] for g in sorted(parameters)], dim=1)
    return quantized, scale, zero, g_idx


def quantize_matrix(matrix: torch.Tensor, accumulator: HessianAccumulator, config) -> dict:
    """The stored values of a GPTQ-quantized `(columns, rows)` matrix, by variable name
    (`kernel` as uint8, packed two 4-bit values a byte along the columns when `weight_bits` is
    4; `kernel_scale`; `kernel_zero`; `g_idx`).

    Args:
        matrix: the float kernel as outputs by input features.
        accumulator: the layer's Hessian, filled by the calibration pass.
        config: the `GPTQConfig`.
    """
    hessian = accumulator.damped(config.hessian_damping)
    quantized, scale, zero, g_idx = solve(
        matrix.to(torch.float32),
        torch.linalg.inv(hessian),
        bits=config.weight_bits,
        group_size=config.group_size,
        symmetric=config.symmetric,
        per_channel=config.per_channel,
        order_metric=torch.diagonal(hessian) if config.activation_order else None,
    )
    kernel = quantized.to(torch.uint8)
    if config.weight_bits == 4:
        kernel = pack_int4(kernel, axis=0, dtype="uint8")[0]
    return {"kernel": kernel, "kernel_scale": scale, "kernel_zero": zero, "g_idx": g_idx}
