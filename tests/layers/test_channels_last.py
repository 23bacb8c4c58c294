"""Channels-last stays zero-copy: through Conv-BN-ReLU-Pool stacks every output is a contiguous
channels-last tensor and no layer copies its input (no clone / copy_ / _to_copy at dispatch)."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import lamina
from lamina import layers

COPY_OPS = {
    "aten.clone.default",
    "aten.copy_.default",
    "aten._to_copy.default",
    "aten.contiguous.default",
}


class RecordOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(str(func))
        return func(*args, **(kwargs or {}))


STACKS = {
    "conv2d-bn-relu-maxpool": (
        lambda: [
            layers.Conv2D(16, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, strides=2, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.AveragePooling2D(2),
        ],
        (8, 32, 32, 3),
    ),
    "conv1d-bn-relu-maxpool": (
        lambda: [
            layers.Conv1D(16, 3, padding="causal"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling1D(2),
            layers.Conv1D(16, 5, padding="same"),
            layers.AveragePooling1D(2),
        ],
        (8, 64, 4),
    ),
    "separable-depthwise-upsample-pad": (
        lambda: [
            layers.SeparableConv2D(16, 3, padding="same"),
            layers.DepthwiseConv2D(3, padding="same"),
            layers.GroupNormalization(4),
            layers.UpSampling2D(2),
            layers.ZeroPadding2D(1),
            layers.Conv2DTranspose(8, 4, strides=2, padding="same"),
        ],
        (8, 16, 16, 8),
    ),
    "conv3d-bn-pool": (
        lambda: [
            layers.Conv3D(16, 3, padding="same"),
            layers.BatchNormalization(),
            layers.MaxPooling3D(2),
            layers.UpSampling3D(2),
        ],
        (16, 8, 8, 8, 4),
    ),
}


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stack_stays_channels_last_without_copies(stack, training):
    make, shape = STACKS[stack]
    stack_layers = make()
    x = torch.randn(shape)
    for layer in stack_layers:  # build first: weight creation may copy
        x = layer(x)
    x = torch.randn(shape)
    for layer in stack_layers:
        with RecordOps() as recorded:
            y = layer(x, training=training)
        assert y.is_contiguous(), f"{layer.name} returned strides {y.stride()} for {tuple(y.shape)}"
        copies = [name for name in recorded.names if name in COPY_OPS]
        assert not copies, f"{layer.name} copied: {copies}"
        x = y


def test_torch_sees_channels_last_memory_format():
    conv = layers.Conv2D(8, 3, padding="same")
    y = conv(torch.randn(4, 10, 10, 3))
    assert y.movedim(-1, 1).is_contiguous(memory_format=torch.channels_last)


def test_the_recorder_sees_a_copy():
    """The one documented copy (odd 'same' transposed convolution) shows up, so the recorder
    would catch a hidden copy elsewhere."""
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    x = torch.randn(2, 5, 5, 3)
    layer(x)
    with RecordOps() as recorded:
        y = layer(x)
    assert tuple(y.shape) == (2, 10, 10, 4) and y.is_contiguous()
    assert any(name in COPY_OPS for name in recorded.names)


@pytest.mark.parametrize("shape", [(2, 6, 5, 8), (2, 7, 8)], ids=["4d", "3d"])
def test_group_norm_takes_a_view_in_no_memory_format(shape):
    # `ops.swapaxes(x, -1, -2)` of a channels-last tensor is neither NCHW- nor channels_last-
    # contiguous once the channels move to axis 1; torch's CPU kernel refused it.
    layer = layers.GroupNormalization(groups=-1)
    base = torch.randn(shape)
    view = base.transpose(-1, -2).requires_grad_(True)
    copy = view.detach().contiguous().requires_grad_(True)
    cotangent = torch.randn(view.shape)
    (grad_view,) = torch.autograd.grad(layer(view), view, cotangent)
    (grad_copy,) = torch.autograd.grad(layer(copy), copy, cotangent)
    torch.testing.assert_close(layer(view), layer(copy))
    torch.testing.assert_close(grad_view, grad_copy)


def _grad_cam_model():
    inputs = lamina.Input((8, 8, 3))
    features = layers.Conv2D(4, 3, activation="relu", name="features")(inputs)
    x = layers.BatchNormalization()(features)
    x = layers.Add()([x, layers.Conv2D(4, 1)(features)])
    x = layers.Activation("relu")(x)
    scores = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    return lamina.Model(inputs, [features, scores])


@pytest.mark.parametrize("training", [False, True])
def test_a_gradient_can_be_asked_of_an_intermediate_output(training):
    # Grad-CAM: the class score's gradient at a convolution's output, which the model returns
    # beside the scores. Every consumer computes from the very tensor returned.
    model = _grad_cam_model()
    image = torch.rand(1, 8, 8, 3)
    features, scores = model(image, training=training)
    (gradient,) = torch.autograd.grad(scores[0, 1], features)
    assert gradient.shape == features.shape and gradient.abs().sum() > 0


def test_a_forward_hook_sees_the_gradient_of_the_layer_output():
    # pytorch-grad-cam's way: a forward hook registers a tensor hook on the layer's output.
    model = _grad_cam_model()
    seen = []

    def hook(module, args, output):
        output.register_hook(seen.append)

    model.get_layer("features").register_forward_hook(hook)
    _, scores = model(torch.rand(2, 8, 8, 3))
    scores.sum().backward()
    assert len(seen) == 1 and seen[0].shape == (2, 6, 6, 4)
