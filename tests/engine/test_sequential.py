"""Sequential's attributes before and after it is built (engine/sequential.py), against Keras 3."""

import pytest

import lamina
from tests.parity import reference

# `input` / `output` too, except where Keras 3.15 lacks them on a built Sequential (its Layer
# properties want a call of the Sequential itself); lamina keeps tf.keras's `model.input`.
ATTRIBUTES = ("inputs", "outputs", "input_shape", "output_shape")


def _has(m, layers):
    model = m.Sequential(layers(m))
    return {name: hasattr(model, name) for name in ATTRIBUTES}


@pytest.mark.parametrize(
    "layers",
    [lambda m: [], lambda m: [m.layers.Dense(2)], lambda m: [m.Input((3,)), m.layers.Dense(2)]],
    ids=["empty", "unbuilt", "built"],
)
def test_the_graph_attributes_exist_once_built_as_in_keras(layers):
    assert _has(lamina, layers) == reference.keras_run(lambda m: _has(m, layers))


def test_an_unbuilt_sequential_has_no_inputs_until_built():
    model = lamina.Sequential([lamina.layers.Dense(2)], name="head")
    with pytest.raises(AttributeError, match="no attribute 'inputs'"):
        model.inputs  # noqa: B018
    model.build((None, 3))
    assert [tuple(t.shape) for t in model.outputs] == [(None, 2)]
    assert tuple(model.input.shape) == (None, 3)
