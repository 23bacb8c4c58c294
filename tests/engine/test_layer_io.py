"""`Layer.input` and `Layer.output` as in Keras 3: every symbolic tensor of the layer's first call
(a list for a merge or an attention layer's query and value), a flat list of several outputs, the
tensor itself when there is one."""

import pytest

import lamina
from tests.parity import reference

LAYERS = ["concat", "add", "attention", "shared", "pair", "a"]


def graph(layers, lib):
    a, b = lib.Input((4, 2), name="a"), lib.Input((5, 2), name="b")
    shared = layers.Dense(2, name="shared")
    first, second = shared(a), shared(b)  # two calls: .input is the first's
    joined = layers.Concatenate(axis=1, name="concat")([first, second])
    attended = layers.MultiHeadAttention(1, 2, name="attention")(a, b)
    pair = layers.Lambda(lambda t: [t, 2 * t], name="pair")(attended)
    total = layers.Add(name="add")(pair)
    return lib.Model([a, b], [joined, total])


def describe(structure):
    if isinstance(structure, (list, tuple)):
        return [describe(item) for item in structure]
    return (structure.node.layer.name, tuple(structure.shape))


@pytest.mark.parity
def test_layer_input_and_output_list_every_tensor_as_in_keras():
    model = graph(lamina.layers, lamina)
    ours = {
        name: (describe(model.get_layer(name).input), describe(model.get_layer(name).output))
        for name in LAYERS
    }
    assert ours["concat"][0] == [("shared", (None, 4, 2)), ("shared", (None, 5, 2))]
    assert ours["attention"][0] == [("a", (None, 4, 2)), ("b", (None, 5, 2))]
    assert ours["pair"][1] == [("pair", (None, 4, 2)), ("pair", (None, 4, 2))]
    assert ours["a"] == ([], ("a", (None, 4, 2)))
    assert ours == reference.keras_layer_io(graph, LAYERS)


def test_a_layer_never_called_has_no_input():
    with pytest.raises(AttributeError, match="object has no attribute 'input'"):
        getattr(lamina.layers.Dense(1), "input")  # noqa: B009
