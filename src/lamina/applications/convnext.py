"""ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022), as `keras.applications` builds
them.

The model normalises [0, 255] inputs itself (`include_preprocessing`). A 4x4/4 "patchify" stem,
then four stages of ConvNeXt blocks (7x7 depthwise convolution, LayerNormalization, a 4x wide
two-layer MLP with GELU, a learned per-channel "layer scale", stochastic depth, residual add),
with LayerNormalization + 2x2/2 convolution between stages. As in Keras, the stem and the
downsampling steps are small Sequential models inside the model. Parameters: Tiny 28,589,128
(27,820,128 without the top) ... XLarge 350,196,968.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import initializers, layers, models
from lamina.applications import common
from lamina.applications.imagenet_utils import decode_predictions

# (blocks per stage, channels per stage) per variant
_CONFIGS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}


class StochasticDepth(layers.Layer):
    """In training, drops the whole residual branch of a random `drop_path_rate` share of the
    samples (scaling the kept ones by 1 / keep probability); the identity at inference.

    Args:
        drop_path_rate: probability of dropping a sample's branch, in [0, 1].
    """

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1.0 - self.drop_path_rate
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = torch.floor(keep + torch.rand(shape, dtype=x.dtype, device=x.device))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(layers.Layer):
    """Multiplies the last axis by a learned per-channel factor (`gamma`), initially small.

    Args:
        init_values: the factors' initial value.
        projection_dim: the number of channels.
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(
            name="gamma",
            shape=(self.projection_dim,),
            initializer=initializers.Constant(self.init_values),
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, x):
        return x * self.gamma

    def get_config(self):
        return {
            **super().get_config(),
            "init_values": self.init_values,
            "projection_dim": self.projection_dim,
        }


def _block(inputs, channels, drop_path_rate, layer_scale_init_value, name):
    x = layers.Conv2D(channels, 7, padding="same", groups=channels, name=f"{name}_depthwise_conv")(
        inputs
    )
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * channels, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(channels, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, channels, name=f"{name}_layer_scale")(x)
    if drop_path_rate:
        x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
    else:
        x = layers.Activation("linear", name=f"{name}_identity")(x)
    return inputs + x


def _downsampling(name, channels, index):
    if index == 0:
        return models.Sequential(
            [
                layers.Conv2D(channels, 4, strides=4, name=f"{name}_stem_conv"),
                layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
            ],
            name=f"{name}_stem",
        )
    step = index - 1
    return models.Sequential(
        [
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{step}"),
            layers.Conv2D(channels, 2, strides=2, name=f"{name}_downsampling_conv_{step}"),
        ],
        name=f"{name}_downsampling_block_{step}",
    )


def _convnext(
    variant,
    builder,
    include_top,
    include_preprocessing,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    name,
):
    depths, channels = _CONFIGS[variant]
    weights_name = f"convnext_{variant}"
    if weights == "imagenet" and weights_name not in name:
        raise ValueError(
            f"{builder}() with weights='imagenet' expects a name containing '{weights_name}' "
            f"(Keras's weights file is named after the model); received name={name!r}."
        )
    drop_path_rate, layer_scale_init_value = 0.0, 1e-6

    def body(inputs):
        x = inputs
        if include_preprocessing and inputs.shape[-1] == 3:
            x = layers.Normalization(
                mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                name=f"{name}_prestem_normalization",
            )(x)
        rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
        done = 0
        for stage in range(4):
            x = _downsampling(name, channels[stage], stage)(x)
            for j in range(depths[stage]):
                x = _block(
                    x,
                    channels[stage],
                    rates[done + j],
                    layer_scale_init_value,
                    f"{name}_stage_{stage}_block_{j}",
                )
            done += depths[stage]
        return x

    def top(x, classes, classifier_activation):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    def pooled_features(x, pooling):
        x = common.pooling_head(x, pooling)
        return layers.LayerNormalization(epsilon=1e-6)(x)

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
        top=top,
        features=pooled_features,
    )


def _make_builder(variant: str):
    builder = f"ConvNeXt{'XLarge' if variant == 'xlarge' else variant.capitalize()}"

    def build(
        include_top=True,
        include_preprocessing=True,
        weights="imagenet",
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=f"convnext_{variant}",
    ):
        return _convnext(
            variant,
            builder,
            include_top,
            include_preprocessing,
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

    Takes [0, 255] pixels (the model normalises them itself unless told not to).

    Args:
        include_top: keep the classifier (global average pooling, LayerNormalization, Dense).
        include_preprocessing: normalise the inputs with ImageNet's mean and std in the model.
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        input_shape: `(height, width, 3)`; (224, 224, 3) with the top, free (>= 32) without.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output); a
            LayerNormalization follows either way, as in Keras.
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name (Keras's weights file is named after it).

    Example:
        >>> {builder}(weights=None, include_top=False, input_shape=(32, 32, 3)).output.shape
        (None, 1, 1, {_CONFIGS[variant][1][-1]})
    """
    return build


ConvNeXtTiny = _make_builder("tiny")
ConvNeXtSmall = _make_builder("small")
ConvNeXtBase = _make_builder("base")
ConvNeXtLarge = _make_builder("large")
ConvNeXtXLarge = _make_builder("xlarge")


def preprocess_input(x, data_format=None):
    """The identity: ConvNeXt normalises its inputs itself (kept for Keras's API)."""
    return x


__all__ = [
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "decode_predictions",
    "preprocess_input",
]
