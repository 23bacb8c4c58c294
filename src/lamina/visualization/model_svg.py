"""lamina's own drawing of a model graph as SVG: plain XML, no Graphviz, no matplotlib.

The drawing has one `<g class="node">` per box (its cells are `<rect>`s with centred `<text>`),
one `<g class="edge">` per arrow (a `<path>` curve and a `<polygon>` head) and a dashed
`<g class="cluster">` frame around each expanded nested model. Arrows are drawn before boxes, so a
box hides an arrow that passes behind it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from lamina.visualization.graph_layout import Layout, layout_graph
from lamina.visualization.model_graph import ModelGraph

ARROW = 9  # length of an arrow head, in pixels
FONT = "Helvetica, Arial, sans-serif"


def arrow_curve(start, end, rankdir: str) -> tuple[list, list]:
    """The Bezier control points of an arrow and the three corners of its head.

    The curve leaves and enters along the rank axis; it stops `ARROW` short of the target, where
    the head begins, so the head's tip touches the target's border.
    """
    (x0, y0), (x1, y1) = start, end
    if rankdir in ("TB", "BT"):
        sign = 1 if rankdir == "TB" else -1
        base = (x1, y1 - sign * ARROW)
        bend = (base[1] - y0) / 2
        controls = [(x0, y0), (x0, y0 + bend), (x1, base[1] - bend), base]
        head = [(x1, y1), (x1 - ARROW / 2, base[1]), (x1 + ARROW / 2, base[1])]
    else:
        sign = 1 if rankdir == "LR" else -1
        base = (x1 - sign * ARROW, y1)
        bend = (base[0] - x0) / 2
        controls = [(x0, y0), (x0 + bend, y0), (base[0] - bend, y1), base]
        head = [(x1, y1), (base[0], y1 - ARROW / 2), (base[0], y1 + ARROW / 2)]
    return controls, head


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _points(points) -> str:
    return " ".join(f"{_number(x)},{_number(y)}" for x, y in points)


def layout_svg(layout: Layout, title: str = "") -> str:
    """The SVG document of a finished layout."""
    width, height = _number(layout.width), _number(layout.height)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)}>',
        f"<title>{escape(title)}</title>",
        f'<rect class="background" width="{width}" height="{height}" fill="white"/>',
    ]
    for cluster in layout.clusters:
        parts.append(
            f'<g class="cluster"><rect x="{_number(cluster.x)}" y="{_number(cluster.y)}" '
            f'width="{_number(cluster.width)}" height="{_number(cluster.height)}" fill="none" '
            'stroke="black" stroke-dasharray="6,4"/>'
            f'<text x="{_number(cluster.x + 6)}" y="{_number(cluster.y + 16)}" font-size="14">'
            f"{escape(cluster.label)}</text></g>"
        )
    for start, end in layout.edges:
        controls, head = arrow_curve(start, end, layout.rankdir)
        (a, b, c, d) = controls
        path = f"M {_points([a])} C {_points([b, c, d])}"
        parts.append(
            f'<g class="edge"><path d="{path}" fill="none" stroke="black" stroke-width="2"/>'
            f'<polygon points="{_points(head)}" fill="black"/></g>'
        )
    for box in layout.boxes:
        parts.append(f'<g class="node" id={quoteattr(box.key)}>')
        for cell in box.cells:
            weight = ' font-weight="bold"' if cell.bold else ""
            parts.append(
                f'<rect x="{_number(cell.x)}" y="{_number(cell.y)}" width="{_number(cell.width)}" '
                f'height="{_number(cell.height)}" fill="{cell.fill}" stroke="black"/>'
                f'<text x="{_number(cell.x + cell.width / 2)}" '
                f'y="{_number(cell.y + cell.height / 2)}" font-size="{cell.size}" '
                f'fill="{cell.ink}" text-anchor="middle" dominant-baseline="central"{weight}>'
                f"{escape(cell.text)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def graph_svg(graph: ModelGraph, rankdir: str = "TB") -> str:
    """Lay out `graph` along `rankdir` and return the SVG text.

    Args:
        graph: the `ModelGraph` to draw (from `build_model_graph`).
        rankdir: `"TB"` draws top to bottom, `"LR"` left to right (`"BT"`, `"RL"` reversed).

    Example:
        >>> from lamina.visualization.model_graph import build_model_graph
        >>> model = lamina.Sequential([lamina.layers.Dense(2, input_shape=(3,))])
        >>> graph_svg(build_model_graph(model)).count('class="node"')
        1
    """
    return layout_svg(layout_graph(graph, rankdir), title=graph.name)
