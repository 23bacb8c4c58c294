"""InceptionResNetV2 (Szegedy et al., 2016), as `keras.applications.InceptionResNetV2` builds it.

The InceptionV3 stem, an Inception module ("mixed_5b"), then three groups of residual Inception
blocks (10 x block35, 20 x block17, 10 x block8) separated by reduction modules ("mixed_6a",
"mixed_7a"). Each residual block concatenates its branches, projects them back to the input
width with a biased 1x1 convolution and adds `scale` times that to its input. Parameters:
55,873,736 (54,336,736 without the top). Inputs at least 75x75.
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess


class CustomScaleLayer(layers.Layer):
    """`inputs[0] + scale * inputs[1]`: a residual block's scaled shortcut sum.

    Named as Keras names it (so its automatic layer names match Keras's models).

    Args:
        scale: the factor of the residual branch.
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def conv_bn(
    x, filters, kernel, strides=1, padding="same", activation="relu", use_bias=False, name=None
):
    """Convolution, then (without a bias) BatchNormalization without scale, then `activation`;
    named `name`, `name_bn`, `name_ac` as Keras names them."""
    x = layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=use_bias, name=name
    )(x)
    if not use_bias:
        x = layers.BatchNormalization(scale=False, name=f"{name}_bn" if name else None)(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_ac" if name else None)(x)
    return x


def _chain(x, steps):
    for step in steps:
        x = conv_bn(x, *step)
    return x


# The residual branches of each block type, as chains of (filters, kernel) convolutions.
_BRANCHES = {
    "block35": ([(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]),
    "block17": ([(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]),
    "block8": ([(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]),
}


def _residual_block(x, scale, block_type, index, activation="relu"):
    name = f"{block_type}_{index}"
    branches = [_chain(x, steps) for steps in _BRANCHES[block_type]]
    mixed = layers.Concatenate(axis=-1, name=f"{name}_mixed")(branches)
    up = conv_bn(mixed, x.shape[-1], 1, activation=None, use_bias=True, name=f"{name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_ac")(x)
    return x


def _body(inputs):
    x = conv_bn(inputs, 32, 3, strides=2, padding="valid")
    x = conv_bn(x, 32, 3, padding="valid")
    x = conv_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv_bn(x, 80, 1, padding="valid")
    x = conv_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    pooled = layers.AveragePooling2D(3, strides=1, padding="same")
    x = layers.Concatenate(axis=-1, name="mixed_5b")(
        [
            conv_bn(x, 96, 1),
            _chain(x, [(48, 1), (64, 5)]),
            _chain(x, [(64, 1), (96, 3), (96, 3)]),
            conv_bn(pooled(x), 64, 1),
        ]
    )
    for index in range(1, 11):
        x = _residual_block(x, 0.17, "block35", index)
    x = layers.Concatenate(axis=-1, name="mixed_6a")(
        [
            conv_bn(x, 384, 3, strides=2, padding="valid"),
            _chain(x, [(256, 1), (256, 3), (384, 3, 2, "valid")]),
            layers.MaxPooling2D(3, strides=2, padding="valid")(x),
        ]
    )
    for index in range(1, 21):
        x = _residual_block(x, 0.1, "block17", index)
    x = layers.Concatenate(axis=-1, name="mixed_7a")(
        [
            _chain(x, [(256, 1), (384, 3, 2, "valid")]),
            _chain(x, [(256, 1), (288, 3, 2, "valid")]),
            _chain(x, [(256, 1), (288, 3), (320, 3, 2, "valid")]),
            layers.MaxPooling2D(3, strides=2, padding="valid")(x),
        ]
    )
    for index in range(1, 10):
        x = _residual_block(x, 0.2, "block8", index)
    x = _residual_block(x, 1.0, "block8", 10, activation=None)
    return conv_bn(x, 1536, 1, name="conv_7b")


def InceptionResNetV2(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_resnet_v2",
):
    """InceptionResNetV2, as `keras.applications.InceptionResNetV2`.

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
        >>> model = InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3))
        >>> model.output.shape
        (None, 1, 1, 1536)
    """
    suffix = "" if include_top else "_notop"
    return common.build(
        "InceptionResNetV2",
        _body,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
        file_name=f"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
        default_size=299,
        min_size=75,
        pool_names=(None, None),
    )


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what InceptionResNetV2's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]
