"""Where each weight lives in Keras 3's weights file, so files move between lamina and Keras.

Keras 3 stores a model's variables as a tree: `layers/<key>/vars/<i>` for each layer of the model,
where `<key>` is the layer's class name in snake case, numbered within the list (`dense`,
`dense_1`, ...; not the layer's own name), and a sub-layer held in an attribute sits under the
attribute's name (`layers/lstm/cell/vars/0`, `layers/bidirectional/forward_layer/cell/vars/0`).
Inside `vars`, a layer's own variables are numbered trainable first, in creation order. lamina
layers use Keras's attribute names for their sub-layers, so walking `named_children()` gives the
same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from lamina.engine import tracking
from lamina.engine.layer import Layer
from lamina.engine.naming import to_snake_case
from lamina.engine.weight import stored_weight


@dataclass
class Node:
    """One group of the tree: a layer (or the model) and its own weights in Keras's order."""

    path: str
    layer: nn.Module
    weights: list = field(default_factory=list)  # WeightEntry
    # False for the groups a layer files some own weights under (`Layer._keras_weight_groups`):
    # a layer's per-layer hooks (save_own_variables, save_assets) run at its primary node only.
    primary: bool = True


def _keras_class_name(module) -> str:
    """The class Keras would hold: a model built from inputs and outputs is a `Functional`."""
    if (
        type(module).__name__ in ("Model", "Functional")
        and getattr(module, "_graph", None) is not None
    ):
        return "Functional"
    return type(module).__name__


def list_keys(modules, keras_classes: bool = True) -> list[str]:
    """Keras's keys for a list of layers: snake-case class names, numbered on repeats
    (`keras_classes=False`: lamina's own class names, as its older files keyed a nested model)."""
    used: dict[str, int] = {}
    keys = []
    for module in modules:
        base = to_snake_case(_keras_class_name(module) if keras_classes else _older_name(module))
        count = used.get(base, 0)
        keys.append(base if count == 0 else f"{base}_{count}")
        used[base] = count + 1
    return keys


def _older_name(module) -> str:
    """The class name lamina's older files used: a graph model's class was then `Model`."""
    name = type(module).__name__
    return "Model" if name == "Functional" else name


def _own(layer) -> list:
    if not isinstance(layer, Layer):
        return []
    return layer._file_weights()


def _own_by_group(layer) -> dict[str, list]:
    """A layer's own weights by the group Keras files them in: "" for the layer's own `vars`,
    a sub-layer's key for those Keras keeps in a sub-layer (`Layer._keras_weight_groups`), in
    the order Keras creates those sub-layers."""
    groups: dict[str, list] = {"": []}
    if not isinstance(layer, Layer):
        return groups
    by_tensor = {id(stored_weight(layer, spec.name)): spec.name for spec in layer._weight_specs}
    for entry in layer._file_weights():
        group = layer._keras_weight_groups.get(by_tensor.get(id(entry.tensor)), "")
        groups.setdefault(group, []).append(entry)
    return groups


def _children(layer) -> list[tuple[str, nn.Module]]:
    found = []
    for name, child in layer.named_children():
        name = name.removeprefix(tracking.PREFIX)  # a list / dict attribute's layers
        if isinstance(child, Layer):
            found.append((name.lstrip("_"), child))
        elif isinstance(child, (nn.ModuleList, nn.ModuleDict)):
            members = list(child.values()) if isinstance(child, nn.ModuleDict) else list(child)
            members = [m for m in members if isinstance(m, Layer)]
            for key, member in zip(list_keys(members), members, strict=False):
                found.append((f"{name.lstrip('_')}/{key}", member))
    return found


def _lists_layers(layer) -> bool:
    """A Sequential or functional model: Keras files its layers by list, not by attribute."""
    return hasattr(layer, "_graph") and not is_subclassed(layer)


def _walk(layer, path: str, nodes: list, seen: set, grouped: bool = True, nested=True) -> None:
    if id(layer) in seen:
        return
    seen.add(id(layer))
    if grouped:
        for group, weights in _own_by_group(layer).items():
            nodes.append(Node(f"{path}/{group}" if group else path, layer, weights, not group))
    else:
        nodes.append(Node(path, layer, _own(layer)))
    if nested and _lists_layers(layer):
        # A model inside a model (an application under a Sequential): Keras files its layers
        # as it files a top-level model's, `functional/layers/conv2d/vars`.
        layers = list(layer.layers)
        keys = list_keys(layers)
        children = [(f"layers/{key}", child) for key, child in zip(keys, layers, strict=True)]
    else:
        children = _children(layer)
    for name, child in children:
        _walk(child, f"{path}/{name}" if path else name, nodes, seen, grouped, nested)


def _keras_attribute_order(item) -> str:
    """Keras visits a subclassed model's attributes by name, private ones last."""
    name = item[0]
    return f"~{name}" if name.startswith("_") else name


def is_subclassed(model) -> bool:
    """A model defined by its attributes and `call`: neither Sequential (which keeps an
    `_input_tensor`) nor functional (a `_graph`). Told by attributes, as importing the model
    classes here would tie saving and the engine in a cycle."""
    return hasattr(model, "_graph") and model._graph is None and not hasattr(model, "_input_tensor")


def model_tree(
    model, by_attribute: bool | None = None, grouped: bool = True, nested: bool = True
) -> list[Node]:
    """Every group of `model`'s tree, the model itself first (path "").

    Sequential and functional models list their layers under `layers/<key>`, at the top and
    nested; a subclassed model holds each layer under the attribute it is assigned to
    (`block/vars`, `head/vars`), as Keras writes it. `by_attribute=False` reads lamina's older
    files, which listed those too, `grouped=False` those that kept all of a layer's own weights
    in its own `vars`, and `nested=False` those that filed a nested model's layers by attribute.
    """
    if by_attribute is None:
        by_attribute = is_subclassed(model)
    nodes: list[Node] = [Node("", model, _own(model))]
    seen = {id(model)}
    if by_attribute:
        for name, child in sorted(_children(model), key=_keras_attribute_order):
            _walk(child, name, nodes, seen, grouped, nested)
        return nodes
    layers = list(model.layers)
    for key, layer in zip(list_keys(layers, keras_classes=nested), layers, strict=False):
        _walk(layer, f"layers/{key}", nodes, seen, grouped, nested)
    return nodes


def model_tree_in(file, model) -> list[Node]:
    """`model_tree` as the open weights file lays it out: older lamina files still load (a
    subclassed model's layers under `layers/`; a layer's weights all in its own `vars`, where
    Keras files some under a sub-layer)."""
    by_attribute = None
    if is_subclassed(model) and "layers" in file:
        tree = model_tree(model)
        tops = {node.path.split("/")[0] for node in tree if node.path and node.weights}
        if tops and not any(top in file for top in tops):
            by_attribute = False
    tree = model_tree(model, by_attribute)
    if any(node.weights and f"{node.path}/vars" not in file for node in tree if not node.primary):
        return model_tree(model, by_attribute, grouped=False)
    if not _all_in(file, tree):
        older = model_tree(model, by_attribute, nested=False)  # lamina's files before nesting
        if _all_in(file, older):
            return older
    return tree


def _all_in(file, tree) -> bool:
    return all(f"{node.path}/vars" in file for node in tree if node.path and node.weights)


def legacy_entries(layer) -> list:
    """A layer's weight entries in the legacy `.h5` order: Keras writes `trainable_weights +
    non_trainable_weights`, which differs from `get_weights()` where a wrapper's own
    non-trainable weight comes before its sub-layer's (SpectralNormalization's `vector_u`)."""
    entries = layer._weight_entries()
    if not layer.trainable:  # Keras: all of a frozen layer's weights are non-trainable
        return entries
    return [e for e in entries if e.trainable] + [e for e in entries if not e.trainable]


def _sublayer_chains(layer) -> dict[int, list[str]]:
    """id(sub-layer) -> the names of the layers from below `layer` down to it (`my_dense_1`,
    `dense`), so two sub-layers of one name under different parents get different weight names
    (as Keras's paths do); empty for `layer` itself."""
    chains: dict[int, list[str]] = {id(layer): []}
    for path, module in layer.named_modules(remove_duplicate=True):
        if not path or not isinstance(module, Layer) or id(module) in chains:
            continue
        parts = path.split(".")
        names, current = [], layer
        for part in parts:
            current = current._modules[part]
            if isinstance(current, Layer):
                names.append(current.name)
        chains[id(module)] = names
    return chains


def legacy_weight_names(model) -> list[tuple[Layer, list[tuple[str, object]]]]:
    """For Keras's legacy `.h5` layout: per top-level layer, `(name, weight entry)` pairs with
    names such as `sequential/lstm/lstm_cell/kernel` (model name / layer name / sub-layer
    names / weight name)."""
    result = []
    for layer in model.layers:
        named = []
        chains = _sublayer_chains(layer)
        for entry in legacy_entries(layer):
            trail = [model.name, layer.name, *chains.get(id(entry.owner), [entry.owner.name])]
            spec_name = next(
                s.name
                for s in entry.owner._weight_specs
                if getattr(entry.owner, s.name) is entry.tensor
            )
            named.append(("/".join([*trail, spec_name]), entry))
        result.append((layer, named))
    return result
