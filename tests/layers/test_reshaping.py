"""Reshaping layers (layers/reshaping.py): Reshape on symbolic inputs, as Keras has it."""

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _reshape_shapes(m):
    """Reshape's symbolic output shapes on inputs of unknown and known size, and a call."""
    shapes = {}
    for input_shape, target in [((None, 4), (2, 2)), ((None, 4), (-1, 2)), ((12,), (-1, 2))]:
        inputs = m.Input(input_shape)
        shapes[(input_shape, target)] = tuple(m.layers.Reshape(target)(inputs).shape)
    inputs = m.Input((None, 4))
    model = m.Model(inputs, m.layers.Reshape((2, 2))(inputs))
    shapes["called"] = tuple(model(np.ones((3, 1, 4), "float32")).shape)
    return shapes


@pytest.mark.parity
def test_reshape_of_an_input_of_unknown_size_builds_as_in_keras():
    # Before: the engine's probe size (83) made (None, None, 4) -> (2, 2) fail at definition.
    ours = _reshape_shapes(lamina)
    assert ours[((None, 4), (2, 2))] == (None, 2, 2)
    assert ours == reference.keras_run(_reshape_shapes)


def test_reshape_error_shows_the_symbolic_shape_not_a_probe_size():
    with pytest.raises(ValueError, match=r"received shape \(None, 16\) \(16 values per sample\)"):
        lamina.layers.Reshape((4, 4, 2))(lamina.Input((16,)))


def _upsampled_integers(m):
    x = np.arange(12).reshape(1, 3, 2, 2)
    y1 = m.layers.UpSampling1D(2)(x[:, :, :, 0])
    y2 = m.layers.UpSampling2D((1, 2))(x)
    y3 = m.layers.UpSampling3D(2)(x[..., None])
    return [(str(y.dtype), m.ops.convert_to_numpy(y)) for y in (y1, y2, y3)]


@pytest.mark.parity
def test_upsampling_repeats_integer_inputs_as_keras():
    # Before: torch's nearest interpolation refused integers (Keras's UpSampling1D example).
    ours, theirs = _upsampled_integers(lamina), reference.keras_run(_upsampled_integers)
    for (our_dtype, our_values), (their_dtype, their_values) in zip(ours, theirs, strict=True):
        assert our_dtype == their_dtype
        np.testing.assert_array_equal(our_values, their_values)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_zero_padding_1d_config_keeps_its_data_format_as_keras(data_format):
    config = lamina.layers.ZeroPadding1D((1, 2), data_format=data_format).get_config()
    keras_layer = reference.keras.layers.ZeroPadding1D((1, 2), data_format=data_format)
    assert config["data_format"] == keras_layer.get_config()["data_format"] == data_format
    revived = lamina.layers.ZeroPadding1D.from_config(config)
    assert tuple(revived(np.ones((2, 3, 5), "float32")).shape) == (
        (2, 3, 8) if data_format == "channels_first" else (2, 6, 5)
    )


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8"])
def test_upsampling_2d_interpolates_as_keras(interpolation, dtype):
    x = (np.random.default_rng(4).random((2, 3, 4, 2)) * 200).astype(dtype)
    ours = lamina.layers.UpSampling2D((2, 3), interpolation=interpolation)(x)
    theirs = reference.keras.layers.UpSampling2D((2, 3), interpolation=interpolation)(x)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(
        ours.numpy().astype("float64"), theirs.numpy().astype("float64"), atol=1e-4
    )


@pytest.mark.parametrize("name", ["Cropping1D", "ZeroPadding1D"])
@pytest.mark.parametrize("value", [(1,), (1, 2, 3), "1"])
def test_1d_cropping_and_padding_refuse_what_keras_refuses(name, value):
    with pytest.raises(ValueError, match="as an int, a tuple of 1 ints or a tuple of 1 pairs"):
        getattr(lamina.layers, name)(value)
    key = "cropping" if name == "Cropping1D" else "padding"
    assert getattr(lamina.layers, name)((1, 2)).get_config()[key] == (1, 2)


def test_reshape_refuses_a_negative_size_other_than_minus_one_as_keras():
    with pytest.raises(ValueError, match=r"non-negative integers or -1; received \(-2, 5\)"):
        lamina.layers.Reshape((-2, 5))
