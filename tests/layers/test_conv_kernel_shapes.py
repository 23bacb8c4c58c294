"""Convolution weights have Keras's shapes (`spatial.kernel_weight`): Keras programs that read,
assign or tie `layer.kernel` (and `depthwise_kernel`, `pointwise_kernel`, `recurrent_kernel`)
compute what they compute in Keras. Each program is written once for both frameworks (`m` is
`lamina` or `keras`) and checked against Keras 3."""

import numpy as np
import pytest

import lamina
from tests.parity import reference

# (layer of a layers module, input shape): every layer kind whose kernels are Keras-shaped views.
CASES = {
    "Conv1D": (lambda L: L.Conv1D(4, 3), (2, 9, 3)),
    "Conv2D": (lambda L: L.Conv2D(4, 3), (2, 7, 7, 3)),
    "Conv2D-groups": (lambda L: L.Conv2D(4, 3, groups=2), (2, 7, 7, 2)),
    "Conv2D-channels_first": (
        lambda L: L.Conv2D(4, 3, data_format="channels_first"),
        (2, 3, 7, 7),
    ),
    "Conv3D": (lambda L: L.Conv3D(2, 2), (1, 4, 4, 4, 3)),
    "Conv1DTranspose": (lambda L: L.Conv1DTranspose(4, 3, strides=2), (2, 5, 3)),
    "Conv2DTranspose": (
        lambda L: L.Conv2DTranspose(4, 3, strides=2, padding="same"),
        (2, 5, 5, 3),
    ),
    "Conv3DTranspose": (lambda L: L.Conv3DTranspose(2, 2, strides=2), (1, 3, 3, 3, 3)),
    "DepthwiseConv1D": (lambda L: L.DepthwiseConv1D(3, depth_multiplier=2), (2, 9, 3)),
    "DepthwiseConv2D": (lambda L: L.DepthwiseConv2D(3, depth_multiplier=2), (2, 7, 7, 3)),
    "DepthwiseConv2D-channels_first": (
        lambda L: L.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_first"),
        (2, 3, 7, 7),
    ),
    "SeparableConv1D": (lambda L: L.SeparableConv1D(4, 3, depth_multiplier=2), (2, 9, 3)),
    "SeparableConv2D": (lambda L: L.SeparableConv2D(4, 3, depth_multiplier=2), (2, 7, 7, 3)),
    "ConvLSTM1D": (lambda L: L.ConvLSTM1D(2, 3), (2, 3, 7, 3)),
    "ConvLSTM2D": (lambda L: L.ConvLSTM2D(2, 3, padding="same"), (2, 3, 5, 5, 3)),
    "ConvLSTM3D": (lambda L: L.ConvLSTM3D(2, 2), (1, 2, 3, 3, 3, 2)),
}


def _assigned(m, case):
    """Each weight's name and shape, its values after `assign` of an array in Keras's layout (read
    back with `numpy()`), and the outputs of the layer with them."""
    make, shape = CASES[case]
    layer = make(m.layers)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    layer(x)
    shapes = [(w.name, tuple(w.shape)) for w in layer.weights]
    for w in layer.weights:
        w.assign(0.3 * rng.standard_normal(tuple(w.shape)).astype("float32"))
    values = [np.asarray(w.numpy()) for w in layer.weights]
    return shapes, values, m.ops.convert_to_numpy(layer(x))


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_weights_have_keras_shapes_and_assign_in_keras_layout(case):
    shapes, values, outputs = _assigned(lamina, case)
    keras_shapes, keras_values, keras_outputs = reference.keras_run(lambda m: _assigned(m, case))
    assert shapes == keras_shapes
    for ours, theirs in zip(values, keras_values, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # float32 convolutions summed in another order (Keras pads and permutes otherwise).
    np.testing.assert_allclose(outputs, keras_outputs, rtol=1e-5, atol=1e-5)


def _pixelcnn_masked(m, mask_type):
    """keras-io's PixelCNN masked convolution: a mask of the kernel's shape keeps the taps above
    the centre and left of it (and the centre itself for type B), applied by assign."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 7, 2)).astype("float32")
    conv = m.layers.Conv2D(3, 5, padding="same")
    conv.build((None, 7, 7, 2))
    conv.set_weights([rng.standard_normal((5, 5, 2, 3)).astype("float32"), np.ones(3, "float32")])
    kernel_shape = tuple(conv.kernel.shape)
    mask = np.zeros(kernel_shape, "float32")
    mask[: kernel_shape[0] // 2, ...] = 1.0
    mask[kernel_shape[0] // 2, : kernel_shape[1] // 2, ...] = 1.0
    if mask_type == "B":
        mask[kernel_shape[0] // 2, kernel_shape[1] // 2, ...] = 1.0
    conv.kernel.assign(conv.kernel * mask)
    shifted = x.copy()
    shifted[:, 3, 3:, :] += 1.0  # the centre pixel and the ones after it in raster order
    return [m.ops.convert_to_numpy(conv(inputs)) for inputs in (x, shifted)]


@pytest.mark.parity
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_pixelcnn_masked_convolution_matches_keras(mask_type):
    outputs, shifted_outputs = _pixelcnn_masked(lamina, mask_type)
    keras_outputs, _ = reference.keras_run(lambda m: _pixelcnn_masked(m, mask_type))
    np.testing.assert_allclose(outputs, keras_outputs, rtol=1e-5, atol=1e-5)
    # Causal: what comes before the change, in raster order, does not see it (type A: nor the
    # centre pixel itself).
    seen_from = (3, 4) if mask_type == "A" else (3, 3)
    changed = np.abs(shifted_outputs - outputs).max(axis=(0, 3)) > 0
    first_changed = divmod(int(np.flatnonzero(changed.ravel())[0]), 7)
    assert first_changed == seen_from


def _tied_autoencoder(m):
    """A decoder tied to its encoder: the transposed convolution of the encoder's own kernel."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    encoder = m.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False)
    encoder.build((None, 8, 8, 3))
    encoder.set_weights([rng.standard_normal((3, 3, 3, 5)).astype("float32")])
    code = encoder(x)
    direct = m.ops.conv(x, encoder.kernel, strides=2, padding="same")
    decoded = m.ops.conv_transpose(code, encoder.kernel, strides=2, padding="same")
    return [m.ops.convert_to_numpy(t) for t in (code, direct, decoded)]


@pytest.mark.parity
def test_ops_take_the_layers_kernel_as_keras_does():
    code, direct, decoded = _tied_autoencoder(lamina)
    keras_code, _, keras_decoded = reference.keras_run(_tied_autoencoder)
    np.testing.assert_allclose(direct, code, rtol=1e-6, atol=1e-6)
    assert decoded.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(code, keras_code, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(decoded, keras_decoded, rtol=1e-5, atol=1e-5)
