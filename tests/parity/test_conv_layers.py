"""Parity with Keras 3 (torch backend) for the convolutional family: same weights in, outputs,
input gradients and weight gradients equal to 1e-5, in both data formats (tests/cases.py).

Where Keras-on-torch deviates from Keras's TensorFlow semantics the reference is NumPy (or the
gradient of a convolution that already matches Keras, for the transposed convolutions).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from lamina import layers
from tests import cases
from tests.parity.reference import assert_layer_matches_keras


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")  # Keras's own note
@pytest.mark.parametrize("case", cases.parity_cases(), ids=cases.case_id)
def test_layer_matches_keras(case):
    assert_layer_matches_keras(
        case.layer, case.config, case.input_shape, call_kwargs=case.call_kwargs, seed=case.seed
    )


@pytest.mark.parity
@pytest.mark.parametrize("case", cases.for_layer("BatchNormalization"), ids=cases.case_id)
def test_batch_normalization_moving_statistics_match_keras(case):
    """One training step updates moving_mean/variance exactly as Keras does (biased variance)."""
    x = np.random.default_rng(1).standard_normal(case.input_shape).astype("float32") * 3 + 1
    reference = keras.layers.BatchNormalization(**case.config)
    ours = layers.BatchNormalization(**case.config)
    reference.build(case.input_shape)
    ours.build_from_shape(case.input_shape)
    ours.set_weights(reference.get_weights())
    y_ref = reference(torch.tensor(x), training=True)
    y_ours = ours(torch.tensor(x), training=True)
    torch.testing.assert_close(y_ours, y_ref.detach(), atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(ours.get_weights(), reference.get_weights(), strict=False):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=1e-5)


def _numpy_average_pool_same(x, pool, strides):
    """TensorFlow's AveragePooling2D('same') on NHWC: the mean of the real positions only."""
    n, h, w, c = x.shape
    out_h, out_w = -(-h // strides[0]), -(-w // strides[1])
    pad_h = max((out_h - 1) * strides[0] + pool[0] - h, 0) // 2
    pad_w = max((out_w - 1) * strides[1] + pool[1] - w, 0) // 2
    out = np.zeros((n, out_h, out_w, c), dtype=np.float64)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * strides[0] - pad_h, j * strides[1] - pad_w
            window = x[:, max(top, 0) : top + pool[0], max(left, 0) : left + pool[1], :]
            out[:, i, j, :] = window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize(
    "pool, strides, shape",
    [
        ((2, 2), (1, 1), (2, 5, 6, 2)),
        ((3, 2), (2, 1), (1, 7, 4, 3)),
        ((4, 4), (3, 3), (1, 8, 9, 2)),
    ],
)
def test_average_pooling_same_counts_only_real_positions(pool, strides, shape):
    x = np.random.default_rng(2).standard_normal(shape)
    layer = layers.AveragePooling2D(pool, strides, padding="same")
    y = layer(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(y.numpy(), _numpy_average_pool_same(x, pool, strides), atol=1e-6)


@pytest.mark.parametrize(
    "axis, shape", [(1, (2, 5, 6)), ([1, 2], (2, 3, 4, 5)), ([1, 3], (2, 3, 4, 5))]
)
def test_layer_normalization_on_inner_axes_matches_numpy(axis, shape):
    """Keras-on-torch raises for non-trailing axes; TF normalizes over them. NumPy says how."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    layer = layers.LayerNormalization(axis=axis)
    layer(torch.zeros(shape))
    gamma = rng.standard_normal(layer.gamma.shape)
    beta = rng.standard_normal(layer.beta.shape)
    layer.set_weights([gamma, beta])
    axes = tuple(np.atleast_1d(axis))
    broadcast = [shape[a] if a in axes else 1 for a in range(len(shape))]
    mean = x.mean(axis=axes, keepdims=True)
    variance = x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(variance + 1e-3) * gamma.reshape(broadcast)
    expected += beta.reshape(broadcast)
    y = layer(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(y.detach().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(
    "rank, kernel, strides, padding, output_padding",
    [
        (1, 3, 2, "same", None),
        (2, 3, 2, "same", None),
        (2, (3, 4), (2, 3), "same", None),
        (2, 5, 3, "same", 2),
        (2, 3, 2, "valid", 1),
        (3, 3, 2, "same", None),
    ],
)
def test_transposed_convolution_is_the_gradient_of_convolution(
    rank, kernel, strides, padding, output_padding
):
    """TensorFlow's definition: conv_transpose(y) = d conv(x) / dx applied to y, with the
    forward convolution's padding computed on the transposed output's size."""
    transposed = getattr(layers, f"Conv{rank}DTranspose")(
        2, kernel, strides=strides, padding=padding, output_padding=output_padding, use_bias=False
    )
    small = (1, *(4,) * rank, 3)
    y = transposed(torch.randn(small))
    forward = getattr(layers, f"Conv{rank}D")(
        3, kernel, strides=strides, padding=padding, use_bias=False
    )
    x = torch.zeros(y.shape, requires_grad=True)
    forward(x)
    forward.set_weights(transposed.get_weights())  # Keras: both kernels are (*k, 2, 3)
    conv_output = forward(x)
    assert tuple(conv_output.shape) == small
    cotangent = torch.randn(small)
    (expected,) = torch.autograd.grad(conv_output, x, cotangent)
    torch.testing.assert_close(transposed(cotangent), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_grouped_conv1d_matches_keras(padding, data_format):
    """Conv1D with groups > 1 (its kernel lifted to 2-D for torch) gives Keras's numbers."""
    if padding == "causal" and data_format == "channels_first":
        pytest.skip("Keras's causal padding is channels_last only")
    shape = (2, 8, 4) if data_format == "channels_last" else (2, 4, 8)
    config = dict(filters=6, kernel_size=2, groups=2, padding=padding, data_format=data_format)
    assert_layer_matches_keras("Conv1D", config, shape)


@pytest.mark.parity
@pytest.mark.parametrize("shape, axis", [((4, 5, 3), -1), ((2, 3, 4, 5), 1)])
def test_batch_normalization_masked_training_matches_keras(shape, axis):
    """With a mask (e.g. from Masking), training statistics count only the unmasked positions."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype("float32") * 2 + 1
    mask = rng.random(shape[:-1]) > 0.4
    reference = keras.layers.BatchNormalization(axis=axis, momentum=0.5)
    ours = layers.BatchNormalization(axis=axis, momentum=0.5)
    reference.build(shape)
    ours.build(shape)
    ours.set_weights([w + i for i, w in enumerate(reference.get_weights())])
    reference.set_weights(ours.get_weights())
    y_ref = reference(torch.tensor(x), mask=torch.tensor(mask), training=True)
    y_ours = ours(torch.tensor(x), mask=torch.tensor(mask), training=True)
    torch.testing.assert_close(y_ours, y_ref.detach(), atol=1e-5, rtol=1e-5)
    for mine, theirs in zip(ours.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=1e-5)


@pytest.mark.parity
def test_layer_normalization_built_for_one_rank_takes_another_as_keras():
    """Keras's LayerNormalization has no rank check: only the normalized last axes must fit."""
    x = np.random.default_rng(3).normal(5.0, 10.0, (6, 2, 2, 2)).astype("float32")
    reference, ours = keras.layers.LayerNormalization(), layers.LayerNormalization()
    reference.build((2, 2, 2))
    ours.build((2, 2, 2))
    expected = reference(torch.tensor(x)).detach()
    torch.testing.assert_close(ours(torch.tensor(x)), expected, atol=1e-5, rtol=1e-5)
