"""Model configs (engine/serialization.py): a functional model rebuilt from its config."""

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _rebuild_nameless_custom_layer(m):
    """A functional model around a custom layer whose get_config() leaves out `name` (as Keras's
    guides write it), rebuilt with Model.from_config: its output shape and its layers' names."""

    class Scale(m.layers.Layer):
        def __init__(self, units=3):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")

        def call(self, inputs):
            return m.ops.matmul(inputs, self.w)

        def get_config(self):
            return {"units": self.units}

    inputs = m.Input((4,))
    model = m.Model(inputs, Scale(5)(Scale(2)(inputs)))
    rebuilt = m.Model.from_config(model.get_config(), custom_objects={"Scale": Scale})
    out = rebuilt(np.ones((2, 4), "float32"))
    return tuple(out.shape), len(rebuilt.layers)


def test_from_config_rebuilds_a_custom_layer_whose_config_has_no_name():
    assert _rebuild_nameless_custom_layer(lamina) == ((2, 5), 3)


@pytest.mark.parity
def test_from_config_of_nameless_custom_layer_matches_keras():
    ours = _rebuild_nameless_custom_layer(lamina)
    assert ours == reference.keras_run(_rebuild_nameless_custom_layer)
