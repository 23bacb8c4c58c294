"""Layout anchors: the depthwise kernel converter round-trips, and hand-computable cases show
where each Keras kernel entry lands (a transposed or permuted kernel fails with numbers a reader
can check by hand)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import backend, layers


@pytest.mark.parametrize("keras_shape", [(3, 4, 2), (3, 3, 4, 2), (2, 5, 1, 3)])
def test_depthwise_layout_round_trips(keras_shape):
    to_keras, from_keras = backend.depthwise_kernel_layout(keras_shape[-1])
    value = np.arange(np.prod(keras_shape), dtype=np.float32).reshape(keras_shape)
    torch_layout = from_keras(torch.tensor(value))
    rank = len(keras_shape) - 2
    assert tuple(torch_layout.shape) == (keras_shape[-2] * keras_shape[-1], 1, *keras_shape[:rank])
    np.testing.assert_array_equal(to_keras(torch_layout).numpy(), value)
    np.testing.assert_array_equal(from_keras(value), torch_layout.numpy())  # NumPy path too


def test_depthwise_multiplier_order_by_hand():
    """Input channel c, multiplier m -> output channel c * multiplier + m (TensorFlow's order)."""
    layer = layers.DepthwiseConv1D(1, depth_multiplier=2, use_bias=False)
    layer(torch.zeros(1, 1, 2))
    # kernel (1, in=2, multiplier=2): channel 0 -> (x1, x10), channel 1 -> (x100, x1000)
    layer.set_weights([np.array([[[1.0, 10.0], [100.0, 1000.0]]], dtype=np.float32)])
    y = layer(torch.tensor([[[1.0, 2.0]]]))
    assert y.tolist() == [[[1.0, 10.0, 200.0, 2000.0]]]


def test_separable_conv_by_hand():
    layer = layers.SeparableConv1D(1, 2, use_bias=True)
    layer(torch.zeros(1, 3, 1))
    depthwise = np.array([[[2.0]], [[3.0]]], dtype=np.float32)  # (k=2, in=1, m=1)
    pointwise = np.array([[[10.0]]], dtype=np.float32)  # (1, in*m=1, filters=1)
    layer.set_weights([depthwise, pointwise, np.array([1.0], dtype=np.float32)])
    y = layer(torch.tensor([[[1.0], [2.0], [4.0]]]))
    # steps: 2*1 + 3*2 = 8 -> 81; 2*2 + 3*4 = 16 -> 161
    assert y.flatten().tolist() == [81.0, 161.0]


def test_conv_transpose_kernel_by_hand():
    """Keras's transposed kernel is (k, filters, in): entry [t, f, c] scales input channel c
    into filter f at offset t."""
    layer = layers.Conv1DTranspose(2, 2, strides=2, use_bias=False)
    layer(torch.zeros(1, 1, 1))
    kernel = np.array([[[1.0], [10.0]], [[100.0], [1000.0]]], dtype=np.float32)  # (2, 2, 1)
    layer.set_weights([kernel])
    y = layer(torch.tensor([[[1.0], [2.0]]]))
    assert y[0].tolist() == [[1.0, 10.0], [100.0, 1000.0], [2.0, 20.0], [200.0, 2000.0]]


def test_causal_conv_sees_only_the_past():
    layer = layers.Conv1D(1, 3, padding="causal", use_bias=False)
    layer(torch.zeros(1, 4, 1))
    layer.set_weights([np.array([[[100.0]], [[10.0]], [[1.0]]], dtype=np.float32)])
    y = layer(torch.tensor([[[1.0], [2.0], [3.0], [4.0]]]))
    assert y.flatten().tolist() == [1.0, 12.0, 123.0, 234.0]
