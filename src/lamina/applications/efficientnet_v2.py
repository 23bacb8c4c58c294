"""EfficientNetV2 B0-B3, S, M and L (Tan & Le, 2021), as `keras.applications` builds them.

Like EfficientNet, but the early stages use *fused* MBConv blocks (one 3x3 convolution in place
of the 1x1 expansion + depthwise pair, no squeeze-and-excite), BatchNormalization momentum 0.9,
'same' padding throughout and a final stage more. The model preprocesses [0, 255] inputs itself:
the B variants with ImageNet's mean and std, S/M/L to [-1, 1]. Parameters: B0 7,200,312
(5,919,312 without the top) ... L 119,027,848 (117,746,848).
"""

from __future__ import annotations

import math

from lamina import initializers, layers
from lamina.applications import common
from lamina.applications.efficientnet import (
    conv_initializer,
    dense_initializer,
    residual,
    squeeze_excite,
)
from lamina.applications.imagenet_utils import decode_predictions

# (repeats, filters in, filters out, expansion, squeeze-excite ratio, stride, fused) per stage;
# every kernel is 3x3.
_B_STAGES = (
    (1, 32, 16, 1, 0, 1, True),
    (2, 16, 32, 4, 0, 2, True),
    (2, 32, 48, 4, 0, 2, True),
    (3, 48, 96, 4, 0.25, 2, False),
    (5, 96, 112, 6, 0.25, 1, False),
    (8, 112, 192, 6, 0.25, 2, False),
)
_STAGES = {
    "s": (
        (2, 24, 24, 1, 0, 1, True),
        (4, 24, 48, 4, 0, 2, True),
        (4, 48, 64, 4, 0, 2, True),
        (6, 64, 128, 4, 0.25, 2, False),
        (9, 128, 160, 6, 0.25, 1, False),
        (15, 160, 256, 6, 0.25, 2, False),
    ),
    "m": (
        (3, 24, 24, 1, 0, 1, True),
        (5, 24, 48, 4, 0, 2, True),
        (5, 48, 80, 4, 0, 2, True),
        (7, 80, 160, 4, 0.25, 2, False),
        (14, 160, 176, 6, 0.25, 1, False),
        (18, 176, 304, 6, 0.25, 2, False),
        (5, 304, 512, 6, 0.25, 1, False),
    ),
    "l": (
        (4, 32, 32, 1, 0, 1, True),
        (7, 32, 64, 4, 0, 2, True),
        (7, 64, 96, 4, 0, 2, True),
        (10, 96, 192, 4, 0.25, 2, False),
        (19, 192, 224, 6, 0.25, 1, False),
        (25, 224, 384, 6, 0.25, 2, False),
        (7, 384, 640, 6, 0.25, 1, False),
    ),
}
# (stages, width, depth, default input size) per variant
_VARIANTS = {
    "b0": (_B_STAGES, 1.0, 1.0, 224),
    "b1": (_B_STAGES, 1.0, 1.1, 240),
    "b2": (_B_STAGES, 1.1, 1.2, 260),
    "b3": (_B_STAGES, 1.2, 1.4, 300),
    "s": (_STAGES["s"], 1.0, 1.0, 384),
    "m": (_STAGES["m"], 1.0, 1.0, 480),
    "l": (_STAGES["l"], 1.0, 1.0, 480),
}
_ACTIVATION = "swish"


def _batch_norm(name):
    return layers.BatchNormalization(momentum=0.9, name=name)


def _conv(filters, kernel, name, stride=1):
    return layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer=conv_initializer(),
        name=name,
    )


def _block(inputs, name, drop_rate, filters_in, filters_out, expansion, se_ratio, stride, fused):
    """An MBConv block, or its fused form (one 3x3 convolution expands and strides)."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        kernel, conv_stride = (3, stride) if fused else (1, 1)
        x = _conv(filters, kernel, f"{name}expand_conv", stride=conv_stride)(x)
        x = _batch_norm(f"{name}expand_bn")(x)
        x = layers.Activation(_ACTIVATION, name=f"{name}expand_activation")(x)
    if not fused:
        x = layers.DepthwiseConv2D(
            3,
            strides=stride,
            padding="same",
            use_bias=False,
            depthwise_initializer=conv_initializer(),
            name=f"{name}dwconv2",
        )(x)
        x = _batch_norm(f"{name}bn")(x)
        x = layers.Activation(_ACTIVATION, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        reduced = max(1, int(filters_in * se_ratio))
        x = squeeze_excite(x, filters, reduced, _ACTIVATION, name)
    projects_alone = fused and expansion == 1  # the fused block's only convolution
    x = _conv(
        filters_out,
        3 if projects_alone else 1,
        f"{name}project_conv",
        stride=stride if projects_alone else 1,
    )(x)
    x = _batch_norm(f"{name}project_bn")(x)
    if projects_alone:
        x = layers.Activation(_ACTIVATION, name=f"{name}project_activation")(x)
    if stride == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def _efficientnet_v2(
    variant,
    builder,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    include_preprocessing,
    name,
):
    stages, width, depth, default_size = _VARIANTS[variant]
    drop_connect_rate, dropout = 0.2, 0.2

    def widen(filters):
        return max(8, int(filters * width + 4) // 8 * 8)

    def body(inputs):
        x = inputs
        if include_preprocessing:
            if name.split("-")[-1].startswith("b") and inputs.shape[-1] == 3:
                x = layers.Rescaling(scale=1.0 / 255)(x)
                x = layers.Normalization(
                    mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2], axis=-1
                )(x)
            else:
                x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
        x = _conv(widen(stages[0][1]), 3, "stem_conv", stride=2)(x)
        x = _batch_norm("stem_bn")(x)
        x = layers.Activation(_ACTIVATION, name="stem_activation")(x)
        total = float(sum(stage[0] for stage in stages))
        index = 0
        for number, (repeats, f_in, f_out, expansion, se_ratio, stride, fused) in enumerate(
            stages, start=1
        ):
            f_in, f_out = widen(f_in), widen(f_out)
            for j in range(int(math.ceil(depth * repeats))):
                x = _block(
                    x,
                    f"block{number}{chr(ord('a') + j)}_",
                    drop_connect_rate * index / total,
                    f_in if j == 0 else f_out,
                    f_out,
                    expansion,
                    se_ratio,
                    stride if j == 0 else 1,
                    fused,
                )
                index += 1
        x = _conv(widen(1280), 1, "top_conv")(x)
        x = _batch_norm("top_bn")(x)
        return layers.Activation(_ACTIVATION, name="top_activation")(x)

    def top(x, classes, classifier_activation):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(dropout, name="top_dropout")(x)
        return layers.Dense(
            classes,
            activation=classifier_activation,
            kernel_initializer=dense_initializer(),
            bias_initializer=initializers.Constant(0.0),
            name="predictions",
        )(x)

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
        file_name=f"{name}{'' if include_top else '_notop'}.h5",
        default_size=default_size,
        top=top,
    )


def _make_builder(variant: str):
    builder = f"EfficientNetV2{variant.upper()}"

    def build(
        include_top=True,
        weights="imagenet",
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        include_preprocessing=True,
        name=f"efficientnetv2-{variant}",
    ):
        return _efficientnet_v2(
            variant,
            builder,
            include_top,
            weights,
            input_tensor,
            input_shape,
            pooling,
            classes,
            classifier_activation,
            include_preprocessing,
            name,
        )

    size = _VARIANTS[variant][3]
    build.__name__ = build.__qualname__ = builder
    build.__doc__ = f"""{builder}, as `keras.applications.{builder}`.

    Takes [0, 255] pixels (the model preprocesses them itself unless told not to).

    Args:
        include_top: keep the classifier (global average pooling, dropout, Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; ({size}, {size}, 3) with the top, free (>= 32) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        include_preprocessing: rescale (and for B0-B3 standardise) the inputs in the model.
        name: the model's name (Keras's weights file is named after it).

    Example:
        >>> {builder}(weights=None, include_top=False, input_shape=(64, 64, 3)).output.shape[1:3]
        (2, 2)
    """
    return build


EfficientNetV2B0 = _make_builder("b0")
EfficientNetV2B1 = _make_builder("b1")
EfficientNetV2B2 = _make_builder("b2")
EfficientNetV2B3 = _make_builder("b3")
EfficientNetV2S = _make_builder("s")
EfficientNetV2M = _make_builder("m")
EfficientNetV2L = _make_builder("l")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNetV2 preprocesses its inputs itself (kept for Keras's API)."""
    return x


__all__ = [
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "decode_predictions",
    "preprocess_input",
]
