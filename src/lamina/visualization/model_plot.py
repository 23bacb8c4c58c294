"""`plot_model`: a picture of a model's graph, written to a file (and shown in a notebook).

The file's extension picks the way: with pydot and Graphviz installed, Graphviz draws every format
(as in Keras). Without them, `.dot` / `.gv` get the DOT source, `.svg` lamina's own drawing, and
`.png` / `.pdf` / `.jpg` lamina's layout painted by matplotlib; only when matplotlib is missing too
does it ask for something to be installed.
"""

from __future__ import annotations

from pathlib import Path

from lamina.visualization.figures import INSTALL_HINT, matplotlib_available
from lamina.visualization.graph_layout import Layout, layout_graph
from lamina.visualization.model_dot import (
    DotGraph,
    check_options,
    graphviz_available,
    import_pydot,
    to_pydot,
)
from lamina.visualization.model_graph import build_model_graph
from lamina.visualization.model_svg import arrow_curve

DOT_FORMATS = ("dot", "gv", "raw")
_IMAGE_FORMATS = ("png", "jpg", "jpeg", "gif")


def paint_layout(layout: Layout, path, format: str, dpi: int = 200) -> None:  # noqa: A002
    """Paint a layout with matplotlib (1 layout pixel = 1 point) and save it as `format`."""
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch, Polygon, Rectangle
    from matplotlib.path import Path as CurvePath

    figure = Figure(figsize=(layout.width / 72, layout.height / 72))
    supported = figure.canvas.get_supported_filetypes()
    if format not in supported:
        raise ValueError(
            f"plot_model() without Graphviz writes {sorted({*supported, 'svg', *DOT_FORMATS})}; "
            f"received a file ending in .{format}. Hint: pick one of those extensions, or "
            "install pydot and Graphviz."
        )
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, layout.width)
    axes.set_ylim(layout.height, 0)
    axes.axis("off")
    for cluster in layout.clusters:
        frame = Rectangle((cluster.x, cluster.y), cluster.width, cluster.height, fill=False)
        frame.set_linestyle((0, (6, 4)))
        axes.add_patch(frame)
        axes.text(cluster.x + 6, cluster.y + 16, cluster.label, fontsize=14, va="baseline")
    for edge in layout.edges:
        segments, head = arrow_curve(edge.points, layout.rankdir)
        vertices = [segments[0][0], *(point for segment in segments for point in segment[1:])]
        codes = [CurvePath.MOVETO] + [CurvePath.CURVE4] * (len(vertices) - 1)
        axes.add_patch(PathPatch(CurvePath(vertices, codes), fill=False, linewidth=2))
        axes.add_patch(Polygon(head, closed=True, color="black"))
    for box in layout.boxes:
        for cell in box.cells:
            rectangle = Rectangle((cell.x, cell.y), cell.width, cell.height)
            rectangle.set_facecolor(cell.fill)
            rectangle.set_edgecolor("black")
            axes.add_patch(rectangle)
            axes.text(
                cell.x + cell.width / 2,
                cell.y + cell.height / 2,
                cell.text,
                fontsize=cell.size,
                color=cell.ink,
                ha="center",
                va="center",
                fontweight="bold" if cell.bold else "normal",
            )
    metadata = {"Software": None} if format == "png" else None  # as figures.py: no URL inside
    figure.savefig(str(path), format=format, dpi=dpi, metadata=metadata)


def _notebook_picture(path: str, extension: str):
    """What Keras returns for a notebook: an IPython `Image` (lamina: `SVG` for .svg), else None."""
    if extension not in (*_IMAGE_FORMATS, "svg"):
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    if extension == "svg":
        return display.SVG(filename=path)
    return display.Image(filename=path)


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=False,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """Draw the model's graph into `to_file`; the file's extension picks the format.

    Graphviz draws it when pydot and Graphviz are installed. Otherwise lamina does: `.svg` as its
    own SVG, `.dot` as DOT source, `.png` / `.pdf` / `.jpg` with matplotlib
    (`pip install 'lamina[plot]'`). A name without an extension is written as PNG.

    Args:
        model: a built lamina model (Sequential, functional or subclassed).
        to_file: the file to write.
        show_shapes: whether boxes show their input and output shapes.
        show_dtype: whether boxes show their output dtype.
        show_layer_names: whether boxes show the layer's name besides its class.
        rankdir: `"TB"` draws top to bottom, `"LR"` left to right.
        expand_nested: whether nested models are drawn as clusters of their layers.
        dpi: the image's resolution in dots per inch.
        show_layer_activations: whether boxes show the layer's activation (layers with one).
        show_trainable: whether boxes say if the layer's weights train.
        splines: how Graphviz draws the arrows (lamina's own drawing uses curves).
        **kwargs: none accepted (`layer_range` was removed in Keras 3).

    Returns:
        An IPython `Image` (`SVG` for an .svg file) when IPython is installed, so a notebook shows
        the picture; otherwise (and for .pdf and .dot files) None.

    Example:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,))])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.svg")
        >>> _ = plot_model(model, to_file=path, show_shapes=True)
        >>> open(path).read().count('class="node"')
        1
    """
    check_options("plot_model()", rankdir, kwargs)
    graph = build_model_graph(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        expand_nested=expand_nested,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        who="plot_model()",
    )
    dot = DotGraph(graph, rankdir=rankdir, dpi=dpi, splines=splines)
    to_file = str(to_file)
    extension = Path(to_file).suffix[1:].lower() or "png"
    if extension in DOT_FORMATS:
        dot.write(to_file, format="raw")
    elif graphviz_available():
        to_pydot(import_pydot(), dot).write(to_file, format=extension)
    elif extension == "svg":
        dot.write(to_file, format="svg")
    elif matplotlib_available():
        paint_layout(layout_graph(graph, rankdir), to_file, extension, dpi)
    else:
        raise ImportError(
            f"plot_model() draws .{extension} files with Graphviz or matplotlib, and neither is "
            f"installed. Hint: {INSTALL_HINT} (or `pip install pydot` and Graphviz from "
            "https://graphviz.org/download/), or write a .svg or .dot file, which needs neither."
        )
    return _notebook_picture(to_file, extension)
