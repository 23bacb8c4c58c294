"""Keras 3's `.keras` file: a zip holding `metadata.json`, `config.json` and `model.weights.h5`
(the weights tree plus the optimizer's variables)."""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import h5py

from lamina.saving import archive as archive_module
from lamina.saving import atomic, h5_weights, model_config, optimizer_state, safe_json
from lamina.saving.errors import FileFormatError

KERAS_VERSION = "3.15.1"  # the layout written is Keras 3's; Keras checks only the major version


def save(model, filepath, overwrite=True) -> None:
    weights = io.BytesIO()
    with h5py.File(weights, "w") as file:
        h5_weights.write(file, model)
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "lamina": True,
    }
    config = model_config.model_entry(model)
    # The zip is closed (complete) before atomic_path fsyncs and renames it.
    with (
        atomic.atomic_path(filepath, overwrite=overwrite) as temporary,
        zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights.getvalue())


def _open(filepath):
    archive = archive_module.open_archive(filepath)
    missing = {"config.json", "model.weights.h5"} - set(archive.namelist())
    if missing:
        archive.close()
        raise FileFormatError(
            f"{filepath} is not a complete .keras file: it lacks {sorted(missing)}."
        )
    return archive


def _config(archive, source) -> dict:
    data = archive_module.read_member(archive, "config.json", source)
    return safe_json.parse(data, source, "config.json")


def read_config(filepath) -> dict:
    with _open(filepath) as archive:
        return _config(archive, str(filepath))


def _weights_file(archive, filepath):
    data = archive_module.read_member(archive, "model.weights.h5", filepath)
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        raise FileFormatError(
            f"{filepath}: model.weights.h5 is not readable HDF5 ({error})."
        ) from None


def load(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in the `.keras` file: nothing is copied into it before every weight (and the
    optimizer's variables) has been checked and read."""
    source = str(filepath)
    with _open(filepath) as archive:
        entry = _config(archive, source)
        model_config.check_safe(entry, safe_mode, source)
        model = model_config.build_model(entry, custom_objects, source)
        compiled = False
        with _weights_file(archive, source) as file:
            assignments = h5_weights.plan(file, model, source=source)
            # Keras writes `"compile_config": {}` for a model saved uncompiled.
            if (
                compile
                and isinstance(entry.get("compile_config"), dict)
                and entry["compile_config"]
            ):
                compiled = model_config.compile_from(
                    model, entry["compile_config"], custom_objects, source
                )
            optimizer_values = h5_weights.read_optimizer(file, model, source) if compiled else None
    h5_weights.apply(assignments)
    if optimizer_values is not None:
        optimizer_state.from_keras(model.optimizer, model, optimizer_values, source)
    return model


def load_weights_into(model, filepath, skip_mismatch=False) -> None:
    source = str(filepath)
    with _open(filepath) as archive, _weights_file(archive, source) as file:
        assignments = h5_weights.plan(file, model, skip_mismatch=skip_mismatch, source=source)
    h5_weights.apply(assignments)
