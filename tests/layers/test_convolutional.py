"""Conv1D / Conv2D / Conv3D's Keras hook `convolution_op` (layers/convolutional.py)."""

import numpy as np
import pytest

import lamina


def _standardized_conv(m, data_format="channels_last"):
    """A Conv2D whose convolution_op standardizes the kernel over all but the filters axis; the
    layer's bias and activation still apply, as Keras's call does after the hook."""

    class StandardizedConv(m.layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = m.ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return m.ops.conv(
                inputs,
                (kernel - mean) / m.ops.sqrt(var + 1e-10),
                strides=self.strides,
                padding="valid",
                data_format=self.data_format,
            )

    rng = np.random.default_rng(0)
    shape = (2, 6, 6, 3) if data_format == "channels_last" else (2, 3, 6, 6)
    x = rng.standard_normal(shape).astype("float32")
    layer = StandardizedConv(4, 3, strides=2, activation="relu", data_format=data_format)
    layer(x)
    kernel = rng.standard_normal((3, 3, 3, 4)).astype("float32")
    layer.set_weights([kernel, np.linspace(-1, 1, 4).astype("float32")])
    return m.ops.convert_to_numpy(layer(x))


@pytest.mark.parity
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_overridden_convolution_op_matches_keras(data_format):
    from tests.parity import reference

    ours = _standardized_conv(lamina, data_format)
    theirs = reference.keras_run(lambda m: _standardized_conv(m, data_format))
    assert (ours > 0).any() and (ours == 0).any()  # the bias and the relu both applied
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_default_convolution_op_is_the_layers_convolution_without_bias():
    layer = lamina.layers.Conv1D(2, 3, padding="causal", bias_initializer="ones")
    x = np.random.default_rng(1).standard_normal((1, 5, 3)).astype("float32")
    full = lamina.ops.convert_to_numpy(layer(x))
    conv = lamina.ops.convert_to_numpy(layer.convolution_op(x, layer.kernel))  # Keras's layout
    np.testing.assert_allclose(conv, full - 1.0, rtol=1e-6, atol=1e-6)


def test_convolution_op_names_a_kernel_in_torch_layout():
    layer = lamina.layers.Conv2D(4, 3)
    x = np.zeros((1, 5, 5, 2), "float32")
    layer(x)
    torch_kernel = lamina.backend.conv_kernel_from_keras(layer.kernel)
    with pytest.raises(ValueError, match=r"\(3, 3, 2, 4\).*\(4, 2, 3, 3\).*conv_kernel_to_keras"):
        layer.convolution_op(x, torch_kernel)


@pytest.mark.parametrize("activation", [None, "linear", "relu"])
def test_same_padding_follows_each_input_size_when_one_layer_sees_several(activation):
    """`same` padding is worked out once per input size and kept on the layer: a strided layer
    called on sizes 4, 5, 4 pads (0, 1), (1, 1), (0, 1) per axis, as Keras does, each time."""
    import torch
    import torch.nn.functional as F

    conv = lamina.layers.Conv2D(2, 3, strides=2, padding="same", activation=activation)
    rng = np.random.default_rng(3)
    for size in (4, 5, 4):
        x = torch.from_numpy(rng.standard_normal((1, size, size, 3)).astype("float32"))
        before = 1 if size == 5 else 0  # Keras: the odd one of the total goes after
        x_first = F.pad(x.permute(0, 3, 1, 2), (before, 1, before, 1))
        if not conv.built:
            conv(x)
        kernel = lamina.backend.conv_kernel_from_keras(conv.kernel)
        expected = F.conv2d(x_first, kernel, conv.bias, stride=2).permute(0, 2, 3, 1)
        if activation == "relu":
            expected = expected.relu()
        torch.testing.assert_close(conv(x), expected)
