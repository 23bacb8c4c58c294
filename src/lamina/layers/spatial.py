"""The views between Keras's layouts and the (N, C, *spatial) layout torch's spatial ops take.

Channels-last inputs are seen channels-first through a permute, never a copy: an NHWC-contiguous
tensor seen as NCHW is torch's channels_last memory format, which convolution, pooling,
normalization and interpolation kernels take and return, so the view back is contiguous NHWC.

1-D layers are lifted to 2-D with a unit width axis: torch has no channels-last format for 3-D
tensors, so `conv1d` on an (N, L, C) tensor returns (N, C, L) memory and the next layer pays for
it, while `conv2d` on the (N, C, L, 1) view of (N, L, 1, C) stays channels-last end to end. Measured
on this CPU (Conv1D-ReLU-Conv1D, forward and backward, (32, 256, 64)): 9 ms lifted against 14 ms
for conv1d on the permuted view; MaxPooling1D 35 ms against 53 ms.

Inside a functional or Sequential model, spatial layers hand each other the channels-first
tensor itself where nothing else can see the channels-last one (engine/channels_first.py: the
model plans that once), so those pairs of views are left out.

Kernels follow their inputs (`kernel_weight`): a kernel has Keras's shape, (*k, in, out), over
the memory of torch's (out, in, *k) kernel, which a channels-last layer lays out with
channels_last strides. A contiguous kernel was converted by torch's channels-last
convolution on every call (forward and backward), and its channels_last gradient copied back by
AccumulateGrad: a Conv2D(64, 3) training step made three copies of its kernel, it now makes none,
as a torch model moved with `model.to(memory_format=torch.channels_last)`. (torch's slow path for
tiny batch-1 3-D convolutions still makes its kernel contiguous, once per call, as it does for
such a torch model.)
"""

from __future__ import annotations

import torch

LAYOUTS = {
    ("channels_last", 1): "(batch, steps, channels)",
    ("channels_last", 2): "(batch, height, width, channels)",
    ("channels_last", 3): "(batch, depth, height, width, channels)",
    ("channels_first", 1): "(batch, channels, steps)",
    ("channels_first", 2): "(batch, channels, height, width)",
    ("channels_first", 3): "(batch, channels, depth, height, width)",
}


def to_torch(x: torch.Tensor, data_format: str, rank: int) -> torch.Tensor:
    """Keras-layout input -> (N, C, *spatial) view; 1-D lifted to (N, C, L, 1)."""
    if data_format == "channels_last":
        if rank == 1:
            x = x.unsqueeze(2)
            return x.movedim(-1, 1)
        return x.movedim(-1, 1)
    return x.unsqueeze(-1) if rank == 1 else x


def from_torch(y: torch.Tensor, data_format: str, rank: int) -> torch.Tensor:
    """The inverse view of `to_torch`."""
    if data_format == "channels_last":
        if rank == 1:
            return y.movedim(1, -1).squeeze(2)
        return channels_last_view(y)
    return y.squeeze(-1) if rank == 1 else y


def channels_last_view(y: torch.Tensor) -> torch.Tensor:
    """`y` (N, C, *spatial) seen channels-last: a view, no copy.

    Each spatial layer views its input channels-first and its output back, so the tensor a
    layer returns is the one the next layer computes from: a gradient can be asked of any
    layer's output (Grad-CAM's `autograd.grad(score, conv_output)`, a forward hook's
    `output.register_hook`). The output once carried its channels-first tensor to the next
    layer, which left the returned view out of the backward pass, so those gradients failed;
    a model now plans which outputs no one can see (engine/channels_first.py).
    """
    return y.movedim(1, -1)


def kernel_layout(kernel: torch.Tensor, data_format: str) -> torch.Tensor:
    """A torch-layout (out, in/groups, *k) kernel with the strides its convolution wants.

    The strides are spelt out for every axis, unit axes included, as `torch.channels_last`
    spells them: a pointwise or depthwise kernel is contiguous in both formats, but the
    gradients of torch's oneDNN kernels carry these exact strides, and DistributedDataParallel's
    buckets compare every stride.

    Args:
        kernel: the kernel, (out, in/groups, *k) (transposed convolutions: (in, out, *k)).
        data_format: the layer's; 'channels_last' puts axis 1 innermost (`torch.channels_last`
            for a 4-D kernel, `torch.channels_last_3d` for 5-D, and for the 3-D kernel of a
            lifted 1-D layer the strides whose `unsqueeze(-1)` is channels_last);
            'channels_first' gives row-major (contiguous) strides.

    Returns:
        A new tensor with the kernel's values in that memory layout.

    Example:
        >>> kernel = kernel_layout(torch.zeros(8, 4, 3, 3), "channels_last")
        >>> kernel.is_contiguous(memory_format=torch.channels_last), kernel.stride()
        (True, (36, 1, 12, 4))
        >>> kernel_layout(torch.zeros(8, 4, 1, 1), "channels_last").stride()
        (4, 1, 4, 4)
    """
    rank = kernel.dim()
    innermost_first = reversed(range(rank))
    if data_format == "channels_last":
        innermost_first = (1, *range(rank - 1, 1, -1), 0)
    strides, step = [0] * rank, 1
    for axis in innermost_first:
        strides[axis] = step
        step *= kernel.shape[axis]
    laid_out = torch.empty_strided(kernel.shape, strides, dtype=kernel.dtype, device=kernel.device)
    return laid_out.copy_(kernel)


def kernel_weight(layer, data_format: str, **add_weight_arguments) -> torch.Tensor:
    """`layer.add_weight(..., layout=...)` for a convolution kernel: Keras's shape, over
    memory that `kernel_layout` lays out for torch.

    The weight has Keras's shape (`layer.kernel.shape`, `assign`, `numpy()` as in Keras); its
    layout's `from_keras` views it as the torch kernel the convolution takes, with
    `kernel_layout`'s strides and no copy. The Parameter keeps its identity (only its storage
    is re-laid out, at build time), and what touches it later keeps its strides: loading copies
    into it (`set_weights`, `load_state_dict`, weight files), `.to(device / dtype)` preserves
    them, and the optimizer's slots are `zeros_like` it.

    Args:
        layer: the layer that owns the kernel.
        data_format: the layer's data format (see `kernel_layout`).
        **add_weight_arguments: `Layer.add_weight`'s arguments (name, shape, initializer,
            regularizer, constraint, layout).

    Returns:
        The registered kernel, in Keras's shape.

    Example:
        >>> from lamina import backend
        >>> from lamina.engine.layer import Layer
        >>> keras_to_torch = (backend.conv_kernel_to_keras, backend.conv_kernel_from_keras)
        >>> kernel = kernel_weight(
        ...     Layer(), "channels_last", name="kernel", shape=(3, 3, 4, 8), layout=keras_to_torch
        ... )
        >>> tuple(kernel.shape), backend.conv_kernel_from_keras(kernel).stride()
        ((3, 3, 4, 8), (36, 1, 12, 4))
    """
    to_keras, from_keras = add_weight_arguments["layout"]
    weight = layer.add_weight(**add_weight_arguments)
    with torch.no_grad():
        weight.data = to_keras(kernel_layout(from_keras(weight.data), data_format))
    return weight


def lift(values: tuple[int, ...], fill: int) -> tuple[int, ...]:
    """Per-axis arguments of a 1-D layer, extended to the unit width axis of the lifted op."""
    return (*values, fill) if len(values) == 1 else tuple(values)


def spatial_shape(shape, data_format: str) -> tuple:
    """The spatial sizes of a Keras shape (batch and channel axes dropped)."""
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def family_hint(class_name: str, rank: int, ranks=(1, 2, 3)) -> str:
    """`Conv1D` on images and friends: name the sibling layer that fits each input rank."""
    others = [
        f"a {r + 2}-D input fits {class_name.replace(f'{rank}D', f'{r}D')}"
        for r in ranks
        if r != rank
    ]
    return (
        f"{class_name} works on {rank + 2}-D input; "
        + ", ".join(others)
        + ". If only the channel axis is missing, add it with x[..., None] or a Reshape layer."
    )
