"""PReLU, AlphaDropout, RMSNormalization, EinsumDense and adaptive pooling beyond the shared
catalogue (tests/cases.py): hand-computed values, the noise's distribution, pinned errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import initializers, layers


def test_prelu_learns_one_slope_per_channel_with_shared_axes():
    layer = layers.PReLU(alpha_initializer=initializers.Constant(0.5), shared_axes=[1, 2])
    y = layer(torch.full((1, 3, 4, 2), -2.0))
    assert tuple(layer.alpha.shape) == (1, 1, 2)
    assert torch.all(y == -1.0)
    layer(torch.zeros(2, 7, 9, 2))  # shared axes may change size


def test_prelu_rejects_the_batch_axis_as_shared():
    with pytest.raises(ValueError, match="shared_axes between 1 and 2"):
        layers.PReLU(shared_axes=0)(torch.zeros(2, 3, 4))


def test_alpha_dropout_keeps_mean_and_variance_of_a_standard_input():
    torch.manual_seed(0)
    x = torch.randn(400_000)
    y = layers.AlphaDropout(0.2)(x, training=True)
    assert abs(y.mean().item()) < 0.01
    assert abs(y.std().item() - 1.0) < 0.01
    # A fifth of the entries share the one dropped value a * (-alpha * scale) + b.
    dropped_value = torch.mode(y).values
    assert abs((y == dropped_value).float().mean().item() - 0.2) < 0.005


def test_alpha_dropout_is_identity_in_inference_and_repeats_with_the_seed():
    x = torch.randn(5, 6)
    layer = layers.AlphaDropout(0.5, noise_shape=(None, 1))
    assert torch.equal(layer(x), x)
    torch.manual_seed(7)
    first = layer(x, training=True)
    torch.manual_seed(7)
    assert torch.equal(layer(x, training=True), first)
    # noise_shape (None, 1): a row is dropped whole (one value) or kept whole (a * x + b).
    dropped = -1.6732632423543772 * 1.0507009873554805
    a = (0.5 * (1 + 0.5 * dropped**2)) ** -0.5
    b = -a * dropped * 0.5
    kept_rows = torch.isclose(first, a * x + b).all(dim=1)
    dropped_rows = torch.isclose(first, torch.tensor(a * dropped + b)).all(dim=1)
    assert (kept_rows ^ dropped_rows).all() and kept_rows.any() and dropped_rows.any()


def test_rms_normalization_over_a_middle_axis_matches_numpy():
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    layer = layers.RMSNormalization(axis=1, epsilon=1e-3)
    layer(torch.tensor(x))
    scale = np.arange(1, 6, dtype="float32")
    layer.set_weights([scale])
    want = x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-3) * scale[None, :, None]
    np.testing.assert_allclose(layer(torch.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_adaptive_average_pooling_uses_overlapping_floor_ceil_bins():
    # 5 -> 3 bins: [0, 2), [1, 4), [3, 5)
    x = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0]).reshape(1, 5, 1)
    y = layers.AdaptiveAveragePooling1D(3)(x).flatten().tolist()
    assert y == pytest.approx([1.5, 14.0 / 3.0, 12.0])
    assert layers.AdaptiveMaxPooling1D(3)(x).flatten().tolist() == [2.0, 8.0, 16.0]


def test_adaptive_pooling_rejects_a_wrong_length_output_size():
    with pytest.raises(TypeError, match="a tuple of 2 integers for output_size"):
        layers.AdaptiveMaxPooling2D((2, 2, 2))


def test_einsum_dense_initializes_with_keras_fans():
    torch.manual_seed(0)
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 8, 16), bias_axes="de")
    layer(torch.zeros(1, 2, 256))
    # glorot_uniform with fan_in 256 and fan_out 8 * 16: limit sqrt(6 / 384).
    limit = (6.0 / 384.0) ** 0.5
    kernel = layer.kernel.detach()
    assert kernel.abs().max().item() <= limit
    assert kernel.abs().max().item() > 0.95 * limit
    assert tuple(layer.bias.shape) == (8, 16)


def test_einsum_dense_rejects_an_unknown_kernel_axis():
    with pytest.raises(ValueError, match="every output axis"):
        layers.EinsumDense("ab,bz->aq", output_shape=4)(torch.zeros(2, 3))


def test_conv_lstm_names_follow_keras_snake_case():
    # Keras's file keys and default names: conv_lstm2d (not conv_lst_m2d).
    assert layers.ConvLSTM2D(2, 3).name == "conv_lstm2d"
    assert layers.PReLU().name == "p_re_lu"


def test_conv_lstm_dropout_acts_only_in_training_and_repeats_with_the_seed():
    x = torch.randn(2, 3, 5, 5, 2)
    layer = layers.ConvLSTM2D(3, 3, padding="same", dropout=0.5, recurrent_dropout=0.5)
    plain = layers.ConvLSTM2D(3, 3, padding="same")
    layer(x)
    plain(x)
    plain.set_weights(layer.get_weights())
    torch.testing.assert_close(layer(x), plain(x))  # inference: no dropout
    torch.manual_seed(3)
    first = layer(x, training=True)
    torch.manual_seed(3)
    torch.testing.assert_close(layer(x, training=True), first)
    assert not torch.allclose(first, plain(x))


def test_group_query_attention_dropout_acts_only_in_training():
    x = torch.randn(2, 5, 8)
    layer = layers.GroupQueryAttention(4, 4, 2, dropout=0.5)
    plain = layers.GroupQueryAttention(4, 4, 2)
    layer(x, x)
    plain(x, x)
    plain.set_weights(layer.get_weights())
    torch.testing.assert_close(layer(x, x), plain(x, x))
    assert not torch.allclose(layer(x, x, training=True), plain(x, x))
    with pytest.raises(ValueError, match="num_query_heads divisible by num_key_value_heads"):
        layers.GroupQueryAttention(4, 6, 4)
