"""Exact int8 products: int8 x int8 -> int32, as Keras's int8 layers compute them.

torch has an int8 GEMM (`torch._int_mm`) on CPU for any shape and on CUDA for aligned shapes;
elsewhere the product runs in a wider type that holds every sum exactly (int32 on CPU, float64
on CUDA, whose matmul has no integer kernels), so the result is the same integer either way.
"""

from __future__ import annotations

import torch

from lamina.engine import func_transforms


def _int_mm_fits(rows: int, inner: int, columns: int, device: torch.device) -> bool:
    if torch.compiler.is_compiling():
        # Inductor's extern call to `_int_mm.out` fails inside a compiled training step
        # (torch 2.13); the wide product compiles and gives the same integers.
        return False
    if func_transforms.vmapping():  # vmap has no rule for `_int_mm`, it would loop per call
        return False
    if device.type == "cpu":
        return True
    # CUDA's kernel wants more than 16 rows and sizes in multiples of 8 (torch's own checks).
    return (
        device.type == "cuda" and rows > 16 and inner >= 16 and inner % 8 == 0 and columns % 8 == 0
    )


def int8_matmul(inputs: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """`inputs @ kernel` for int8 tensors, exact, as int32; `inputs` may have leading axes.

    Args:
        inputs: int8 `(..., inner)`.
        kernel: int8 `(inner, columns)`.

    Example:
        >>> a = torch.tensor([[127, -127]], dtype=torch.int8)
        >>> int8_matmul(a, torch.tensor([[127], [-127]], dtype=torch.int8)).tolist()
        [[32258]]
    """
    inner, columns = kernel.shape
    flat = inputs.reshape(-1, inner)
    if flat.shape[0] and _int_mm_fits(flat.shape[0], inner, columns, flat.device):
        product = torch._int_mm(flat, kernel)
    else:
        product = _wide(flat, kernel, lambda a, b: a @ b)
    return product.reshape(*inputs.shape[:-1], columns)


def int8_einsum(equation: str, inputs: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """`torch.einsum(equation, inputs, kernel)` for int8 operands, exact, as int32.

    Args:
        equation: the einsum equation, e.g. `"abc,cd->abd"`.
        inputs: the int8 input.
        kernel: the int8 kernel.

    Example:
        >>> a = torch.tensor([[[100, 100]]], dtype=torch.int8)
        >>> int8_einsum("abc,cd->abd", a, torch.full((2, 1), 100, dtype=torch.int8)).tolist()
        [[[20000]]]
    """
    return _wide(inputs, kernel, lambda a, b: torch.einsum(equation, a, b))


def _wide(a: torch.Tensor, b: torch.Tensor, product) -> torch.Tensor:
    wide = torch.int32 if a.device.type == "cpu" else torch.float64
    return product(a.to(wide), b.to(wide)).to(torch.int32)
