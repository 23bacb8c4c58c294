"""ResNet50V2, ResNet101V2, ResNet152V2 (He et al., 2016: identity mappings), as Keras builds them.

The v1 stem without its normalisation, then four stages of pre-activation bottleneck blocks
(BatchNormalization + ReLU first, then 1x1, 3x3, 1x1 to 4x the filters; the shortcut is a 1x1
projection of the pre-activation in a stage's first block, the block's input elsewhere). Unlike
v1, a stage downsamples in its *last* block (stride 2 in the 3x3, with a 1x1/2 max pooling on the
shortcut), and the last stage not at all. A final BatchNormalization + ReLU closes the trunk.
Parameters: 25,613,800 / 44,675,560 / 60,380,648 (23,564,800 / 42,626,560 / 58,331,648 without
the top).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from lamina.applications.resnet import BN_EPSILON, stem

_STAGES = {
    "resnet50v2": (3, 4, 6, 3),
    "resnet101v2": (3, 4, 23, 3),
    "resnet152v2": (3, 8, 36, 3),
}


def _batch_norm(name):
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def preactivation_bottleneck(x, filters, name, stride=1, project_shortcut=False):
    """A v2 block: BN-ReLU first, the shortcut from the pre-activation (projected) or the input."""
    preact = _batch_norm(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if project_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _batch_norm(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _batch_norm(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _stage(x, filters, blocks, name, stride):
    x = preactivation_bottleneck(x, filters, f"{name}_block1", project_shortcut=True)
    for index in range(2, blocks):
        x = preactivation_bottleneck(x, filters, f"{name}_block{index}")
    return preactivation_bottleneck(x, filters, f"{name}_block{blocks}", stride=stride)


def _resnet_v2(
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
        x = stem(inputs, preactivation=True)
        for stage, (filters, blocks) in enumerate(
            zip((64, 128, 256, 512), _STAGES[variant], strict=True)
        ):
            x = _stage(x, filters, blocks, f"conv{stage + 2}", stride=1 if stage == 3 else 2)
        x = _batch_norm("post_bn")(x)
        return layers.Activation("relu", name="post_relu")(x)

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


def ResNet50V2(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet50v2",
):
    """ResNet50V2, as `keras.applications.ResNet50V2`.

    Args:
        include_top: keep the classifier (global average pooling + Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name.

    Example:
        >>> ResNet50V2(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet50V2() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (24 million weights), so not run here:
        >>> model = ResNet50V2(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(32, 32, 3)
        ... )
        >>> model.count_params()  # doctest: +SKIP
        23564800
    """
    return _resnet_v2(
        "resnet50v2",
        "ResNet50V2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet101V2(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet101v2",
):
    """ResNet101V2, as `keras.applications.ResNet101V2`: ResNet50V2's pre-activation design, deeper.

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
        name: the model's name (default "resnet101v2").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 2048)` or `(batch, 2048)`.

    Example:
        >>> ResNet101V2(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet101V2() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = ResNet101V2(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 2048)
    """
    return _resnet_v2(
        "resnet101v2",
        "ResNet101V2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet152V2(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="resnet152v2",
):
    """ResNet152V2, as `keras.applications.ResNet152V2`: ResNet50V2's pre-activation design, deeper.

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
        name: the model's name (default "resnet152v2").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 2048)` or `(batch, 2048)`.

    Example:
        >>> ResNet152V2(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: ResNet152V2() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = ResNet152V2(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 2048)
    """
    return _resnet_v2(
        "resnet152v2",
        "ResNet152V2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what ResNetV2's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]
