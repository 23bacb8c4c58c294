"""Whole-model configs for files: the architecture and compile settings as Keras 3 writes them,
models rebuilt from them without running code (a Lambda's functions come from the loader)."""

from __future__ import annotations

import warnings

from lamina import losses, metrics, optimizers
from lamina.engine.layer import lamina_class, overrides
from lamina.engine.serialization import keras_model_names
from lamina.saving import code_entries
from lamina.saving.errors import FileFormatError
from lamina.saving.inert_arguments import drop_inert_keras_arguments
from lamina.saving.object_registration import (
    CustomObjectScope,
    get_registered_name,
    saved_module,
    with_registered,
)
from lamina.saving.object_serialization import serialize_keras_object

_FUNCTIONAL_NAMES = ("Functional", "Model")

# Classes other than models that save themselves as a whole `.keras` file (FeatureSpace): their
# modules register them here, so that loading finds them without this module importing theirs.
_SAVEABLE_CLASSES: dict[str, type] = {}


def register_saveable(cls):
    """Let `load_model` rebuild `cls` (by its class name) from a `.keras` file's config."""
    _SAVEABLE_CLASSES[cls.__name__] = cls
    return cls


def model_entry(model) -> dict:
    """`{"module", "class_name", "config", "registered_name", "build_config", "compile_config"}`."""
    # A user's subclass of a functional model is named by its own class, as Keras names it (its
    # registered name finds it again).
    names = keras_model_names(model)
    class_name, module, registered_name = names or (
        type(model).__name__,
        saved_module(type(model)),
        get_registered_name(type(model)),
    )
    config = model.get_config()
    entry = {
        "module": module,
        "class_name": class_name,
        # A subclassed model's get_config() may hold objects (a sublayer, a loss), written as
        # Keras writes them: their own entries, which its from_config deserializes.
        "config": config if names else serialize_keras_object(config),
        "registered_name": registered_name,
    }
    shape = getattr(model, "_build_input_shape", None)
    if shape is not None:
        entry["build_config"] = {"input_shape": list(shape)}
    if _overridden(model, "get_compile_config"):
        # A model that says how it was compiled (Keras's hook): its dict, objects serialized.
        compile_config = serialize_keras_object(model.get_compile_config())
    else:
        compile_config = _compile_config(model)
    if compile_config is not None:
        entry["compile_config"] = compile_config
    return entry


def _overridden(model, method: str) -> bool:
    """Whether `model`'s class defines its own `method` rather than inheriting lamina Model's."""
    return overrides(model, method, lamina_class("Model"))


def _object_entry(obj, module: str):
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_object_entry(o, module) for o in obj]
    if isinstance(obj, dict):
        return {k: _object_entry(v, module) for k, v in obj.items()}
    if not (getattr(obj, "__module__", None) or "").startswith("lamina."):
        # A user's loss or metric (class instance or function): Keras's dict, which names it
        # by its registered name ("MyPkg>MyLoss") so that either framework finds it again.
        return _as_given(obj, serialize_keras_object(obj))
    if hasattr(obj, "get_config") and not isinstance(obj, type):
        entry = {
            "module": module,
            "class_name": type(obj).__name__,
            "config": obj.get_config(),
            "registered_name": None,
        }
        return _as_given(obj, entry)
    return getattr(obj, "__name__", str(obj))


def _as_given(obj, entry):
    """A compiled metric's entry under the name the user gave it, not the output-prefixed one
    compile logs it by (`compile_utils.CompileMetrics._make`)."""
    given = getattr(obj, "_name_as_given", None)
    if given is not None and isinstance(entry, dict) and isinstance(entry.get("config"), dict):
        entry = {**entry, "config": {**entry["config"], "name": given}}
    return entry


def compile_settings(model):
    """The compile settings of `model` as Keras writes them, None if it is not compiled."""
    return _compile_config(model)


def _compile_config(model):
    state = getattr(model, "_compile_state", None)
    if state is None:
        return None
    optimizer = state.optimizer
    return {
        # A user's optimizer class is written under its module and registered name, as Keras.
        "optimizer": serialize_keras_object(optimizer),
        "loss": _object_entry(state.loss_spec, "keras.losses"),
        "loss_weights": state.loss_weights_spec,
        "metrics": _object_entry(state.metrics_spec, "keras.metrics"),
        "weighted_metrics": _object_entry(state.weighted_metrics_spec, "keras.metrics"),
        "run_eagerly": bool(state.run_eagerly),
        "steps_per_execution": int(state.steps_per_execution),
        "jit_compile": bool(state.jit_compile),
    }


# --------------------------------------------------------------------------------------------------
# Loading


def build_model(entry: dict, custom_objects=None, source: str = ""):
    """A model from a saved entry (lamina's or Keras's)."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise FileFormatError(f"{source} has no model config (expected 'class_name' and 'config').")
    class_name = entry["class_name"]
    if not isinstance(class_name, str) or not isinstance(entry["config"], (dict, list)):
        raise FileFormatError(
            f"{source}: the model config is expected to hold a class name (a string) and a "
            f"config (an object); received class_name={class_name!r} and a config of type "
            f"{type(entry['config']).__name__}."
        )
    custom_objects = with_registered(custom_objects)
    if class_name == "Sequential" or class_name in _FUNCTIONAL_NAMES:
        cls = lamina_class(class_name)  # Functional -> Model
    elif class_name in _SAVEABLE_CLASSES and class_name not in custom_objects:
        cls = _SAVEABLE_CLASSES[class_name]
    elif class_name in custom_objects or entry.get("registered_name") in custom_objects:
        cls = custom_objects.get(entry.get("registered_name") or "") or custom_objects[class_name]
    else:
        raise ValueError(
            f"{source} holds a model of class '{class_name}', which lamina does not know. "
            f"Hint: pass custom_objects={{'{class_name}': {class_name}}} to load_model()."
        )
    try:
        # A Lambda's functions are looked up in the caller's custom_objects while it is rebuilt.
        with CustomObjectScope(custom_objects):
            return _rebuild(cls, entry, custom_objects)
    except (FileFormatError, code_entries.CodeNotGivenError):
        raise
    except RecursionError:
        raise FileFormatError(
            f"{source}: the model config nests too deeply to rebuild (Python's recursion "
            "limit). Hint: lower max_json_depth with lamina.saving.set_load_limits()."
        ) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        # A malformed config (a layer's config that is not an object, `layers` that is not a
        # list, an argument no layer takes) surfaces deep inside from_config; say which file.
        raise FileFormatError(
            f"{source}: the model config cannot be rebuilt: {type(error).__name__}: {error}"
        ) from error


def _rebuild(cls, entry, custom_objects):
    config = drop_inert_keras_arguments(entry["config"], custom_objects)
    try:
        model = cls.from_config(config, custom_objects=custom_objects)
    except TypeError as error:
        if "custom_objects" not in str(error):
            raise
        model = cls.from_config(config)
    build_config = entry.get("build_config") or {}
    if not model.built and isinstance(build_config, dict):
        shape = build_config.get("input_shape")
        if shape is not None:
            model.build(tuple(shape))
    return model


def compile_from(model, compile_config: dict, custom_objects=None, source: str = "") -> bool:
    """Compile `model` as the file says; False (with a warning) when a part is unknown.

    A model with its own `compile_from_config` (Keras's hook, beside its own
    `get_compile_config`) gets the saved dict and compiles itself."""
    if _overridden(model, "compile_from_config"):
        try:
            with CustomObjectScope(custom_objects):
                model.compile_from_config(compile_config)
        except (ValueError, TypeError, KeyError) as error:
            warnings.warn(
                f"{source}: the model loaded, but its compile_from_config() failed ({error}). "
                "Call model.compile(...) before training.",
                stacklevel=3,
            )
            return False
        return getattr(model, "_compile_state", None) is not None
    return compile_as_saved(model, compile_config, custom_objects, source)


def compile_as_saved(model, compile_config: dict, custom_objects=None, source: str = "") -> bool:
    """`compile_from` for a model without its own hook: Keras's compile settings, read."""
    custom_objects = with_registered(custom_objects)
    try:
        optimizer = _optimizer(compile_config["optimizer"], custom_objects)
        loss = _resolve(compile_config.get("loss"), losses, custom_objects)
        metric_list = _resolve(compile_config.get("metrics"), metrics, custom_objects)
        weighted = _resolve(compile_config.get("weighted_metrics"), metrics, custom_objects)
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metric_list,
            loss_weights=compile_config.get("loss_weights"),
            weighted_metrics=weighted,
            # As Keras's compile_from_config, but for jit_compile, which stays the caller's
            # choice here (torch.compile makes the first step of a run much slower).
            run_eagerly=compile_config.get("run_eagerly", False) is True,
            steps_per_execution=compile_config.get("steps_per_execution", 1),
        )
    except (ValueError, TypeError, KeyError) as error:
        warnings.warn(
            f"{source}: the model loaded, but could not be compiled from the saved settings "
            f"({error}). Call model.compile(...) before training.",
            stacklevel=3,
        )
        return False
    return True


def _optimizer(entry, custom_objects):
    if entry is None:  # compiled with optimizer=None (evaluate and predict only)
        return None
    if isinstance(entry, str):
        return optimizers.get(entry)
    name = entry["class_name"]
    if name in custom_objects:
        return custom_objects[name].from_config(entry["config"])
    config = dict(entry.get("config", {}))
    return optimizers.get({"class_name": name, "config": config})


def _resolve(spec, module, custom_objects):
    if spec is None or isinstance(spec, (int, float, bool)):
        return spec
    if isinstance(spec, str):
        return custom_objects.get(spec, spec)
    if isinstance(spec, list):
        return [_resolve(s, module, custom_objects) for s in spec]
    if isinstance(spec, dict) and spec.get("class_name") == "function":
        name = spec.get("config")
        found = custom_objects.get(name) if isinstance(name, str) else None
        found = found or (getattr(module, name, None) if isinstance(name, str) else None)
        if found is None:
            raise ValueError(f"unknown {module.__name__.split('.')[-1]} function {name!r}")
        return found
    if isinstance(spec, dict) and "class_name" in spec:
        name = spec["class_name"]
        registered = spec.get("registered_name")
        cls = (
            (custom_objects.get(registered) if isinstance(registered, str) else None)
            or custom_objects.get(name)
            or getattr(module, name, None)
        )
        if cls is None:
            raise ValueError(f"unknown {module.__name__.split('.')[-1]} class '{name}'")
        return cls.from_config(spec.get("config", {})) if hasattr(cls, "from_config") else cls
    if isinstance(spec, dict):
        return {k: _resolve(v, module, custom_objects) for k, v in spec.items()}
    return spec
