"""model_to_dot: the boxes and arrows of a model's graph, and the text Keras shows in each box."""

import re

import pytest

import lamina
from lamina import layers
from lamina.visualization.model_graph import build_model_graph
from tests.parity import reference
from tests.visualization.helpers import (
    a_sequential,
    nested_two_way,
    two_inputs_shared,
    with_nested,
)

ALL_FIELDS = {
    "show_shapes": True,
    "show_dtype": True,
    "show_layer_names": True,
    "show_layer_activations": True,
    "show_trainable": True,
}


def dot_nodes(text: str) -> list[str]:
    return re.findall(r'^"?([\w#]+)"? \[label=', text, re.M)


def dot_edges(text: str) -> list[tuple[str, str]]:
    return re.findall(r'^"?([\w#]+)"? -> "?([\w#]+)"?', text, re.M)


def box_rows(box) -> list[str]:
    rows = [box.title]
    if box.activation is not None:
        rows.append(f"Activation: {box.activation}")
    return rows + [cell.text for cell in box.cells]


def test_two_inputs_and_a_shared_layer_give_exactly_these_boxes_and_arrows():
    text = lamina.utils.model_to_dot(two_inputs_shared(layers, lamina)).to_string()
    assert dot_nodes(text) == ["a", "b", "shared", "concat", "score", "label"]
    # the shared layer is one box fed by both inputs; its two calls make one arrow to concat
    assert sorted(dot_edges(text)) == [
        ("a", "shared"),
        ("b", "shared"),
        ("concat", "label"),
        ("concat", "score"),
        ("shared", "concat"),
    ]
    assert text.startswith("digraph G {\nrankdir=TB;")
    assert "dpi=200;" in text


def test_show_shapes_puts_the_shapes_keras_shows_into_the_dot_labels():
    text = lamina.utils.model_to_dot(two_inputs_shared(layers, lamina), show_shapes=True)
    text = text.to_string()
    concat_line = next(line for line in text.splitlines() if dot_nodes(line) == ["concat"])
    assert "Input shape: [(None, 4), (None, 4)]" in concat_line
    assert "Output shape: (None, 8)" in concat_line
    input_line = next(line for line in text.splitlines() if dot_nodes(line) == ["a"])
    assert "Output shape: (None, 3)" in input_line and "Input shape" not in input_line


@pytest.mark.parametrize(
    "options",
    [
        ALL_FIELDS,
        {**ALL_FIELDS, "show_layer_names": False, "show_trainable": False},
        {**ALL_FIELDS, "show_shapes": False, "show_layer_activations": False},
    ],
    ids=["everything", "no-names-no-trainable", "no-shapes-no-activations"],
)
@pytest.mark.parametrize("build", [two_inputs_shared, with_nested, a_sequential, nested_two_way])
def test_each_box_reads_as_in_keras(build, options):
    expected = reference.keras_plot_rows(build, **options)
    graph = build_model_graph(build(layers, lamina), **options)
    assert {box.key: box_rows(box) for box in graph.boxes} == expected


def test_expand_nested_draws_the_inner_model_as_a_cluster_wired_to_its_layers():
    model = with_nested(layers, lamina)
    flat = lamina.utils.model_to_dot(model).to_string()
    assert dot_nodes(flat) == ["x", "inner", "z"]
    assert dot_edges(flat) == [("x", "inner"), ("inner", "z")]
    assert "subgraph" not in flat

    expanded = lamina.utils.model_to_dot(model, expand_nested=True).to_string()
    cluster = re.search(r'subgraph "?cluster_inner"? \{(.*?)\}', expanded, re.S)
    assert cluster is not None
    assert dot_nodes(cluster.group(1)) == ["i1", "i2"]
    assert re.search(r'^label="?inner"?;', cluster.group(1), re.M)
    assert sorted(dot_nodes(expanded)) == ["i1", "i2", "x", "z"]
    assert sorted(dot_edges(expanded)) == [("i1", "i2"), ("i2", "z"), ("x", "i1")]


def test_an_expanded_nested_functional_model_is_entered_through_its_input_box():
    core_in = lamina.Input((3,), name="core_in")
    core = lamina.Model(core_in, layers.Dense(2, name="core_dense")(core_in), name="core")
    x = lamina.Input((3,), name="x")
    model = lamina.Model(x, layers.Dense(1, name="head")(core(x)))
    graph = build_model_graph(model, expand_nested=True)
    assert [(b.key, b.cluster) for b in graph.boxes] == [
        ("x", None),
        ("core_in", "cluster_core"),
        ("core_dense", "cluster_core"),
        ("head", None),
    ]
    assert sorted(graph.edges) == [
        ("core_dense", "head"),
        ("core_in", "core_dense"),
        ("x", "core_in"),
    ]


def test_arrows_into_and_out_of_an_expanded_model_find_the_boxes_by_position():
    graph = build_model_graph(nested_two_way(layers, lamina), expand_nested=True)
    assert sorted(graph.edges) == [
        ("a", "p"),  # the dict's entries, in the model's input order
        ("after_p", "sum"),
        ("after_q", "sum"),
        ("b", "q"),
        ("h1", "after_p"),  # output 0 of core
        ("h2", "after_q"),  # output 1 of core
        ("merge", "h1"),
        ("merge", "h2"),
        ("p", "merge"),
        ("q", "merge"),
    ]


def test_a_layer_shared_with_another_model_brings_no_arrow_from_that_model():
    shared = layers.Dense(2, name="shared")
    first_in = lamina.Input((3,), name="first_in")
    lamina.Model(first_in, shared(first_in))
    second_in = lamina.Input((3,), name="second_in")
    second = lamina.Model(second_in, layers.Dense(1, name="top")(shared(second_in)))
    edges = dot_edges(lamina.utils.model_to_dot(second).to_string())
    assert edges == [("second_in", "shared"), ("shared", "top")]


def test_a_sequential_is_a_chain_without_an_input_box():
    text = lamina.utils.model_to_dot(a_sequential(layers, lamina)).to_string()
    assert dot_nodes(text) == ["d1", "d2"]
    assert dot_edges(text) == [("d1", "d2")]


def test_a_subclassed_model_is_one_box_as_in_keras():
    class TwoLayers(lamina.Model):
        def __init__(self):
            super().__init__(name="two_layers")
            self.first = layers.Dense(4)
            self.second = layers.Dense(1)

        def call(self, inputs):
            return self.second(self.first(inputs))

    model = TwoLayers()
    model.build((None, 3))
    text = lamina.utils.model_to_dot(model).to_string()
    assert dot_nodes(text) == ["two_layers"]
    assert dot_edges(text) == []
    assert "two_layers (TwoLayers)" in text


def test_a_model_without_pydot_gives_dot_text_that_writes_itself(tmp_path, monkeypatch):
    monkeypatch.setattr("lamina.visualization.model_dot.import_pydot", lambda: None)
    dot = lamina.utils.model_to_dot(a_sequential(layers, lamina), rankdir="LR", dpi=96)
    dot.write(tmp_path / "model.dot", format="raw")
    text = (tmp_path / "model.dot").read_text()
    assert text == dot.to_string()
    assert "rankdir=LR;" in text and "dpi=96;" in text
    dot.write(tmp_path / "model.svg", format="svg")
    assert (tmp_path / "model.svg").read_text().count('<g class="node"') == 2
    with pytest.raises(ImportError, match="format 'raw', 'dot' or 'svg' without Graphviz"):
        dot.write(tmp_path / "model.png", format="png")
    cluster = lamina.utils.model_to_dot(a_sequential(layers, lamina), subgraph=True)
    assert cluster.to_string().startswith('subgraph "cluster_stack" {')


def test_unbuilt_models_and_unknown_arguments_are_refused():
    with pytest.raises(ValueError, match="expects a built model; received model 'lazy'"):
        lamina.utils.model_to_dot(lamina.Sequential([layers.Dense(2)], name="lazy"))
    model = a_sequential(layers, lamina)
    with pytest.raises(ValueError, match="no layer_range"):
        lamina.utils.model_to_dot(model, layer_range=["d1", "d2"])
    with pytest.raises(ValueError, match=r"unknown \['colour'\]"):
        lamina.utils.model_to_dot(model, colour="red")
    with pytest.raises(ValueError, match="rankdir in"):
        lamina.utils.model_to_dot(model, rankdir="sideways")


def test_an_intermediate_tensor_given_as_input_is_drawn_as_an_input_box():
    raw = lamina.Input((1,), name="raw")
    scaled = layers.Normalization(mean=0.0, variance=1.0, name="scale")(raw)
    other = lamina.Input((2,), name="other")
    joined = layers.Concatenate(name="joined")([scaled, other])
    model = lamina.Model([scaled, other], layers.Dense(1, name="out")(joined))
    graph = build_model_graph(model, show_shapes=True)
    assert [box.title for box in graph.boxes] == [
        "scale_out0 (InputLayer)",
        "other (InputLayer)",
        "joined (Concatenate)",
        "out (Dense)",
    ]
    assert graph.edges == [("scale_out0", "joined"), ("other", "joined"), ("joined", "out")]
    assert graph.boxes[0].cells[0].text == "Output shape: (None, 1)"
