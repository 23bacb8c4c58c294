"""lamina.models: Sequential, Model, saving and loading, JSON configs and cloning."""

from __future__ import annotations

import json

from lamina.engine.model import Model
from lamina.engine.sequential import Sequential
from lamina.saving.object_registration import with_registered


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `model.save(...)` (.keras, .h5). Never runs code from the file
    unless `safe_mode=False` or `lamina.config.enable_unsafe_deserialization()` allows it.

    Args:
        filepath: the `.keras` or `.h5` file.
        custom_objects: `{name: class}` for custom layers, on top of the registered ones.
        compile: compile the model as it was saved.
        safe_mode: refuse files holding code (Lambda layers).

    Example:
        >>> model = lamina.models.load_model("model.keras")  # doctest: +SKIP
    """
    from lamina import config, saving

    return saving.load_model(
        filepath,
        custom_objects=with_registered(custom_objects),
        compile=compile,
        safe_mode=safe_mode and not config.is_unsafe_deserialization_enabled(),
    )


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save a model to `.keras` (Keras 3's zip) or `.h5`; the same as `model.save(filepath)`.

    Args:
        model: the model.
        filepath: a path ending in `.keras` or `.h5`.
        overwrite: replace an existing file.
        zipped: accepted for Keras compatibility (`.keras` files are always zipped).

    Example:
        >>> lamina.models.save_model(model, "model.keras")  # doctest: +SKIP
    """
    from lamina import saving

    del zipped
    saving.save_model(model, filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A model (fresh weights) from `model.to_json()`'s string, Keras's or lamina's.

    Args:
        json_string: the JSON text of `{"class_name", "config", ...}`.
        custom_objects: `{name: class}` for custom layers, on top of the registered ones.

    Example:
        >>> model = lamina.models.model_from_json(keras_model.to_json())  # doctest: +SKIP
    """
    from lamina.saving import model_config

    objects = with_registered(custom_objects)
    entry = model_config.drop_inert_keras_arguments(json.loads(json_string), objects)
    return model_config.build_model(entry, objects, source="model_from_json()")


def _clone_layer(layer):
    return type(layer).from_config(_with_code(layer.get_config(), layer))


def _with_code(config: dict, layer) -> dict:
    """`layer`'s config for an in-memory clone: a Lambda's config names its function (a file
    must not hold code), so the clone takes the function, and the mask and output shape, from
    the layer itself; the layers of a nested functional or Sequential model likewise."""
    from lamina.layers.core import Lambda

    if isinstance(layer, Lambda):
        return {
            **config,
            "function": layer.function,
            "mask": layer.mask,
            "output_shape": layer._output_shape,
        }
    entries = config.get("layers") if isinstance(config, dict) else None
    if isinstance(layer, Model) and isinstance(entries, list):
        by_name = {inner.name: inner for inner in layer.layers}
        for entry in entries:
            inner = by_name.get(entry.get("config", {}).get("name"))
            if inner is not None:
                entry["config"] = _with_code(entry["config"], inner)
    return config


def clone_model(
    model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs
):
    """A new model of the same architecture with fresh weights (weights are not copied).

    Args:
        model: a Sequential or functional model.
        input_tensors: for a Sequential model, a `lamina.Input` to start the clone from.
        clone_function: `layer -> new layer`, applied to each layer of a Sequential model
            (default: rebuild from the layer's config). Return the layer itself to share it.
        call_function: not supported yet (Keras calls it for each functional node).
        recursive: also clone the layers of nested models through `clone_function`.

    Example:
        >>> twin = lamina.models.clone_model(model)  # doctest: +SKIP
    """
    if kwargs:
        raise TypeError(f"clone_model() got unexpected keyword argument(s) {sorted(kwargs)}.")
    if call_function is not None:
        raise ValueError(
            "clone_model(call_function=...) is not supported by lamina yet. Hint: rebuild the "
            "graph yourself by calling the layers on new lamina.Input tensors."
        )
    if isinstance(model, Sequential):
        function = clone_function or _clone_layer

        def clone(layer):
            if recursive and isinstance(layer, Sequential):
                return clone_model(layer, clone_function=clone_function, recursive=True)
            return function(layer)

        layers = [clone(layer) for layer in model.layers]
        if input_tensors is not None:
            layers = [input_tensors, *layers]
        elif getattr(model, "_input_tensor", None) is not None:
            from lamina.engine.symbolic import Input

            layers = [Input(shape=tuple(model.input_shape[1:])), *layers]
        return Sequential(layers, name=model.name)
    if clone_function is not None or input_tensors is not None:
        raise ValueError(
            "clone_model() supports clone_function and input_tensors for Sequential models; "
            f"received a {type(model).__name__}. Hint: clone a functional model without them."
        )
    return type(model).from_config(_with_code(model.get_config(), model))


__all__ = [
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
