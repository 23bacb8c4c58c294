"""A layered layout of a `ModelGraph`: every box placed, every arrow routed, no Graphviz needed.

Each box goes to a rank, its longest path from a box without inputs, so every arrow points to a
later rank. Ranks are rows (`rankdir="TB"`) or columns (`"LR"`); inside a rank, boxes keep the
model's layer order, then one sweep sorts each rank by the mean position of the boxes feeding it,
which undoes most crossings of branching graphs. Text sizes are estimated from the character count
(Helvetica averages about 0.6 of the font size per character), so the layout needs no fonts.
The SVG writer and the matplotlib painter both draw from this one layout.
"""

from __future__ import annotations

import dataclasses

from lamina.visualization.model_graph import ModelGraph

TITLE_SIZE = 16  # font sizes in pixels, as Keras's labels use in points
TEXT_SIZE = 14
PADDING = 10  # around the text of a cell
RANK_GAP = 48  # between ranks
BOX_GAP = 28  # between boxes of a rank
MARGIN = 16
CLUSTER_PAD = 14  # between a cluster's frame and its boxes (per level of nesting)
CELL_STYLE = {  # kind -> (fill, ink)
    "title": ("black", "white"),
    "plain": ("white", "black"),
    "trainable": ("forestgreen", "white"),
    "frozen": ("firebrick", "white"),
}


@dataclasses.dataclass
class PlacedCell:
    """A rectangle of a box with its centred text."""

    x: float
    y: float
    width: float
    height: float
    text: str
    fill: str
    ink: str
    size: int
    bold: bool = False


@dataclasses.dataclass
class PlacedBox:
    key: str
    x: float
    y: float
    width: float
    height: float
    cells: list[PlacedCell]


@dataclasses.dataclass
class PlacedCluster:
    label: str
    x: float
    y: float
    width: float
    height: float


@dataclasses.dataclass
class Layout:
    """Where everything goes: arrows are (start, end) points, end on the target's border."""

    width: float
    height: float
    rankdir: str
    boxes: list[PlacedBox]
    edges: list[tuple[tuple[float, float], tuple[float, float]]]
    clusters: list[PlacedCluster]


def text_width(text: str, size: int) -> float:
    return 0.6 * size * len(text)


def _box_rows(box) -> list[list[tuple[str, str, int, bool]]]:
    """The rows of a box as (text, kind, size, bold) cells."""
    rows = [[(box.title, "title", TITLE_SIZE, True)]]
    if box.activation is not None:
        rows.append([(f"Activation: {box.activation}", "plain", TEXT_SIZE, False)])
    if box.cells:
        rows.append([(cell.text, cell.kind, TEXT_SIZE, False) for cell in box.cells])
    return rows


def _measure(box) -> tuple[float, float, list]:
    rows = _box_rows(box)
    widths = [sum(text_width(t, s) + 2 * PADDING for t, _, s, _ in row) for row in rows]
    heights = [max(s for _, _, s, _ in row) + 2 * PADDING for row in rows]
    return max(widths), sum(heights), list(zip(rows, heights, strict=True))


def _place_cells(x: float, y: float, width: float, measured_rows) -> list[PlacedCell]:
    """Cells of each row share the box's width in proportion to their text."""
    cells = []
    for row, height in measured_rows:
        natural = [text_width(t, s) + 2 * PADDING for t, _, s, _ in row]
        scale = width / sum(natural)
        left = x
        for (text, kind, size, bold), wide in zip(row, natural, strict=True):
            fill, ink = CELL_STYLE[kind]
            cells.append(PlacedCell(left, y, wide * scale, height, text, fill, ink, size, bold))
            left += wide * scale
        y += height
    return cells


def _ranks(graph: ModelGraph) -> dict[str, int]:
    """Longest-path rank of every box, in topological order (no recursion: deep models are fine)."""
    children: dict[str, list[str]] = {box.key: [] for box in graph.boxes}
    waiting = {box.key: 0 for box in graph.boxes}  # arrows not yet resolved into each box
    for source, target in graph.edges:
        children[source].append(target)
        waiting[target] += 1
    rank = {box.key: 0 for box in graph.boxes}
    ready = [box.key for box in graph.boxes if waiting[box.key] == 0]
    while ready:
        key = ready.pop()
        for child in children[key]:
            rank[child] = max(rank[child], rank[key] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return rank


def _ordered_ranks(graph: ModelGraph, rank: dict[str, int]) -> list[list[str]]:
    """Boxes of each rank in layer order, then sorted by the mean slot of their parents."""
    count = max(rank.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for box in graph.boxes:
        layers[rank[box.key]].append(box.key)
    parents: dict[str, list[str]] = {key: [] for key in rank}
    for source, target in graph.edges:
        parents[target].append(source)
    slot = {key: i for layer in layers for i, key in enumerate(layer)}
    for layer in layers[1:]:
        original = {key: i for i, key in enumerate(layer)}

        def barycentre(key, original=original):
            feeding = [slot[p] for p in parents[key]]
            return sum(feeding) / len(feeding) if feeding else original[key]

        layer.sort(key=lambda key: (barycentre(key), original[key]))
        slot.update({key: i for i, key in enumerate(layer)})
    return layers


def layout_graph(graph: ModelGraph, rankdir: str = "TB") -> Layout:
    """Place the boxes of `graph` in ranks along `rankdir` ("TB", "LR", "BT" or "RL")."""
    across = rankdir in ("LR", "RL")  # ranks advance along x
    measured = {box.key: _measure(box) for box in graph.boxes}
    layers = _ordered_ranks(graph, _ranks(graph))

    def along(key):  # a box's extent in the direction ranks advance
        return measured[key][0] if across else measured[key][1]

    def side(key):  # its extent within its rank
        return measured[key][1] if across else measured[key][0]

    spans = [sum(side(k) for k in layer) + BOX_GAP * (len(layer) - 1) for layer in layers]
    widest = max(spans, default=0)
    origin = {}
    position = 0.0
    for layer, span in zip(layers, spans, strict=True):
        depth = max(along(k) for k in layer)
        offset = (widest - span) / 2
        for key in layer:
            centred = position + (depth - along(key)) / 2
            origin[key] = (centred, offset) if across else (offset, centred)
            offset += side(key) + BOX_GAP
        position += depth + RANK_GAP

    boxes = {}
    for box in graph.boxes:
        x, y = origin[box.key]
        width, height, rows = measured[box.key]
        boxes[box.key] = PlacedBox(box.key, x, y, width, height, _place_cells(x, y, width, rows))
    if rankdir in ("BT", "RL"):  # mirror along the rank axis
        extent = position - RANK_GAP
        for placed in boxes.values():
            if across:
                placed.x = extent - placed.x - placed.width
            else:
                placed.y = extent - placed.y - placed.height
            placed.cells = _place_cells(placed.x, placed.y, placed.width, measured[placed.key][2])

    clusters = _place_clusters(graph, boxes)
    edges = [_route(boxes[s], boxes[t], rankdir) for s, t in graph.edges]
    return _shifted(Layout(0, 0, rankdir, list(boxes.values()), edges, clusters))


def _route(source: PlacedBox, target: PlacedBox, rankdir: str):
    """From the middle of the source's leading side to the middle of the target's trailing side."""
    middle_x = (source.x + source.width / 2, target.x + target.width / 2)
    middle_y = (source.y + source.height / 2, target.y + target.height / 2)
    if rankdir == "TB":
        return (middle_x[0], source.y + source.height), (middle_x[1], target.y)
    if rankdir == "BT":
        return (middle_x[0], source.y), (middle_x[1], target.y + target.height)
    if rankdir == "LR":
        return (source.x + source.width, middle_y[0]), (target.x, middle_y[1])
    return (source.x, middle_y[0]), (target.x + target.width, middle_y[1])


def _place_clusters(graph: ModelGraph, boxes: dict[str, PlacedBox]) -> list[PlacedCluster]:
    parent = {cluster.key: cluster.parent for cluster in graph.clusters}

    def chain(key):
        while key is not None:
            yield key
            key = parent[key]

    depth = {cluster.key: len(list(chain(cluster.key))) for cluster in graph.clusters}
    below = {cluster.key: 0 for cluster in graph.clusters}  # levels nested inside each cluster
    members: dict[str, list[PlacedBox]] = {cluster.key: [] for cluster in graph.clusters}
    for box in graph.boxes:
        for level, key in enumerate(chain(box.cluster)):
            members[key].append(boxes[box.key])
            below[key] = max(below[key], level)
    placed = []
    for cluster in sorted(graph.clusters, key=lambda c: depth[c.key]):
        inside = members[cluster.key]
        if not inside:
            continue
        pad = CLUSTER_PAD * (1 + below[cluster.key])
        left = min(b.x for b in inside) - pad
        top = min(b.y for b in inside) - pad - TEXT_SIZE
        right = max(b.x + b.width for b in inside) + pad
        bottom = max(b.y + b.height for b in inside) + pad
        placed.append(PlacedCluster(cluster.label, left, top, right - left, bottom - top))
    return placed


def _shifted(layout: Layout) -> Layout:
    """Move everything so the drawing starts at (MARGIN, MARGIN); size the canvas to fit."""
    frames = [(b.x, b.y, b.width, b.height) for b in layout.boxes]
    frames += [(c.x, c.y, c.width, c.height) for c in layout.clusters]
    if not frames:
        return dataclasses.replace(layout, width=2 * MARGIN, height=2 * MARGIN)
    dx = MARGIN - min(f[0] for f in frames)
    dy = MARGIN - min(f[1] for f in frames)
    for item in [*layout.boxes, *layout.clusters]:
        item.x += dx
        item.y += dy
    for box in layout.boxes:
        for cell in box.cells:
            cell.x += dx
            cell.y += dy
    edges = [((a + dx, b + dy), (c + dx, d + dy)) for (a, b), (c, d) in layout.edges]
    width = max(f[0] + f[2] for f in frames) + dx + MARGIN
    height = max(f[1] + f[3] for f in frames) + dy + MARGIN
    return dataclasses.replace(layout, width=width, height=height, edges=edges)
