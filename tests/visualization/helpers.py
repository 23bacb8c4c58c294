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
