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

import logging
import os
import stat
import warnings

from lamina.engine import errors as engine_errors
from lamina.saving import (
    folder_archive,
    h5_guard,
    h5_weights,
    keras_format,
    legacy_h5,
    sharded_weights,
    step_checkpoints,
)
from lamina.saving.errors import FileFormatError, MissingFileError
from lamina.saving.limits import LoadLimits, get_load_limits, load_limits, set_load_limits

# Keras reports these through its logger (not Python warnings); lamina's logger does the same.
_log = logging.getLogger("lamina")


def _require_path(filepath, who: str, error=ValueError) -> None:
    """Refuse a file object (or anything else that names no file) with the house message: the
    atomic write and the load limits work on files on disk. Keras's public API refuses them too
    (ValueError on save, TypeError on load)."""
    if isinstance(filepath, (str, bytes, os.PathLike)):
        return
    raise error(
        engine_errors.message(
            who,
            "a filepath (a str or os.PathLike naming a file)",
            f"a {type(filepath).__name__}",
            "file objects such as io.BytesIO are not supported: save to a file (a temporary "
            "one if need be) and read its bytes, or write the bytes to a file and load that.",
        )
    )


def _kind(filepath) -> str:
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        return "weights"
    if path.endswith(".weights.json"):
        return "sharded"
    if path.endswith(".keras"):
        return "keras"
    if path.endswith(".h5") or path.endswith(".hdf5"):
        return "h5"
    return "unknown"


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs) -> None:
    """Save architecture, weights and (when compiled) optimizer state, in the extension's format.

    `.keras` writes Keras 3's archive, `.h5` Keras's legacy HDF5 file. The write is atomic: a crash
    leaves the old file or the new one, never half of one.

    Args:
        model: the model to save.
        filepath: a path ending in `.keras` or `.h5`.
        overwrite: replace an existing file (default True).
        include_optimizer: save the optimizer's state too.
        **kwargs: `zipped=False` writes Keras's unzipped folder (a path without `.keras`)
            holding the archive's files; `save_format` (deprecated) is ignored.

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_model(model, os.path.join(folder, "m.keras"))
        ...     restored = load_model(os.path.join(folder, "m.keras"))
        >>> restored.count_params()
        3
    """
    _require_path(filepath, "save_model()")
    save_format = kwargs.pop("save_format", None)
    zipped = kwargs.pop("zipped", None)
    if kwargs:  # a ValueError, as Keras raises it
        raise engine_errors.value_error(
            "save_model()",
            "the arguments Keras takes (overwrite, include_optimizer, zipped)",
            f"the unsupported argument(s) {sorted(kwargs)}",
        )
    kind = _kind(filepath)
    if zipped is False:  # Keras's unzipped folder
        if kind == "keras":
            raise ValueError(
                "model.save(..., zipped=False) writes a folder: its filepath should not end in "
                f"'.keras'; received filepath={os.fspath(filepath)!r}. Hint: drop the extension."
            )
        keras_format.save(model, filepath, overwrite=overwrite, zipped=False)
        return
    if save_format and kind in ("keras", "h5"):
        _log.warning(
            "save_model(): save_format=%r is deprecated and ignored: the format follows the "
            "file's extension (%s).",
            save_format,
            os.fspath(filepath),
        )
    if kind == "keras":
        keras_format.save(model, filepath, overwrite=overwrite)
    elif kind == "h5":
        _log.warning(
            "Saving %s in the legacy HDF5 format. The native Keras format is recommended: "
            "model.save('name.keras').",
            os.fspath(filepath),
        )
        legacy_h5.save(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
    else:
        raise ValueError(
            "model.save() expects a filepath ending in '.keras' (or '.h5' for Keras's legacy "
            f"format); received filepath={os.fspath(filepath)!r}. Hint: "
            + _save_hint(filepath, save_format)
        )


def _save_hint(filepath, save_format) -> str:
    """The replacement to name: a path with no extension (or save_format='tf') was tf.keras 2's
    SavedModel folder, which Keras 3 writes as `<path>.keras`; other names are mostly weights."""
    path = os.fspath(filepath)
    if os.path.splitext(path)[1] == "" or save_format == "tf":
        return (
            "tf.keras 2 wrote a SavedModel folder for such a path; Keras 3 saves the whole "
            f"model as model.save({path.rstrip('/') + '.keras'!r}) (model.export() writes an "
            "inference artifact)."
        )
    return "for weights only use model.save_weights('name.weights.h5')."


def _save_weights_hint(filepath) -> str:
    """tf.keras 2 wrote a TF checkpoint for a bare prefix ('ckpt') and HDF5 for '.h5'; Keras 3
    takes only '.weights.h5', so name that file."""
    stem, extension = os.path.splitext(os.fspath(filepath))
    if extension.lower() not in (".h5", ".hdf5"):
        stem += extension
    return (
        "tf.keras 2's TF-checkpoint prefix and plain '.h5' weights became Keras 3's "
        f"model.save_weights({stem + '.weights.h5'!r})."
    )


def _refuse_tf_keras_path(filepath, caller: str) -> None:
    """Keras 3 tells a file's format by its extension before opening it. A path with none of
    them that is not a folder is what tf.keras 2 wrote a TF checkpoint (`save_weights('ckpt')`,
    `ModelCheckpoint('ckpt', save_weights_only=True)`: 'ckpt.index' beside it) or a SavedModel
    for, so the error names the Keras 3 file that replaced it rather than 'no file'."""
    path = os.fspath(filepath)
    if _kind(path) != "unknown" or os.path.isdir(path):
        return
    stem = path.rstrip("/")
    if caller == "load_weights()":
        expected = "a '.weights.h5', '.weights.json', '.keras' or '.h5' file"
        replacement = f"model.save_weights({stem + '.weights.h5'!r}), then load that file"
        written = "TF-checkpoint prefix (save_weights or ModelCheckpoint with save_weights_only)"
    else:
        expected = "a '.keras' or '.h5' file"
        replacement = f"model.save({stem + '.keras'!r}), then load that file"
        written = "SavedModel folder (model.save or ModelCheckpoint on a path with no extension)"
    raise ValueError(
        f"{caller} expects {expected}; received filepath={path!r}. Hint: "
        f"tf.keras 2 wrote a {written} for such a path, a format Keras 3 does not read; "
        f"save with {replacement}."
    )


def _existing_file(filepath, purpose: str) -> str:
    """`filepath` as a string once it is known to name a regular file (a FIFO would block the
    reader forever, a device such as /dev/zero never ends)."""
    path = os.fspath(filepath)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MissingFileError(f"No file at {path!r} to load {purpose} from.") from None
    if stat.S_ISDIR(mode) and os.path.isfile(os.path.join(path, "saved_model.pb")):
        # tf.keras 2.x wrote this for a path without an extension (`model.save("path")`,
        # `ModelCheckpoint("path")`: DLwP 2nd ed., TF's guides). Checked here so that
        # load_weights names it too.
        raise FileFormatError(
            f"{path} is a TensorFlow SavedModel folder, a format Keras 3 does not load "
            f"{purpose} from (it reads '.keras' and '.h5' files). Hint: re-save it under "
            "tf.keras with model.save('name.keras') or model.save('name.h5')."
        )
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise FileFormatError(f"{path} is {kind}; expected a regular file to load {purpose} from.")
    return path


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.keras` or `.h5` file, compiled as saved (when `compile`).

    Nothing in the file is unpickled or run: a `Lambda` layer's functions are the ones
    `custom_objects` gives (an anonymous one under the layer's name), never code the file holds.
    Sizes the file declares are checked against `get_load_limits()` first.

    Args:
        filepath: the saved file, or an `OrbaxCheckpoint` directory (its highest step).
        custom_objects: `{name: class or function}` for user-defined objects in the file.
        compile: compile the model with the saved loss, metrics and optimizer.
        safe_mode: accepted for Keras compatibility; lamina never runs code from a file, so
            neither value does.

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     model.save(os.path.join(folder, "m.keras"))
        ...     print(load_model(os.path.join(folder, "m.keras")).output_shape)
        (None, 2)
    """
    _require_path(filepath, "load_model()", TypeError)
    if step_checkpoints.is_checkpoint_directory(filepath):  # OrbaxCheckpoint's steps
        filepath = step_checkpoints.resolve(filepath)
    if folder_archive.is_model_folder(filepath):  # saved with zipped=False
        return keras_format.load(os.fspath(filepath), custom_objects, compile)
    _refuse_tf_keras_path(filepath, "load_model()")
    path = _existing_file(filepath, "a model")
    kind = _kind(path)
    if kind == "keras":
        return keras_format.load(path, custom_objects, compile)
    if kind == "h5":
        return legacy_h5.load(path, custom_objects, compile)
    if kind == "weights":
        raise ValueError(
            f"{path!r} holds only weights. Hint: build the model, then call "
            "model.load_weights(path)."
        )
    raise ValueError(f"load_model() expects a '.keras' or '.h5' file; received filepath={path!r}.")


def save_weights(model, filepath, overwrite=True, max_shard_size=None) -> None:
    """Save the weights in Keras 3's `.weights.h5` layout (the filepath must end so).

    Args:
        model: the model whose weights are saved.
        filepath: a path ending in `.weights.h5` (or `.weights.json` with `max_shard_size`).
        overwrite: replace an existing file (default True).
        max_shard_size: None (one file), or the largest shard in GB: the weights are split into
            `<name>_00000.weights.h5`, ... beside a `<name>.weights.json` index, as Keras splits
            them (a `.weights.h5` path becomes `.weights.json`, with a warning, as in Keras).

    Examples:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_weights(model, os.path.join(folder, "w.weights.h5"))
        ...     print(os.listdir(folder))
        ['w.weights.h5']
    """
    import h5py

    from lamina.saving import atomic

    _require_path(filepath, "save_weights()")
    _require_built(model, "saved")
    if max_shard_size is not None and _kind(filepath) in ("weights", "sharded"):
        if _kind(filepath) == "weights":
            warnings.warn(
                f"Saving sharded weights requires '.weights.json' as the extension; "
                f"{os.fspath(filepath)!r} becomes {sharded_weights.index_path(filepath)!r}.",
                stacklevel=2,
            )
        sharded_weights.write(model, filepath, max_shard_size, overwrite=overwrite)
        return
    if _kind(filepath) != "weights":
        raise ValueError(
            "save_weights() expects a filepath ending in '.weights.h5'; received "
            f"filepath={os.fspath(filepath)!r}. Hint: " + _save_weights_hint(filepath)
        )
    with (
        atomic.atomic_path(filepath, overwrite=overwrite) as temporary,
        h5py.File(temporary, "w") as file,
    ):
        h5_weights.write(file, model)


def _require_built(model, done: str) -> None:
    """Keras's rule: an unbuilt model has no weights to save, nor any to load into (the file's
    weights would be dropped, and the model built later with fresh ones)."""
    if not getattr(model, "built", True):
        raise engine_errors.value_error(
            f"Model '{model.name}'",
            f"to be built before its weights are {done}",
            "a model that has not yet been built",
            "call it on some data or use `build()` first, or give it an Input.",
        )


def load_weights(model, filepath, skip_mismatch=False, **kwargs) -> None:
    """Load weights from `.weights.h5`, `.keras` or legacy `.h5` into a built model.

    Every array is read and checked before any is copied, so a failed load changes nothing.

    Args:
        model: a built model with the saved model's architecture.
        filepath: the file to read, or an `OrbaxCheckpoint` directory (its highest step).
        skip_mismatch: skip layers whose weights do not match instead of raising.
        **kwargs: Keras's `by_name`, for legacy `.h5` files only (lamina matches their layers
            by name whenever every name is found); any other keyword is refused.

    Examples:
        >>> import os, tempfile
        >>> source = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> target = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_weights(source, os.path.join(folder, "w.weights.h5"))
        ...     load_weights(target, os.path.join(folder, "w.weights.h5"))
        >>> all(np.array_equal(a, b) for a, b in zip(source.get_weights(), target.get_weights()))
        True
    """
    _require_path(filepath, "load_weights()", TypeError)
    by_name = kwargs.pop("by_name", None)
    if kwargs:
        raise engine_errors.value_error(
            "load_weights()",
            "the keyword arguments filepath, skip_mismatch (and by_name for a legacy '.h5' file)",
            f"{sorted(kwargs)}",
            "check the spelling; objects_to_skip (Keras 3.15) is not supported by lamina.",
        )
    if step_checkpoints.is_checkpoint_directory(filepath):  # OrbaxCheckpoint's steps
        filepath = step_checkpoints.resolve(filepath)
    _refuse_tf_keras_path(filepath, "load_weights()")
    path = _existing_file(filepath, "weights")
    kind = _kind(path)
    if by_name is not None and kind != "h5":
        raise engine_errors.value_error(
            "load_weights()",
            "by_name only for a legacy '.h5' or '.hdf5' file",
            f"by_name={by_name!r} with {os.fspath(filepath)!r}",
            "drop by_name: the other formats match weights by the model's structure.",
        )
    if kind != "h5":  # Keras's legacy .h5 loader builds nothing either, and does not check
        _require_built(model, "loaded")
    if kind == "keras":
        keras_format.load_weights_into(model, path, skip_mismatch)
    elif kind == "h5":
        legacy_h5.load_weights_into(model, path, skip_mismatch)
    elif kind == "weights":
        with h5_guard.open_file(path) as file:
            assignments = h5_weights.plan(file, model, skip_mismatch, source=path)
        h5_weights.apply(assignments)
    elif kind == "sharded":
        with sharded_weights.gathered(path) as file:
            assignments = h5_weights.plan(file, model, skip_mismatch, source=path)
        h5_weights.apply(assignments)
    else:
        raise ValueError(
            "load_weights() expects a '.weights.h5', '.weights.json', '.keras' or '.h5' file; "
            "received "
            f"filepath={path!r}."
        )


from lamina.saving.file_editor import KerasFileEditor  # noqa: E402
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
    "KerasFileEditor",
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
