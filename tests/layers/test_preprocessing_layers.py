"""Preprocessing layers: hand-checkable geometry, statistics of the random ones, seeds, modes,
errors, and parity with Keras for the deterministic ones."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import Dataset
from lamina.engine.layer import inference_calls
from tests.parity import reference
from tests.parity.reference import keras


def grid_images(batch=2, height=5, width=5, channels=1):
    return torch.arange(batch * height * width * channels, dtype=torch.float32).reshape(
        batch, height, width, channels
    )


RANDOM_LAYERS = [
    ("RandomFlip", {}),
    ("RandomRotation", {"factor": 0.2}),
    ("RandomZoom", {"height_factor": 0.3}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.2}),
    ("RandomBrightness", {"factor": 0.3}),
    ("RandomContrast", {"factor": 0.3}),
    ("RandomCrop", {"height": 6, "width": 6}),
]
RANDOM_IDS = [name for name, _ in RANDOM_LAYERS]


def images_0_255(shape=(4, 8, 8, 3), seed=0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(0, 255, shape).astype(np.float32))


# --------------------------------------------------------------------------------------------------
# Behaviour shared by every augmentation


@pytest.mark.parametrize("name, config", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_augmentation_is_off_in_inference(name, config):
    """training=False, or inside predict/evaluate (`inference_calls`): no augmentation. (A call
    with no `training` outside fit augments, Keras's `training=True` default: see
    tests/engine/test_layer.py.)"""
    layer = getattr(layers, name)(**config)
    x = images_0_255()
    with inference_calls():
        implicit = layer(x)
    for out in (layer(x, training=False), implicit):
        if name == "RandomCrop":  # inference resizes (aspect kept) so the output size stays fixed
            torch.testing.assert_close(out, layers.Resizing(6, 6, crop_to_aspect_ratio=True)(x))
        else:
            assert out is x


@pytest.mark.parametrize("name, config", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_a_seed_makes_augmentation_reproducible(name, config):
    x = images_0_255()
    first = getattr(layers, name)(**config, seed=11)
    second = getattr(layers, name)(**config, seed=11)
    a1, a2 = first(x, training=True), first(x, training=True)
    torch.testing.assert_close(a1, second(x, training=True))
    torch.testing.assert_close(a2, second(x, training=True))
    assert not torch.equal(a1, a2)


@pytest.mark.parametrize("name, config", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_single_images_and_symbolic_inputs(name, config):
    layer = getattr(layers, name)(**config, seed=1)
    single = layer(images_0_255((8, 8, 3)), training=True)
    expected = (6, 6, 3) if name == "RandomCrop" else (8, 8, 3)
    assert tuple(single.shape) == expected
    symbolic = getattr(layers, name)(**config)(layers.Input((8, 8, 3)))
    assert tuple(symbolic.shape) == (None, *expected)


def test_integer_pixels_become_float():
    out = layers.RandomFlip("horizontal")(torch.zeros(1, 4, 4, 3, dtype=torch.uint8), training=True)
    assert out.dtype == torch.float32


def test_augmentation_inside_dataset_map_on_single_images():
    augment = [
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.1),
        layers.RandomFlip("horizontal"),
        layers.RandomBrightness(0.2, value_range=(0, 1)),
        layers.RandomContrast(0.2),
    ]

    def pipeline(x, y):
        for layer in augment:
            x = layer(x, training=True)
        return x, y

    x = np.random.default_rng(0).uniform(0, 1, (10, 16, 16, 3)).astype(np.float32)
    ds = Dataset.from_tensor_slices((x, np.arange(10))).map(pipeline, num_parallel_calls=2)
    batches = list(ds.batch(4).prefetch())
    assert [tuple(b.shape) for b, _ in batches] == [(4, 16, 16, 3), (4, 16, 16, 3), (2, 16, 16, 3)]
    assert not np.allclose(batches[0][0].numpy(), x[:4])


# --------------------------------------------------------------------------------------------------
# Geometry, checked by hand


def test_rotation_by_a_quarter_turn_is_numpy_rot90():
    x = grid_images()
    out = layers.RandomRotation((0.25, 0.25))(x, training=True)
    expected = np.rot90(x.numpy(), k=1, axes=(1, 2))
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-4)


def test_half_turn_of_a_non_square_image():
    x = images_0_255((2, 4, 6, 2))
    out = layers.RandomRotation((0.5, 0.5), fill_mode="constant")(x, training=True)
    np.testing.assert_allclose(out.numpy(), x.numpy()[:, ::-1, ::-1], atol=1e-3)


@pytest.mark.parametrize(
    "fill_mode, top_row",
    [
        ("constant", [7.0] * 5),
        ("reflect", [0, 1, 2, 3, 4]),
        ("nearest", [0, 1, 2, 3, 4]),
        ("wrap", [20, 21, 22, 23, 24]),
    ],
    ids=["constant", "reflect", "nearest", "wrap"],
)
def test_translation_down_one_row_fills_the_gap_by_mode(fill_mode, top_row):
    x = grid_images(batch=1)
    layer = layers.RandomTranslation(
        (0.2, 0.2), (0.0, 0.0), fill_mode=fill_mode, interpolation="nearest", fill_value=7.0
    )
    out = layer(x, training=True)[0, :, :, 0].numpy()
    np.testing.assert_allclose(out[1:], x[0, :4, :, 0].numpy())
    np.testing.assert_allclose(out[0], top_row)


def test_translation_right_shifts_columns():
    x = grid_images(batch=1)
    out = layers.RandomTranslation(
        (0.0, 0.0), (0.4, 0.4), fill_mode="constant", interpolation="nearest"
    )(x, training=True)[0, :, :, 0]
    np.testing.assert_allclose(out[:, 2:].numpy(), x[0, :, :3, 0].numpy())
    assert float(out[:, :2].abs().sum()) == 0.0


def test_zoom_in_by_half_magnifies_the_centre_twice():
    x = grid_images(batch=1, height=4, width=4)
    out = layers.RandomZoom((-0.5, -0.5), interpolation="nearest")(x, training=True)[0, :, :, 0]
    centre = x[0, 1:3, 1:3, 0].numpy()
    np.testing.assert_allclose(out.numpy(), np.kron(centre, np.ones((2, 2))))


def test_zoom_of_width_only_keeps_rows():
    x = grid_images(batch=1, height=4, width=4)
    layer = layers.RandomZoom((0.0, 0.0), width_factor=(-0.5, -0.5), interpolation="nearest")
    out = layer(x, training=True)[0, :, :, 0].numpy()
    np.testing.assert_allclose(out[:, 0], x[0, :, 1, 0].numpy())


def test_flip_gives_the_image_or_its_mirror_and_both_occur():
    x = images_0_255((64, 4, 4, 1))
    out = layers.RandomFlip("horizontal", seed=0)(x, training=True)
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(2)).flatten(1).all(1)
    assert bool((same | mirrored).all())
    assert 10 < int(mirrored.sum()) < 54


def test_channels_first_flips_the_width_axis():
    x = images_0_255((16, 3, 4, 5))
    out = layers.RandomFlip("vertical", seed=2, data_format="channels_first")(x, training=True)
    flipped = (out == x.flip(2)).flatten(1).all(1)
    assert bool(((out == x).flatten(1).all(1) | flipped).all()) and bool(flipped.any())


def test_random_crop_takes_a_window_of_each_image():
    x = images_0_255((8, 10, 10, 1))
    out = layers.RandomCrop(4, 3, seed=0)(x, training=True)
    assert tuple(out.shape) == (8, 4, 3, 1)
    tops = []
    for image, crop in zip(x[..., 0].numpy(), out[..., 0].numpy(), strict=True):
        windows = [
            (t, left)
            for t in range(7)
            for left in range(8)
            if np.array_equal(image[t : t + 4, left : left + 3], crop)
        ]
        assert windows
        tops.append(windows[0][0])
    assert len(set(tops)) > 1


# --------------------------------------------------------------------------------------------------
# Colour, checked against NumPy


def test_brightness_adds_one_offset_per_image_and_clips():
    x = images_0_255((6, 5, 5, 3))
    out = layers.RandomBrightness((0.5, 0.5))(x, training=True)
    np.testing.assert_allclose(out.numpy(), np.clip(x.numpy() + 127.5, 0, 255), rtol=1e-6)
    out = layers.RandomBrightness(0.1, value_range=(0, 1), seed=3)(x / 255, training=True)
    delta = (out - x / 255).numpy()
    unclipped = (out > 0) & (out < 1)
    per_image = [
        np.unique(np.round(d[m.numpy()], 5)) for d, m in zip(delta, unclipped, strict=True)
    ]
    assert all(len(v) == 1 and abs(v[0]) <= 0.1 for v in per_image)


def test_contrast_scales_deviations_from_the_channel_mean():
    x = torch.tensor(np.random.default_rng(1).uniform(100, 150, (32, 6, 6, 3)).astype(np.float32))
    out = layers.RandomContrast(0.4, seed=0)(x, training=True).numpy()
    mean = x.numpy().mean(axis=(1, 2), keepdims=True)
    ratio = (out - mean) / (x.numpy() - mean)
    factors = ratio.reshape(32, -1).mean(1)
    np.testing.assert_allclose(ratio, factors[:, None, None, None] * np.ones_like(ratio), rtol=1e-3)
    assert factors.min() >= 0.6 - 1e-4 and factors.max() <= 1.4 + 1e-4
    # TensorFlow's documented range is [1 - f, 1 + f]: both halves occur.
    assert factors.min() < 0.95 and factors.max() > 1.05
    np.testing.assert_allclose(out.mean(axis=(1, 2), keepdims=True), mean, rtol=1e-4)


# --------------------------------------------------------------------------------------------------
# Normalization, Rescaling, Resizing, CenterCrop


def test_normalization_adapts_to_arrays_and_datasets():
    data = np.random.default_rng(0).normal(3.0, 2.0, (500, 4)).astype(np.float32)
    from_array = layers.Normalization()
    from_array.adapt(data, batch_size=64)
    np.testing.assert_allclose(from_array.mean.numpy(), data.mean(0, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(from_array.variance.numpy(), data.var(0, keepdims=True), rtol=1e-4)
    from_dataset = layers.Normalization()
    from_dataset.adapt(Dataset.from_tensor_slices(data).batch(77))
    np.testing.assert_allclose(from_dataset.get_weights()[0], data.mean(0), rtol=1e-5)
    out = from_array(torch.tensor(data)).numpy()
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-4)
    inverse = layers.Normalization(invert=True)
    inverse.adapt(data)
    np.testing.assert_allclose(inverse(torch.tensor(out)).numpy(), data, atol=1e-4)


@pytest.mark.parametrize("scale", ["a", None, [1, "x"]])
def test_rescaling_refuses_a_scale_that_is_not_numbers(scale):
    # It failed only at the first call, with torch's "can't convert np.ndarray of type str_".
    with pytest.raises(ValueError, match=r"expects `scale` to be a number or one number per"):
        layers.Rescaling(scale)


def test_normalization_adapt_on_no_rows_says_so():
    # An empty array made a zero batch size: "range() arg 3 must not be zero".
    with pytest.raises(ValueError, match=r"expects some data to adapt to; received an empty"):
        layers.Normalization().adapt(np.zeros((0, 3), "float32"))


def test_normalization_over_all_axes_and_with_fixed_statistics():
    overall = layers.Normalization(axis=None)
    overall.adapt(np.array([[1.0, 3.0], [5.0, 7.0]], np.float32))
    np.testing.assert_allclose(overall(torch.tensor([[4.0]])).numpy(), [[0.0]])
    fixed = layers.Normalization(mean=2.0, variance=4.0)
    np.testing.assert_allclose(fixed(torch.tensor([[6.0, 0.0]])).numpy(), [[2.0, -1.0]])
    assert fixed.get_weights() == []


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: layers.Normalization(mean=1.0), "both `mean` and `variance`, or neither"),
        (
            lambda: layers.Normalization(mean=1.0, variance=1.0).adapt(np.ones((2, 2))),
            "no fixed mean / variance when adapting",
        ),
        (lambda: layers.RandomFlip("diagonal"), r"`mode` in \['horizontal'"),
        (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "`fill_mode` in"),
        (lambda: layers.RandomBrightness(1.5), r"`factor` within \[-1.0, 1.0\]"),
        (lambda: layers.RandomBrightness(0.1, value_range=1), "images in \\[0, 1\\] need"),
        (lambda: layers.RandomContrast(1.5), r"`factor` within \[-1.0, 1.0\]"),
        (lambda: layers.RandomZoom((-1.5, 0.2)), r"`height_factor` within"),
        (lambda: layers.RandomFlip()(torch.zeros(4, 4)), "grey image needs its channel axis"),
        (lambda: layers.Resizing(0, 4), "`height` to be a positive integer"),
        (
            lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
            "at most one of crop_to_aspect_ratio",
        ),
    ],
    ids=[
        "half-statistics",
        "adapt-fixed",
        "flip-mode",
        "fill-mode",
        "brightness-range",
        "value-range",
        "contrast-range",
        "zoom-range",
        "rank",
        "resize-size",
        "resize-both",
    ],
)
def test_argument_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_rescaling_per_channel_and_integer_input():
    pixels = torch.full((1, 2, 2, 3), 4, dtype=torch.uint8)
    out = layers.Rescaling([1.0, 0.5, 2.0], offset=-1.0)(pixels)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out[0, 0, 0].numpy(), [3.0, 1.0, 7.0])


def _channels_first_rescaling(module):
    """Keras's per-channel scale under the channels-first image layout: one value per axis -3
    entry (lamina broadcast it against the last axis and failed)."""
    module.backend.set_image_data_format("channels_first")
    try:
        layer = module.layers.Rescaling(scale=[1.0, 0.5, 2.0], offset=0.5)
        out = layer(np.arange(24, dtype="float32").reshape(1, 3, 2, 4))
    finally:
        module.backend.set_image_data_format("channels_last")
    return module.ops.convert_to_numpy(out)


@pytest.mark.parity
def test_rescaling_per_channel_under_channels_first_as_keras():
    ours = _channels_first_rescaling(lamina)
    np.testing.assert_allclose(ours, reference.keras_run(_channels_first_rescaling))
    np.testing.assert_allclose(ours[0, 1, 0], np.arange(8, 12) * 0.5 + 0.5)


@pytest.mark.parity
def test_rescaling_numpy_arguments_serialize_both_ways_with_keras():
    ours = layers.Rescaling(np.array(1.0 / 255.0), offset=np.array([0.5, 0.25]))
    config = ours.get_config()
    assert (config["scale"], config["offset"]) == (1.0 / 255.0, [0.5, 0.25])  # JSON-ready
    theirs = keras.layers.Rescaling(np.array(1.0 / 255.0), offset=np.array([0.5, 0.25]))
    keras_config = theirs.get_config()  # Keras writes the array as a "__numpy__" entry
    x = np.full((1, 2), 255.0, "float32")
    for each in (config, keras_config):
        rebuilt = layers.Rescaling.from_config(each)
        np.testing.assert_allclose(rebuilt(x).numpy(), [[1.5, 1.25]], rtol=1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.layers.Rescaling.from_config(config)(x)), [[1.5, 1.25]]
    )


def test_resizing_pads_and_crops_to_the_aspect_ratio():
    x = torch.ones(1, 4, 8, 1)
    padded = layers.Resizing(8, 8, pad_to_aspect_ratio=True, interpolation="nearest")(x)
    np.testing.assert_allclose(padded[0, :, 0, 0].numpy(), [0, 0, 1, 1, 1, 1, 0, 0])
    ramp = torch.arange(8, dtype=torch.float32).reshape(1, 1, 8, 1).expand(1, 4, 8, 1)
    cropped = layers.Resizing(4, 4, crop_to_aspect_ratio=True, interpolation="nearest")(ramp)
    np.testing.assert_allclose(cropped[0, 0, :, 0].numpy(), [2, 3, 4, 5])


def test_center_crop_of_a_small_image_resizes():
    out = layers.CenterCrop(6, 6)(torch.ones(2, 4, 4, 1))
    assert tuple(out.shape) == (2, 6, 6, 1)


@pytest.mark.parity
@pytest.mark.parametrize(
    "name, config, shape",
    [
        ("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, (2, 5, 5, 3)),
        ("Resizing", {"height": 7, "width": 5}, (2, 10, 12, 3)),
        ("Resizing", {"height": 9, "width": 13, "interpolation": "nearest"}, (2, 6, 5, 2)),
        ("Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (1, 9, 6, 3)),
        ("Resizing", {"height": 5, "width": 5, "pad_to_aspect_ratio": True}, (1, 8, 4, 1)),
        ("CenterCrop", {"height": 5, "width": 3}, (2, 8, 8, 3)),
        ("CenterCrop", {"height": 4, "width": 4}, (1, 7, 6, 2)),
        ("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (2, 4, 3)),
        ("Normalization", {"mean": [1.0, 2.0], "variance": [4.0, 0.25], "invert": True}, (3, 2)),
    ],
    ids=[
        "rescaling",
        "resize-bilinear",
        "resize-nearest",
        "resize-crop",
        "resize-pad",
        "centercrop",
        "centercrop-odd",
        "normalization",
        "normalization-invert",
    ],
)
def test_deterministic_layers_match_keras(name, config, shape):
    from tests.parity.reference import assert_layer_matches_keras

    assert_layer_matches_keras(name, config, shape, atol=1e-5, rtol=1e-5)


@pytest.mark.parity
def test_adapted_normalization_matches_keras_weights_and_outputs():
    import keras

    from tests.parity.reference import assert_layer_matches_keras

    data = np.random.default_rng(2).normal(1.0, 3.0, (64, 5)).astype(np.float32)
    reference = keras.layers.Normalization()
    reference.adapt(data)
    ours = lamina.layers.Normalization()
    ours.adapt(data)
    for mine, theirs in zip(ours.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5)
    assert_layer_matches_keras(
        "Normalization",
        {},
        (4, 5),
        keras_layer=reference,
        lamina_layer=lamina.layers.Normalization(),
    )


@pytest.mark.parametrize("name, config", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_outputs_stay_channels_last_contiguous(name, config):
    # A NCHW-contiguous output seen as NHWC would push the whole model off torch's
    # channels-last fast path (see base.py).
    out = getattr(layers, name)(**config)(images_0_255(), training=True)
    assert out.is_contiguous()


@pytest.mark.parametrize(
    "height, width", [(32, 32), (5, 7), (1, 4)], ids=["square", "oblong", "row"]
)
def test_affine_grid_equals_torchs(height, width):
    from lamina.layers.preprocessing import image_ops

    theta = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.affine_grid(theta, [6, 1, height, width], align_corners=False)
    torch.testing.assert_close(image_ops.affine_grid(theta, height, width), expected)
