"""plot_model: lamina's own SVG drawing, matplotlib's PNG / PDF, and what comes back."""

import sys
import xml.etree.ElementTree as ElementTree

import pytest

import lamina
from lamina import layers
from tests.visualization.helpers import a_sequential, png_size, two_inputs_shared, with_nested

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def without_graphviz(monkeypatch):
    """lamina draws, even where pydot and Graphviz happen to be installed."""
    monkeypatch.setattr("lamina.visualization.model_plot.graphviz_available", lambda: False)


@pytest.fixture
def no_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)


def draw_svg(model, tmp_path, **options):
    path = tmp_path / "model.svg"
    lamina.utils.plot_model(model, to_file=path, **options)
    return ElementTree.parse(path).getroot()  # raises on XML that is not well formed


def groups(root, kind):
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == kind]


def box_origins(root) -> dict[str, tuple[float, float]]:
    """{box id: (x, y) of its top-left corner} from the first rectangle of each box."""
    origins = {}
    for node in groups(root, "node"):
        rect = node.find(f"{SVG}rect")
        origins[node.get("id")] = (float(rect.get("x")), float(rect.get("y")))
    return origins


def test_the_svg_has_one_box_per_layer_and_one_path_per_arrow(tmp_path, no_ipython):
    root = draw_svg(two_inputs_shared(layers, lamina), tmp_path, show_shapes=True)
    assert root.tag == f"{SVG}svg"
    assert [node.get("id") for node in groups(root, "node")] == [
        "a",
        "b",
        "shared",
        "concat",
        "score",
        "label",
    ]
    assert len(groups(root, "edge")) == 5
    assert len(list(root.iter(f"{SVG}path"))) == 5
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert "Input shape: [(None, 4), (None, 4)]" in texts
    assert "Concatenate" in texts  # plot_model's default: no layer names


def test_ranks_follow_the_arrows_down_for_tb_and_across_for_lr(tmp_path, no_ipython):
    model = two_inputs_shared(layers, lamina)
    down = box_origins(draw_svg(model, tmp_path, rankdir="TB"))
    across = box_origins(draw_svg(model, tmp_path, rankdir="LR"))
    # TB: each rank lower than the one feeding it; the two inputs side by side on one row
    assert down["a"][1] == down["b"][1] < down["shared"][1] < down["concat"][1]
    assert down["concat"][1] < down["score"][1] == down["label"][1]
    assert down["a"][0] < down["b"][0]
    # LR: the same ranks, now columns
    assert across["a"][0] == across["b"][0] < across["shared"][0] < across["concat"][0]
    assert across["concat"][0] < across["score"][0] == across["label"][0]
    assert across["a"][1] < across["b"][1]


def test_an_arrow_starts_on_its_source_and_ends_on_its_target(tmp_path, no_ipython):
    root = draw_svg(a_sequential(layers, lamina), tmp_path, rankdir="TB")
    (edge,) = groups(root, "edge")
    words = edge.find(f"{SVG}path").get("d").replace(",", " ").split()
    start = (float(words[1]), float(words[2]))
    tip = [float(v) for v in edge.find(f"{SVG}polygon").get("points").split()[0].split(",")]
    nodes = {node.get("id"): node for node in groups(root, "node")}
    first = [r for r in nodes["d1"].iter(f"{SVG}rect")]
    bottom = max(float(r.get("y")) + float(r.get("height")) for r in first)
    assert start[1] == pytest.approx(bottom, abs=0.1)
    second_top = float(nodes["d2"].find(f"{SVG}rect").get("y"))
    assert tip[1] == pytest.approx(second_top, abs=0.1)


def node_span(root, key, axis: str) -> tuple[float, float]:
    """(start, end) of box `key` along "x" or "y"."""
    node = next(n for n in groups(root, "node") if n.get("id") == key)
    size = "width" if axis == "x" else "height"
    rects = list(node.iter(f"{SVG}rect"))
    start = min(float(r.get(axis)) for r in rects)
    return start, max(float(r.get(axis)) + float(r.get(size)) for r in rects)


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_a_skip_connection_runs_beside_the_boxes_it_skips(tmp_path, no_ipython, rankdir):
    x = lamina.Input((3,), name="x")
    h = layers.Dense(3, name="d2")(layers.Dense(3, name="d1")(x))
    model = lamina.Model(x, layers.Add(name="sum")([x, h]))
    root = draw_svg(model, tmp_path, rankdir=rankdir)
    edges = {(g.get("data-source"), g.get("data-target")): g for g in groups(root, "edge")}
    assert set(edges) == {("x", "d1"), ("d1", "d2"), ("d2", "sum"), ("x", "sum")}
    path = edges["x", "sum"].find(f"{SVG}path").get("d")
    assert path.count("C") == 3  # one curve per rank crossed (d1's, d2's) and one into sum
    numbers = [float(v) for v in path.replace(",", " ").split() if v not in ("M", "C")]
    waypoints = [numbers[2 + 6 * i + 4 : 2 + 6 * i + 6] for i in range(2)]  # ends of curves 1, 2
    across = "y" if rankdir == "LR" else "x"
    for (wx, wy), key in zip(waypoints, ("d1", "d2"), strict=True):
        start, end = node_span(root, key, across)
        assert not start <= (wy if rankdir == "LR" else wx) <= end  # beside the box, not through
    assert edges["x", "d1"].find(f"{SVG}path").get("d").count("C") == 1


def test_expand_nested_frames_the_inner_layers(tmp_path, no_ipython):
    root = draw_svg(with_nested(layers, lamina), tmp_path, expand_nested=True)
    (cluster,) = groups(root, "cluster")
    frame = cluster.find(f"{SVG}rect")
    left, top = float(frame.get("x")), float(frame.get("y"))
    right, bottom = left + float(frame.get("width")), top + float(frame.get("height"))
    origins = box_origins(root)
    assert set(origins) == {"x", "i1", "i2", "z"}
    for key in ("i1", "i2"):
        assert left < origins[key][0] < right and top < origins[key][1] < bottom
    for key in ("x", "z"):
        assert not top < origins[key][1] < bottom
    assert cluster.find(f"{SVG}text").text == "inner"


def test_png_through_matplotlib_is_a_valid_png_sized_by_dpi(tmp_path, no_ipython):
    model = two_inputs_shared(layers, lamina)
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    assert lamina.utils.plot_model(model, to_file=small, dpi=50) is None
    lamina.utils.plot_model(model, to_file=large, dpi=100)
    assert small.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (w_small, h_small), (w_large, h_large) = (
        png_size(small.read_bytes()),
        png_size(large.read_bytes()),
    )
    assert abs(w_large - 2 * w_small) <= 2 and abs(h_large - 2 * h_small) <= 2


def test_pdf_and_a_name_without_extension(tmp_path, no_ipython):
    model = a_sequential(layers, lamina)
    lamina.utils.plot_model(model, to_file=tmp_path / "model.pdf", dpi=50)
    assert (tmp_path / "model.pdf").read_bytes()[:5] == b"%PDF-"
    lamina.utils.plot_model(model, to_file=tmp_path / "model", dpi=50)  # PNG, as in Keras
    assert (tmp_path / "model").read_bytes()[:4] == b"\x89PNG"


def test_dot_file_holds_the_dot_source(tmp_path):
    model = a_sequential(layers, lamina)
    assert lamina.utils.plot_model(model, to_file=tmp_path / "model.dot", rankdir="LR") is None
    text = (tmp_path / "model.dot").read_text()
    assert text.startswith("digraph G {\nrankdir=LR;")
    assert '"d1" -> "d2" [penwidth=2];' in text


def test_a_notebook_gets_an_image_back(tmp_path):
    display = pytest.importorskip("IPython.display")
    model = a_sequential(layers, lamina)
    picture = lamina.utils.plot_model(model, to_file=tmp_path / "model.png", dpi=30)
    assert isinstance(picture, display.Image)
    assert isinstance(lamina.utils.plot_model(model, to_file=tmp_path / "m.svg"), display.SVG)


def test_without_matplotlib_a_png_asks_for_it_and_svg_still_works(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "IPython", None)
    model = a_sequential(layers, lamina)
    with pytest.raises(ImportError, match=r"neither is installed. Hint: pip install 'lamina\[plot"):
        lamina.utils.plot_model(model, to_file=tmp_path / "model.png")
    lamina.utils.plot_model(model, to_file=tmp_path / "model.svg")
    assert ElementTree.parse(tmp_path / "model.svg").getroot().tag == f"{SVG}svg"


def test_unknown_extension_and_unbuilt_model_are_refused(tmp_path):
    model = a_sequential(layers, lamina)
    with pytest.raises(ValueError, match=r"received a file ending in \.xyz"):
        lamina.utils.plot_model(model, to_file=tmp_path / "model.xyz")
    with pytest.raises(ValueError, match="plot_model\\(\\) expects a built model"):
        lamina.utils.plot_model(lamina.Sequential([layers.Dense(1)]), to_file=tmp_path / "m.svg")


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_a_long_arrow_beside_the_widest_rank_stays_on_the_canvas(tmp_path, no_ipython, rankdir):
    # The guide's ticket model: the third input skips two ranks, its slots the last of them.
    title, body = lamina.Input((None,), name="title"), lamina.Input((None,), name="body")
    tags = lamina.Input((12,), name="tags")
    features = [
        layers.LSTM(4, name=f"lstm_{i}")(layers.Embedding(50, 8, name=f"embed_{i}")(x))
        for i, x in enumerate((title, body))
    ]
    joined = layers.Concatenate(name="concat")([*features, tags])
    model = lamina.Model([title, body, tags], layers.Dense(1, name="score")(joined))
    root = draw_svg(model, tmp_path, rankdir=rankdir, show_shapes=True)
    width, height = float(root.get("width")), float(root.get("height"))
    for edge in groups(root, "edge"):
        words = edge.find(f"{SVG}path").get("d").replace(",", " ").split()
        numbers = [float(v) for v in words if v not in ("M", "C")]
        for x, y in zip(numbers[::2], numbers[1::2], strict=True):
            assert 0 <= x <= width and 0 <= y <= height, (edge.get("data-source"), x, y)
