"""What Keras's optimizer API is handed, as the torch tensors lamina's optimizers work on: a
`keras.Variable` stands for its tensor, and a gradient made by hand (NumPy, float64) becomes a
tensor of its weight's dtype, device and memory layout."""

from __future__ import annotations

import torch

from lamina.optimizers.memory_layout import like_parameter


def torch_variable(variable) -> torch.Tensor:
    """The tensor a variable stands for (a weight's `value` is the weight itself).

    Args:
        variable: a `lamina.Variable`, a weight or a torch tensor.

    Returns:
        The torch tensor the optimizer updates.

    Example:
        >>> v = lamina.Variable([1.0, 2.0])
        >>> torch_variable(v) is v.value
        True
    """
    return getattr(variable, "value", variable)


def as_gradient(grad, variable: torch.Tensor) -> torch.Tensor | None:
    """`grad` as `.grad` of `variable` takes it: a tensor of the weight's dtype, device and
    layout (Keras takes NumPy and float64 gradients for float32 weights too).

    Args:
        grad: the gradient (a tensor, a NumPy array or nested lists), or None.
        variable: the torch tensor it is the gradient of.

    Returns:
        The gradient tensor, or None for None.

    Example:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> as_gradient(np.ones(2), w).dtype
        torch.float32
    """
    if grad is None:
        return None
    if not isinstance(grad, torch.Tensor):
        grad = torch.as_tensor(grad, device=variable.device)
    if grad.dtype != variable.dtype or grad.device != variable.device:
        grad = grad.to(device=variable.device, dtype=variable.dtype)
    return like_parameter(grad, variable)
