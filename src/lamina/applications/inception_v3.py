"""InceptionV3 (Szegedy et al., 2015), as `keras.applications.InceptionV3` builds it.

A stem of five convolutions and two max poolings, then eleven Inception modules ("mixed0" to
"mixed10"): parallel branches of 1x1, factorised 5x5 / 7x7 / 3x3 convolutions and pooling,
concatenated. Every convolution is bias-free and followed by BatchNormalization without scale and
ReLU. Most layers carry Keras's automatic names; Keras's published files load in order.
Parameters: 23,851,784 (21,802,784 without the top). Inputs at least 75x75.
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess


def conv_bn(x, filters, kernel, strides=1, padding="same", name=None):
    """Bias-free convolution, BatchNormalization (no scale), ReLU; `name` names the ReLU and
    suffixes the others `_conv` / `_bn`, as Keras's Inception helper does."""
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=False,
        name=f"{name}_conv" if name else None,
    )(x)
    x = layers.BatchNormalization(scale=False, name=f"{name}_bn" if name else None)(x)
    return layers.Activation("relu", name=name)(x)


def _chain(x, steps):
    """Apply `(filters, kernel[, strides, padding])` convolutions one after another."""
    for step in steps:
        x = conv_bn(x, *step)
    return x


def _average_pool_branch(x, filters):
    x = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    return conv_bn(x, filters, 1)


def _module_35(x, pool_filters, name):
    branches = [
        conv_bn(x, 64, 1),
        _chain(x, [(48, 1), (64, 5)]),
        _chain(x, [(64, 1), (96, 3), (96, 3)]),
        _average_pool_branch(x, pool_filters),
    ]
    return layers.Concatenate(axis=-1, name=name)(branches)


def _module_17(x, width, name):
    branches = [
        conv_bn(x, 192, 1),
        _chain(x, [(width, 1), (width, (1, 7)), (192, (7, 1))]),
        _chain(x, [(width, 1), (width, (7, 1)), (width, (1, 7)), (width, (7, 1)), (192, (1, 7))]),
        _average_pool_branch(x, 192),
    ]
    return layers.Concatenate(axis=-1, name=name)(branches)


def _module_8(x, index):
    branch1x1 = conv_bn(x, 320, 1)
    branch3x3 = conv_bn(x, 384, 1)
    branch3x3 = layers.Concatenate(axis=-1, name=f"mixed9_{index}")(
        [conv_bn(branch3x3, 384, (1, 3)), conv_bn(branch3x3, 384, (3, 1))]
    )
    double = _chain(x, [(448, 1), (384, 3)])
    double = layers.Concatenate(axis=-1)(
        [conv_bn(double, 384, (1, 3)), conv_bn(double, 384, (3, 1))]
    )
    branches = [branch1x1, branch3x3, double, _average_pool_branch(x, 192)]
    return layers.Concatenate(axis=-1, name=f"mixed{9 + index}")(branches)


def _body(inputs):
    x = conv_bn(inputs, 32, 3, strides=2, padding="valid")
    x = conv_bn(x, 32, 3, padding="valid")
    x = conv_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv_bn(x, 80, 1, padding="valid")
    x = conv_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = _module_35(x, 32, "mixed0")
    x = _module_35(x, 64, "mixed1")
    x = _module_35(x, 64, "mixed2")
    x = layers.Concatenate(axis=-1, name="mixed3")(
        [
            conv_bn(x, 384, 3, strides=2, padding="valid"),
            _chain(x, [(64, 1), (96, 3), (96, 3, 2, "valid")]),
            layers.MaxPooling2D(3, strides=2)(x),
        ]
    )
    x = _module_17(x, 128, "mixed4")
    x = _module_17(x, 160, "mixed5")
    x = _module_17(x, 160, "mixed6")
    x = _module_17(x, 192, "mixed7")
    x = layers.Concatenate(axis=-1, name="mixed8")(
        [
            _chain(x, [(192, 1), (320, 3, 2, "valid")]),
            _chain(x, [(192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, "valid")]),
            layers.MaxPooling2D(3, strides=2)(x),
        ]
    )
    x = _module_8(x, 0)
    return _module_8(x, 1)


def InceptionV3(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_v3",
):
    """InceptionV3, as `keras.applications.InceptionV3`.

    Args:
        include_top: keep the classifier (global average pooling + Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; (299, 299, 3) with the top, free (>= 75) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name.

    Example:
        >>> InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3)).output.shape
        (None, 1, 1, 2048)
    """
    suffix = "" if include_top else "_notop"
    return common.build(
        "InceptionV3",
        _body,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
        file_name=f"inception_v3_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
        default_size=299,
        min_size=75,
        pool_names=(None, None),
    )


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what InceptionV3's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]
