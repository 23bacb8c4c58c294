"""plot_feature_maps: each tile is one channel of the layer's output for the first image."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.visualization import feature_extractor, plot_feature_maps
from tests.visualization.helpers import png_size, small_cnn

IMAGES = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")


def _tiles(figure) -> np.ndarray:
    """The image array of every tile, in order: (tiles, height, width)."""
    return np.stack([np.asarray(axes.images[0].get_array()) for axes in figure.axes])


def _forward(model, names, image):
    """Run `image` through the named layers by hand (no extractor): the reference output."""
    x = torch.from_numpy(image[None])
    with torch.no_grad():
        for name in names:
            x = model.get_layer(name)(x)
    return x[0].cpu().numpy()


def test_default_layer_is_the_first_convolution():
    model = small_cnn()
    figure = plot_feature_maps(model, IMAGES)
    expected = _forward(model, ["conv2d"], IMAGES[0])  # (8, 8, 6), channels last
    np.testing.assert_allclose(_tiles(figure), np.moveaxis(expected, -1, 0), rtol=1e-6, atol=1e-6)
    assert figure.get_suptitle() == "conv2d (Conv2D): 6 of 6 channels, 8x8"
    assert [axes.get_title() for axes in figure.axes] == [str(c) for c in range(6)]


@pytest.mark.parametrize(
    "layer_name, path",
    [
        ("max_pooling2d", ["conv2d", "max_pooling2d"]),
        ("conv2d_1", ["conv2d", "max_pooling2d", "conv2d_1"]),
    ],
    ids=["pooling", "second-conv"],
)
def test_named_layer_tiles_equal_its_output(layer_name, path):
    model = small_cnn()
    figure = plot_feature_maps(model, IMAGES, layer_name=layer_name)
    expected = np.moveaxis(_forward(model, path, IMAGES[0]), -1, 0)
    np.testing.assert_allclose(_tiles(figure), expected, rtol=1e-6, atol=1e-6)


def test_tiles_equal_the_extractor_output():
    model = small_cnn()
    extractor, layer = feature_extractor(model, "conv2d_1")
    assert layer is model.get_layer("conv2d_1")
    expected = extractor.predict(IMAGES, verbose=0)[0]
    figure = plot_feature_maps(model, IMAGES, layer_name="conv2d_1")
    np.testing.assert_allclose(_tiles(figure), np.moveaxis(expected, -1, 0), rtol=1e-6, atol=1e-6)


def test_channels_first_layer():
    model = small_cnn("channels_first")
    images = np.moveaxis(IMAGES, -1, 1)  # (3, 1, 8, 8)
    figure = plot_feature_maps(model, images)
    np.testing.assert_allclose(
        _tiles(figure), _forward(model, ["conv2d"], images[0]), rtol=1e-6, atol=1e-6
    )


def test_max_maps_limits_the_tiles_and_the_grid_is_near_square(tmp_path):
    model = lamina.Sequential([layers.Conv2D(20, 3, input_shape=(8, 8, 1)), layers.Flatten()])
    figure = plot_feature_maps(model, IMAGES, max_maps=10, path=tmp_path / "maps.png")
    assert len(figure.axes) == 10
    assert {axes.get_subplotspec().get_geometry()[:2] for axes in figure.axes} == {(3, 4)}
    assert figure.get_suptitle() == "conv2d (Conv2D): 10 of 20 channels, 6x6"
    width, height = png_size((tmp_path / "maps.png").read_bytes())
    assert width >= 300 and height >= 300


def test_one_image_without_a_batch_axis_and_a_torch_tensor():
    model = small_cnn()
    from_batch = _tiles(plot_feature_maps(model, IMAGES))
    # Float rounding may differ with the memory layout of the batch, hence a tolerance.
    np.testing.assert_allclose(
        _tiles(plot_feature_maps(model, IMAGES[0])), from_batch, rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        _tiles(plot_feature_maps(model, torch.from_numpy(IMAGES))), from_batch, rtol=1e-6, atol=1e-6
    )


class Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(2, 3)

    def call(self, inputs):
        return self.conv(inputs)


def _two_inputs():
    first, second = lamina.Input((8, 8, 1)), lamina.Input((8, 8, 1))
    merged = layers.Add()([layers.Conv2D(2, 3)(first), layers.Conv2D(2, 3)(second)])
    return lamina.Model([first, second], merged, name="two_inputs")


def _subclassed():
    model = Subclassed()
    model(IMAGES)
    return model


ERRORS = [
    (
        "unknown-layer",
        small_cnn,
        {"layer_name": "conv2d_9"},
        r"plot_feature_maps\(layer_name=\.\.\.\) expects the name of a layer of model 'small_cnn'; "
        r"received 'conv2d_9'\. Hint: layers with image-like outputs: "
        r"\['input_layer', 'conv2d', 'max_pooling2d', 'conv2d_1'\]\.",
    ),
    (
        "flat-output",
        small_cnn,
        {"layer_name": "dense"},
        r"Layer 'dense' \(Dense\) expects an image-like output "
        r"\(batch, height, width, channels\) for "
        r"feature maps; received output shape \(None, 10\)\. Hint: pick a convolution or pooling "
        r"layer before Flatten / Dense\.",
    ),
    (
        "no-convolution",
        lambda: lamina.Sequential([layers.Dense(3, input_shape=(4,))]),
        {},
        r"plot_feature_maps\(model='sequential'\) expects a model with a 2-D convolution layer; "
        r"received a model without one\. Hint: pass layer_name=; feature maps need a layer with a "
        r"4-D \(batch, height, width, channels\) output\.",
    ),
    (
        "unbuilt",
        lambda: lamina.Sequential([layers.Conv2D(2, 3)]),
        {},
        r"plot_feature_maps\(model='sequential'\) expects a built Sequential or functional model; "
        r"received an unbuilt model\. Hint: give the first layer input_shape=\.\.\., start from "
        r"Input\(\.\.\.\), or call the model on a batch before plotting\.",
    ),
    (
        "subclassed",
        _subclassed,
        {},
        r"plot_feature_maps\(model='subclassed'\) expects a built Sequential or functional model; "
        r"received a model without a layer graph \(a subclassed model\)\. Hint: build it "
        r"functionally, Model\(inputs, outputs\), to see inside it\.",
    ),
    (
        "two-inputs",
        _two_inputs,
        {},
        r"plot_feature_maps\(model='two_inputs'\) expects a model with one image input; received 2 "
        r"inputs\.",
    ),
    (
        "max-maps",
        small_cnn,
        {"max_maps": 0},
        r"max_maps expects a positive integer; received max_maps=0\.",
    ),
]


@pytest.mark.parametrize(
    "make_model, kwargs, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_plot_feature_maps_errors(make_model, kwargs, message):
    model = make_model()
    with pytest.raises(ValueError, match=message):
        plot_feature_maps(model, IMAGES, **kwargs)
