"""A layered layout of a `ModelGraph`: every box placed, every arrow routed, no Graphviz needed.

Each box goes to a rank, its longest path from a box without inputs, so every arrow points to a
later rank. Ranks are rows (`rankdir="TB"`) or columns (`"LR"`); an arrow that crosses ranks (a
skip connection) takes a narrow slot in each, so it runs beside their boxes. Inside a rank, boxes
and slots keep the model's layer order, then one sweep sorts each rank by the mean position of what
feeds it, which undoes most crossings of branching graphs. Text sizes are estimated from the
character count (Helvetica averages about 0.6 of the font size per character), so the layout needs
no fonts. The SVG writer and the matplotlib painter both draw from this one layout.
"""

from __future__ import annotations

import dataclasses

from lamina.visualization.model_graph import ModelGraph

TITLE_SIZE = 16  # font sizes in pixels, as Keras's labels use in points
TEXT_SIZE = 14
PADDING = 10  # around the text of a cell
RANK_GAP = 48  # between ranks
BOX_GAP = 28  # between boxes of a rank
SLOT = 8  # the room a long arrow takes in each rank it crosses
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
class PlacedEdge:
    """An arrow: the points it passes, the last on the target's border."""

    source: str
    target: str
    points: list[tuple[float, float]]


@dataclasses.dataclass
class PlacedCluster:
    label: str
    x: float
    y: float
    width: float
    height: float


@dataclasses.dataclass
class Layout:
    """Where everything goes, on a canvas of `width` x `height` pixels."""

    width: float
    height: float
    rankdir: str
    boxes: list[PlacedBox]
    edges: list[PlacedEdge]
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


def _ordered_ranks(keys, rank: dict[str, int], links) -> list[list[str]]:
    """Keys of each rank in the given order, then sorted by the mean slot of their parents."""
    count = max(rank.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for key in keys:
        layers[rank[key]].append(key)
    parents: dict[str, list[str]] = {key: [] for key in keys}
    for source, target in links:
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


def _arrow_chains(graph: ModelGraph, rank: dict[str, int]) -> list[list[str]]:
    """Each arrow as the keys it passes: its source, one slot per rank it crosses, its target.

    The slots (keys starting with a NUL, which no layer name holds) take room in the ranks they
    cross, so a long arrow (a skip connection) runs beside the boxes of those ranks, not through.
    """
    chains = []
    for index, (source, target) in enumerate(graph.edges):
        crossed = range(rank[source] + 1, rank[target])
        slots = [f"\0{index}.{r}" for r in crossed]
        rank.update(zip(slots, crossed, strict=True))
        chains.append([source, *slots, target])
    return chains


def layout_graph(graph: ModelGraph, rankdir: str = "TB") -> Layout:
    """Place the boxes of `graph` in ranks along `rankdir` ("TB", "LR", "BT" or "RL")."""
    across = rankdir in ("LR", "RL")  # ranks advance along x
    measured = {box.key: _measure(box) for box in graph.boxes}
    rank = _ranks(graph)
    chains = _arrow_chains(graph, rank)
    slots = [key for chain in chains for key in chain[1:-1]]
    links = [pair for chain in chains for pair in zip(chain, chain[1:], strict=False)]
    layers = _ordered_ranks([box.key for box in graph.boxes] + slots, rank, links)

    def along(key):  # a box's extent in the direction ranks advance (a slot: none)
        return 0.0 if key not in measured else measured[key][0 if across else 1]

    def side(key):  # its extent within its rank
        return SLOT if key not in measured else measured[key][1 if across else 0]

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
    extent = position - RANK_GAP

    def flip(x, y, width=0.0, height=0.0):  # mirror along the rank axis for "BT" and "RL"
        if rankdir == "BT":
            return x, extent - y - height
        if rankdir == "RL":
            return extent - x - width, y
        return x, y

    boxes = {}
    for box in graph.boxes:
        width, height, rows = measured[box.key]
        x, y = flip(*origin[box.key], width, height)
        boxes[box.key] = PlacedBox(box.key, x, y, width, height, _place_cells(x, y, width, rows))
    waypoint = {}
    for key in slots:
        x, y = origin[key]
        waypoint[key] = flip(x, y + SLOT / 2) if across else flip(x + SLOT / 2, y)
    edges = []
    for chain in chains:
        start, end = _route(boxes[chain[0]], boxes[chain[-1]], rankdir)
        points = [start, *(waypoint[key] for key in chain[1:-1]), end]
        edges.append(PlacedEdge(chain[0], chain[-1], points))
    clusters = _place_clusters(graph, boxes)
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
    # A long arrow's waypoints can lie beyond every box (its slot the last of a wide rank).
    frames += [(x, y, 0.0, 0.0) for edge in layout.edges for x, y in edge.points]
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
    for edge in layout.edges:
        edge.points = [(x + dx, y + dy) for x, y in edge.points]
    width = max(f[0] + f[2] for f in frames) + dx + MARGIN
    height = max(f[1] + f[3] for f in frames) + dy + MARGIN
    return dataclasses.replace(layout, width=width, height=height)
