"""lamina.models: Sequential, Model, and loading saved models."""

from lamina.engine.model import Model
from lamina.engine.sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `model.save(...)` (.keras, .h5). Never runs code from the file."""
    from lamina import saving

    return saving.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )


def clone_model(model):
    """A new model with the same architecture and fresh weights."""
    config = model.get_config()
    return type(model).from_config(config)


__all__ = ["Model", "Sequential", "clone_model", "load_model"]
