"""VGG16 and VGG19 (Simonyan & Zisserman, 2014), with Keras's layer names and weights files.

Five blocks of 3x3 convolutions (64, 128, 256, 512, 512 filters; 2, 2, 3, 3, 3 convolutions for
VGG16 and 2, 2, 4, 4, 4 for VGG19), each followed by 2x2 max pooling; the top is Flatten, two
4096-unit Dense layers and the classifier. Parameters: VGG16 138,357,544 (14,714,688 without the
top), VGG19 143,667,240 (20,024,384 without the top).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from lamina.engine.model import Model

_BLOCK_FILTERS = (64, 128, 256, 512, 512)
_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def _vgg(
    variant,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    name,
):
    builder = variant.upper()
    common.check_arguments(builder, weights, include_top, classes, classifier_activation, pooling)
    suffix = "" if include_top else "_notop"
    file_name = f"{variant}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    shape = common.input_shape_for(
        builder,
        input_shape,
        input_tensor,
        default_size=224,
        min_size=32,
        include_top=include_top,
        weights=weights,
    )
    common.resolve_weights(weights, file_name)
    inputs = common.model_input(shape, input_tensor)

    x = inputs
    stages = zip(_BLOCK_FILTERS, _CONVS[variant], strict=True)
    for block, (filters, convs) in enumerate(stages, start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(
                filters, 3, activation="relu", padding="same", name=f"block{block}_conv{conv}"
            )(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = common.pooling_head(x, pooling)

    model_inputs = common.source_inputs(inputs) if input_tensor is not None else inputs
    model = Model(model_inputs, x, name=name)
    return common.finish(model, weights, file_name)


def VGG16(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="vgg16",
):
    """VGG16, as `keras.applications.VGG16`.

    Args:
        include_top: keep the three Dense layers of the classifier.
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 512)` or `(batch, 512)`.

    Example:
        >>> VGG16(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: VGG16() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (15 million weights without the top), so not run here:
        >>> model = VGG16(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(32, 32, 3)
        ... )
        >>> model.count_params()  # doctest: +SKIP
        14714688
    """
    return _vgg(
        "vgg16",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def VGG19(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="vgg19",
):
    """VGG19, as `keras.applications.VGG19`: VGG16 with a 4th convolution in its last 3 blocks.

    Args:
        include_top: keep the classifier (the three Dense layers); default True.
        weights: None (random), "imagenet" (default: Keras's file, looked up offline) or a file
            path.
        input_tensor: a symbolic tensor to use as the input (default None: a new `Input`).
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (default: 4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (default 1000, required with ImageNet weights).
        classifier_activation: activation of the classifier (default softmax; None gives
            logits).
        name: the model's name (default "vgg19").

    Output shape: `(batch, classes)` with the top; `(batch, h/32, w/32, 512)` or `(batch, 512)`.

    Example:
        >>> VGG19(weights=\"imagenet\", classes=10)  # checked before building
        Traceback (most recent call last):
        ...
        ValueError: VGG19() with weights='imagenet' ... expects classes=1000 ...
        >>> # Building one takes seconds (tens of millions of weights), so not run here:
        >>> model = VGG19(  # doctest: +SKIP
        ...     weights=None, include_top=False, input_shape=(64, 64, 3)
        ... )
        >>> model.output.shape  # doctest: +SKIP
        (None, 2, 2, 512)
    """
    return _vgg(
        "vgg19",
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
    """RGB images in [0, 255] -> BGR, zero-centred by ImageNet's means ("caffe" mode), what VGG
    and ResNet weights expect. NumPy in, NumPy out; a tensor in, a tensor out."""
    return _imagenet_preprocess(x, data_format=data_format, mode="caffe")


__all__ = ["VGG16", "VGG19", "decode_predictions", "preprocess_input"]
