"""MobileNet (Howard et al., 2017: depthwise separable convolutions), as Keras builds it.

A 3x3/2 convolution, then 13 blocks of a 3x3 depthwise convolution (stride 2 in blocks 2, 4, 6
and 12, after a one-pixel bottom/right padding) and a 1x1 pointwise convolution, each followed by
BatchNormalization and ReLU6. `alpha` scales every width; `depth_multiplier` the depthwise
outputs. The classifier is a 1x1 convolution on the pooled features (`conv_preds`). Parameters
at alpha=1.0: 4,253,864 (3,228,864 without the top).
"""

from __future__ import annotations

import warnings

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess

# (pointwise filters, stride) of blocks 1..13
_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
_PRETRAINED_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
_PRETRAINED_SIZES = (128, 160, 192, 224)


def _separable_block(x, filters, alpha, depth_multiplier, stride, block_id):
    if stride == 1:
        padded = x
    else:
        padded = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        3,
        padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=stride,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(padded)
    x = layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(
        int(filters * alpha), 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}"
    )(x)
    x = layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _pretrained_rows(input_shape, input_tensor, sizes) -> int | None:
    """The input size whose published weights fit `input_shape` (square and published), else
    None (Keras then falls back to the 224 file)."""
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        return None
    rows, cols = input_shape[0], input_shape[1]
    return rows if rows == cols and rows in sizes else None


def MobileNet(
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """MobileNet, as `keras.applications.MobileNet`.

    Args:
        input_shape: `(height, width, 3)`; (224, 224, 3) by default; at least 32 pixels.
        alpha: width multiplier (ImageNet weights exist for 0.25, 0.5, 0.75, 1.0).
        depth_multiplier: depthwise channels per input channel (1 with ImageNet weights).
        dropout: rate of the dropout before the classifier.
        include_top: keep the classifier (pooling, dropout, 1x1 convolution, softmax).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name; `mobilenet_{alpha:.2f}_{rows}` by default.

    Example:
        >>> MobileNet(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
        3228864
    """
    rows = _pretrained_rows(input_shape, input_tensor, _PRETRAINED_SIZES)
    default_size = rows or 224
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                "MobileNet() with weights='imagenet' expects depth_multiplier=1; received "
                f"depth_multiplier={depth_multiplier}."
            )
        if alpha not in _PRETRAINED_ALPHAS:
            raise ValueError(
                "MobileNet() with weights='imagenet' expects alpha in (0.25, 0.5, 0.75, 1.0); "
                f"received alpha={alpha}."
            )
        if rows is None:
            warnings.warn(
                "MobileNet(): input_shape is unset, not square or not one of "
                f"{_PRETRAINED_SIZES}; loading the weights published for 224x224 inputs.",
                stacklevel=2,
            )
    suffix = "" if include_top else "_no_top"
    alpha_text = _PRETRAINED_ALPHAS.get(alpha, "")
    file_name = f"mobilenet_{alpha_text}_{default_size}_tf{suffix}.h5"

    def body(inputs):
        x = layers.Conv2D(
            int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1"
        )(inputs)
        x = layers.BatchNormalization(name="conv1_bn")(x)
        x = layers.ReLU(6.0, name="conv1_relu")(x)
        for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
            x = _separable_block(x, filters, alpha, depth_multiplier, stride, block_id)
        return x

    def top(x, classes, classifier_activation):
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        return layers.Activation(classifier_activation, name="predictions")(x)

    return common.build(
        "MobileNet",
        body,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or (lambda shape: f"mobilenet_{alpha:0.2f}_{rows or shape[0]}"),
        file_name=file_name,
        default_size=default_size,
        top=top,
        pool_names=(None, None),
    )


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what MobileNet's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]
