"""EfficientNetB0 to B7 (Tan & Le, 2019), as `keras.applications` builds them.

The model takes [0, 255] pixels and normalises them itself (Rescaling to [0, 1], then a
Normalization layer holding ImageNet's mean and variance; with `weights="imagenet"` a further
Rescaling by 1/std reproduces the original implementation's division by the variance). A 3x3/2
stem, seven stages of MBConv blocks (1x1 expansion, depthwise kxk, squeeze-and-excite, 1x1
projection; a residual add with stochastic-depth dropout where shapes allow), a 1x1 convolution
to 1280 * width channels and the classifier. B1..B7 scale width, depth and input size.
Parameters: B0 5,330,571 (4,049,571 without the top) ... B7 66,658,687 (64,097,687).
"""

from __future__ import annotations

import math

from lamina import initializers, layers
from lamina.applications import common
from lamina.applications.imagenet_utils import correct_pad, decode_predictions
from lamina.applications.mobilenet_v2 import make_divisible

# (kernel, repeats, filters in, filters out, expansion, stride) of the seven stages; every block
# has squeeze-and-excite at ratio 0.25.
_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
# (width, depth, default input size, top dropout) per variant
_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def conv_initializer():
    """He-style fan-out truncated normal, the convolutions' initializer in EfficientNet(V2)."""
    return initializers.VarianceScaling(2.0, mode="fan_out", distribution="truncated_normal")


def dense_initializer():
    return initializers.VarianceScaling(1.0 / 3.0, mode="fan_out", distribution="uniform")


def squeeze_excite(x, filters, reduced, activation, name):
    """Global pooling, 1x1 reduce (`activation`), 1x1 expand (sigmoid), channel-wise product."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(
        reduced,
        1,
        padding="same",
        activation=activation,
        kernel_initializer=conv_initializer(),
        name=f"{name}se_reduce",
    )(se)
    se = layers.Conv2D(
        filters,
        1,
        padding="same",
        activation="sigmoid",
        kernel_initializer=conv_initializer(),
        name=f"{name}se_expand",
    )(se)
    return layers.Multiply(name=f"{name}se_excite")([x, se])


def residual(x, inputs, drop_rate, name):
    """Stochastic depth (whole-sample dropout) on the branch, then the residual add."""
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.Add(name=f"{name}add")([x, inputs])


def _mbconv(
    inputs, activation, drop_rate, name, kernel, filters_in, filters_out, expansion, stride
):
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_initializer(),
            name=f"{name}expand_conv",
        )(x)
        x = layers.BatchNormalization(name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel,
        strides=stride,
        padding="valid" if stride == 2 else "same",
        use_bias=False,
        depthwise_initializer=conv_initializer(),
        name=f"{name}dwconv",
    )(x)
    x = layers.BatchNormalization(name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    x = squeeze_excite(x, filters, max(1, int(filters_in * 0.25)), activation, name)
    x = layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=conv_initializer(),
        name=f"{name}project_conv",
    )(x)
    x = layers.BatchNormalization(name=f"{name}project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def _efficientnet(
    variant,
    builder,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    name,
):
    width, depth, default_size, dropout = _SCALING[variant]
    drop_connect_rate, activation = 0.2, "swish"

    def widen(filters):
        return make_divisible(filters * width, 8)

    def repeat(count):
        return int(math.ceil(depth * count))

    def body(inputs):
        x = layers.Rescaling(1.0 / 255.0)(inputs)
        x = layers.Normalization(axis=-1)(x)
        if weights == "imagenet":
            x = layers.Rescaling([1.0 / math.sqrt(std) for std in IMAGENET_STDDEV_RGB])(x)
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
        x = layers.Conv2D(
            widen(32),
            3,
            strides=2,
            use_bias=False,
            kernel_initializer=conv_initializer(),
            name="stem_conv",
        )(x)
        x = layers.BatchNormalization(name="stem_bn")(x)
        x = layers.Activation(activation, name="stem_activation")(x)
        total = float(sum(repeat(stage[1]) for stage in _STAGES))
        index = 0
        for stage, (kernel, repeats, f_in, f_out, expansion, stride) in enumerate(_STAGES):
            f_in, f_out = widen(f_in), widen(f_out)
            for j in range(repeat(repeats)):
                x = _mbconv(
                    x,
                    activation,
                    drop_connect_rate * index / total,
                    f"block{stage + 1}{chr(ord('a') + j)}_",
                    kernel,
                    f_in if j == 0 else f_out,
                    f_out,
                    expansion,
                    stride if j == 0 else 1,
                )
                index += 1
        x = layers.Conv2D(
            widen(1280),
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_initializer(),
            name="top_conv",
        )(x)
        x = layers.BatchNormalization(name="top_bn")(x)
        return layers.Activation(activation, name="top_activation")(x)

    def top(x, classes, classifier_activation):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name="top_dropout")(x)
        return layers.Dense(
            classes,
            activation=classifier_activation,
            kernel_initializer=dense_initializer(),
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
    builder = f"EfficientNet{variant.upper()}"

    def build(
        include_top=True,
        weights="imagenet",
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=f"efficientnet{variant}",
    ):
        return _efficientnet(
            variant,
            builder,
            include_top,
            weights,
            input_tensor,
            input_shape,
            pooling,
            classes,
            classifier_activation,
            name,
        )

    size = _SCALING[variant][2]
    build.__name__ = build.__qualname__ = builder
    build.__doc__ = f"""{builder}, as `keras.applications.{builder}`.

    Takes [0, 255] pixels (the model normalises them itself).

    Args:
        include_top: keep the classifier (global average pooling, dropout, Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; ({size}, {size}, 3) with the top, free (>= 32) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name (Keras's weights file is named after it).

    Example:
        >>> {builder}(weights=None, include_top=False, input_shape=(32, 32, 3)).output.shape[-1]
        {make_divisible(1280 * _SCALING[variant][0], 8)}
    """
    return build


EfficientNetB0 = _make_builder("b0")
EfficientNetB1 = _make_builder("b1")
EfficientNetB2 = _make_builder("b2")
EfficientNetB3 = _make_builder("b3")
EfficientNetB4 = _make_builder("b4")
EfficientNetB5 = _make_builder("b5")
EfficientNetB6 = _make_builder("b6")
EfficientNetB7 = _make_builder("b7")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNet normalises its inputs itself (kept for Keras's API)."""
    return x


__all__ = [
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "decode_predictions",
    "preprocess_input",
]
