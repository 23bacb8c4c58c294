"""Layer.add_weight takes Keras 3's signature: shape first, name optional."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, models
from tests.parity import reference


class _KerasStyle:
    """The body of a custom layer written the Keras 3 way, shared by both frameworks' classes."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones", trainable=True)
        self.b = self.add_weight((2,), "zeros")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        return inputs @ self.w + self.b


class KerasStyleLayer(_KerasStyle, layers.Layer):
    pass


def test_unnamed_weights_take_their_attribute_names():
    layer = KerasStyleLayer()
    layer(np.ones((1, 3), "float32"))
    assert [name for name, _ in layer.named_parameters()] == ["w", "b"]
    assert [name for name, _ in layer.named_buffers()] == ["count"]
    assert [tuple(w.shape) for w in layer.weights] == [(3, 2), (2,), ()]
    assert layer.trainable_weights[0] is layer.w


def test_unnamed_weights_train_and_match_keras_layout():
    keras_layer = reference.keras_custom_layer(_KerasStyle)
    keras_layer.build((None, 3))
    model = models.Sequential([layers.Input((3,)), KerasStyleLayer()])
    assert [w.shape for w in model.get_weights()] == [
        tuple(w.shape) for w in keras_layer.get_weights()
    ]
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()[0].copy()
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    assert not np.allclose(model.get_weights()[0], before)


def test_an_unassigned_unnamed_weight_is_registered_as_variable():
    layer = layers.Layer()
    first = layer.add_weight(shape=(2,))
    second = layer.add_weight(shape=(2,))
    assert dict(layer.named_parameters()) == {"variable": first, "variable_1": second}


def test_integer_weights_default_to_zeros():
    layer = layers.Layer()
    counter = layer.add_weight(shape=(3,), dtype="int32", trainable=False, name="counter")
    assert counter.dtype == torch.int32 and counter.tolist() == [0, 0, 0]


def test_a_name_in_the_shape_position_is_explained():
    with pytest.raises(TypeError, match="takes the shape first; pass the name as name='kernel'"):
        layers.Layer().add_weight("kernel", (3,))


def test_add_weight_name_leaves_a_layer_attribute_of_that_name_alone():
    # In Keras a weight's name is not an attribute: `self.kernel = 3` (a kernel size) survives
    # add_weight(name="kernel") assigned to `self.w`, and the weight keeps its Keras path.
    class EqualizedConv(lamina.layers.Layer):
        def __init__(self, kernel=3):
            super().__init__()
            self.kernel = kernel

        def build(self, input_shape):
            shape = (self.kernel, self.kernel, input_shape[-1], 2)
            self.w = self.add_weight(shape=shape, name="kernel")

        def call(self, inputs):
            return lamina.ops.conv(inputs, self.w)

    layer = EqualizedConv(kernel=1)
    layer.build((None, 4, 4, 3))
    assert layer.kernel == 1
    assert layer.w.path == "equalized_conv/kernel"
    assert [w.path for w in layer.weights] == ["equalized_conv/kernel"]
    assert len(layer.get_weights()) == 1


def test_weights_carry_their_constraint_and_regularizer_as_in_keras():
    layer = layers.Dense(2, kernel_constraint="non_neg", bias_regularizer="l2")
    layer.build((None, 3))
    assert isinstance(layer.kernel.constraint, lamina.constraints.NonNeg)
    assert isinstance(layer.bias.regularizer, lamina.regularizers.L2)
    assert layer.kernel.regularizer is None and layer.bias.constraint is None


def _weight_named_like_a_sublayer(m):
    """`self.var = self.add_weight(name="inner")`, then `self.inner = Sublayer()`: in Keras a
    weight's name is no attribute, so the sub-layer takes the attribute."""

    class Leaf(m.layers.Layer):
        def __init__(self):
            super().__init__()
            self.var = self.add_weight(shape=(1,), name="inner", regularizer="l2")

    class Holder(m.layers.Layer):
        def __init__(self):
            super().__init__()
            self.var = self.add_weight(shape=(2,), name="inner", regularizer="l2")
            self.inner = Leaf()
            self.count = self.add_weight(shape=(), name="count", trainable=False)
            self.count = 3  # a plain value over a weight's name

    layer = Holder()
    return (
        type(layer.inner).__name__,
        layer.count,
        sorted(v.path for v in layer.weights),
        [tuple(w.shape) for w in layer.weights],
        len(layer.losses),
    )


def test_an_attribute_named_as_a_weight_takes_the_name_as_in_keras():
    got = _weight_named_like_a_sublayer(lamina)
    assert got == reference.keras_run(_weight_named_like_a_sublayer)
    assert got[0] == "Leaf" and got[1] == 3


def test_tf_keras_name_first_with_a_keyword_shape_is_the_name():
    # TF's custom-layer tutorial: `self.add_weight("kernel", shape=[...])` (tf.keras 2 put the
    # name first). Python's own error said "got multiple values for argument 'shape'".
    class Linear(layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight("kernel", shape=[int(input_shape[-1]), 2])

        def call(self, x):
            return x @ self.kernel

    layer = Linear()
    assert tuple(layer(np.ones((1, 3), "float32")).shape) == (1, 2)
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel"]
    with pytest.raises(TypeError, match="got the name twice"):
        layers.Layer().add_weight("kernel", shape=(3,), name="w")
