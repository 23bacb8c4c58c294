"""MobileNetV2 (Sandler et al., 2018), as `keras.applications.MobileNetV2` builds it.

A 3x3/2 stem, 17 inverted-residual blocks (1x1 expansion, 3x3 depthwise, linear 1x1 projection,
with a residual add when shapes allow), a 1x1 convolution to 1280 channels and the classifier.
`alpha` scales every width (rounded to a multiple of 8). Parameters at alpha=1.0: 3,538,984
(2,257,984 without the top).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import correct_pad, decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from lamina.engine.model import Model

# (filters, stride, expansion) of blocks 0..16
_BLOCKS = (
    (16, 1, 1),
    (24, 2, 6),
    (24, 1, 6),
    (32, 2, 6),
    (32, 1, 6),
    (32, 1, 6),
    (64, 2, 6),
    (64, 1, 6),
    (64, 1, 6),
    (64, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (160, 2, 6),
    (160, 1, 6),
    (160, 1, 6),
    (320, 1, 6),
)
_PRETRAINED_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
_PRETRAINED_SIZES = (96, 128, 160, 192, 224)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a width to a multiple of `divisor`, never going below 90% of it (the paper's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _batch_norm(name):
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)


def _inverted_residual(x, filters, stride, expansion, alpha, block_id):
    in_channels = x.shape[-1]
    out_channels = make_divisible(int(filters * alpha), 8)
    inputs = x
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(
            expansion * in_channels, 1, padding="same", use_bias=False, name=prefix + "expand"
        )(x)
        x = _batch_norm(prefix + "expand_BN")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=prefix + "depthwise",
    )(x)
    x = _batch_norm(prefix + "depthwise_BN")(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = _batch_norm(prefix + "project_BN")(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


def MobileNetV2(
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """MobileNetV2, as `keras.applications.MobileNetV2`.

    Args:
        input_shape: `(height, width, 3)`; (224, 224, 3) by default; at least 32 pixels.
        alpha: width multiplier (ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
        include_top: keep the classifier (global average pooling + Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 1280)` or `(batch, 1280)`.

    Example:
        >>> MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3)).count_params()
        2257984
    """
    common.check_arguments(
        "MobileNetV2", weights, include_top, classes, classifier_activation, pooling
    )
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    rows = input_shape[0] if input_shape is not None else None
    square = input_shape is not None and input_shape[0] == input_shape[1]
    default_size = rows if square and rows in _PRETRAINED_SIZES else 224
    if weights == "imagenet":
        if alpha not in _PRETRAINED_ALPHAS:
            raise ValueError(
                f"MobileNetV2() with weights='imagenet' expects alpha in {_PRETRAINED_ALPHAS}; "
                f"received alpha={alpha}."
            )
        if input_shape is not None and not (square and rows in _PRETRAINED_SIZES):
            raise ValueError(
                f"MobileNetV2() with weights='imagenet' expects a square input of size "
                f"{_PRETRAINED_SIZES}; received input_shape={tuple(input_shape)}."
            )
    shape = common.input_shape_for(
        "MobileNetV2",
        input_shape,
        input_tensor,
        default_size=default_size,
        min_size=32,
        include_top=include_top,
        weights=weights,
    )
    rows = shape[0] if shape[0] is not None else default_size
    suffix = "" if include_top else "_no_top"
    file_name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{suffix}.h5"
    common.resolve_weights(weights, file_name)
    inputs = common.model_input(shape, input_tensor)

    x = layers.Conv2D(
        make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = _batch_norm("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_residual(x, filters, stride, expansion, alpha, block_id)

    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = _batch_norm("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = common.pooling_head(x, pooling)

    model_inputs = common.source_inputs(inputs) if input_tensor is not None else inputs
    model = Model(model_inputs, x, name=name or f"mobilenetv2_{alpha:0.2f}_{rows}")
    return common.finish(model, weights, file_name)


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode, what MobileNetV2's weights expect)."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]
