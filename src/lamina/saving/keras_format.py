"""Keras 3's `.keras` file: a zip holding `metadata.json`, `config.json` and `model.weights.h5`
(the weights tree plus the optimizer's variables)."""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
import zipfile

import h5py

from lamina.saving import archive as archive_module
from lamina.saving import (
    atomic,
    folder_archive,
    h5_guard,
    h5_weights,
    model_config,
    optimizer_state,
    safe_json,
)
from lamina.saving.errors import FileFormatError
from lamina.saving.weight_paths import model_tree

_ASSETS = "assets/"

KERAS_VERSION = "3.15.1"  # the layout written is Keras 3's; Keras checks only the major version


def save(model, filepath, overwrite=True, zipped=True) -> None:
    """Write the model as a `.keras` zip, or (zipped=False) as Keras's unzipped folder."""
    members = archive_members(model)
    if not zipped:
        folder_archive.write(filepath, members, overwrite=overwrite)
        return
    # The zip is closed (complete) before atomic_path fsyncs and renames it.
    with atomic.atomic_path(filepath, overwrite=overwrite) as temporary:
        _write_zip(temporary, members)


def archive_bytes(model) -> bytes:
    """The `.keras` file of `model` as bytes: a snapshot taken now, written to disk later (the
    background saves of `OrbaxCheckpoint`)."""
    buffer = io.BytesIO()
    _write_zip(buffer, archive_members(model))
    return buffer.getvalue()


def weights_bytes(model) -> bytes:
    """The model's weights (and optimizer state) in the `.weights.h5` layout, as bytes: the
    archive's `model.weights.h5` member, and a weights-only OrbaxCheckpoint step."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        h5_weights.write(file, model)
    return buffer.getvalue()


def archive_members(model) -> list[tuple[str, bytes]]:
    """The (name, bytes) members of the model's archive, in Keras's order."""
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "lamina": True,
    }
    return [
        ("metadata.json", json.dumps(metadata).encode()),
        ("config.json", json.dumps(model_config.model_entry(model)).encode()),
        ("model.weights.h5", weights_bytes(model)),
        *_saved_assets(model),
    ]


def _write_zip(target, members) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def _saved_assets(model) -> list[tuple[str, bytes]]:
    """The files the layers' `save_assets(folder)` write (Keras's hook, for state that is no
    tensor, such as a vocabulary), as archive members `assets/<layer path>/<file>`: each layer
    gets the folder of its path in the weights tree, as Keras gives it."""
    nodes = [n for n in model_tree(model) if n.primary and hasattr(n.layer, "save_assets")]
    if not nodes:
        return []
    members = []
    with tempfile.TemporaryDirectory() as folder:
        for node in nodes:
            path = os.path.join(folder, *node.path.split("/")) if node.path else folder
            os.makedirs(path, exist_ok=True)
            node.layer.save_assets(path)
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, folder).replace(os.sep, "/")
                with open(full, "rb") as handle:
                    members.append((_ASSETS + relative, handle.read()))
    return sorted(members)


def _read_assets(archive, model, source) -> list[tuple[str, bytes]] | None:
    """The archive's `assets/` members (names checked by `archive.open_archive`), read only when
    a layer of the model has `load_assets`; None when none has."""
    if not any(hasattr(node.layer, "load_assets") for node in model_tree(model)):
        return None
    return [
        (info.filename, archive_module.read_member(archive, info.filename, source))
        for info in archive.infolist()
        if info.filename.startswith(_ASSETS) and not info.is_dir()
    ]


def _load_assets(model, members) -> None:
    """Run each layer's `load_assets(folder)` on its folder of the archive's assets, after its
    variables are loaded (Keras's order)."""
    with tempfile.TemporaryDirectory() as folder:
        for name, data in members:
            target = os.path.join(folder, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
        root = os.path.join(folder, "assets")
        for node in model_tree(model):
            if not node.primary or not hasattr(node.layer, "load_assets"):
                continue
            path = os.path.join(root, *node.path.split("/")) if node.path else root
            os.makedirs(path, exist_ok=True)
            node.layer.load_assets(path)


def _open(filepath):
    if folder_archive.is_model_folder(filepath):
        archive = folder_archive.FolderArchive(filepath)
    else:
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
    return h5_guard.open_bytes(data, filepath)


def load(filepath, custom_objects=None, compile=True):
    """The model in the `.keras` file: nothing is copied into it before every weight (and the
    optimizer's variables) has been checked and read."""
    source = str(filepath)
    with _open(filepath) as archive:
        entry = _config(archive, source)
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
        assets = _read_assets(archive, model, source)
    h5_weights.apply(assignments)
    if assets is not None:
        _load_assets(model, assets)
    if optimizer_values is not None:
        optimizer_state.from_keras(model.optimizer, optimizer_values, source)
    return model


def load_weights_into(model, filepath, skip_mismatch=False) -> None:
    source = str(filepath)
    with _open(filepath) as archive, _weights_file(archive, source) as file:
        assignments = h5_weights.plan(file, model, skip_mismatch=skip_mismatch, source=source)
    h5_weights.apply(assignments)
