"""Feature maps: what one layer of a convolutional model sees in one image, channel by channel."""

from __future__ import annotations

import math

import numpy as np

from lamina import backend
from lamina.engine import errors
from lamina.visualization.figures import pyplot, save_png

BUILD_HINT = (
    "give the first layer input_shape=..., start from Input(...), or call the model on a batch "
    "before plotting."
)


def _layer_output(layer):
    try:
        return layer.output
    except AttributeError:  # a layer the model's graph never called
        return None


def _image_like_layers(model) -> list:
    return [
        layer
        for layer in model.layers
        if (output := _layer_output(layer)) is not None and len(output.shape) == 4
    ]


def _layers_hint(model) -> str:
    names = [layer.name for layer in _image_like_layers(model)]
    if not names:
        return "feature maps need a layer with a 4-D (batch, height, width, channels) output."
    return f"layers with image-like outputs: {names}."


def _first_conv_layer(model):
    from lamina.layers.convolutional import _ConvBase  # the shared base of every convolution

    for layer in _image_like_layers(model):
        if isinstance(layer, _ConvBase):
            return layer
    raise errors.value_error(
        f"plot_feature_maps(model={model.name!r})",
        "a model with a 2-D convolution layer",
        "a model without one",
        f"pass layer_name=; {_layers_hint(model)}",
    )


def _named_layer(model, layer_name):
    for layer in model.layers:
        if layer.name == layer_name:
            return layer
    raise errors.value_error(
        "plot_feature_maps(layer_name=...)",
        f"the name of a layer of model {model.name!r}",
        f"{layer_name!r}",
        _layers_hint(model),
    )


def _check_model(model) -> None:
    who = f"plot_feature_maps(model={getattr(model, 'name', type(model).__name__)!r})"
    built = getattr(model, "built", False)
    inputs = getattr(model, "inputs", None)
    if not built:
        raise errors.value_error(
            who, "a built Sequential or functional model", "an unbuilt model", BUILD_HINT
        )
    if inputs is None:
        raise errors.value_error(
            who,
            "a built Sequential or functional model",
            "a model without a layer graph (a subclassed model)",
            "build it functionally, Model(inputs, outputs), to see inside it.",
        )
    if len(inputs) != 1:
        raise errors.value_error(who, "a model with one image input", f"{len(inputs)} inputs")


def feature_extractor(model, layer_name=None):
    """A Model from `model`'s input to the output of one image-like layer, and that layer.

    The output must be `(batch, height, width, channels)` (or channels first for a
    `channels_first` layer).

    Args:
        model: a built functional or Sequential model.
        layer_name: the layer's name (default: the first 2-D convolution).

    Returns:
        `(extractor, layer)`.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((8, 8, 1)), lamina.layers.Conv2D(4, 3)])
        >>> extractor, layer = feature_extractor(model)
        >>> tuple(extractor.predict(np.zeros((1, 8, 8, 1)), verbose=0).shape)
        (1, 6, 6, 4)
    """
    from lamina.engine.model import Model

    _check_model(model)
    layer = _first_conv_layer(model) if layer_name is None else _named_layer(model, layer_name)
    output = _layer_output(layer)
    if output is None or len(output.shape) != 4:
        received = (
            "no symbolic output"
            if output is None
            else (f"output shape {errors.format_shape(output.shape)}")
        )
        raise errors.value_error(
            layer,
            "an image-like output (batch, height, width, channels) for feature maps",
            received,
            "pick a convolution or pooling layer before Flatten / Dense.",
        )
    return Model(inputs=model.inputs, outputs=output), layer


def feature_maps(model, images, layer_name=None) -> tuple[np.ndarray, object]:
    """The channel maps (channels, height, width) that `layer_name` produces for the first image,
    and the layer."""
    extractor, layer = feature_extractor(model, layer_name)
    batch = backend.as_plain_numpy(images)  # a tensor on any device, or an array
    input_rank = len(model.inputs[0].shape)
    if batch.ndim == input_rank - 1:  # one image without its batch axis
        batch = batch[None]
    # bfloat16 maps (a bfloat16 model) as float32, which matplotlib draws
    maps = backend.as_plain_numpy(extractor.predict(batch[:1], verbose=0))[0]
    if getattr(layer, "data_format", "channels_last") == "channels_last":
        maps = np.moveaxis(maps, -1, 0)
    return maps, layer


def plot_feature_maps(model, images, layer_name=None, max_maps=16, path=None):
    """Tile the channel maps of one layer for the first of `images`.

    Args:
        model: a built Sequential or functional model.
        images: a batch (N, height, width, channels) or one image (height, width, channels); the
            first image is shown.
        layer_name: the layer to look at; default: the model's first 2-D convolution.
        max_maps: how many channels to tile (the first ones), in a near-square grid.
        path: when given, the figure is also written there as a PNG.

    Returns:
        The matplotlib Figure; tile `i` (`figure.axes[i].images[0]`) is channel `i`'s map.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((8, 8, 1)), lamina.layers.Conv2D(4, 3)])
        >>> figure = plot_feature_maps(model, np.zeros((1, 8, 8, 1)))  # doctest: +SKIP
    """
    if isinstance(max_maps, bool) or not isinstance(max_maps, (int, np.integer)) or max_maps < 1:
        raise errors.value_error("max_maps", "a positive integer", f"max_maps={max_maps!r}")
    maps, layer = feature_maps(model, images, layer_name)
    shown = maps[:max_maps]
    plt = pyplot()

    columns = math.ceil(math.sqrt(len(shown)))
    rows = math.ceil(len(shown) / columns)
    figure = plt.figure(figsize=(1.9 * columns, 1.9 * rows + 0.5), layout="constrained")
    for channel, feature_map in enumerate(shown):
        axes = figure.add_subplot(rows, columns, channel + 1)
        axes.imshow(feature_map, cmap="viridis", interpolation="nearest")
        axes.set_title(str(channel), fontsize=8)
        axes.axis("off")
    channels, height, width = maps.shape
    figure.suptitle(
        f"{layer.name} ({type(layer).__name__}): {len(shown)} of {channels} channels, "
        f"{height}x{width}"
    )
    if path is not None:
        save_png(figure, path)
    return figure
