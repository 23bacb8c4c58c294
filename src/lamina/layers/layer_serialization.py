"""`serialize` / `deserialize`: a layer to Keras's JSON-ready dict and back."""

from __future__ import annotations

from lamina.engine.serialization import deserialize_layer, layer_entry


def serialize(layer) -> dict:
    """A layer as Keras's serialized dict: `{"module", "class_name", "config", "registered_name"}`.

    Args:
        layer: any lamina layer.

    Example:
        >>> serialize(lamina.layers.Dense(3))["class_name"]
        'Dense'
    """
    return layer_entry(layer)


def deserialize(config, custom_objects=None):
    """The layer a `serialize` dict (or Keras's own) describes; classes are looked up among
    lamina's layers and `custom_objects`, never imported by module path.

    Args:
        config: the dict `serialize` returns (`class_name` and `config` are required).
        custom_objects: `{name: class}` for your own layers.

    Example:
        >>> deserialize(serialize(lamina.layers.Dense(3))).units
        3
    """
    return deserialize_layer(_without_keras_only_keys(config), custom_objects)


# Keys Keras 3 writes that lamina's layers do not take, dropped when they hold their default.
_KERAS_ONLY_DEFAULTS = {"quantization_config": None, "gptq_unpacked_column_size": None}


def _without_keras_only_keys(entry):
    if isinstance(entry, list):
        return [_without_keras_only_keys(e) for e in entry]
    if not isinstance(entry, dict):
        return entry
    cleaned = {k: _without_keras_only_keys(v) for k, v in entry.items()}
    if "class_name" in cleaned and isinstance(cleaned.get("config"), dict):
        cleaned["config"] = {
            k: v
            for k, v in cleaned["config"].items()
            if not (k in _KERAS_ONLY_DEFAULTS and v == _KERAS_ONLY_DEFAULTS[k])
        }
    return cleaned
