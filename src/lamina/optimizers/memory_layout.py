"""Tensors laid out in memory as the weight they belong to: gradients and optimizer slots.

torch's fused optimizer kernels walk a weight, its gradient and its slots as flat memory. lamina's
convolution and recurrent kernels are Keras-shaped views over memory in torch's order, so a
tensor of the right shape may still have other strides: these functions copy it into the
weight's layout where it differs.
"""

from __future__ import annotations

import torch


def like_parameter(tensor, parameter):
    """`tensor` (a gradient or a slot of `parameter`) laid out in memory as `parameter` is.

    torch's fused kernels walk a parameter, its gradient and its slots as flat memory, so when
    their strides differ the update lands on the wrong elements, silently. A convolution's or
    recurrent cell's kernel is a Keras-shaped, permuted view over torch's order
    (`Layer.add_weight`'s `layout`): a gradient computed elsewhere, or a slot loaded from a
    file (torch's `load_state_dict` keeps the saved strides), arrives contiguous. autograd's own
    `.grad` already follows the parameter's layout.

    Args:
        tensor: a tensor of the parameter's shape, or anything else (returned as it came).
        parameter: the weight it belongs to.

    Returns:
        `tensor`, or a copy of it in `parameter`'s strides.

    Example:
        >>> weight = torch.zeros(3, 2).t()
        >>> like_parameter(torch.ones(2, 3), weight).stride() == weight.stride()
        True
    """
    if (
        not isinstance(tensor, torch.Tensor)
        or tensor.shape != parameter.shape
        or tensor.stride() == parameter.stride()
    ):
        return tensor
    with torch.no_grad():
        laid_out = torch.empty_like(parameter, dtype=tensor.dtype, device=tensor.device)
        return laid_out.copy_(tensor)


def slots_like_parameters(torch_optimizer) -> None:
    """Lay out each slot of a torch optimizer's state in its parameter's strides, in place
    (after torch's `load_state_dict`, which keeps the strides the state was saved with).

    Args:
        torch_optimizer: a `torch.optim.Optimizer`.

    Example:
        >>> weight = torch.nn.Parameter(torch.zeros(3, 2).t())
        >>> sgd = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
        >>> sgd.state[weight]["momentum_buffer"] = torch.zeros(2, 3)
        >>> slots_like_parameters(sgd)
        >>> sgd.state[weight]["momentum_buffer"].stride() == weight.stride()
        True
    """
    for parameter, slots in torch_optimizer.state.items():
        for key, value in slots.items():
            slots[key] = like_parameter(value, parameter)
