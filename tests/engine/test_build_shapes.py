"""Keras 3's `build(self, foo_shape, bar_shape)`: one shape per call() argument, by name
(engine/build_shapes.py), eagerly and on symbolic inputs, through get/build_from_config and
saving; the errors for a build signature that names no call() argument."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class PairProduct(layers.Layer):
    """Weights sized from both arguments' shapes."""

    def build(self, a_shape, b_shape):
        self.kernel = self.add_weight(shape=(a_shape[-1], b_shape[-1]), initializer="ones")

    def call(self, a, b):
        return lamina.ops.matmul(a, self.kernel) + b


class Reordered(layers.Layer):
    def build(self, baz_shape, foo_shape):
        self.seen = (foo_shape, baz_shape)

    def call(self, foo, bar=None, baz=None):
        return foo


class MaskArgument(layers.Layer):
    def build(self, inputs_shape, attention_mask_shape=None):
        self.seen = (inputs_shape, attention_mask_shape)

    def call(self, inputs, attention_mask=None):
        return inputs


def test_eager_call_passes_each_argument_shape_by_name():
    layer = PairProduct()
    out = layer(np.ones((2, 3), "float32"), np.ones((2, 4), "float32"))
    assert tuple(out.shape) == (2, 4)
    assert tuple(layer.kernel.shape) == (3, 4)
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(out), np.full((2, 4), 4.0))


def test_symbolic_call_builds_a_functional_model():
    a, b = lamina.Input((3,)), lamina.Input((4,))
    layer = PairProduct()
    model = lamina.Model([a, b], layer(a, b))
    assert model.output_shape == (None, 4)
    assert model.count_params() == 12
    y = model.predict([np.ones((2, 3), "float32"), np.zeros((2, 4), "float32")], verbose=0)
    np.testing.assert_allclose(y, np.full((2, 4), 3.0))


def test_arguments_match_by_name_not_position_and_subset_is_allowed():
    layer = Reordered()
    foo, bar, baz = (torch.ones(4, n) for n in (1, 2, 3))
    layer(foo, bar, baz)
    assert layer.seen == ((4, 1), (4, 3))


def test_keyword_argument_and_absent_argument():
    x, mask = torch.ones(2, 3), torch.ones(2, 1)
    layer = MaskArgument()
    layer(x, attention_mask=mask)
    assert layer.seen == ((2, 3), (2, 1))
    absent = MaskArgument()
    absent(x)
    assert absent.seen == ((2, 3), None)
    assert absent.get_build_config() == {"input_shape": (None, 3)}


def test_build_config_round_trips():
    layer = PairProduct()
    layer(torch.ones(2, 3), torch.ones(2, 4))
    config = layer.get_build_config()
    assert config == {"shapes_dict": {"a_shape": (None, 3), "b_shape": (None, 4)}}
    # As read back from a JSON file: lists.
    clone = PairProduct()
    clone.build_from_config({"shapes_dict": {"a_shape": [None, 3], "b_shape": [None, 4]}})
    assert clone.built and tuple(clone.kernel.shape) == (3, 4)
    assert clone.get_build_config() == config


def test_direct_build_by_keyword_records_the_shapes():
    layer = PairProduct()
    layer.build(b_shape=(None, 5), a_shape=(None, 2))
    assert layer.built and tuple(layer.kernel.shape) == (2, 5)
    assert layer.get_build_config() == {"shapes_dict": {"a_shape": (None, 2), "b_shape": (None, 5)}}


def test_model_with_such_a_layer_saves_and_loads(tmp_path):
    a, b = lamina.Input((3,)), lamina.Input((4,))
    model = lamina.Model([a, b], PairProduct()(a, b))
    model.layers[-1].kernel.data.normal_()
    x = [np.random.rand(2, 3).astype("float32"), np.random.rand(2, 4).astype("float32")]
    path = tmp_path / "pair.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path, custom_objects={"PairProduct": PairProduct})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


class NoShapeSuffix(layers.Layer):
    def build(self, foo_shape, bar):
        pass

    def call(self, foo, bar):
        return foo + bar


class NoSuchArgument(layers.Layer):
    def build(self, foo_shape, baz_shape):
        pass

    def call(self, foo, bar):
        return foo + bar


@pytest.mark.parametrize(
    ("cls", "received"),
    [
        (NoShapeSuffix, "argument `bar`, which does not end in `_shape`"),
        (NoSuchArgument, "`baz_shape`, but `call()` does not have argument `baz`"),
    ],
)
@pytest.mark.parametrize("symbolic", [False, True])
def test_unmatched_build_signature_is_a_clear_error(cls, received, symbolic):
    layer = cls()
    if symbolic:
        args = (lamina.Input((2,)), lamina.Input((2,)))
    else:
        args = (torch.ones(4, 2), torch.ones(4, 2))
    with pytest.raises(ValueError) as info:
        layer(*args)
    message = str(info.value)
    assert received in message
    assert layer.name in message and "Hint: write `build(self, foo_shape, bar_shape)`" in message
    assert not layer.built
