"""A Dense layer's weights have Keras's shapes and values, as `layer.weights` and `layer.kernel`
show them: programs that read, assign or tie a kernel (`ops.transpose(dense.kernel)`) get Keras's
numbers, and the kernel stays contiguous, which the last test pins. (Convolutions:
tests/layers/test_conv_kernel_shapes.py; recurrent layers: tests/layers/test_recurrent.py.)"""

import keras
import numpy as np
import pytest
import torch

import lamina
from lamina import ops

RNG = np.random.default_rng(0)

# (layer, config, input shape)
CASES = [
    ("Dense", {"units": 3}, (2, 5)),
    ("Dense", {"units": 4, "use_bias": False}, (2, 3, 6)),
]


def _case_id(case):
    name, config, shape = case
    return f"{name}-{'-'.join(f'{k}{v}' for k, v in config.items())}-{'x'.join(map(str, shape))}"


def _built_pair(name, config, shape):
    reference, ours = getattr(keras.layers, name)(**config), getattr(lamina.layers, name)(**config)
    reference.build(shape)
    ours.build(shape)
    ours.set_weights(reference.get_weights())
    return reference, ours


def _outputs(layer, x):
    return np.asarray(ops.convert_to_numpy(layer(x)))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_weight_has_keras_shape_and_values(case):
    reference, ours = _built_pair(*case)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in reference.weights]
    for mine, theirs in zip(ours.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), keras.ops.convert_to_numpy(theirs))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_assigning_a_kernel_in_keras_layout_gives_keras_outputs(case):
    name, config, shape = case
    reference, ours = _built_pair(*case)
    kernel = RNG.standard_normal(tuple(reference.kernel.shape)).astype("float32")
    reference.kernel.assign(kernel)
    ours.kernel.assign(kernel)
    x = RNG.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(_outputs(ours, x), _outputs(reference, x), rtol=1e-6, atol=1e-6)


def _tied_autoencoder(library):
    """keras-io's tied-weights pattern: the decoder multiplies by the encoder's kernel,
    transposed (in Keras's layout, `(input_dim, units)`)."""

    class DenseTranspose(library.layers.Layer):
        def __init__(self, dense, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense

        def call(self, inputs):
            return library.ops.matmul(inputs, library.ops.transpose(self.dense.kernel))

    encoder = library.layers.Dense(3, activation="tanh")
    inputs = library.Input((6,))
    outputs = DenseTranspose(encoder)(encoder(inputs))
    return library.Model(inputs, outputs)


def test_a_decoder_tied_to_the_encoder_kernel_runs_as_in_keras():
    reference, ours = _tied_autoencoder(keras), _tied_autoencoder(lamina)
    ours.set_weights(reference.get_weights())
    x = RNG.standard_normal((4, 6)).astype("float32")
    np.testing.assert_allclose(_outputs(ours, x), _outputs(reference, x), rtol=1e-6, atol=1e-6)
    assert tuple(ours.output_shape) == (None, 6)


def test_the_dense_kernel_and_its_gradient_are_contiguous_so_nothing_copies_them():
    layer = lamina.layers.Dense(3)
    layer.build((None, 5))
    assert tuple(layer.kernel.shape) == (5, 3) and layer.kernel.is_contiguous()
    layer(torch.ones(2, 4, 5)).sum().backward()  # the 3-D path too
    assert layer.kernel.grad.stride() == layer.kernel.stride()  # the optimizer sees one layout
