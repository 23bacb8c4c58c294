"""Xception (Chollet, 2017), as `keras.applications.Xception` builds it.

Depthwise separable convolutions with residual connections: an entry flow (two plain 3x3
convolutions, then three blocks of two separable convolutions and a 3x3/2 max pooling, each added
to a strided 1x1 projection of its input), a middle flow of eight blocks of three separable
convolutions with identity shortcuts, an exit flow block and two final separable convolutions.
The projections' BatchNormalization layers carry Keras's automatic names. Parameters: 22,910,480
(20,861,480 without the top). Inputs at least 71x71.
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess


def _separable_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _downsampling_block(x, filters, block, first_activation=True):
    """Two separable convolutions and max pooling, plus a strided 1x1 projection shortcut."""
    first, second = filters
    residual = layers.Conv2D(second, 1, strides=2, padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization()(residual)
    if first_activation:
        x = layers.Activation("relu", name=f"{block}_sepconv1_act")(x)
    x = _separable_bn(x, first, f"{block}_sepconv1")
    x = layers.Activation("relu", name=f"{block}_sepconv2_act")(x)
    x = _separable_bn(x, second, f"{block}_sepconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{block}_pool")(x)
    return layers.Add()([x, residual])


def _middle_block(x, block):
    residual = x
    for index in (1, 2, 3):
        x = layers.Activation("relu", name=f"{block}_sepconv{index}_act")(x)
        x = _separable_bn(x, 728, f"{block}_sepconv{index}")
    return layers.Add()([x, residual])


def _body(inputs):
    x = layers.Conv2D(32, 3, strides=2, use_bias=False, name="block1_conv1")(inputs)
    x = layers.BatchNormalization(name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, 3, use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, (128, 128), "block2", first_activation=False)
    x = _downsampling_block(x, (256, 256), "block3")
    x = _downsampling_block(x, (728, 728), "block4")
    for index in range(5, 13):
        x = _middle_block(x, f"block{index}")
    x = _downsampling_block(x, (728, 1024), "block13")
    x = _separable_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _separable_bn(x, 2048, "block14_sepconv2")
    return layers.Activation("relu", name="block14_sepconv2_act")(x)


def Xception(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="xception",
):
    """Xception, as `keras.applications.Xception`.

    Args:
        include_top: keep the classifier (global average pooling + Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; (299, 299, 3) with the top, free (>= 71) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name.

    Example:
        >>> Xception(weights=None, include_top=False, input_shape=(71, 71, 3)).count_params()
        20861480
    """
    suffix = "" if include_top else "_notop"
    return common.build(
        "Xception",
        _body,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
        file_name=f"xception_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
        default_size=299,
        min_size=71,
        pool_names=(None, None),
    )


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what Xception's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["Xception", "decode_predictions", "preprocess_input"]
