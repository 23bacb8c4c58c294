"""NASNetMobile and NASNetLarge (Zoph et al., 2018: NASNet-A), as `keras.applications` builds them.

A strided 3x3 stem, two reduction cells, then three groups of `num_blocks` normal cells with a
reduction cell between groups. Every cell takes the two previous cells' outputs (`p` is first
adjusted to the current shape: a two-path strided 1x1 projection where the size halved, a 1x1
projection where only the width differs), combines separable convolutions (each two rounds of
ReLU, separable convolution, BatchNormalization) and poolings pairwise by addition, and
concatenates the results. Parameters: Mobile 5,326,716 (4,269,716 without the top), Large
88,949,818 (84,916,818).
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import common
from lamina.applications.imagenet_utils import correct_pad, decode_predictions
from lamina.applications.imagenet_utils import preprocess_input as _imagenet_preprocess


def _batch_norm(name=None):
    return layers.BatchNormalization(momentum=0.9997, epsilon=1e-3, name=name)


def _conv1x1(filters, name, strides=1):
    return layers.Conv2D(
        filters,
        1,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=name,
    )


def _separable_block(x, filters, kernel=3, stride=1, block_id=""):
    """(ReLU, separable convolution, BatchNormalization) twice; the first may stride."""
    x = layers.Activation("relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(
            padding=correct_pad(x, kernel), name=f"separable_conv_1_pad_{block_id}"
        )(x)
    x = layers.SeparableConv2D(
        filters,
        kernel,
        strides=stride,
        padding="valid" if stride == 2 else "same",
        use_bias=False,
        name=f"separable_conv_1_{block_id}",
    )(x)
    x = _batch_norm(f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(
        filters, kernel, padding="same", use_bias=False, name=f"separable_conv_2_{block_id}"
    )(x)
    return _batch_norm(f"separable_conv_2_bn_{block_id}")(x)


def _adjust(p, ip, filters, block_id):
    """Bring the previous cell's output `p` to the shape of the current input `ip`."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D(1, strides=2, name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(filters // 2, f"adjust_conv_1_{block_id}")(p1)
        # The second path samples the odd pixels: shift by one before the strided pooling.
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D(1, strides=2, name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(filters // 2, f"adjust_conv_2_{block_id}")(p2)
        p = layers.Concatenate(axis=-1)([p1, p2])
        return _batch_norm(f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(filters, f"adjust_conv_projection_{block_id}")(p)
        return _batch_norm(f"adjust_bn_{block_id}")(p)
    return p


def _squeeze_input(ip, filters, kind, block_id):
    h = layers.Activation("relu")(ip)
    h = _conv1x1(filters, f"{kind}_conv_1_{block_id}")(h)
    return _batch_norm(f"{kind}_bn_1_{block_id}")(h)


def _average_pool(name, stride=1, padding="same"):
    return layers.AveragePooling2D(3, strides=stride, padding=padding, name=name)


def _normal_cell(ip, p, filters, block_id):
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze_input(ip, filters, "normal", block_id)
    x1 = layers.Add(name=f"normal_add_1_{block_id}")(
        [
            _separable_block(h, filters, 5, block_id=f"normal_left1_{block_id}"),
            _separable_block(p, filters, block_id=f"normal_right1_{block_id}"),
        ]
    )
    x2 = layers.Add(name=f"normal_add_2_{block_id}")(
        [
            _separable_block(p, filters, 5, block_id=f"normal_left2_{block_id}"),
            _separable_block(p, filters, 3, block_id=f"normal_right2_{block_id}"),
        ]
    )
    x3 = _average_pool(f"normal_left3_{block_id}")(h)
    x3 = layers.Add(name=f"normal_add_3_{block_id}")([x3, p])
    x4 = layers.Add(name=f"normal_add_4_{block_id}")(
        [
            _average_pool(f"normal_left4_{block_id}")(p),
            _average_pool(f"normal_right4_{block_id}")(p),
        ]
    )
    x5 = _separable_block(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.Add(name=f"normal_add_5_{block_id}")([x5, h])
    x = layers.Concatenate(axis=-1, name=f"normal_concat_{block_id}")([p, x1, x2, x3, x4, x5])
    return x, ip


def _reduction_cell(ip, p, filters, block_id):
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze_input(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    x1 = layers.Add(name=f"reduction_add_1_{block_id}")(
        [
            _separable_block(h, filters, 5, 2, f"reduction_left1_{block_id}"),
            _separable_block(p, filters, 7, 2, f"reduction_right1_{block_id}"),
        ]
    )
    x2 = layers.Add(name=f"reduction_add_2_{block_id}")(
        [
            layers.MaxPooling2D(3, strides=2, name=f"reduction_left2_{block_id}")(h3),
            _separable_block(p, filters, 7, 2, f"reduction_right2_{block_id}"),
        ]
    )
    x3 = layers.Add(name=f"reduction_add3_{block_id}")(
        [
            _average_pool(f"reduction_left3_{block_id}", 2, "valid")(h3),
            _separable_block(p, filters, 5, 2, f"reduction_right3_{block_id}"),
        ]
    )
    x4 = _average_pool(f"reduction_left4_{block_id}")(x1)
    x4 = layers.Add()([x2, x4])
    x5 = layers.Add(name=f"reduction_add4_{block_id}")(
        [
            _separable_block(x1, filters, 3, block_id=f"reduction_left4_{block_id}"),
            layers.MaxPooling2D(3, strides=2, name=f"reduction_right5_{block_id}")(h3),
        ]
    )
    x = layers.Concatenate(axis=-1, name=f"reduction_concat_{block_id}")([x2, x3, x4, x5])
    return x, ip


def _nasnet(
    builder,
    input_shape,
    penultimate_filters,
    num_blocks,
    stem_filters,
    skip_reduction,
    include_top,
    weights,
    input_tensor,
    pooling,
    classes,
    default_size,
    classifier_activation,
    name,
    file_stem,
):
    multiplier = 2
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(
            f"{builder}() with weights='imagenet' expects a static input_shape (no None); "
            f"received input_shape={input_shape}."
        )
    filters = penultimate_filters // 24

    def body(inputs):
        x = layers.Conv2D(
            stem_filters,
            3,
            strides=2,
            use_bias=False,
            kernel_initializer="he_normal",
            name="stem_conv1",
        )(inputs)
        x = _batch_norm("stem_bn1")(x)
        x, p = _reduction_cell(x, None, filters // multiplier**2, "stem_1")
        x, p = _reduction_cell(x, p, filters // multiplier, "stem_2")
        for group in range(3):
            width = filters * multiplier**group
            if group:
                x, p0 = _reduction_cell(x, p, width, f"reduce_{group * num_blocks}")
                p = p if skip_reduction else p0
            for i in range(num_blocks):
                block_id = i if group == 0 else group * num_blocks + i + 1
                x, p = _normal_cell(x, p, width, f"{block_id}")
        return layers.Activation("relu")(x)

    def top(x, classes, classifier_activation):
        x = layers.GlobalAveragePooling2D()(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)

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
        file_name=f"{file_stem}{'' if include_top else '_no_top'}.h5",
        default_size=default_size,
        top=top,
        pool_names=(None, None),
    )


_ARGS_DOC = """
    Args:
        input_shape: `(height, width, 3)`; ({size}, {size}, 3) with the top{free}.
        include_top: keep the classifier (global average pooling + Dense).
        weights: None (random), "imagenet" (Keras's file, looked up offline) or a file path.
        input_tensor: a symbolic tensor to use as the input.
        pooling: without the top, None (4-D output), "avg" or "max" (2-D output).
        classes: size of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (softmax; None gives logits).
        name: the model's name.
"""


def NASNetMobile(
    input_shape=None,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nasnet_mobile",
):
    """NASNet-A (4 @ 1056), as `keras.applications.NASNetMobile` (which Keras's torch backend
    refuses to build; lamina builds it).

    Example:
        >>> NASNetMobile(weights=None, include_top=False).count_params()
        4269716
    """
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return _nasnet(
        "NASNetMobile",
        input_shape,
        1056,
        4,
        32,
        False,
        include_top,
        weights,
        input_tensor,
        pooling,
        classes,
        224,
        classifier_activation,
        name,
        "nasnet_mobile",
    )


def NASNetLarge(
    input_shape=None,
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nasnet_large",
):
    """NASNet-A (6 @ 4032), as `keras.applications.NASNetLarge`.

    Example:
        >>> NASNetLarge(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
        84916818
    """
    return _nasnet(
        "NASNetLarge",
        input_shape,
        4032,
        6,
        96,
        True,
        include_top,
        weights,
        input_tensor,
        pooling,
        classes,
        331,
        classifier_activation,
        name,
        "nasnet_large",
    )


NASNetMobile.__doc__ += _ARGS_DOC.format(size=224, free=", (224, 224, 3) by default without")
NASNetLarge.__doc__ += _ARGS_DOC.format(size=331, free=", free (>= 32) without")


def preprocess_input(x, data_format=None):
    """RGB images in [0, 255] -> [-1, 1] ("tf" mode), what NASNet's weights expect."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")


__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]
