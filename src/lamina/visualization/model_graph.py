"""A model's layer graph as a small description to draw: boxes, arrows and nested clusters.

`model_to_dot` writes it as DOT, `plot_model` lays it out and draws it. The walk follows Keras's
`plot_model`: a Sequential shows its layers (no input box) joined in order; a functional model
shows every layer, InputLayers included, with an arrow from each layer whose output another layer
takes; a subclassed model is a single box (its graph is Python code, not data). With
`expand_nested=True`, a nested Sequential or functional model becomes a cluster of its own boxes,
and an arrow into or out of it goes to the box inside that takes or makes that tensor.
"""

from __future__ import annotations

import dataclasses

from lamina import tree
from lamina.engine import errors


@dataclasses.dataclass
class Cell:
    """One cell of a box's bottom row: its text and its kind ("plain", "trainable", "frozen")."""

    text: str
    kind: str = "plain"


@dataclasses.dataclass
class LayerBox:
    """One layer as drawn: a title row, an optional activation row, a row of cells."""

    key: str
    title: str
    activation: str | None
    cells: list[Cell]
    cluster: str | None = None


@dataclasses.dataclass
class Cluster:
    """A nested model drawn as a frame around its boxes (`parent`: the enclosing cluster)."""

    key: str
    label: str
    parent: str | None = None


@dataclasses.dataclass
class ModelGraph:
    """What to draw: boxes in the model's layer order, arrows as (source key, target key)."""

    name: str
    boxes: list[LayerBox]
    edges: list[tuple[str, str]]
    clusters: list[Cluster]


def is_sequential(model) -> bool:
    from lamina.engine.sequential import Sequential

    return isinstance(model, Sequential)


def is_functional(model) -> bool:
    from lamina.engine.model import Model

    return isinstance(model, Model) and getattr(model, "_graph", None) is not None


def check_built(model, who: str) -> None:
    """Keras refuses an unbuilt model: there is no graph to draw yet."""
    if not getattr(model, "built", False):
        raise ValueError(
            errors.message(
                who,
                "a built model",
                f"model '{getattr(model, 'name', model)}', which is not built yet",
                "build it first with model.build(input_shape), an Input or input_shape=, "
                "or by calling it on a batch of data.",
            )
        )


def shape_text(structure) -> str:
    """Shapes as Keras's plot shows them: `(None, 3)`, `[(None, 3), (None, 4)]`, `a: (None, 3)`."""
    if structure is None:
        return "?"
    shapes = tree.map_structure(lambda tensor: tuple(tensor.shape), structure)
    if isinstance(shapes, dict):
        text = ", ".join(f"{key}: {value}" for key, value in shapes.items())
    else:
        text = str(shapes)
    return text.replace("{", "").replace("}", "")


def _symbolic(layer, attribute: str):
    """What Keras's plot reads as `layer.input` / `layer.output`; None if never called symbolically.

    A functional model gives its own inputs / outputs as built (a dict stays a dict); any other
    layer the tensors of its first call, flattened: one tensor, or a list when there are several
    (`x + y` takes two, as `Concatenate()([x, y])` does).
    """
    from lamina.engine.symbolic import flatten_symbolic

    nodes = getattr(layer, "_inbound_nodes", None)
    if is_functional(layer) or not nodes:
        try:
            return getattr(layer, attribute)
        except (AttributeError, ValueError):
            return None
    node = nodes[0]
    tensors = flatten_symbolic((node.args, node.kwargs) if attribute == "input" else node.outputs)
    if not tensors:
        return None
    return tensors[0] if len(tensors) == 1 else tensors


def activation_name(activation) -> str:
    """`relu` for the function `relu`, an object's `name`, or its text."""
    if hasattr(activation, "name"):
        return str(activation.name)
    if hasattr(activation, "__name__"):
        return activation.__name__
    return str(activation)


class _GraphBuilder:
    """Collects boxes, arrows and clusters while walking a model and the models inside it."""

    def __init__(self, options: dict):
        self.options = options
        self.boxes: list[LayerBox] = []
        self.edges: list[tuple[str, str]] = []
        self.clusters: list[Cluster] = []
        self._keys: dict[int, str] = {}
        self._taken: set[str] = set()

    def key(self, layer) -> str:
        """A stable id for the layer: its name, made unique if two objects share a name."""
        if id(layer) not in self._keys:
            key, suffix = layer.name, 1
            while key in self._taken:
                suffix += 1
                key = f"{layer.name}#{suffix}"
            self._taken.add(key)
            self._keys[id(layer)] = key
        return self._keys[id(layer)]

    def add_box(self, layer, cluster: str | None) -> None:
        self.boxes.append(describe_layer(layer, self.key(layer), cluster, **self.options))

    def add_edge(self, source, target) -> None:
        edge = (self.key(source), self.key(target))
        if edge not in self.edges:
            self.edges.append(edge)

    def add_model(self, model, cluster: str | None, expand_nested: bool) -> None:
        if not (is_sequential(model) or is_functional(model)):
            self.add_box(model, cluster)  # subclassed: one box, as Keras draws it
            return
        layers = list(getattr(model, "operations", model.layers))  # a graph's ops too, as Keras
        first_box = len(self.boxes)  # where this model's boxes begin: its inputs go first
        for layer in layers:
            if expand_nested and (is_sequential(layer) or is_functional(layer)):
                inner = Cluster(f"cluster_{self.key(layer)}", layer.name, cluster)
                self.clusters.append(inner)
                self.add_model(layer, inner.key, expand_nested)
            else:
                self.add_box(layer, cluster)
        resolve = expand_nested
        if is_sequential(model):
            for previous, layer in zip(layers, layers[1:], strict=False):
                source = _exit_layer(previous, 0) if resolve else previous
                self.add_edge(source, _entry_layer(layer, 0) if resolve else layer)
            return
        in_graph = {id(node) for node in model._graph.nodes}
        members = {id(layer) for layer in layers}
        for layer in layers:
            for node in layer._inbound_nodes:
                if id(node) not in in_graph:
                    continue  # a call of a shared layer that belongs to another model
                for input_index, tensor in enumerate(node.parent_tensors):
                    source = tensor.node.layer
                    target = layer
                    if id(source) not in members:
                        # A model input that is an intermediate tensor (Model(inputs=dense_out,
                        # ...)): Keras draws an InputLayer for it; so does lamina.
                        source_key = self.cut_input_box(tensor, cluster, first_box)
                        target_key = self.key(
                            _entry_layer(target, input_index) if resolve else target
                        )
                        if (source_key, target_key) not in self.edges:
                            self.edges.append((source_key, target_key))
                        continue
                    if resolve:
                        source = _exit_layer(source, tensor.index)
                        target = _entry_layer(target, input_index)
                    self.add_edge(source, target)

    def cut_input_box(self, tensor, cluster: str | None, position: int) -> str:
        """The key of the InputLayer box standing for an intermediate tensor given as an input."""
        if id(tensor) not in self._keys:
            key = self.key(tensor)  # the tensor's name, made unique
            cells = []
            if self.options["show_shapes"]:
                cells.append(Cell(f"Output shape: {shape_text(tensor)}"))
            if self.options["show_dtype"]:
                cells.append(Cell(f"Output dtype: {tensor.dtype}"))
            title = (
                f"{tensor.name} (InputLayer)" if self.options["show_layer_names"] else "InputLayer"
            )
            self.boxes.insert(position, LayerBox(key, title, None, cells, cluster))
        return self._keys[id(tensor)]


def _exit_layer(layer, output_index: int):
    """The box that makes output `output_index` of `layer`, looking inside nested models."""
    while is_sequential(layer) or is_functional(layer):
        outputs = layer.outputs
        if not outputs:
            layer = layer.layers[-1]
            continue
        tensor = outputs[min(output_index, len(outputs) - 1)]
        layer, output_index = tensor.node.layer, tensor.index
    return layer


def _entry_layer(layer, input_index: int):
    """The box that takes input `input_index` of `layer`, looking inside nested models."""
    while is_sequential(layer) or is_functional(layer):
        if is_functional(layer):
            inputs = layer.inputs
            layer = inputs[min(input_index, len(inputs) - 1)].node.layer
        else:
            layer = layer.layers[0]
    return layer


def describe_layer(
    layer,
    key: str,
    cluster: str | None = None,
    *,
    show_shapes: bool,
    show_dtype: bool,
    show_layer_names: bool,
    show_layer_activations: bool,
    show_trainable: bool,
) -> LayerBox:
    """The fields Keras's plot shows for one layer, as text."""
    from lamina.engine.summary import class_label
    from lamina.engine.symbolic import InputLayer

    class_name = class_label(layer)
    title = f"{layer.name} ({class_name})" if show_layer_names else class_name
    activation = getattr(layer, "activation", None)
    shown_activation = (
        activation_name(activation) if show_layer_activations and activation is not None else None
    )
    cells = []
    if show_shapes:
        if not isinstance(layer, InputLayer):
            cells.append(Cell(f"Input shape: {shape_text(_symbolic(layer, 'input'))}"))
        cells.append(Cell(f"Output shape: {shape_text(_symbolic(layer, 'output'))}"))
    if show_dtype:
        output = _symbolic(layer, "output")
        dtype = None if output is None else tree.map_structure(lambda t: t.dtype, output)
        cells.append(Cell(f"Output dtype: {dtype or '?'}"))
    if show_trainable and layer.weights:
        if layer.trainable:
            cells.append(Cell("Trainable", "trainable"))
        else:
            cells.append(Cell("Non-trainable", "frozen"))
    return LayerBox(key, title, shown_activation, cells, cluster)


def build_model_graph(
    model,
    *,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    expand_nested: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    who: str = "model_to_dot()",
) -> ModelGraph:
    """Walk `model` into a `ModelGraph` (the options are `model_to_dot`'s)."""
    check_built(model, who)
    builder = _GraphBuilder(
        {
            "show_shapes": show_shapes,
            "show_dtype": show_dtype,
            "show_layer_names": show_layer_names,
            "show_layer_activations": show_layer_activations,
            "show_trainable": show_trainable,
        }
    )
    builder.add_model(model, None, expand_nested)
    return ModelGraph(model.name, builder.boxes, builder.edges, builder.clusters)
