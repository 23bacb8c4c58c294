"""lamina's own drawing of a model graph as SVG: plain XML, no Graphviz, no matplotlib.

The drawing has one `<g class="node">` per box (its cells are `<rect>`s with centred `<text>`),
one `<g class="edge">` per arrow (one `<path>` of curves and a `<polygon>` head) and a dashed
`<g class="cluster">` frame around each expanded nested model. Arrows are drawn before boxes, so a
box hides an arrow that passes behind it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from lamina.visualization.graph_layout import Layout, layout_graph
from lamina.visualization.model_graph import ModelGraph

ARROW = 9  # length of an arrow head, in pixels
FONT = "Helvetica, Arial, sans-serif"


def arrow_curve(points, rankdir: str) -> tuple[list, list]:
    """The Bezier segments of an arrow through `points`, and the three corners of its head.

    Each segment leaves and enters along the rank axis; the last stops `ARROW` short of the final
    point, where the head begins, so the head's tip touches the target's border.
    """
    vertical = rankdir in ("TB", "BT")
    sign = 1 if rankdir in ("TB", "LR") else -1
    (x1, y1) = points[-1]
    if vertical:
        base = (x1, y1 - sign * ARROW)
        head = [(x1, y1), (x1 - ARROW / 2, base[1]), (x1 + ARROW / 2, base[1])]
    else:
        base = (x1 - sign * ARROW, y1)
        head = [(x1, y1), (base[0], y1 - ARROW / 2), (base[0], y1 + ARROW / 2)]
    stops = [*points[:-1], base]
    segments = []
    for (xa, ya), (xb, yb) in zip(stops, stops[1:], strict=False):
        if vertical:
            bend = (yb - ya) / 2
            segments.append([(xa, ya), (xa, ya + bend), (xb, yb - bend), (xb, yb)])
        else:
            bend = (xb - xa) / 2
            segments.append([(xa, ya), (xa + bend, ya), (xb - bend, yb), (xb, yb)])
    return segments, head


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
    for edge in layout.edges:
        segments, head = arrow_curve(edge.points, layout.rankdir)
        path = f"M {_points(segments[0][:1])} " + " ".join(
            f"C {_points(segment[1:])}" for segment in segments
        )
        parts.append(
            f'<g class="edge" data-source={quoteattr(edge.source)} '
            f"data-target={quoteattr(edge.target)}>"
            f'<path d="{path}" fill="none" stroke="black" stroke-width="2"/>'
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
