"""lamina.models: Sequential, Model, saving and loading, JSON configs and cloning."""

from __future__ import annotations

import json

from lamina.engine.errors import missing_attribute as _missing_attribute
from lamina.engine.errors import unexpected_arguments as _unexpected_arguments
from lamina.engine.model import Model
from lamina.engine.sequential import Sequential
from lamina.saving.object_registration import with_registered


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `model.save(...)` (.keras, .h5). Never runs code from the file:
    a Lambda layer's functions come from `custom_objects` (an anonymous one under the layer's
    name, `custom_objects={"my_lambda": lambda x: x * 2}`).

    Args:
        filepath: the `.keras` or `.h5` file.
        custom_objects: `{name: class or function}` for custom layers and Lambda functions, on
            top of the registered ones.
        compile: compile the model as it was saved.
        safe_mode: accepted for Keras compatibility; lamina never runs code from a file, so
            neither value does.

    Example:
        >>> model = lamina.models.load_model("model.keras")  # doctest: +SKIP
    """
    from lamina import saving

    return saving.load_model(
        filepath,
        custom_objects=with_registered(custom_objects),
        compile=compile,
        safe_mode=safe_mode,
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


def clone_model(
    model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs
):
    """A new model of the same architecture with fresh weights (weights are not copied); a
    compiled model's clone is compiled the same way.

    Args:
        model: a Sequential or functional model (a subclassed model is rebuilt from its config).
        input_tensors: `lamina.Input` tensors to build the clone on, in the structure of
            `model.input` (default: new Inputs of the same shapes, dtypes and names).
        clone_function: `layer -> new layer`, applied once to each layer (default: rebuild from
            the layer's config). Return the layer itself to share it.
        call_function: `fn(layer, *args, **kwargs)`, called for each layer call of a functional
            model instead of `layer(*args, **kwargs)`: it can insert layers around a call.
        recursive: clone nested models layer by layer too (with the same functions), instead of
            passing them whole to `clone_function`.

    Example:
        >>> twin = lamina.models.clone_model(model)  # doctest: +SKIP
        >>> def with_dropout(layer, *args, **kwargs):
        ...     out = layer(*args, **kwargs)
        ...     return lamina.layers.Dropout(0.5)(out) if isinstance(layer, Dense) else out
        >>> shared = lamina.models.clone_model(  # doctest: +SKIP
        ...     model, clone_function=lambda layer: layer, call_function=with_dropout
        ... )
    """
    from lamina.engine import cloning

    if kwargs:
        raise _unexpected_arguments("clone_model()", kwargs)
    cloner = cloning.LayerCloner(clone_function, call_function, recursive)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(
                f"clone_model() of Sequential '{model.name}' expects no call_function (a "
                "Sequential model's layers are listed, not called); received "
                f"{call_function!r}. Hint: use call_function with a functional model."
            )
        return cloning.clone_sequential(model, cloner, input_tensors)
    custom = clone_function is not None or input_tensors is not None
    if cloning.is_functional(model) and (custom or call_function is not None or recursive):
        return cloning.clone_functional(model, cloner, input_tensors)
    if custom or call_function is not None:
        raise ValueError(
            "clone_model() expects a Sequential or functional model with clone_function, "
            f"input_tensors or call_function; received a {type(model).__name__}. Hint: clone a "
            "subclassed model without them, or call its from_config(get_config())."
        )
    clone = type(model).from_config(cloning.config_with_code(model.get_config(), model))
    return cloning.compiled_like(model, clone)


# tf.keras 2's YAML loader (the overview guide's `model_from_yaml`), which Keras 3 removed.
_REMOVED_IN_KERAS_3 = {
    "model_from_yaml": (
        "tf.keras 2's YAML configs were removed in Keras 3. Hint: use model.to_json() and "
        "lamina.models.model_from_json(json_string)."
    ),
}


def __getattr__(name):
    """Only to name the Keras 3 replacement of a removed tf.keras 2 name."""
    raise _missing_attribute("lamina.models", name, _REMOVED_IN_KERAS_3)


__all__ = [
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
