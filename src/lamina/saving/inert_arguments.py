"""Keras config arguments that mean "feature off", dropped where a lamina class does not take them.

Newer Keras versions write arguments such as `lora_rank=None` or `synchronized=False` into layer
configs. A lamina layer without the argument behaves exactly so; any other value is left in place
for the layer to reject with its own error. Both the model loader (`model_config`) and
`deserialize_keras_object` use this, so it sits below both.
"""

from __future__ import annotations

import inspect

from lamina.engine.layer import lamina_class

_INERT_KERAS_ARGUMENTS = {
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "synchronized": False,
    "optional": False,
}


def _accepts(cls, argument: str) -> bool:
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return True
    return argument in parameters


def drop_inert_keras_arguments(structure, custom_objects=None):
    """Remove feature-off arguments that lamina's layer classes do not take, at any depth."""
    if isinstance(structure, list):
        return [drop_inert_keras_arguments(s, custom_objects) for s in structure]
    if not isinstance(structure, dict):
        return structure
    result = {k: drop_inert_keras_arguments(v, custom_objects) for k, v in structure.items()}
    config = result.get("config")
    name = result.get("class_name")
    if isinstance(config, dict) and isinstance(name, str):
        cls = (custom_objects or {}).get(name) or lamina_class(name)
        if isinstance(cls, type):
            result["config"] = {
                key: value
                for key, value in config.items()
                if not (
                    key in _INERT_KERAS_ARGUMENTS
                    and value == _INERT_KERAS_ARGUMENTS[key]
                    and not _accepts(cls, key)
                )
            }
    return result
