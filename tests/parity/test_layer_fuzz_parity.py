"""Differences a differential fuzz of the non-recurrent layers found against Keras 3, pinned.

Each case is one the fuzz drew where lamina disagreed with Keras: an output shape for unknown
sizes, a config value before or after build, a config Keras could not load back.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import assert_layer_matches_keras, keras

pytestmark = pytest.mark.parity


def _comparable(config: dict) -> dict:
    """A config with the parts that legitimately differ (the auto name, module paths) left out."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in ("module", "registered_name")}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    config = {k: v for k, v in config.items() if k != "name"}
    return json.loads(json.dumps(clean(config), sort_keys=True))


def _both(name, config):
    return getattr(keras.layers, name)(**config), getattr(lamina.layers, name)(**config)


def _build_both(reference, ours, x):
    # Keras's build, not its call: its torch LayerNormalization call on a non-last axis fails.
    reference.build(x.shape)
    ours(torch.tensor(x, device=lamina.backend.default_device()))


# ------------------------------------------------------------------------------------------------
# Dot's output shape with unknown sizes on the dot axes: the engine's probe filled each unknown
# size on its own, so an unknown axis facing a known one failed inside torch.

DOT_SHAPES = [
    ({"axes": [2, 1], "normalize": True}, [(None, None, 2), (None, None, 3)]),
    ({"axes": [2, 1]}, [(None, 4, None), (None, 5, 3)]),
    ({"axes": 1}, [(None, None), (None, 3)]),
    ({"axes": -1}, [(None, 2, None), (None, None, 4)]),
    ({"axes": (1, 1)}, [(None, None, 2), (None, None, 3)]),
]


@pytest.mark.parametrize(("config", "shapes"), DOT_SHAPES)
def test_dot_output_shape_with_unknown_sizes_is_keras(config, shapes):
    reference, ours = _both("Dot", config)
    assert ours.compute_output_shape(shapes) == reference.compute_output_shape(shapes)


SYMBOLIC_DOTS = [
    ({"axes": [2, 1]}, [(None, 4, None), (None, None, 3)]),
    ({"axes": 1}, [(None, None), (None, None)]),
    ({"axes": (1, 1), "normalize": True}, [(None, 3, 2), (None, 3, None)]),
]


@pytest.mark.parametrize(("config", "shapes"), SYMBOLIC_DOTS)
def test_dot_on_symbolic_inputs_with_unknown_sizes_is_keras(config, shapes):
    reference, ours = _both("Dot", config)
    want = reference([keras.Input(batch_shape=s) for s in shapes]).shape
    got = ours([lamina.Input(batch_shape=s) for s in shapes]).shape
    assert tuple(got) == tuple(want)


@pytest.mark.parametrize(("config", "shapes"), DOT_SHAPES[:4])
def test_dot_refuses_an_unknown_dot_size_facing_a_known_one_as_keras(config, shapes):
    # Keras's build: sizes must be equal, an unknown one included (its compute_output_shape,
    # above, does not check).
    reference, ours = _both("Dot", config)
    with pytest.raises(ValueError):
        reference([keras.Input(batch_shape=s) for s in shapes])
    with pytest.raises(ValueError, match="equal sizes on the two dot axes"):
        ours([lamina.Input(batch_shape=s) for s in shapes])


# ------------------------------------------------------------------------------------------------
# LayerNormalization(rms_scaling=True) keeps `center` and `scale` as given in its config (Keras
# reads the flag at build: gamma always, beta never); lamina rewrote both.


@pytest.mark.parametrize(
    ("center", "scale"), [(True, True), (True, False), (False, False), (False, True)]
)
def test_rms_scaling_layer_normalization_config_and_weights_are_keras(center, scale):
    config = {"rms_scaling": True, "center": center, "scale": scale}
    with pytest.warns(UserWarning, match="rms_scaling"):
        reference, ours = _both("LayerNormalization", config)
    assert _comparable(ours.get_config()) == _comparable(reference.get_config())
    x = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    _build_both(reference, ours, x)
    assert [(w.path.split("/")[-1], tuple(w.shape)) for w in ours.weights] == [
        (w.path.split("/")[-1], tuple(w.shape)) for w in reference.weights
    ]
    ours.set_weights(reference.get_weights())
    got = ours(torch.tensor(x, device=lamina.backend.default_device()))
    torch.testing.assert_close(got.detach().cpu(), reference(torch.tensor(x)).detach())
    assert _comparable(ours.get_config()) == _comparable(reference.get_config())


# ------------------------------------------------------------------------------------------------
# The config of a built layer: Keras rewrites some arguments at build (an axis becomes a sorted
# list, groups=-1 becomes the channel count), and a program reading it, or loading it in Keras,
# sees those values.

BUILT_CONFIGS = [
    ("LayerNormalization", {"axis": -1}, (2, 3, 4)),
    ("LayerNormalization", {"axis": 1}, (2, 3, 4)),
    ("LayerNormalization", {"axis": [2, 1]}, (2, 3, 4)),
    ("RMSNormalization", {"axis": -1}, (2, 3, 4)),
    ("RMSNormalization", {"axis": [-1, -2]}, (2, 3, 4)),
    ("GroupNormalization", {"groups": -1}, (2, 3, 4)),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (2, 6, 4)),
    ("GroupNormalization", {"groups": 2}, (2, 3, 4)),
]


@pytest.mark.parametrize(("name", "config", "shape"), BUILT_CONFIGS)
def test_built_layer_config_is_keras(name, config, shape):
    reference, ours = _both(name, config)
    assert _comparable(ours.get_config()) == _comparable(reference.get_config())
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    _build_both(reference, ours, x)
    assert _comparable(ours.get_config()) == _comparable(reference.get_config())
    # The built config makes the same layer again, in both libraries.
    again = getattr(lamina.layers, name).from_config(ours.get_config())
    again(torch.tensor(x, device=lamina.backend.default_device()))
    assert _comparable(again.get_config()) == _comparable(ours.get_config())


# ------------------------------------------------------------------------------------------------
# Config keys: Keras's spatial dropouts take no `trainable` (a lamina config carrying one did
# not load in Keras), and Keras 3's Embedding writes no `input_length`.

SPATIAL_DROPOUTS = [
    ("SpatialDropout1D", {"rate": 0.3}),
    ("SpatialDropout2D", {"rate": 0.3, "data_format": "channels_first"}),
    ("SpatialDropout3D", {"rate": 0.5, "seed": 3}),
    ("SpatialDropout2D", {"rate": 0.3, "dtype": "mixed_bfloat16"}),
]


@pytest.mark.parametrize(("name", "config"), SPATIAL_DROPOUTS)
def test_spatial_dropout_config_keys_are_keras_and_keras_loads_them(name, config):
    reference, ours = _both(name, config)
    assert set(ours.get_config()) == set(reference.get_config())
    loaded = getattr(keras.layers, name).from_config(ours.get_config())
    assert loaded.rate == config["rate"]
    assert loaded.dtype_policy.name == ours.dtype_policy.name


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_config_keys_are_keras(mask_zero):
    reference, ours = _both("Embedding", {"input_dim": 5, "output_dim": 3, "mask_zero": mask_zero})
    assert set(ours.get_config()) == set(reference.get_config())
    assert _comparable(ours.get_config()) == _comparable(reference.get_config())


def test_embedding_input_length_still_round_trips():
    with pytest.warns(UserWarning, match="input_length"):
        layer = lamina.layers.Embedding(5, 3, input_length=4)
    assert layer.get_config()["input_length"] == 4
    with pytest.warns(UserWarning, match="input_length"):
        again = lamina.layers.Embedding.from_config(layer.get_config())
    assert again.input_length == 4


# ------------------------------------------------------------------------------------------------
# compute_output_shape of the normalizations and PReLU: Keras's is the input's shape once the axes
# fit the rank, with nothing built; lamina's built the layer from the shape, so an unknown size on
# a normalized (or unshared) axis raised.

UNKNOWN_AXIS_SHAPES = [
    ("BatchNormalization", {"axis": 1}, (None, None, None, 2)),
    ("BatchNormalization", {"axis": 2}, (None, None, None, 2)),
    ("LayerNormalization", {"axis": [1, 2]}, (None, None, 4)),
    ("LayerNormalization", {"axis": -1}, (None, 3, None)),
    ("GroupNormalization", {"groups": 2, "axis": 1}, (None, None, 5)),
    ("GroupNormalization", {"groups": -1}, (None, 4, None)),
    ("UnitNormalization", {"axis": 1}, (None, None, 3)),
    ("RMSNormalization", {"axis": 1}, (None, None, 5)),
    ("PReLU", {}, (None, None, None, 5)),
    ("PReLU", {"shared_axes": [1]}, (None, None, 3)),
]


@pytest.mark.parametrize(("name", "config", "shape"), UNKNOWN_AXIS_SHAPES)
def test_output_shape_with_an_unknown_normalized_size_is_keras(name, config, shape):
    reference, ours = _both(name, config)
    built = ours.built  # a layer without weights may be built from the start
    assert ours.compute_output_shape(shape) == tuple(reference.compute_output_shape(shape))
    assert ours.built == built


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("BatchNormalization", {"axis": 3}),
        ("LayerNormalization", {"axis": [1, -4]}),
        ("GroupNormalization", {"axis": -4}),
        ("UnitNormalization", {"axis": 3}),
        ("RMSNormalization", {"axis": 5}),
    ],
)
def test_output_shape_refuses_an_axis_past_the_rank_as_keras(name, config):
    reference, ours = _both(name, config)
    with pytest.raises(ValueError):
        reference.compute_output_shape((None, 4, 3))
    with pytest.raises(ValueError, match=r"axes in \[-3, 3\)"):
        ours.compute_output_shape((None, 4, 3))


# ------------------------------------------------------------------------------------------------
# Keras refuses strides > 1 with dilation_rate > 1 in Conv and ConvTranspose only: its depthwise
# and separable convolutions take the pair, and lamina refused them at construction.

STRIDED_DILATED = [
    (
        "DepthwiseConv1D",
        {"kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": "same"},
        (2, 9, 2),
    ),
    (
        "DepthwiseConv2D",
        {
            "kernel_size": (3, 2),
            "strides": (2, 3),
            "dilation_rate": 2,
            "data_format": "channels_first",
        },
        (2, 3, 9, 10),
    ),
    (
        "SeparableConv1D",
        {"filters": 3, "kernel_size": 2, "strides": 3, "dilation_rate": 2, "padding": "same"},
        (2, 10, 2),
    ),
    (
        "SeparableConv2D",
        {
            "filters": 2,
            "kernel_size": 3,
            "strides": 2,
            "dilation_rate": (2, 1),
            "padding": "same",
            "depth_multiplier": 2,
        },
        (2, 8, 7, 3),
    ),
]


@pytest.mark.parametrize(("name", "config", "shape"), STRIDED_DILATED)
def test_depthwise_and_separable_take_strides_with_dilation_as_keras(name, config, shape):
    assert_layer_matches_keras(name, config, shape)
    reference, ours = _both(name, config)
    unknown = (None, *([None] * (len(shape) - 2)), shape[-1])
    if config.get("data_format") == "channels_first":
        unknown = (None, shape[1], *([None] * (len(shape) - 2)))
    assert ours.compute_output_shape(unknown) == tuple(reference.compute_output_shape(unknown))


@pytest.mark.parametrize("name", ["Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose"])
def test_plain_and_transposed_convolutions_still_refuse_strides_with_dilation(name):
    with pytest.raises(ValueError):
        getattr(keras.layers, name)(filters=2, kernel_size=3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="strides == 1 when dilation_rate > 1"):
        getattr(lamina.layers, name)(filters=2, kernel_size=3, strides=2, dilation_rate=2)


# ------------------------------------------------------------------------------------------------
# SpectralNormalization with a dtype of its own: Keras makes vector_u in the wrapped kernel's
# dtype; lamina made it in the wrapper's, and a float16 wrapper round a float32 Dense then failed
# in training (float16 @ float32).


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("power_iterations", [1, 2])
def test_spectral_normalization_with_its_own_dtype_is_keras(dtype, power_iterations):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    reference = keras.layers.SpectralNormalization(
        keras.layers.Dense(2), dtype=dtype, power_iterations=power_iterations
    )
    ours = lamina.layers.SpectralNormalization(
        lamina.layers.Dense(2), dtype=dtype, power_iterations=power_iterations
    )
    device = lamina.backend.default_device()
    reference(torch.tensor(x))
    ours(torch.tensor(x, device=device))
    ours.set_weights(reference.get_weights())
    want = reference(torch.tensor(x), training=True)
    got = ours(torch.tensor(x, device=device), training=True)
    assert got.dtype == want.dtype
    torch.testing.assert_close(got.detach().cpu().float(), want.detach().float())
    for mine, theirs in zip(ours.get_weights(), reference.get_weights(), strict=True):
        assert mine.dtype == np.asarray(theirs).dtype
        np.testing.assert_allclose(mine, np.asarray(theirs), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# Dot on a batch of 0 samples: a reshape to -1 is ambiguous with no elements.


@pytest.mark.parametrize(
    ("axes", "shapes"),
    [(1, [(0, 1), (0, 1)]), ((2, 1), [(0, 2, 3), (0, 3, 4)]), (1, [(0, 3), (0, 3, 2)])],
)
def test_dot_on_an_empty_batch_is_keras(axes, shapes):
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype("float32") for s in shapes]
    assert_layer_matches_keras("Dot", {"axes": axes}, None, inputs=inputs)


@pytest.mark.parametrize(
    ("name", "config", "shape"),
    [
        ("Flatten", {}, (0, 6, 5)),
        ("Flatten", {"data_format": "channels_first"}, (0, 2, 3, 4)),
        ("Flatten", {}, (0,)),
        ("Reshape", {"target_shape": (-1, 1)}, (0, 6)),
        ("Reshape", {"target_shape": (2, -1)}, (0, 3, 4)),
    ],
)
def test_reshaping_an_empty_batch_is_keras(name, config, shape):
    assert_layer_matches_keras(name, config, shape)
    reference, ours = _both(name, config)
    assert ours.compute_output_shape(shape) == tuple(reference.compute_output_shape(shape))


# ------------------------------------------------------------------------------------------------
# Upsampling's output shape on an empty batch: torch's meta kernel fails there, so the engine's
# probe did; the layer states Keras's rule.

EMPTY_UPSAMPLING = [
    ("UpSampling1D", {"size": 3}, (0, 3, 4)),
    ("UpSampling2D", {"size": (2, 1), "data_format": "channels_first"}, (0, 3, 4, 5)),
    ("UpSampling3D", {"size": (2, 1, 3)}, (0, 3, 4, 5, 2)),
    ("UpSampling2D", {"size": 2}, (None, None, 4, 5)),
]


@pytest.mark.parametrize(("name", "config", "shape"), EMPTY_UPSAMPLING)
def test_upsampling_output_shape_is_keras(name, config, shape):
    reference, ours = _both(name, config)
    assert ours.compute_output_shape(shape) == tuple(reference.compute_output_shape(shape))


# ------------------------------------------------------------------------------------------------
# The 1-D layers Keras gives no data_format (UpSampling1D, Cropping1D, SpatialDropout1D) read
# (batch, steps, features) whatever the global image data format; lamina took the global one.


@pytest.fixture
def global_channels_first():
    keras_before, ours_before = keras.config.image_data_format(), lamina.backend.image_data_format()
    keras.config.set_image_data_format("channels_first")
    lamina.backend.set_image_data_format("channels_first")
    yield
    keras.config.set_image_data_format(keras_before)
    lamina.backend.set_image_data_format(ours_before)


@pytest.mark.parametrize(
    ("name", "config"),
    [("UpSampling1D", {"size": 2}), ("Cropping1D", {"cropping": (1, 2)})],
)
def test_one_d_layers_ignore_the_global_data_format_as_keras(global_channels_first, name, config):
    assert_layer_matches_keras(name, config, (2, 5, 4))
    reference, ours = _both(name, config)
    shape = (None, 5, 4)
    assert ours.compute_output_shape(shape) == tuple(reference.compute_output_shape(shape))


def test_spatial_dropout_1d_drops_features_under_a_global_channels_first(global_channels_first):
    layer = lamina.layers.SpatialDropout1D(0.5, seed=1)
    y = layer(torch.ones(4, 6, 8, device=lamina.backend.default_device()), training=True)
    # One draw per (sample, feature): a dropped feature is zero at every step.
    dropped = (y == 0).all(dim=1)
    kept = (y == 2).all(dim=1)
    assert bool((dropped | kept).all())
    assert bool(dropped.any()) and bool(kept.any())
