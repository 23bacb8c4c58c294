"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019), as Keras builds them.

Inverted-residual blocks as in MobileNetV2, with 3x3 or 5x5 depthwise kernels, squeeze-and-excite
(pooled 1x1 reduce, ReLU, 1x1 expand, hard sigmoid, multiply) in some blocks, and hard swish in
the deeper half. The model rescales [0, 255] inputs itself (`include_preprocessing`); the input
size is free even with the classifier (1x1 convolutions on the pooled features). `minimalistic`
drops squeeze-and-excite, hard swish and the 5x5 kernels. Parameters at alpha=1.0: 2,554,968
(Small) and 5,507,432 (Large); 939,120 and 2,996,352 without the top.
"""

from __future__ import annotations

import warnings

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import correct_pad, decode_predictions
from lamina.applications.mobilenet_v2 import make_divisible

# (expansion, filters, kernel ("k": the family's kernel), stride, squeeze-excite, "hs": the
# family's activation, else ReLU) per block.
_SMALL = (
    (1, 16, 3, 2, True, False),
    (72 / 16, 24, 3, 2, False, False),
    (88 / 24, 24, 3, 1, False, False),
    (4, 40, "k", 2, True, True),
    (6, 40, "k", 1, True, True),
    (6, 40, "k", 1, True, True),
    (3, 48, "k", 1, True, True),
    (3, 48, "k", 1, True, True),
    (6, 96, "k", 2, True, True),
    (6, 96, "k", 1, True, True),
    (6, 96, "k", 1, True, True),
)
_LARGE = (
    (1, 16, 3, 1, False, False),
    (4, 24, 3, 2, False, False),
    (3, 24, 3, 1, False, False),
    (3, 40, "k", 2, True, False),
    (3, 40, "k", 1, True, False),
    (3, 40, "k", 1, True, False),
    (6, 80, 3, 2, False, True),
    (2.5, 80, 3, 1, False, True),
    (2.3, 80, 3, 1, False, True),
    (2.3, 80, 3, 1, False, True),
    (6, 112, 3, 1, True, True),
    (6, 112, 3, 1, True, True),
    (6, 160, "k", 2, True, True),
    (6, 160, "k", 1, True, True),
    (6, 160, "k", 1, True, True),
)


def _batch_norm(name):
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)


def _relu(x):
    return layers.ReLU()(x)


def _hard_swish(x):
    return layers.Activation("hard_swish")(x)


def _hard_sigmoid(x):
    """relu6(x + 3) / 6, as Keras writes it (the arithmetic is graph operations, not layers)."""
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _squeeze_excite(inputs, filters, prefix):
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(
        inputs
    )
    x = layers.Conv2D(
        make_divisible(filters * 0.25), 1, padding="same", name=f"{prefix}squeeze_excite_conv"
    )(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_residual(x, expansion, filters, kernel, stride, squeeze, activation, block_id):
    shortcut = x
    in_channels = x.shape[-1]
    expanded = make_divisible(in_channels * expansion)
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(expanded, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _batch_norm(f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        name=f"{prefix}depthwise",
    )(x)
    x = _batch_norm(f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if squeeze:
        x = _squeeze_excite(x, expanded, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(f"{prefix}project_bn")(x)
    if stride == 1 and in_channels == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _mobilenet_v3(
    builder,
    kind,
    blocks,
    last_point,
    input_shape,
    alpha,
    minimalistic,
    include_top,
    weights,
    input_tensor,
    classes,
    pooling,
    dropout_rate,
    classifier_activation,
    include_preprocessing,
    name,
):
    if weights == "imagenet":
        if (alpha not in (0.75, 1.0)) if not minimalistic else alpha != 1.0:
            raise ValueError(
                f"{builder}() with weights='imagenet' expects alpha 0.75 or 1.0 (1.0 when "
                f"minimalistic); received alpha={alpha}, minimalistic={minimalistic}."
            )
        shape = input_shape or (tuple(input_tensor.shape[1:]) if input_tensor is not None else None)
        if shape is None or shape[0] != shape[1] or shape[0] != 224:
            warnings.warn(
                f"{builder}(): input_shape is unset, not square or not 224; loading the weights "
                "published for 224x224 inputs.",
                stacklevel=3,
            )
    family_kernel, family_activation = (3, _relu) if minimalistic else (5, _hard_swish)
    variant = f"{kind}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    suffix = "" if include_top else "_no_top_v2"

    def body(inputs):
        x = inputs
        if include_preprocessing:
            x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
        x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="conv")(x)
        x = _batch_norm("conv_bn")(x)
        x = family_activation(x)
        for block_id, (expansion, filters, kernel, stride, squeeze, hs) in enumerate(blocks):
            x = _inverted_residual(
                x,
                expansion,
                make_divisible(filters * alpha),
                family_kernel if kernel == "k" else kernel,
                stride,
                squeeze and not minimalistic,
                family_activation if hs else _relu,
                block_id,
            )
        last_conv = make_divisible(x.shape[-1] * 6)
        x = layers.Conv2D(last_conv, 1, padding="same", use_bias=False, name="conv_1")(x)
        x = _batch_norm("conv_1_bn")(x)
        return family_activation(x)

    def top(x, classes, classifier_activation):
        width = make_divisible(last_point * alpha) if alpha > 1.0 else last_point
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(width, 1, padding="same", name="conv_2")(x)
        x = family_activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        return layers.Activation(classifier_activation, name="predictions")(x)

    return common.build(
        builder,
        body,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
        file_name=f"weights_mobilenet_v3_{variant}{suffix}.h5",
        top=top,
        any_size_top=True,
    )


def MobileNetV3Small(
    input_shape=None,
    alpha=1.0,
    minimalistic=False,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    classes=1000,
    pooling=None,
    dropout_rate=0.2,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="MobileNetV3Small",
):
    """MobileNetV3Small, as `keras.applications.MobileNetV3Small`.

    Args:
        input_shape: `(height, width, 3)`, at least 32 pixels; free (None) by default.
        alpha: width multiplier (ImageNet weights exist for 0.75 and 1.0).
        minimalistic: no squeeze-and-excite, hard swish or 5x5 kernels.
        include_top: keep the classifier (pooling, 1x1 convolutions, softmax).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        classes: size of the classifier (1000 with ImageNet weights).
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        dropout_rate: rate of the dropout before the last 1x1 convolution.
        classifier_activation: activation of the classifier (softmax; None gives logits).
        include_preprocessing: rescale [0, 255] inputs to [-1, 1] inside the model.
        name: the model's name.

    Example:
        >>> MobileNetV3Small(weights=None, include_top=False).count_params()
        939120
    """
    return _mobilenet_v3(
        "MobileNetV3Small",
        "small",
        _SMALL,
        1024,
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


def MobileNetV3Large(
    input_shape=None,
    alpha=1.0,
    minimalistic=False,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    classes=1000,
    pooling=None,
    dropout_rate=0.2,
    classifier_activation="softmax",
    include_preprocessing=True,
    name="MobileNetV3Large",
):
    """MobileNetV3Large, as `keras.applications.MobileNetV3Large`: the larger of the two
    MobileNetV3 searches (15 inverted-residual blocks, 1280 features before the classifier).

    Args:
        input_shape: `(height, width, 3)`, at least 32 pixels; free (None) by default.
        alpha: width multiplier (default 1.0; ImageNet weights exist for 0.75 and 1.0).
        minimalistic: no squeeze-and-excite, hard swish or 5x5 kernels (default False).
        include_top: keep the classifier (pooling, 1x1 convolutions, softmax); default True.
        weights: None (random), "imagenet" (default: Keras's file, looked up offline) or a file
            path.
        input_tensor: a symbolic tensor to use as the input (default None: a new `Input`).
        classes: size of the classifier (default 1000, required with ImageNet weights).
        pooling: without the top, None (default: 4-D output), "avg" or "max" (2-D output).
        dropout_rate: rate of the dropout before the last 1x1 convolution (default 0.2).
        classifier_activation: activation of the classifier (default softmax; None gives
            logits).
        include_preprocessing: rescale [0, 255] inputs to [-1, 1] inside the model (default
            True).
        name: the model's name (default "MobileNetV3Large").

    Example:
        >>> MobileNetV3Large(weights=None, include_top=False).count_params()
        2996352
    """
    return _mobilenet_v3(
        "MobileNetV3Large",
        "large",
        _LARGE,
        1280,
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


def preprocess_input(x, data_format=None):
    """The identity: MobileNetV3 rescales its inputs itself (kept for Keras's API)."""
    return x


__all__ = ["MobileNetV3Large", "MobileNetV3Small", "decode_predictions", "preprocess_input"]
