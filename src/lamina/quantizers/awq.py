"""AWQ: 4-bit weights scaled per input row by how large that row's inputs get, so the weights
meeting large activations keep more precision (Keras 3.15's variant of the algorithm).

Each input row's largest absolute calibration input `x_max` gives candidate scales
`x_max ** (i / num_grid_points)` (at least 1e-4, divided by the geometric middle of their
extremes); the rows are multiplied by each candidate, quantized to 4 bits with a zero point (per
channel or in groups of rows), divided back, and the candidate with the smallest error weighted
by `x_max ** 2` wins (the first of equals). The forward divides the dequantized kernel by the
chosen `awq_scales`.
"""

from __future__ import annotations

import torch

from lamina.quantizers import zero_point
from lamina.quantizers.functions import pack_int4

BITS = 4  # AWQ quantizes to 4 bits only, as Keras's


class ActivationMaxAccumulator:
    """The largest absolute value each of a layer's `rows` input features takes.

    Args:
        rows: the number of input features (the kernel's contracted size).
        device: where the statistics live (the layer's device).
    """

    def __init__(self, rows: int, device=None):
        self.rows = rows
        self.magnitudes = torch.zeros((rows,), dtype=torch.float32, device=device)

    def update(self, inputs: torch.Tensor) -> None:
        """Fold a batch of inputs (any leading shape, `rows` last) into the maxima."""
        x = inputs.reshape(-1, self.rows).to(torch.float32)
        self.magnitudes = torch.maximum(self.magnitudes, x.abs().amax(dim=0))


def _round_trip(scaled: torch.Tensor, group_size: int):
    """`scaled` quantized to 4 bits and back, with its parameters and each row's group."""
    scale, zero, maxq = zero_point.parameters(scaled, BITS, group_size=group_size)
    rows = scaled.shape[1]
    groups = torch.zeros(rows, dtype=torch.int64, device=scaled.device)
    if group_size != -1:
        groups = torch.div(
            torch.arange(rows, device=scaled.device), group_size, rounding_mode="floor"
        )
    row_scale, row_zero = zero_point.per_row(scale, groups), zero_point.per_row(zero, groups)
    quantized = zero_point.quantize(scaled, row_scale, row_zero, maxq)
    return quantized, zero_point.dequantize(quantized, row_scale, row_zero), scale, zero, groups


def search_scales(
    matrix: torch.Tensor, magnitudes: torch.Tensor, num_grid_points: int, group_size: int
) -> torch.Tensor:
    """The per-row scales that minimise the activation-weighted 4-bit error of `matrix`.

    Args:
        matrix: the kernel as outputs by input features, float32.
        magnitudes: each input row's largest absolute calibration input.
        num_grid_points: candidates besides the unscaled one.
        group_size: rows sharing a scale; -1 for per channel.

    Example:
        >>> search_scales(torch.eye(2), torch.tensor([1.0, 4.0]), 4, -1).tolist()
        [1.0, 1.0]
    """
    x_max = magnitudes.to(torch.float32)
    x_max = torch.where(x_max < 1e-8, torch.ones_like(x_max), x_max)
    floor, tiny = x_max.new_tensor(1e-4), x_max.new_tensor(1e-8)
    best_loss, best_scales = None, torch.ones_like(x_max)
    for step in range(num_grid_points + 1):
        ratio = step / num_grid_points
        scales = torch.ones_like(x_max) if ratio == 0 else torch.pow(x_max, x_max.new_tensor(ratio))
        scales = torch.maximum(scales, floor)
        scales = scales / torch.maximum(torch.sqrt(scales.max() * scales.min()), tiny)
        _, restored, _, _, _ = _round_trip(matrix * scales, group_size)
        loss = torch.mean(torch.square(matrix - restored / scales) * torch.square(x_max))
        if best_loss is None or bool(loss < best_loss):  # one host read per candidate
            best_loss, best_scales = loss, scales
    return best_scales


def quantize_matrix(matrix: torch.Tensor, accumulator: ActivationMaxAccumulator, config) -> dict:
    """The stored values of an AWQ-quantized `(columns, rows)` matrix, by variable name
    (`kernel` packed two 4-bit values a byte along the columns, `kernel_scale`, `kernel_zero`,
    `awq_scales`, `g_idx`).

    Args:
        matrix: the float kernel as outputs by input features.
        accumulator: the layer's input maxima, filled by the calibration pass.
        config: the `AWQConfig`.
    """
    matrix = matrix.to(torch.float32)
    scales = search_scales(
        matrix, accumulator.magnitudes, config.num_grid_points, config.group_size
    )
    quantized, _, scale, zero, groups = _round_trip(matrix * scales, config.group_size)
    kernel = pack_int4(quantized.to(torch.uint8), axis=0, dtype="uint8")[0]
    return {
        "kernel": kernel,
        "kernel_scale": scale,
        "kernel_zero": zero,
        "awq_scales": scales,
        "g_idx": groups.to(torch.float32),
    }
