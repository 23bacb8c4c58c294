"""Sub-layers held in list, dict and tuple attributes, filled at assignment or later, and a
`build(self)` that takes no shape: tracked and built as Keras does, weights in Keras's order."""

import copy

import numpy as np
import pytest
from torch import nn

import lamina
from lamina import layers
from lamina.engine import tracking
from tests.parity import reference


def _containers_model(framework):
    """A custom layer written once for both frameworks: containers assigned empty and filled
    later, out of attribute order, and a build() without a shape."""

    class Mixer(framework.layers.Layer):
        def __init__(self):
            super().__init__()
            self.by_name = {}
            self.first = framework.layers.Dense(2)
            self.stack = []
            self.notes = []
            self.pair = (framework.layers.Dense(1),)
            for _ in range(2):
                self.stack.append(framework.layers.Dense(3, activation="tanh"))
            self.by_name["x.y"] = framework.layers.Dense(3)

        def build(self):
            self.built = True

        def call(self, x):
            ops = framework.ops
            mixed = self.stack[1](self.stack[0](x)) + self.by_name["x.y"](x)
            return ops.concatenate([mixed, self.first(x), self.pair[0](x)], axis=-1)

    inputs = framework.Input((4,))
    return framework.Model(inputs, Mixer()(inputs))


def test_layers_in_containers_are_tracked_in_keras_order_and_compute_the_same():
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")

    def run(framework):
        model = _containers_model(framework)
        return model, model.count_params(), [w.shape for w in model.get_weights()]

    keras_model, keras_count, keras_shapes = reference.keras_run(run)
    model, count, shapes = run(lamina)
    assert (count, [tuple(s) for s in shapes]) == (keras_count, [tuple(s) for s in keras_shapes])
    model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras_model.predict(x, verbose=0), atol=1e-6
    )


def _lists_filled_in_turn(framework):
    class Blocks(framework.layers.Layer):
        def __init__(self):
            super().__init__()
            self.encoders, self.projectors = [], []
            for units in (1, 2):
                self.encoders.append(framework.layers.Dense(units))
                self.projectors.append(framework.layers.Dense(units + 4))
            self.head = framework.layers.Dense(3)
            self.encoders.append(framework.layers.Dense(5))

        def call(self, x):
            return [layer(x) for layer in [*self.encoders, *self.projectors, self.head]]

    layer = Blocks()
    layer(np.ones((1, 2), "float32"))
    return [tuple(w.shape) for w in layer.get_weights()]


def test_layers_of_lists_filled_in_turn_keep_keras_s_tracking_order():
    # Keras orders sub-layers by when each was tracked, across lists: not list by list.
    assert _lists_filled_in_turn(lamina) == reference.keras_run(_lists_filled_in_turn)


def test_containers_stay_plain_lists_and_dicts_and_follow_removals():
    layer = layers.Layer()
    layer.blocks = []
    layer.notes = [1, 2]  # no layers: left alone
    layer.blocks.append(layers.Dense(2))
    layer.blocks += [layers.Dense(3)]
    assert isinstance(layer.blocks, list) and type(layer.notes) is list
    assert len(layer._modules[tracking.PREFIX + "blocks"]) == 2
    layer.blocks.pop()
    assert len(layer._modules[tracking.PREFIX + "blocks"]) == 1
    layer.heads = {"a": layers.Dense(1)}
    del layer.heads["a"]
    assert len(layer._modules[tracking.PREFIX + "heads"]) == 0
    assert type(copy.deepcopy(layer).blocks) is list  # a copy holds a plain list


@pytest.mark.parametrize("container", [list, tuple, dict])
def test_a_container_of_layers_trains_every_member(container):
    members = [layers.Dense(2), layers.Dense(2)]
    held = dict(enumerate(members)) if container is dict else container(members)

    class Holder(layers.Layer):
        def __init__(self):
            super().__init__()
            self.held = held

        def call(self, x):
            return sum(m(x) for m in members)

    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, Holder()(inputs))
    assert len(model.trainable_weights) == 4
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())


class _CyclicContainers(lamina.Model):
    """Keras's cyclic-container case: a list and a dict that hold themselves beside layers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = []
        self.blocks.append(self.blocks)
        self.blocks.append(lamina.layers.Dense(3))
        self.table = {}
        self.table["self"] = self.table
        self.table["out"] = lamina.layers.Dense(2)

    def call(self, x):
        return self.table["out"](self.blocks[1](x))


def test_containers_holding_themselves_are_tracked_and_saved(tmp_path):
    model = _CyclicContainers()
    x = np.random.default_rng(0).random((2, 4)).astype("float32")
    expected = lamina.ops.convert_to_numpy(model(x))
    assert [w.path for w in model.weights] == [
        f"{model.name}/dense/kernel",
        f"{model.name}/dense/bias",
        f"{model.name}/dense_1/kernel",
        f"{model.name}/dense_1/bias",
    ]
    path = tmp_path / "cyclic.keras"
    model.save(path)
    restored = lamina.saving.load_model(
        path, custom_objects={"_CyclicContainers": _CyclicContainers}
    )
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(restored(x)), expected, rtol=1e-6)
