"""Model configs as JSON-ready dicts in Keras 3's layout, and models rebuilt from them.

A layer entry is `{"module", "class_name", "config", "registered_name"}` (plus `name` and
`inbound_nodes` in functional models). Functional nodes refer to tensors as Keras does:
`{"class_name": "__keras_tensor__",
"config": {"shape", "dtype", "keras_history": [layer, node, index]}}`.
Rebuilding looks classes up by name among lamina's layers and the caller's `custom_objects`; it
never evaluates code.
"""

from __future__ import annotations

import types

import numpy as np
import torch

from lamina.engine import errors
from lamina.engine import layer as layer_module
from lamina.engine.symbolic import (
    InputLayer,
    KerasTensor,
    OpLayer,
    flatten_symbolic,
    operation_layer_from_entry,
)


def layer_entry(layer) -> dict:
    """A user's class is written as Keras writes it: its own module and its registered name
    (`"MyPkg>MyLayer"` under `register_keras_serializable`), found again by either framework."""
    from lamina.saving.object_registration import get_registered_name, saved_module

    if isinstance(layer, OpLayer):  # `x + y` in a graph: Keras's operation class, `Add`
        return {
            "module": _operation_module(layer),
            "class_name": layer.keras_class_name,
            "config": _jsonable(layer.get_config()),
            "registered_name": None,
        }
    builtin = _is_builtin(layer)
    if builtin:
        # A model inside a model: Keras finds it only under its own names (`keras.Sequential`,
        # `Functional`); `keras.layers.Sequential` is refused as "not a KerasSaveable subclass".
        names = keras_model_names(layer) or (type(layer).__name__, "keras.layers", None)
    else:
        names = (type(layer).__name__, saved_module(type(layer)), get_registered_name(type(layer)))
    class_name, module, registered_name = names
    entry = {
        "module": module,
        "class_name": class_name,
        "config": _jsonable(layer.get_config()),
        "registered_name": registered_name,
    }
    # Written for layers that state their own (a build taking more than the input shape); the
    # others are built as the graph is replayed, in Keras as in lamina. lamina's recorded input
    # shape is not Keras's build_config for a build of several shapes (MultiHeadAttention's
    # query/value shapes), which Keras would then call wrongly.
    build_config = None
    if layer_module.overrides(layer, "get_build_config") and not isinstance(layer, InputLayer):
        build_config = layer.get_build_config()
    if build_config is not None:
        entry["build_config"] = _jsonable(build_config)
    return entry


def keras_model_names(model) -> tuple[str, str, str | None] | None:
    """Keras's `(class_name, module, registered_name)` for lamina's Sequential (or a subclass)
    and for one of lamina's functional models; None for anything else, written under its own
    names."""
    sequential = layer_module.lamina_class("Sequential")
    if sequential is not None and isinstance(model, sequential):
        return "Sequential", "keras", None
    if _is_functional(model) and _is_builtin(model):
        # lamina's Model is Keras's Functional; a user's subclass is named by its own class.
        return "Functional", "keras.src.models.functional", "Functional"
    return None


def _is_functional(model) -> bool:
    """A model made of a layer graph (a user's subclass too, a Functional in Keras), not a
    Sequential."""
    sequential = layer_module.lamina_class("Sequential")
    if sequential is not None and isinstance(model, sequential):
        return False
    return getattr(model, "_graph", None) is not None


def _operation_module(layer) -> str:
    """Keras's module for the operation (`keras.src.ops.nn` for `relu`), from lamina.ops's."""
    module = getattr(layer.fn, "__module__", "") or ""
    family = module.rsplit(".", 1)[-1]
    return f"keras.src.ops.{family if family in ('nn', 'core', 'linalg', 'image') else 'numpy'}"


def _is_builtin(layer) -> bool:
    return type(layer).__module__.startswith("lamina.")


def _jsonable(value):
    """A get_config() made JSON-ready. Objects in it (a sublayer, a regularizer, a function a
    custom layer's config holds as it is) are written as Keras writes them, as their own
    `{"module", "class_name", "config", ...}` entries, which `from_config` deserializes."""
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, types.FunctionType) or (
        hasattr(value, "get_config") and not isinstance(value, type)
    ):
        from lamina.saving.object_serialization import serialize_keras_object

        return _jsonable(serialize_keras_object(value))
    return value


def _history(tensor: KerasTensor, node_index: dict) -> list:
    return [tensor.node.layer.name, node_index.get(id(tensor.node), 0), tensor.index]


def _tensor_ref(tensor: KerasTensor, node_index: dict) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(tensor.shape),
            "dtype": tensor.dtype,
            "keras_history": _history(tensor, node_index),
        },
    }


def _encode(structure, node_index: dict):
    if isinstance(structure, KerasTensor):
        return _tensor_ref(structure, node_index)
    if isinstance(structure, slice):  # an index in `x[:, 0]`, written as Keras writes it
        config = {"start": structure.start, "stop": structure.stop, "step": structure.step}
        return {"class_name": "__slice__", "config": config}
    if structure is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(structure, (torch.Tensor, np.ndarray, np.generic)):
        # A constant operand (`x + positions`, `x * np.float32(2)`), written as Keras writes a
        # tensor or an array; a 0-d one too, so that it loads back with its dtype.
        is_tensor = isinstance(structure, torch.Tensor)
        array = structure.detach().cpu().numpy() if is_tensor else np.asarray(structure)
        value = {"value": array.tolist(), "dtype": str(array.dtype)}
        return {"class_name": _CONSTANT_KINDS[0 if is_tensor else 1], "config": value}
    if isinstance(structure, (list, tuple)):
        return [_encode(s, node_index) for s in structure]
    if isinstance(structure, dict):
        return {k: _encode(v, node_index) for k, v in structure.items()}
    return structure


# --------------------------------------------------------------------------------------------------
# Sequential


def sequential_config(model) -> dict:
    layers = []
    if model._input_tensor is not None:
        input_layer = model._input_tensor.node.layer
        layers.append(layer_entry(input_layer))
    for layer in model.layers:
        entry = layer_entry(layer)
        if model._build_input_shape is None and layer.built and "build_config" not in entry:
            # An unbuilt Sequential cannot rebuild its built layers on loading, so each says
            # how it was built (as Keras writes every layer's), or its weights had no home.
            entry["build_config"] = _jsonable(_own_build_config(layer))
        layers.append(entry)
    config = {"name": model.name, "trainable": model.trainable, "layers": layers}
    if model._build_input_shape is not None:
        config["build_input_shape"] = list(model._build_input_shape)
    return config


def sequential_from_config(cls, config, custom_objects=None):
    model = cls(name=config.get("name"))
    # The layers build in the model's name scope, so their weights get back the paths they had
    # when saved (`regressor/hidden/kernel`), which an optimizer that selects weights by path
    # (MultiOptimizer, Muon) needs to resume. (Keras 3.15 builds them outside it: `hidden/kernel`.)
    with model._name_scope():
        built_as = []
        for entry in config["layers"]:
            layer = deserialize_layer(entry, custom_objects)
            model.add(layer)
            built_as.append((layer, entry.get("build_config")))
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        if not model.built:
            for layer, build_config in built_as:
                _build_as_saved(layer, build_config)
    if "trainable" in config:
        model.trainable = config["trainable"]
    return model


def _own_build_config(layer) -> dict:
    """A built layer's build_config; Keras's `{"shapes_dict": {}}` for one built without a
    shape (`Embedding.build()`)."""
    build_config = layer.get_build_config()
    return {"shapes_dict": {}} if build_config is None else build_config


def _build_as_saved(layer, build_config) -> None:
    """Build a layer of an unbuilt Sequential from its entry's build_config (Keras's forms:
    `{"input_shape": shape}` or `{"shapes_dict": {...}}`), so its saved weights can load."""
    if getattr(layer, "built", True) or not isinstance(build_config, dict):
        return
    if build_config.get("input_shape") is not None:
        layer.build_from_config(build_config)
    elif isinstance(build_config.get("shapes_dict"), dict):
        layer.build(**build_config["shapes_dict"])


# --------------------------------------------------------------------------------------------------
# Functional


def functional_config(model) -> dict:
    graph = model._graph
    in_graph = {id(node) for node in graph.nodes}
    # A node is referred to by its place among its layer's nodes in this graph, as Keras numbers
    # them: a layer also called outside the model (in another model) has nodes the file lacks.
    node_index: dict[int, int] = {}
    kept_by_layer = []
    for layer in graph.layers:
        kept = [n for n in layer._inbound_nodes if id(n) in in_graph]
        node_index.update((id(node), index) for index, node in enumerate(kept))
        kept_by_layer.append(kept)
    layers = []
    for layer, kept in zip(graph.layers, kept_by_layer, strict=True):
        entry = layer_entry(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = (
            []
            if isinstance(layer, InputLayer)
            else [
                {
                    "args": _encode(list(node.args), node_index),
                    "kwargs": _encode(dict(node.kwargs), node_index),
                }
                for node in kept
            ]
        )
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _structure_refs(graph.inputs, node_index),
        "output_layers": _structure_refs(graph.outputs, node_index),
    }


def _structure_refs(structure, node_index: dict):
    if isinstance(structure, KerasTensor):
        name, index, tensor_index = _history(structure, node_index)
        # Keras numbers a functional model's calls from 1 in `input_layers` / `output_layers`
        # (not in the nodes' arguments): a count that once included a node of its own graph.
        if _is_functional(structure.node.layer):
            index += 1
        return [name, index, tensor_index]
    if isinstance(structure, (list, tuple)):  # a tuple stays one, as Keras's config keeps it
        return type(structure)(_structure_refs(s, node_index) for s in structure)
    if isinstance(structure, dict):
        return {k: _structure_refs(v, node_index) for k, v in structure.items()}
    return structure


def _history_names(structure) -> set[str]:
    """The layer names a config structure's `__keras_tensor__` entries refer to."""
    if isinstance(structure, dict):
        if structure.get("class_name") == "__keras_tensor__":
            return {str(structure["config"]["keras_history"][0])}
        structure = list(structure.values())
    if isinstance(structure, (list, tuple)):
        return set().union(*(_history_names(item) for item in structure))
    return set()


def _keras3_node(node, layer_name: str):
    """A node as Keras 3 writes it (`{"args": [...], "kwargs": {...}}`); Keras 2's form, in
    tf.keras files and configs, lists the inputs instead (`[[layer, node_index, tensor_index,
    kwargs], ...]`): one input is the call's argument, several are passed as a list."""
    if not isinstance(node, list):
        return node
    tensors, kwargs = [], {}
    for item in node:
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise errors.value_error(
                f"model config of layer {layer_name!r}",
                "each Keras 2 inbound node as [layer_name, node_index, tensor_index, kwargs]",
                f"{item!r}"[:200],
                "the file or config was edited or truncated.",
            )
        history = list(item[:3])
        tensors.append({"class_name": "__keras_tensor__", "config": {"keras_history": history}})
        if len(item) == 4 and isinstance(item[3], dict):
            kwargs = item[3]
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


# How a node's constant argument (a tensor or array, not a graph tensor) is written.
_CONSTANT_KINDS = ("__tensor__", "__numpy__")

# The dtypes a constant operand may be read back in: numbers only. A file's dtype string goes to
# NumPy, and one such as "V2000000000" (2 GB an element) or "object" must not.
_CONSTANT_DTYPES = frozenset(
    ["bool", "float16", "float32", "float64"]
    + [f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)]
)


def _constant_from_config(config) -> np.ndarray:
    """A constant operand's array from its config (`{"value": nested list, "dtype": name}`)."""
    config = config if isinstance(config, dict) else {}
    dtype = config.get("dtype")
    if dtype not in _CONSTANT_DTYPES:
        raise ValueError(
            f"A functional model's config holds a constant operand of dtype {dtype!r}; expected "
            f"one of {sorted(_CONSTANT_DTYPES)}. Hint: the file may be corrupt or not a model's."
        )
    try:
        return np.asarray(config.get("value"), dtype=dtype)
    except (TypeError, ValueError) as failure:
        raise ValueError(
            f"A functional model's config holds a constant operand whose value is not a "
            f"rectangular array of {dtype} ({failure}). Hint: the file may be corrupt."
        ) from None


_FUNCTIONAL_KEYS = ("name", "trainable", "layers", "input_layers", "output_layers")


def functional_from_config(cls, config, custom_objects=None):
    created: dict[str, object] = {}
    outputs_by_layer: dict[str, list] = {}
    pending = []
    for entry in config["layers"]:
        layer = deserialize_layer(entry, custom_objects)
        # The graph refers to a layer by the name the config gives it, which the rebuilt layer
        # may not carry: a custom layer whose get_config() leaves out `name` gets a fresh one.
        name = entry.get("name", layer.name)
        created[name] = layer
        if isinstance(layer, InputLayer):
            outputs_by_layer[name] = [[layer.output_tensor]]
        else:
            pending.extend(
                (name, layer, _keras3_node(node, name)) for node in entry.get("inbound_nodes", [])
            )

    def resolve(structure):
        if isinstance(structure, dict) and structure.get("class_name") == "__keras_tensor__":
            name, node_index, tensor_index = structure["config"]["keras_history"]
            return flatten_symbolic(outputs_by_layer[name][node_index])[tensor_index]
        if isinstance(structure, dict) and structure.get("class_name") == "__slice__":
            bounds = structure.get("config") or {}
            return slice(bounds.get("start"), bounds.get("stop"), bounds.get("step"))
        if isinstance(structure, dict) and structure.get("class_name") == "__ellipsis__":
            return Ellipsis
        if isinstance(structure, dict) and structure.get("class_name") in _CONSTANT_KINDS:
            # A constant operand, as `x + ops.arange(n)` or an Embedding of positions saves it.
            array = _constant_from_config(structure.get("config"))
            return torch.as_tensor(array) if structure["class_name"] == "__tensor__" else array
        if isinstance(structure, (list, tuple)):  # Keras's in-memory config holds tuples
            return type(structure)(resolve(s) for s in structure)
        if isinstance(structure, dict):
            return {k: resolve(v) for k, v in structure.items()}
        return structure

    def ready(structure) -> bool:
        if isinstance(structure, dict) and structure.get("class_name") == "__keras_tensor__":
            name, node_index, _ = structure["config"]["keras_history"]
            return len(outputs_by_layer.get(name, [])) > node_index
        if isinstance(structure, (list, tuple)):
            return all(ready(s) for s in structure)
        if isinstance(structure, dict):
            return all(ready(v) for v in structure.values())
        return True

    while pending:
        progress = False
        for item in list(pending):
            name, layer, node = item
            if ready(node["args"]) and ready(node["kwargs"]):
                outputs = layer(*resolve(node["args"]), **resolve(node["kwargs"]))
                outputs_by_layer.setdefault(name, []).append(outputs)
                pending.remove(item)
                progress = True
        if not progress:
            waiting = sorted({name for name, _, _ in pending})
            missing = sorted(_history_names([node for _, _, node in pending]) - set(created))
            raise ValueError(
                "The model config's layer graph cannot be rebuilt: a node's inputs never appear "
                f"(layers waiting: {waiting}). "
                + (f"Missing node: {', '.join(missing)}." if missing else "They wait on a loop.")
            )

    def lookup(refs):
        if isinstance(refs, (list, tuple)) and len(refs) == 3 and isinstance(refs[0], str):
            name, node_index, tensor_index = refs
            # Keras numbers a functional model's calls from 1 here (see _structure_refs); a
            # file numbering them from 0 (lamina's before it wrote Keras's) reads the same.
            if node_index > 0 and _is_functional(created[name]):
                node_index -= 1
            return flatten_symbolic(outputs_by_layer[name][node_index])[tensor_index]
        if isinstance(refs, (list, tuple)):
            return type(refs)(lookup(r) for r in refs)
        if isinstance(refs, dict):
            return {k: lookup(v) for k, v in refs.items()}
        return refs

    inputs = lookup(config["input_layers"])
    outputs = lookup(config["output_layers"])
    # A user subclass's own keys (`get_config()` returning the base's plus `param`) go to its
    # constructor as keyword arguments, as Keras does; lamina's Model takes none.
    extra = {}
    if not cls.__module__.startswith("lamina."):
        extra = {k: v for k, v in config.items() if k not in _FUNCTIONAL_KEYS}
    if "trainable" not in config:
        return cls(inputs, outputs, name=config.get("name"), **extra)
    # Given to the constructor, as Keras does: the model is frozen, its layers keep the
    # `trainable` their own configs hold (setting it afterwards would freeze them all).
    return cls(inputs, outputs, name=config.get("name"), trainable=config["trainable"], **extra)


# --------------------------------------------------------------------------------------------------
# Layers


def deserialize_layer(entry: dict, custom_objects=None):
    """A layer from its `{"class_name", "config"}` entry; classes only from lamina,
    custom_objects or those registered with `register_keras_serializable`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise errors.value_error(
            "model config",
            "each layer as a dict with 'class_name' and 'config' keys",
            f"{entry!r}"[:200],
            "the file or config was edited or truncated; compare it with model.get_config().",
        )
    class_name = entry["class_name"]
    if not isinstance(entry.get("config", {}), dict):
        raise errors.value_error(
            f"model config of layer class {class_name!r}",
            "'config' to be a dict of the layer's arguments",
            f"config={entry['config']!r}"[:200],
        )
    config = dict(entry.get("config", {}))
    custom_objects = custom_objects or {}
    registered = entry.get("registered_name") or ""
    # The registered name first, as Keras looks it up: two registered classes may share a
    # `__name__` (`Custom>MyDense` and `my_package>MyDense`), which the bare name cannot tell.
    cls = custom_objects.get(registered) if registered else None
    if cls is None:
        cls = custom_objects.get(class_name)
    if cls is None and registered:
        from lamina.saving.object_registration import get_registered_object

        cls = get_registered_object(registered)
    if cls is None and str(entry.get("module") or "").startswith("keras.src.ops"):
        # An operation node: `x + y` is Keras's operation `Add` (not the merge layer `Add`,
        # which Keras files place in keras.layers), rebuilt by its name.
        operation = operation_layer_from_entry(entry)
        if operation is not None:
            return operation
    if cls is None:
        cls = layer_module.lamina_class(class_name)
        if cls is not None:
            from lamina.saving.object_registration import refuse_registered_name_of_builtin

            refuse_registered_name_of_builtin(entry, class_name)
    if cls is None and "module" not in entry:
        # Keras's legacy `.h5` writes an operation node (`x != 0` for a mask) with no module.
        operation = operation_layer_from_entry(entry)
        if operation is not None:
            return operation
    if cls is None:
        raise errors.value_error(
            "model config",
            "a known layer class (lamina.layers or custom_objects)",
            f"class_name={class_name!r}",
            f"pass custom_objects={{'{class_name}': {class_name}}} when loading.",
        )
    if hasattr(cls, "from_config"):
        try:
            layer = (
                cls.from_config(config, custom_objects)
                if cls.__name__ in ("Model", "Sequential")
                else cls.from_config(config)
            )
        except TypeError:
            if cls.__name__ in ("Model", "Sequential"):
                raise
            layer = cls.from_config(config)
    else:
        layer = cls(**config)
    _build_from_entry(layer, entry.get("build_config"))
    return layer


def _build_from_entry(layer, build_config) -> None:
    """A layer that says how it is built (its own `build_from_config`, as Keras's saving guide
    writes for a `build` taking more than the input shape) is built from the entry's
    `build_config` now, as Keras does on loading; others are built as the model is rebuilt."""
    if not isinstance(build_config, dict) or getattr(layer, "built", True):
        return
    if layer_module.overrides(layer, "build_from_config"):
        layer.build_from_config(build_config)
