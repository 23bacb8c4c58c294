"""The noise layers in training: statistics, the shape of the dropped units, and identity in
inference (Keras's behaviour; compared by statistics, not elementwise)."""

from __future__ import annotations

import pytest
import torch

from lamina import layers


@pytest.mark.parametrize(
    "name, shape, channel_axis, kwargs",
    [
        ("SpatialDropout1D", (64, 10, 32), -1, {}),
        ("SpatialDropout2D", (64, 6, 6, 32), -1, {}),
        ("SpatialDropout2D", (64, 32, 6, 6), 1, {"data_format": "channels_first"}),
        ("SpatialDropout3D", (32, 3, 4, 5, 32), -1, {}),
    ],
)
def test_spatial_dropout_drops_whole_channels(name, shape, channel_axis, kwargs):
    layer = getattr(layers, name)(0.4, **kwargs)
    y = layer(torch.ones(shape), training=True)
    assert y.is_contiguous()
    per_channel = y.movedim(channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    # every entry of a channel equals the channel's first entry: 0 or 1 / (1 - rate)
    assert torch.equal(per_channel, per_channel[..., :1].expand_as(per_channel))
    values = sorted(per_channel.unique().tolist())
    assert values[0] == 0.0 and values[1] == pytest.approx(1 / 0.6) and len(values) == 2
    dropped = (per_channel[..., 0] == 0).float().mean().item()
    assert 0.3 < dropped < 0.5
    assert torch.equal(layer(torch.ones(shape)), torch.ones(shape))  # inference: identity


def test_gaussian_noise_statistics():
    y = layers.GaussianNoise(0.5)(torch.full((200, 100), 3.0), training=True)
    assert abs(y.mean().item() - 3.0) < 0.02
    assert abs(y.std().item() - 0.5) < 0.02


def test_gaussian_dropout_statistics():
    rate = 0.2
    y = layers.GaussianDropout(rate)(torch.full((200, 100), 2.0), training=True)
    assert abs(y.mean().item() - 2.0) < 0.03
    assert abs(y.std().item() - 2.0 * (rate / (1 - rate)) ** 0.5) < 0.03


def test_activity_regularization_adds_the_penalty_per_sample():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    assert torch.equal(layer(x), x)
    (loss,) = layer.losses
    assert loss.item() == pytest.approx((0.1 * 6.0 + 0.01 * 14.0) / 2)


def test_conv_activity_regularizer_is_divided_by_batch_size():
    conv = layers.Conv1D(2, 1, kernel_initializer="ones", activity_regularizer="l2")
    conv(torch.ones(4, 3, 1))
    (loss,) = conv.losses
    assert loss.item() == pytest.approx(0.01 * 4 * 3 * 2 / 4)


def test_constraints_reach_the_weights():
    conv = layers.SeparableConv2D(
        3,
        3,
        depthwise_constraint="non_neg",
        pointwise_constraint="max_norm",
        bias_constraint="non_neg",
    )
    conv(torch.zeros(1, 5, 5, 2))
    constrained = {name for name, _ in conv._constraints}
    assert constrained == {"depthwise_kernel", "pointwise_kernel", "bias"}
    clone = layers.SeparableConv2D.from_config(conv.get_config())
    assert type(clone.pointwise_constraint).__name__ == "MaxNorm"


@pytest.mark.parametrize("noise_shape", [None, (None, 1, 50)], ids=["independent", "noise_shape"])
def test_dropout_drops_a_rate_fraction_and_scales_the_rest(noise_shape):
    rate = 0.3
    x = torch.full((400, 20, 50), 2.0, requires_grad=True)
    y = layers.Dropout(rate, noise_shape=noise_shape)(x, training=True)
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - rate)) < 0.01
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 2.0 / (1 - rate)))
    if noise_shape is not None:  # one decision per (sample, feature), shared along axis 1
        assert torch.equal(kept, kept[:, :1].expand_as(kept))
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / (1 - rate))
    assert torch.equal(layers.Dropout(rate)(x, training=False), x)


@pytest.mark.parametrize("noise_shape", ["Invalid", 5, [2, -1], [0, 3], [1.5, 2]])
@pytest.mark.parametrize("name", ["Dropout", "AlphaDropout"])
def test_dropout_refuses_a_noise_shape_keras_refuses(name, noise_shape):
    with pytest.raises(ValueError, match="expects `noise_shape` as a tuple or list"):
        getattr(layers, name)(0.5, noise_shape=noise_shape)
    assert getattr(layers, name)(0.5, noise_shape=[None, 1]).noise_shape == (None, 1)
