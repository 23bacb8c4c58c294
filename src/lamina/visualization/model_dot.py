"""`model_to_dot`: a model's graph in Graphviz's DOT language, as a `pydot.Dot` when pydot is there.

Without pydot, lamina returns a `DotGraph` whose `to_string()` is the same DOT source and whose
`write()` saves it (or lamina's own SVG drawing); Graphviz is needed only for other image formats.
Boxes are HTML-like tables with Keras's rows: the title, the activation, the shapes, the dtype and
whether the layer trains.
"""

from __future__ import annotations

import html
import importlib
import shutil
from pathlib import Path

from lamina.engine import errors
from lamina.visualization.model_graph import LayerBox, ModelGraph, build_model_graph

_CELL_COLOURS = {"plain": ("white", "black"), "trainable": ("forestgreen", "white")}
_CELL_COLOURS["frozen"] = ("firebrick", "white")
RANKDIRS = ("TB", "LR", "BT", "RL")


def import_pydot():
    """pydot (or its older forks pydot_ng, pydotplus), or None when none is installed."""
    for name in ("pydot", "pydot_ng", "pydotplus"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def graphviz_available() -> bool:
    """Whether pydot is installed and can run Graphviz's `dot` program."""
    pydot = import_pydot()
    if pydot is None or shutil.which("dot") is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
    except Exception:  # pydot raises OSError or its own exception when dot fails
        return False
    return True


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(box: LayerBox) -> str:
    """The box as an HTML-like table: title, activation, then one row of cells."""
    span = max(1, len(box.cells))
    rows = [
        f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
        f"<b>{html.escape(box.title, quote=False)}</b></font></td></tr>"
    ]
    if box.activation is not None:
        rows.append(
            f'<tr><td colspan="{span}" bgcolor="white"><font point-size="14">'
            f"Activation: <b>{html.escape(box.activation, quote=False)}</b></font></td></tr>"
        )
    if box.cells:
        cells = []
        for cell in box.cells:
            fill, ink = _CELL_COLOURS[cell.kind]
            cells.append(
                f'<td bgcolor="{fill}"><font point-size="14" color="{ink}">'
                f"{html.escape(cell.text, quote=False)}</font></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = '<table border="0" cellborder="1" cellpadding="10" bgcolor="black">'
    return "<" + table + "".join(rows) + "</table>>"


def dot_source(graph: ModelGraph, *, rankdir="TB", dpi=200, splines="ortho", subgraph=False) -> str:
    """The DOT text of a `ModelGraph` (a `cluster_` subgraph when `subgraph=True`)."""
    lines = []
    if subgraph:
        lines.append(f"subgraph {_quote('cluster_' + graph.name)} {{")
        lines += [f"label={_quote(graph.name)};", "labeljust=l;", "style=dashed;"]
    else:
        lines.append("digraph G {")
        lines += [f"rankdir={rankdir};", "concentrate=true;", f"dpi={dpi};"]
        lines += [f"splines={splines};", "node [shape=record];"]
    children: dict[str | None, list[str]] = {}
    for box in graph.boxes:
        children.setdefault(box.cluster, []).append(
            f"{_quote(box.key)} [label={_label(box)}, fontname=Helvetica, border=0, margin=0];"
        )
    clusters = {cluster.key: cluster for cluster in graph.clusters}

    def emit(cluster_key: str | None) -> None:
        if cluster_key is not None:
            cluster = clusters[cluster_key]
            lines.append(f"subgraph {_quote(cluster.key)} {{")
            lines.extend([f"label={_quote(cluster.label)};", "labeljust=l;", "style=dashed;"])
        lines.extend(children.get(cluster_key, []))
        for inner in graph.clusters:
            if inner.parent == cluster_key:
                emit(inner.key)
        if cluster_key is not None:
            lines.append("}")

    emit(None)
    lines += [f"{_quote(src)} -> {_quote(dst)} [penwidth=2];" for src, dst in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


class DotGraph:
    """The DOT graph `model_to_dot` returns when pydot is not installed.

    Args:
        graph: the `ModelGraph` to write.
        rankdir: `"TB"` (top to bottom) or `"LR"` (left to right).
        dpi: the resolution Graphviz would draw at.
        splines: how Graphviz draws the arrows (`"ortho"`, `"spline"`, ...).
        subgraph: whether this is a cluster to put inside another graph.

    Example:
        >>> model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,), name="d")])
        >>> dot = DotGraph(build_model_graph(model))
        >>> dot.to_string().splitlines()[0]
        'digraph G {'
    """

    def __init__(self, graph: ModelGraph, rankdir="TB", dpi=200, splines="ortho", subgraph=False):
        self.graph = graph
        self.rankdir = rankdir
        self.dpi = dpi
        self.splines = splines
        self.subgraph = subgraph

    def to_string(self) -> str:
        """The DOT source text."""
        return dot_source(
            self.graph,
            rankdir=self.rankdir,
            dpi=self.dpi,
            splines=self.splines,
            subgraph=self.subgraph,
        )

    def write(self, path, format="raw") -> None:  # noqa: A002 - pydot's name for the argument
        """Save to `path`: `"raw"` / `"dot"` writes the DOT source, `"svg"` lamina's drawing."""
        if format in ("raw", "dot", "gv"):
            Path(path).write_text(self.to_string(), encoding="utf-8")
        elif format == "svg":
            from lamina.visualization.model_svg import graph_svg

            Path(path).write_text(graph_svg(self.graph, self.rankdir), encoding="utf-8")
        else:
            raise ImportError(
                errors.message(
                    "DotGraph.write()",
                    "format 'raw', 'dot' or 'svg' without Graphviz",
                    f"format={format!r}",
                    "install pydot and Graphviz (`pip install pydot`, then Graphviz from "
                    "https://graphviz.org/download/) for other formats, or use "
                    "lamina.utils.plot_model, which draws PNG and PDF with matplotlib.",
                )
            )

    def __repr__(self) -> str:
        return f"<DotGraph {self.graph.name!r}: {len(self.graph.boxes)} boxes>"


def check_options(who: str, rankdir, kwargs: dict) -> None:
    """Keras's checks (no `layer_range`, no unknown keyword), and lamina's of `rankdir`."""
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError(
            errors.message(
                who, "no layer_range (Keras 3 dropped it)", "layer_range", "plot the whole model."
            )
        )
    if kwargs:
        raise ValueError(
            errors.message(who, "only its documented arguments", f"unknown {sorted(kwargs)}")
        )
    if rankdir not in RANKDIRS:
        raise errors.value_error(who, f"rankdir in {RANKDIRS}", f"rankdir={rankdir!r}")


def model_to_dot(
    model,
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    subgraph=False,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """The model's graph in Graphviz's DOT language.

    Args:
        model: a built lamina model (Sequential, functional or subclassed).
        show_shapes: whether boxes show their input and output shapes.
        show_dtype: whether boxes show their output dtype.
        show_layer_names: whether boxes show the layer's name besides its class.
        rankdir: `"TB"` draws top to bottom, `"LR"` left to right.
        expand_nested: whether nested models are drawn as clusters of their layers.
        dpi: the resolution of the image Graphviz would draw.
        subgraph: whether to return a cluster to nest in another graph.
        show_layer_activations: whether boxes show the layer's activation (layers with one).
        show_trainable: whether boxes say if the layer's weights train.
        splines: how Graphviz draws the arrows (`"ortho"`, `"spline"`, `"line"`, ...).
        **kwargs: none accepted (`layer_range` was removed in Keras 3).

    Returns:
        A `pydot.Dot` (a `pydot.Cluster` when `subgraph=True`) when pydot is installed, else a
        lamina `DotGraph` with the same `to_string()` and a `write(path, format)`.

    Example:
        >>> inputs = lamina.Input((3,), name="x")
        >>> model = lamina.Model(inputs, lamina.layers.Dense(2, name="d")(inputs))
        >>> '"x" -> "d"' in model_to_dot(model).to_string()
        True
    """
    check_options("model_to_dot()", rankdir, kwargs)
    graph = build_model_graph(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        expand_nested=expand_nested,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
    )
    dot = DotGraph(graph, rankdir=rankdir, dpi=dpi, splines=splines, subgraph=subgraph)
    pydot = import_pydot()
    if pydot is None:
        return dot
    return to_pydot(pydot, dot)


def to_pydot(pydot, dot: DotGraph):
    """The same graph built with pydot: a `pydot.Dot`, or a `pydot.Cluster` when `subgraph=True`."""
    graph = dot.graph
    if dot.subgraph:
        result = pydot.Cluster(graph.name, label=graph.name, labeljust="l", style="dashed")
    else:
        result = pydot.Dot(graph_type="digraph", rankdir=dot.rankdir, concentrate=True)
        result.set("dpi", dot.dpi)
        result.set("splines", dot.splines)
        result.set_node_defaults(shape="record")
    holders = {None: result}
    for cluster in graph.clusters:  # parents come before the clusters nested in them
        holders[cluster.key] = pydot.Cluster(
            cluster.key[len("cluster_") :], label=cluster.label, labeljust="l", style="dashed"
        )
        holders[cluster.parent].add_subgraph(holders[cluster.key])
    for box in graph.boxes:
        node = pydot.Node(box.key, label=_label(box), fontname="Helvetica", border=0, margin=0)
        holders[box.cluster].add_node(node)
    for source, target in graph.edges:
        result.add_edge(pydot.Edge(source, target, penwidth=2))
    return result
