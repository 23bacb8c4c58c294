"""BatchNormalization in training mode against float64 truth (issue 15): torch's CPU kernel for
channels-last memory summed row by row in float32 (output off by 1.8e-4, gamma gradient by 4e-3 on
the input below); lamina's column sums must stay near torch's accurate channels-first kernel
(output 6e-7, input gradient 1e-6, gamma gradient 2e-5, beta gradient 3e-5 on that input)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.batch_statistics import batch_norm_last_axis, column_sum

EPSILON = 1e-3


def float64_truth(x, gamma, beta, cotangent, axis):
    """Output and gradients of training-mode batch normalization, in float64 autograd."""
    x = x.double().detach().requires_grad_()
    gamma = gamma.double().detach().requires_grad_()
    beta = beta.double().detach().requires_grad_()
    axes = [a for a in range(x.dim()) if a != axis]
    shape = [1] * x.dim()
    shape[axis] = -1
    mean = x.mean(axes, keepdim=True)
    variance = ((x - mean) ** 2).mean(axes, keepdim=True)
    y = (x - mean) / torch.sqrt(variance + EPSILON) * gamma.reshape(shape) + beta.reshape(shape)
    y.backward(cotangent.double())
    return y.detach(), x.grad, gamma.grad, beta.grad, mean.flatten(), variance.flatten()


def lamina_training_step(x, gamma, beta, cotangent, axis):
    layer = layers.BatchNormalization(axis=axis, momentum=0.0)
    layer(x)  # builds (inference mode: the moving statistics stay put)
    layer.set_weights([gamma.numpy(), beta.numpy(), *layer.get_weights()[2:]])
    x = x.detach().requires_grad_()
    y = layer(x, training=True)
    y.backward(cotangent)
    # momentum 0: the moving statistics are the batch statistics.
    return (
        y.detach(),
        x.grad,
        layer.gamma.grad,
        layer.beta.grad,
        layer.moving_mean,
        (layer.moving_variance),
    )


def post_relu_batch(shape, channels, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.relu(torch.randn(shape, generator=generator))
    cotangent = torch.randn(shape, generator=generator) + 0.5  # a per-channel drift, as in training
    gamma = 1 + 0.1 * torch.randn(channels, generator=generator)
    beta = 0.1 * torch.randn(channels, generator=generator)
    return x, gamma, beta, cotangent


# (name, input shape, channel axis); limits: output, input gradient, gamma and beta gradients.
CASES = [
    ("images-channels-last", (16, 32, 32, 32), -1),
    ("features", (512, 24), -1),
    ("sequences", (8, 50, 12), -1),
    ("images-channels-first", (8, 12, 16, 16), 1),
    ("middle-axis", (6, 10, 14, 5), 2),
]


@pytest.mark.parametrize("name,shape,axis", CASES, ids=[c[0] for c in CASES])
def test_training_step_is_as_accurate_as_float64_allows(name, shape, axis):
    channels = shape[axis]
    x, gamma, beta, cotangent = post_relu_batch(shape, channels)
    ours = lamina_training_step(x, gamma, beta, cotangent, axis)
    truth = float64_truth(x, gamma, beta, cotangent, axis % len(shape))
    errors = [(o.double() - t).abs().max().item() for o, t in zip(ours, truth, strict=True)]
    output, input_grad, gamma_grad, beta_grad, moving_mean, moving_variance = errors
    assert output < 5e-6 and input_grad < 5e-6, errors
    # The parameter gradients are sums over every row (up to 8e3 here), so relative to their
    # largest entry. Rounding dy * (x - mean) to float32 alone costs 1e-6 on the first case (so
    # does torch's channels-first kernel); its channels-last kernel was off by 1e-4.
    assert gamma_grad / truth[2].abs().max() < 1e-5, errors
    assert beta_grad / truth[3].abs().max() < 1e-5, errors
    assert moving_mean < 1e-6 and moving_variance < 1e-6, errors


def test_moving_statistics_follow_keras_update_with_the_biased_variance():
    # Keras: moving = moving * momentum + batch * (1 - momentum), batch variance over n (not n-1).
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 16.0]])
    layer = layers.BatchNormalization(momentum=0.75)
    layer(x, training=True)
    # Batch mean (4, 13), biased variance (5, 9); moving starts at (0, 0) and (1, 1).
    np.testing.assert_allclose(layer.moving_mean.numpy(), [1.0, 3.25], rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), [2.0, 3.0], rtol=1e-6)


def test_scale_and_center_off():
    x, _, _, cotangent = post_relu_batch((64, 6, 6, 8), 8, seed=3)
    layer = layers.BatchNormalization(center=False, scale=False)
    x = x.requires_grad_()
    y = layer(x, training=True)
    y.backward(cotangent)
    truth = float64_truth(x, torch.ones(8), torch.zeros(8), cotangent, 3)
    assert layer.gamma is None and layer.beta is None
    torch.testing.assert_close(y.double(), truth[0], atol=2e-6, rtol=0)
    torch.testing.assert_close(x.grad.double(), truth[1], atol=2e-6, rtol=0)


def test_frozen_input_skips_the_input_gradient():
    x, gamma, beta, cotangent = post_relu_batch((32, 4, 4, 3), 3, seed=4)
    gamma.requires_grad_()
    y, mean, variance = batch_norm_last_axis(x, gamma, None, EPSILON)
    (grad_gamma,) = torch.autograd.grad(y, gamma, cotangent)
    truth = float64_truth(x, gamma, torch.zeros(3), cotangent, 3)
    torch.testing.assert_close(grad_gamma.double(), truth[2], atol=1e-5, rtol=0)
    torch.testing.assert_close(variance.double(), truth[5], atol=1e-6, rtol=0)
    assert not mean.requires_grad and not variance.requires_grad


@pytest.mark.parametrize("rows", [7, 1024, 16 * 1024 + 5])
def test_column_sum_is_the_row_sum_for_any_row_count(rows):
    matrix = torch.arange(rows * 3, dtype=torch.float64).reshape(rows, 3)
    torch.testing.assert_close(column_sum(matrix), matrix.sum(0), atol=0, rtol=0)
