"""ResNet50, ResNet101, ResNet152 (He et al., 2015; the v1 bottleneck design), as Keras builds them.

A 7x7/2 stem and 3x3/2 max pooling, then four stages of bottleneck blocks (1x1 reduce, 3x3, 1x1
expand to 4x the filters, plus the shortcut; the first block of each stage projects the shortcut
with a 1x1 convolution and strides 2 from the second stage on). Block counts per stage: 3-4-6-3,
3-4-23-3 and 3-8-36-3. Parameters: 25,636,712 / 44,707,176 / 60,419,944 (23,587,712 /
42,658,176 / 58,370,944 without the top).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.vgg import preprocess_input

# Keras's ResNet BatchNormalization epsilon (that of the converted Caffe models).
BN_EPSILON = 1.001e-5

_FILTERS = (64, 128, 256, 512)
_STAGES = {
    "resnet50": (3, 4, 6, 3),
    "resnet101": (3, 4, 23, 3),
    "resnet152": (3, 8, 36, 3),
}


def _bottleneck(x, filters, name, stride=1, project_shortcut=True):
    if project_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stage(x, filters, blocks, name, stride=2):
    x = _bottleneck(x, filters, f"{name}_block1", stride=stride)
    for index in range(2, blocks + 1):
        x = _bottleneck(x, filters, f"{name}_block{index}", project_shortcut=False)
    return x


def stem(inputs, preactivation=False):
    """7x7/2 convolution and 3x3/2 max pooling; v1 normalises and activates in between, v2 leaves
    that to its first block's pre-activation."""
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    if not preactivation:
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _resnet(
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
    def body(inputs):
        x = stem(inputs)
        for stage, (filters, blocks) in enumerate(zip(_FILTERS, _STAGES[variant], strict=True)):
            stride = 1 if stage == 0 else 2
            x = _stage(x, filters, blocks, name=f"conv{stage + 2}", stride=stride)
        return x

    suffix = "" if include_top else "_notop"
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
        file_name=f"{variant}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
    )


def ResNet50(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet50",
):
    """ResNet50, as `keras.applications.ResNet50`.

    Args:
        include_top: keep the classifier (global average pooling + Dense); default True.
        weights: None (random), "imagenet" (default: Keras's file, looked up offline) or a file
            path.
        input_tensor: a symbolic tensor to use as the input (default None: a new `Input`).
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (default: 4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (default 1000, required with ImageNet weights).
        classifier_activation: activation of the classifier (default softmax; None gives
            logits).
        name: the model's name (default "resnet50").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 2048)` or `(batch, 2048)`.

    Example:
        >>> ResNet50(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet50() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = ResNet50(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 2048)
    """
    return _resnet(
        "resnet50",
        "ResNet50",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet101(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet101",
):
    """ResNet101, as `keras.applications.ResNet101`: ResNet50 with 3-4-23-3 bottleneck blocks.

    Args:
        include_top: keep the classifier (global average pooling + Dense); default True.
        weights: None (random), "imagenet" (default: Keras's file, looked up offline) or a file
            path.
        input_tensor: a symbolic tensor to use as the input (default None: a new `Input`).
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (default: 4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (default 1000, required with ImageNet weights).
        classifier_activation: activation of the classifier (default softmax; None gives
            logits).
        name: the model's name (default "resnet101").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 2048)` or `(batch, 2048)`.

    Example:
        >>> ResNet101(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet101() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = ResNet101(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 2048)
    """
    return _resnet(
        "resnet101",
        "ResNet101",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet152(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet152",
):
    """ResNet152, as `keras.applications.ResNet152`: ResNet50 with 3-8-36-3 bottleneck blocks.

    Args:
        include_top: keep the classifier (global average pooling + Dense); default True.
        weights: None (random), "imagenet" (default: Keras's file, looked up offline) or a file
            path.
        input_tensor: a symbolic tensor to use as the input (default None: a new `Input`).
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (default: 4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (default 1000, required with ImageNet weights).
        classifier_activation: activation of the classifier (default softmax; None gives
            logits).
        name: the model's name (default "resnet152").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 2048)` or `(batch, 2048)`.

    Example:
        >>> ResNet152(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet152() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = ResNet152(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 2048)
    """
    return _resnet(
        "resnet152",
        "ResNet152",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]
