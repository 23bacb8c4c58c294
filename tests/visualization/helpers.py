"""Helpers shared by the visualization tests."""

import io

from PIL import Image

import lamina
from lamina import layers


def png_size(payload: bytes) -> tuple[int, int]:
    """Open PNG bytes with Pillow (so they are a valid PNG) and return (width, height)."""
    with Image.open(io.BytesIO(payload)) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated file fails here
        return image.size


def small_cnn(data_format="channels_last"):
    """Conv -> pool -> conv -> flatten -> softmax on 8x8x1 digits: built at definition time."""
    shape = (8, 8, 1) if data_format == "channels_last" else (1, 8, 8)
    inputs = lamina.Input(shape)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", data_format=data_format)(inputs)
    x = layers.MaxPooling2D(2, data_format=data_format)(x)
    x = layers.Conv2D(5, 3, padding="same", data_format=data_format)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return lamina.Model(inputs, outputs, name="small_cnn")


# Models for plot_model, built alike by Keras and lamina: build(layers_module, lib).


def two_inputs_shared(layers_module, lib):
    """Two inputs through one shared Dense, concatenated, then two heads."""
    a = lib.Input((3,), name="a")
    b = lib.Input((3,), name="b")
    shared = layers_module.Dense(4, activation="relu", name="shared")
    joined = layers_module.Concatenate(name="concat")([shared(a), shared(b)])
    score = layers_module.Dense(1, name="score")(joined)
    label = layers_module.Dense(2, activation="softmax", name="label")(joined)
    return lib.Model([a, b], [score, label], name="two_inputs")


def with_nested(layers_module, lib):
    """x -> a nested Sequential (i1, i2) -> a frozen Dense z."""
    inner = lib.Sequential(
        [layers_module.Dense(5, name="i1"), layers_module.Dense(2, name="i2")], name="inner"
    )
    x = lib.Input((3,), name="x")
    head = layers_module.Dense(1, name="z")
    outputs = head(inner(x))
    head.trainable = False
    return lib.Model(x, outputs, name="outer")


def a_sequential(layers_module, lib):
    return lib.Sequential(
        [lib.Input((4,)), layers_module.Dense(2, name="d1"), layers_module.Dense(3, name="d2")],
        name="stack",
    )


def nested_two_way(layers_module, lib):
    """A nested functional model with dict inputs and two outputs, each output to its own Dense."""
    p_in = lib.Input((3,), name="p")  # named as their keys: lamina binds a dict by input name
    q_in = lib.Input((2,), name="q")
    merged = layers_module.Concatenate(name="merge")([p_in, q_in])
    heads = [layers_module.Dense(2, name="h1")(merged), layers_module.Dense(4, name="h2")(merged)]
    core = lib.Model({"p": p_in, "q": q_in}, heads, name="core")
    a = lib.Input((3,), name="a")
    b = lib.Input((2,), name="b")
    p, q = core({"p": a, "q": b})
    after_p = layers_module.Dense(1, name="after_p")(p)
    after_q = layers_module.Dense(1, name="after_q")(q)
    return lib.Model([a, b], layers_module.Add(name="sum")([after_p, after_q]), name="two_way")
