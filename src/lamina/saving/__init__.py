"""Saving and loading: Keras 3's `.keras`, Keras's legacy `.h5` and `.weights.h5`, chosen by the
file's extension. Every write is atomic; loading never unpickles or runs code; a damaged or
hostile file (zip bombs, links to other files, sizes past `get_load_limits()`) raises
`FileFormatError` before anything is copied into a model. `set_load_limits` raises a limit for a
file you trust.

Examples:
    >>> model.save("model.keras")                        # doctest: +SKIP
    >>> restored = lamina.models.load_model("model.keras")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import stat

from lamina.saving import h5_guard, h5_weights, keras_format, legacy_h5
from lamina.saving.errors import FileFormatError
from lamina.saving.limits import LoadLimits, get_load_limits, load_limits, set_load_limits


def _kind(filepath) -> str:
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        return "weights"
    if path.endswith(".keras"):
        return "keras"
    if path.endswith(".h5") or path.endswith(".hdf5"):
        return "h5"
    return "unknown"


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs) -> None:
    """Save architecture, weights and (when compiled) optimizer state; the extension picks the
    format: `.keras` (Keras 3's zip) or `.h5` (Keras's legacy HDF5)."""
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword argument(s) {sorted(kwargs)}.")
    kind = _kind(filepath)
    if kind == "keras":
        keras_format.save(model, filepath, overwrite=overwrite)
    elif kind == "h5":
        legacy_h5.save(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
    else:
        raise ValueError(
            "model.save() expects a filepath ending in '.keras' (or '.h5' for Keras's legacy "
            f"format); received filepath={os.fspath(filepath)!r}. Hint: for weights only use "
            "model.save_weights('name.weights.h5')."
        )


def _existing_file(filepath, purpose: str) -> str:
    """`filepath` as a string once it is known to name a regular file (a FIFO would block the
    reader forever, a device such as /dev/zero never ends)."""
    path = os.fspath(filepath)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"No file at {path!r} to load {purpose} from.") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise FileFormatError(f"{path} is {kind}; expected a regular file to load {purpose} from.")
    return path


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.keras` or `.h5` file, compiled as saved (when `compile`)."""
    path = _existing_file(filepath, "a model")
    kind = _kind(path)
    if kind == "keras":
        return keras_format.load(path, custom_objects, compile, safe_mode)
    if kind == "h5":
        return legacy_h5.load(path, custom_objects, compile, safe_mode)
    if kind == "weights":
        raise ValueError(
            f"{path!r} holds only weights. Hint: build the model, then call "
            "model.load_weights(path)."
        )
    raise ValueError(f"load_model() expects a '.keras' or '.h5' file; received filepath={path!r}.")


def save_weights(model, filepath, overwrite=True) -> None:
    """Save the weights in Keras 3's `.weights.h5` layout (the filepath must end so)."""
    import h5py

    from lamina.saving import atomic

    if _kind(filepath) != "weights":
        raise ValueError(
            "save_weights() expects a filepath ending in '.weights.h5'; received "
            f"filepath={os.fspath(filepath)!r}."
        )
    with (
        atomic.atomic_path(filepath, overwrite=overwrite) as temporary,
        h5py.File(temporary, "w") as file,
    ):
        h5_weights.write(file, model)


def load_weights(model, filepath, skip_mismatch=False, **kwargs) -> None:
    """Load weights from `.weights.h5`, `.keras` or legacy `.h5` into a built model."""
    path = _existing_file(filepath, "weights")
    kind = _kind(path)
    if kind == "keras":
        keras_format.load_weights_into(model, path, skip_mismatch)
    elif kind == "h5":
        legacy_h5.load_weights_into(model, path, skip_mismatch)
    elif kind == "weights":
        with h5_guard.open_file(path) as file:
            assignments = h5_weights.plan(file, model, skip_mismatch, source=path)
        h5_weights.apply(assignments)
    else:
        raise ValueError(
            "load_weights() expects a '.weights.h5', '.keras' or '.h5' file; received "
            f"filepath={path!r}."
        )


from lamina.saving.object_registration import (  # noqa: E402
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.object_serialization import (  # noqa: E402
    deserialize_keras_object,
    serialize_keras_object,
)

__all__ = [
    "CustomObjectScope",
    "FileFormatError",
    "LoadLimits",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_load_limits",
    "get_registered_name",
    "get_registered_object",
    "load_limits",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
    "set_load_limits",
]
