"""DenseNet121, DenseNet169, DenseNet201 (Huang et al., 2017), as `keras.applications` builds them.

The ResNet stem (7x7/2 convolution, 3x3/2 max pooling), then four dense blocks, in which every
layer (BN-ReLU-1x1 to 128 channels, BN-ReLU-3x3 to 32) concatenates its 32 new channels to its
input, joined by transitions (BN-ReLU, 1x1 halving the channels, 2x2 average pooling). Layers per
block: 6-12-24-16, 6-12-32-32 and 6-12-48-32. Parameters: 8,062,504 / 14,307,880 / 20,242,984
(7,037,504 / 12,642,880 / 18,321,984 without the top).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess

_BN_EPSILON = 1.001e-5
_GROWTH = 32
_BLOCKS = {
    "densenet121": (6, 12, 24, 16),
    "densenet169": (6, 12, 32, 32),
    "densenet201": (6, 12, 48, 32),
}
_FEATURES = {"densenet121": 1024, "densenet169": 1664, "densenet201": 1920}


def _bn_relu(x, name, relu_name=None):
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=relu_name or f"{name}_relu")(x)


def _dense_layer(x, name):
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * _GROWTH, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(_GROWTH, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([x, y])


def _transition(x, name):
    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[-1] * 0.5), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(
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
        x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(inputs)
        x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = _bn_relu(x, "conv1")
        x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
        for stage, count in enumerate(_BLOCKS[variant], start=2):
            for index in range(1, count + 1):
                x = _dense_layer(x, f"conv{stage}_block{index}")
            if stage < 5:
                x = _transition(x, f"pool{stage}")
        x = layers.BatchNormalization(epsilon=_BN_EPSILON, name="bn")(x)
        return layers.Activation("relu", name="relu")(x)

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


def _make_builder(variant: str):
    builder = f"DenseNet{variant[len('densenet') :]}"

    def build(
        include_top=True,
        weights="imagenet",
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=variant,
    ):
        return _densenet(
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

    build.__name__ = build.__qualname__ = builder
    build.__doc__ = f"""{builder}, as `keras.applications.{builder}`.

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
        >>> {builder}(weights=None, include_top=False, input_shape=(32, 32, 3)).output.shape
        (None, 1, 1, {_FEATURES[variant]})
    """
    return build


DenseNet121 = _make_builder("densenet121")
DenseNet169 = _make_builder("densenet169")
DenseNet201 = _make_builder("densenet201")


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [0, 1], standardised by ImageNet's mean and std ("torch" mode),
    what DenseNet's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="torch")


__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]
