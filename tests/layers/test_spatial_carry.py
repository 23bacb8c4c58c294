"""The channels-first tensor a channels-last output carries (layers/spatial.py): the next layer
takes it instead of permuting back, with the same values and gradients, and only while the
output still views it."""

from __future__ import annotations

import torch

import lamina
from lamina import layers
from lamina.layers import normalization, spatial
from tests.op_counts import CountOps


def residual_block():
    torch.manual_seed(0)
    inputs = lamina.Input((6, 6, 4))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    body = layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
    x = layers.Activation("relu")(layers.Add()([body, x]))
    x = layers.MaxPooling2D(2)(x)
    return lamina.Model(inputs, layers.GlobalAveragePooling2D()(x))


def step(model, x):
    """Outputs, input gradient and weight gradients of one training-mode forward and backward."""
    x = x.clone().requires_grad_()
    model.zero_grad()
    out = model(x, training=True)
    (out * torch.arange(1.0, 5.0)).sum().backward()
    return [out.detach(), x.grad, *[p.grad.clone() for p in model.parameters()]]


def test_a_carried_view_skips_the_permutes_and_changes_no_number(monkeypatch):
    # BatchNormalization's fused kernel, as on CUDA (its CPU kernel sums channels-last rows).
    monkeypatch.setattr(normalization, "_fused_kernel_is_accurate", lambda inputs, axis: True)
    x = torch.randn(3, 6, 6, 4, generator=torch.Generator().manual_seed(1))
    model = residual_block()
    with CountOps() as carrying:
        got = step(model, x)
    monkeypatch.setattr(spatial, "carried_channels_first", lambda tensor: None)
    with CountOps() as permuting:
        expected = step(model, x)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    # forward, every layer still views its output channels-last; backward, only the model's input
    # and the last spatial output are permuted back (10 permutes against 16 on torch 2.13). Apart:
    # the 4 of the kernels, each Conv2D's torch view of its Keras-shaped kernel and its gradient's.
    kernel_views = 2 * 2
    permutes = carrying.counts["permute"] - kernel_views, permuting.counts["permute"] - kernel_views
    assert permutes[0] < 0.7 * permutes[1], permutes


def test_the_next_layer_takes_the_carried_tensor_itself():
    y = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    x = spatial.from_torch(y, "channels_last", 2)
    assert x.shape == (2, 4, 5, 3) and x.is_contiguous()
    assert spatial.to_torch(x, "channels_last", 2) is y
    assert spatial.to_torch(x.clone(), "channels_last", 2) is not y  # a copy carries nothing


def test_an_in_place_change_of_the_view_reaches_the_next_layer():
    pool = layers.MaxPooling2D(2)
    x = layers.Conv2D(2, 1, kernel_initializer="ones")(torch.ones(1, 2, 2, 1))
    x.mul_(-1.0)  # after the convolution, before the pooling: shared memory, seen by both
    assert pool(x).flatten().tolist() == [-1.0, -1.0]


def test_tracking_gradients_of_the_view_breaks_the_link():
    with torch.no_grad():
        x = layers.Conv2D(2, 1)(torch.ones(1, 2, 2, 3))
    x.requires_grad_()  # a saliency map of these features, say
    assert spatial.carried_channels_first(x) is None
    layers.Conv2D(2, 1)(x).sum().backward()  # so the gradient reaches the view itself
    assert x.grad is not None and x.grad.shape == x.shape


def test_only_elementwise_activations_run_on_the_carried_layout():
    y = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    x = spatial.from_torch(y, "channels_last", 2)
    relu_out = layers.Activation("relu")(x)
    assert spatial.carried_channels_first(relu_out) is not None
    softmax_out = layers.Activation("softmax")(x)  # over the channels-last axis: no carry
    assert spatial.carried_channels_first(softmax_out) is None
    torch.testing.assert_close(softmax_out, torch.softmax(x, -1))


def test_torch_func_transforms_see_through_the_carry():
    conv, pool = layers.Conv2D(2, 1), layers.MaxPooling2D(1)
    x = torch.randn(3, 2, 2, 3, generator=torch.Generator().manual_seed(2))
    conv(x)

    def loss(inputs):
        return pool(conv(inputs)).square().sum()

    eager = x.clone().requires_grad_()
    loss(eager).backward()
    torch.testing.assert_close(torch.func.grad(loss)(x), eager.grad)
    per_sample = torch.vmap(lambda sample: pool(conv(sample[None]))[0])(x)
    torch.testing.assert_close(per_sample, pool(conv(x)))
