"""Every user-facing error of the convolutional family, triggered and its message pinned: who
(layer name and class), what was expected, what came (the shapes) and the fix."""

from __future__ import annotations

import pytest
import torch

from lamina import layers


def _built(layer, shape):
    layer(torch.zeros(shape))
    return layer


CALL_ERRORS = [
    # kernel larger than the (padded) input: zero or negative output size
    (
        "conv-kernel-too-large",
        lambda: layers.Conv2D(4, 5),
        (1, 3, 3, 2),
        r"Layer 'conv2d' \(Conv2D\) expects spatial sizes at least its \(dilated\) kernel size "
        r"\(5, 5\) with padding='valid'; received input shape \(1, 3, 3, 2\), which gives a "
        r"zero or "
        r"negative output size \(-1, -1\)\. Hint: use padding='same'",
    ),
    (
        "conv1d-dilated-kernel-too-large",
        lambda: layers.Conv1D(4, 3, dilation_rate=4),
        (1, 8, 2),
        r"Layer 'conv1d' \(Conv1D\) expects spatial sizes at least its \(dilated\) kernel size "
        r"\(9,\) .* output size \(0,\)",
    ),
    (
        "pool-too-large",
        lambda: layers.MaxPooling2D(4),
        (1, 3, 3, 2),
        r"Layer 'max_pooling2d' \(MaxPooling2D\) expects spatial sizes at least pool_size \(4, 4\) "
        r"with padding='valid'; received input shape \(1, 3, 3, 2\), which gives a zero or "
        r"negative "
        r"output size \(0, 0\)\. Hint: use padding='same' or remove a pooling layer",
    ),
    (
        "cropping-negative-size",
        lambda: layers.Cropping2D(((2, 3), (0, 0))),
        (1, 4, 4, 2),
        r"Layer 'cropping2d' \(Cropping2D\) expects cropping \(\(2, 3\), \(0, 0\)\) to "
        r"leave at least "
        r"one position .* input shape \(1, 4, 4, 2\), which would give a zero or negative output "
        r"size \(-1, 4\)\. Hint: crop less",
    ),
    # wrong rank for the layer's dimension
    (
        "conv1d-on-images",
        lambda: layers.Conv1D(4, 3),
        (1, 8, 8, 3),
        r"Layer 'conv1d' \(Conv1D\) expects 3-D input \(batch, steps, channels\); received a 4-D "
        r"input of shape \(1, 8, 8, 3\)\. Hint: Conv1D works on 3-D input; "
        r"a 4-D input fits Conv2D, "
        r"a 5-D input fits Conv3D",
    ),
    (
        "conv3d-on-4d",
        lambda: layers.Conv3D(4, 3),
        (1, 8, 8, 3),
        r"Layer 'conv3d' \(Conv3D\) expects 5-D input \(batch, depth, height, width, channels\); "
        r"received a 4-D input of shape \(1, 8, 8, 3\)\. Hint: add the missing channel",
    ),
    (
        "separable2d-on-volumes",
        lambda: layers.SeparableConv2D(4, 3),
        (1, 8, 8, 8, 2),
        r"Layer 'separable_conv2d' \(SeparableConv2D\) expects 4-D input .* a 5-D input of shape "
        r"\(1, 8, 8, 8, 2\)\. Hint: SeparableConv2D works on 4-D input; a 3-D input fits "
        r"SeparableConv1D",
    ),
    (
        "maxpool1d-on-images",
        lambda: layers.MaxPooling1D(2),
        (1, 8, 8, 3),
        r"Layer 'max_pooling1d' \(MaxPooling1D\) expects 3-D input .* Hint: MaxPooling1D works on "
        r"3-D input; a 4-D input fits MaxPooling2D",
    ),
    (
        "repeat-vector-on-sequences",
        lambda: layers.RepeatVector(3),
        (2, 3, 4),
        r"Layer 'repeat_vector' \(RepeatVector\) expects 2-D input \(batch, features\); received a "
        r"3-D input of shape \(2, 3, 4\)\. Hint: .*Flatten first",
    ),
    (
        "groups-do-not-divide-channels",
        lambda: layers.Conv2D(4, 3, groups=2),
        (1, 5, 5, 3),
        r"Layer 'conv2d' \(Conv2D\) expects input channels divisible by groups=2; received 3 "
        r"channels in shape \(1, 5, 5, 3\)",
    ),
    (
        "group-norm-groups",
        lambda: layers.GroupNormalization(3),
        (1, 4, 4, 4),
        r"Layer 'group_normalization' \(GroupNormalization\) expects a channel count divisible by "
        r"groups=3; received 4 channels on axis 3 of shape \(1, 4, 4, 4\)\. Hint: choose groups",
    ),
    (
        "layer-norm-axis",
        lambda: layers.LayerNormalization(axis=3),
        (1, 4, 4),
        r"Layer 'layer_normalization' \(LayerNormalization\) expects `axis` in \[1, 2\] or "
        r"\[-2, -1\] \(not the batch axis\); received axis=3 for input shape \(1, 4, 4\)",
    ),
    (
        "batch-norm-batch-axis",
        lambda: layers.BatchNormalization(axis=0),
        (4, 3),
        r"Layer 'batch_normalization' \(BatchNormalization\) expects `axis` in \[1, 1\]",
    ),
]


@pytest.mark.parametrize(
    "make, shape, message", [c[1:] for c in CALL_ERRORS], ids=[c[0] for c in CALL_ERRORS]
)
def test_call_error_message(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(torch.zeros(shape))


def test_kernel_too_large_is_caught_symbolically():
    with pytest.raises(
        ValueError,
        match=r"Layer 'conv2d' \(Conv2D\) expects spatial sizes at "
        r"least its \(dilated\) kernel size \(7, 7\) .* \(None, 5, 5, 2\)",
    ):
        layers.Conv2D(4, 3, dilation_rate=3)(layers.Input((5, 5, 2)))


@pytest.mark.parametrize(
    "layer, built_shape, shape",
    [
        (lambda: layers.Conv2D(4, 3), (1, 8, 8, 3), (1, 8, 8, 4)),
        (lambda: layers.Conv1DTranspose(4, 3), (1, 8, 3), (1, 8, 5)),
        (
            lambda: layers.DepthwiseConv2D(3, data_format="channels_first"),
            (1, 3, 8, 8),
            (1, 2, 8, 8),
        ),
    ],
)
def test_channel_mismatch_on_a_built_layer(layer, built_shape, shape):
    built = _built(layer(), built_shape)
    axis = -1 if built.data_format == "channels_last" else 1
    with pytest.raises(
        ValueError,
        match=(
            rf"Layer '{built.name}' \({type(built).__name__}\) expects axis {axis} of its "
            rf"input to be "
            rf"{built_shape[axis]} \(the size it was built with\); received shape "
            rf"\({', '.join(map(str, shape))}\)\. Hint: feed inputs of the shape the model "
            r"was built "
            r"for, or build a new layer"
        ),
    ):
        built(torch.zeros(shape))


CONSTRUCTOR_ERRORS = [
    (
        "output-padding-vs-stride",
        lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
        r"Layer 'conv2d_transpose' \(Conv2DTranspose\) expects every output_padding entry smaller "
        r"than its stride; received output_padding=\(2, 2\), strides=\(2, 2\)",
    ),
    (
        "strides-and-dilation",
        lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2),
        r"Layer 'conv2d' \(Conv2D\) expects strides == 1 when dilation_rate > 1 \(as Keras\); "
        r"received strides=\(2, 2\), dilation_rate=\(2, 2\)\. Hint: use either",
    ),
    (
        "conv-lstm-strides-and-dilation",  # torch would convolve; Keras refuses the pair
        lambda: layers.ConvLSTM2D(4, 3, strides=2, dilation_rate=(1, 2)),
        r"\(ConvLSTMCell\) expects strides == 1 when dilation_rate > 1 \(as Keras\); "
        r"received strides=\(2, 2\), dilation_rate=\(1, 2\)",
    ),
    (
        "unknown-padding",
        lambda: layers.Conv1D(4, 3, padding="full"),
        r"Layer 'conv1d' \(Conv1D\) expects `padding` in \['valid', 'same', 'causal'\]; received "
        r"padding='full'",
    ),
    (
        "causal-is-1d-only",
        lambda: layers.Conv2D(4, 3, padding="causal"),
        r"expects `padding` in \['valid', 'same'\]; received padding='causal'",
    ),
    (
        "filters-vs-groups",
        lambda: layers.Conv2D(5, 3, groups=2),
        r"Layer 'conv2d' \(Conv2D\) expects `filters` divisible by groups=2; received filters=5",
    ),
    (
        "kernel-size-length",
        lambda: layers.Conv2D(4, (3, 3, 3)),
        r"expects `kernel_size` as an int or a tuple of 2 ints; received kernel_size=\(3, 3, 3\)",
    ),
    (
        "depth-multiplier",
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
        r"expects `depth_multiplier` to be a positive integer; received depth_multiplier=0",
    ),
    (
        "zero-padding-shape",
        lambda: layers.ZeroPadding2D(((1, 2, 3),)),
        r"Layer 'zero_padding2d' \(ZeroPadding2D\) expects `padding` as an int, "
        r"a tuple of 2 ints or "
        r"a tuple of 2 pairs; received padding=\(\(1, 2, 3\),\)",
    ),
    (
        "negative-cropping",
        lambda: layers.Cropping1D((-1, 2)),
        r"expects non-negative `cropping`; received cropping=\(-1, 2\)",
    ),
    (
        "permute-dims",
        lambda: layers.Permute((1, 3)),
        r"Layer 'permute' \(Permute\) expects `dims` to be a permutation of 1\.\.2",
    ),
    (
        "bilinear-is-2d-only",
        lambda: layers.UpSampling3D(2, interpolation="bilinear"),
        r"expects `interpolation` in \['nearest'\]; received interpolation='bilinear'",
    ),
    (
        "dropout-rate",
        lambda: layers.SpatialDropout2D(1.5),
        r"Layer 'spatial_dropout2d' \(SpatialDropout2D\) expects `rate` in \[0, 1\) ",
    ),
    (
        "noise-stddev",
        lambda: layers.GaussianNoise(-0.1),
        r"expects `stddev` >= 0; received stddev=-0.1",
    ),
]


@pytest.mark.parametrize(
    "make, message", [c[1:] for c in CONSTRUCTOR_ERRORS], ids=[c[0] for c in CONSTRUCTOR_ERRORS]
)
def test_constructor_error_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()
