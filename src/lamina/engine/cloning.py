"""`clone_model`'s work: a new model of the same architecture, layer by layer.

A Sequential model is rebuilt from its cloned layers. A functional model given a
`clone_function`, `input_tensors`, a `call_function` or `recursive=True` is rebuilt as Keras
rebuilds it: its nodes are replayed, in run order, on new inputs, each through the clone of its
layer (one clone per layer, so a shared layer stays shared). Without them, a functional model is
rebuilt from its config, which takes the same path as loading a saved model.
"""

from __future__ import annotations

import copy
import inspect

from lamina import tree
from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.model import Functional, Model
from lamina.engine.sequential import Sequential
from lamina.engine.symbolic import Input, OpLayer


def clone_layer(layer):
    """The default `clone_function`: a new layer from the layer's config (fresh weights)."""
    return type(layer).from_config(config_with_code(layer.get_config(), layer))


def config_with_code(config: dict, layer) -> dict:
    """`layer`'s config for an in-memory clone: a Lambda's config names its function (a file
    must not hold code), so the clone takes the function, and the mask and output shape, from
    the layer itself; a TorchModuleWrapper's config describes its module, so the clone takes a
    copy of the module, its parameters drawn afresh as every clone's are (by each submodule's
    `reset_parameters()`, where torch's module has one); the layers of a nested functional or
    Sequential model likewise."""
    from lamina.layers.core import Lambda, TorchModuleWrapper

    if isinstance(layer, Lambda):
        return {
            **config,
            "function": layer.function,
            "mask": layer.mask,
            "output_shape": layer._output_shape,
        }
    if isinstance(layer, TorchModuleWrapper):
        module = copy.deepcopy(layer.module)
        for submodule in module.modules():
            if callable(getattr(submodule, "reset_parameters", None)):
                submodule.reset_parameters()
        return {**config, "module": module}
    entries = config.get("layers") if isinstance(config, dict) else None
    if isinstance(layer, Model) and isinstance(entries, list):
        by_name = {inner.name: inner for inner in layer.layers}
        for entry in entries:
            inner = by_name.get(entry.get("config", {}).get("name"))
            if inner is not None:
                entry["config"] = config_with_code(entry["config"], inner)
    return config


def is_functional(model) -> bool:
    return isinstance(model, Model) and model._graph is not None


class LayerCloner:
    """`clone_function` applied once per layer (a layer shared by two nodes, or by two nested
    models, gets one clone), descending into nested models when `recursive`."""

    def __init__(self, clone_function, call_function, recursive: bool):
        if clone_function is not None and not callable(clone_function):
            raise errors.value_error(
                "clone_model()", "a callable clone_function", repr(clone_function)
            )
        self.clone_function = clone_function or clone_layer
        self.call_function = call_function
        self.recursive = recursive
        self.clones: dict[int, object] = {}

    def __call__(self, layer):
        clone = self.clones.get(id(layer))
        if clone is None:
            if self.recursive and isinstance(layer, Sequential):
                clone = clone_sequential(layer, self)  # no call_function: nothing is called
            elif self.recursive and is_functional(layer):
                clone = clone_functional(layer, self)
            else:
                clone = self.clone_function(layer)
            self.clones[id(layer)] = clone
        return clone


def clone_sequential(model, cloner: LayerCloner, input_tensors=None):
    layers = [cloner(layer) for layer in model.layers]
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)) and len(input_tensors) == 1:
            input_tensors = input_tensors[0]
        if not isinstance(input_tensors, KerasTensor):
            raise errors.value_error(
                f"clone_model() of Sequential '{model.name}'",
                "input_tensors=one symbolic tensor (a lamina.Input)",
                repr(input_tensors),
                "pass lamina.Input(shape=...) or a list holding one.",
            )
        layers = [input_tensors, *layers]
    elif model._input_tensor is not None:
        given = model._input_tensor.node.layer
        layers = [
            Input(
                batch_shape=given.batch_shape,
                dtype=given._declared_dtype,
                name=given.name,
                optional=given.optional,
            ),
            *layers,
        ]
    return compiled_like(model, Sequential(layers, name=model.name, trainable=model.trainable))


def clone_functional(model, cloner: LayerCloner, input_tensors=None):
    graph = model._graph
    if input_tensors is None:
        input_tensors = tree.map_structure(
            lambda x: Input(batch_shape=x.shape, dtype=x.dtype, name=x.name), graph.inputs
        )
    else:
        _check_input_tensors(model, input_tensors)

    def layer_for(layer):
        # An operation on tensors (`x + y`) holds no state: the clone calls it as it is.
        return layer if isinstance(layer, OpLayer) else cloner(layer)

    outputs = graph.replay(input_tensors, layer_for, cloner.call_function)
    cls = type(model) if _takes_inputs_and_outputs(type(model)) else Model
    return compiled_like(model, cls(input_tensors, outputs, name=model.name))


def _check_input_tensors(model, input_tensors) -> None:
    flat = tree.flatten(input_tensors)
    if not all(isinstance(x, KerasTensor) for x in flat):
        raise errors.value_error(
            f"clone_model() of Model '{model.name}'",
            "input_tensors made of symbolic tensors (lamina.Input)",
            f"{[type(x).__name__ for x in flat]}",
        )
    try:
        tree.assert_same_structure(input_tensors, model.input)
    except (ValueError, TypeError) as error:
        raise errors.value_error(
            f"clone_model() of Model '{model.name}'",
            f"input_tensors with the same structure as model.input ({model.input})",
            f"{input_tensors}",
            "pass a dict for a model built on a dict of Inputs, a list for a list.",
        ) from error


def _takes_inputs_and_outputs(cls) -> bool:
    """Whether a Model subclass can be constructed as `cls(inputs, outputs, name=...)`, as Keras
    decides: its `__init__` takes Model's arguments, or any arguments."""
    if cls in (Model, Functional):
        return True
    spec = inspect.getfullargspec(cls.__init__)
    return spec.args[1:] in (["inputs", "outputs"], ["inputs", "outputs", "name"]) or (
        spec.varargs is not None and spec.varkw is not None
    )


def compiled_like(model, clone):
    """The clone compiled as the model was (a new optimizer, the same losses and metrics)."""
    if getattr(model, "compiled", False):
        clone.compile_from_config(model.get_compile_config())
    return clone
