"""Folders of numbered checkpoints, as `OrbaxCheckpoint` writes them and `load_model` /
`load_weights` read them.

A checkpoint directory holds one folder per saved step, named by the step's number:
`<directory>/<step>/model.keras` (the whole model: config, weights and optimizer state) or,
saved with `save_weights_only`, `<directory>/<step>/model.weights.h5`. Each step folder is
written atomically (`folder_archive.write`: built under a temporary name, fsync'd, renamed into
place), so a crash mid-save leaves the earlier steps and never a half-written one; the next
save removes the temporary of a write killed midway once its writer is gone (`atomic`).
Loading the directory reads its highest step. Entries that are links, or folders without one of
the two files, are not steps: a load never follows a link out of the directory.
"""

from __future__ import annotations

import os
import re
import shutil
import stat

from lamina.saving import atomic, folder_archive
from lamina.saving.errors import FileFormatError, MissingFileError

MODEL_FILE = "model.keras"
WEIGHTS_FILE = "model.weights.h5"
_FILES = (MODEL_FILE, WEIGHTS_FILE)
_STEP_TEMPORARY = re.compile(r"\.(\d+)\.lamina-")  # `atomic`'s name for a step's temporary


def write_step(directory, step: int, filename: str, data: bytes) -> str:
    """Write `data` as `<directory>/<step>/<filename>` atomically; returns the step folder.

    Example:
        >>> write_step("checkpoints", 3, MODEL_FILE, model_bytes)  # doctest: +SKIP
        'checkpoints/3'
    """
    directory = os.fspath(directory)
    _remove_stale_steps(directory)
    folder = os.path.join(directory, str(int(step)))
    folder_archive.write(folder, [(filename, data)], overwrite=True)
    return folder


def _remove_stale_steps(directory: str) -> None:
    """The temporaries of step writes killed midway, whatever their step (each save writes a
    new step, so the write of the same step, which would clean them, never comes)."""
    try:
        names = {entry.name for entry in os.scandir(directory)}
    except (FileNotFoundError, NotADirectoryError):
        return
    for step in {found.group(1) for found in map(_STEP_TEMPORARY.match, names) if found}:
        atomic.remove_stale_temporaries(os.path.join(directory, step))


def steps(directory) -> list[int]:
    """The saved steps of a checkpoint directory, lowest first.

    Example:
        >>> steps("checkpoints")  # doctest: +SKIP
        [0, 1, 2]
    """
    directory = os.fspath(directory)
    found = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        if entry.name.isdigit() and entry.is_dir(follow_symlinks=False) and _saved_file(entry.path):
            found.append(int(entry.name))
    return sorted(found)


def is_checkpoint_directory(path) -> bool:
    """Whether `path` is a checkpoint directory (with at least one step) or one step's folder."""
    path = os.fspath(path)
    if os.path.islink(path) or not os.path.isdir(path) or folder_archive.is_model_folder(path):
        return False  # an unzipped `.keras` folder holds `model.weights.h5` too
    return _saved_file(path) is not None or bool(steps(path))


def resolve(path) -> str:
    """The file to load from a checkpoint directory (its highest step) or a step's folder.

    Example:
        >>> resolve("checkpoints")  # doctest: +SKIP
        'checkpoints/2/model.keras'
    """
    path = os.fspath(path)
    own = _saved_file(path)
    if own is not None:
        return own
    saved = steps(path)
    if not saved:
        raise MissingFileError(
            f"{path!r} holds no checkpoint: expected step folders named by number, each with "
            f"{MODEL_FILE!r} or {WEIGHTS_FILE!r}, as OrbaxCheckpoint writes them."
        )
    return _saved_file(os.path.join(path, str(saved[-1])))


def prune(directory, keep: int) -> list[int]:
    """Remove all but the `keep` highest steps; returns the removed steps."""
    removed = steps(directory)[:-keep] if keep > 0 else steps(directory)
    for step in removed:
        shutil.rmtree(os.path.join(os.fspath(directory), str(step)), ignore_errors=True)
    return removed


def _saved_file(folder: str) -> str | None:
    """The one checkpoint file of a step folder, None if it holds neither; a link is refused."""
    for name in _FILES:
        candidate = os.path.join(folder, name)
        try:
            mode = os.lstat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not stat.S_ISREG(mode):
            raise FileFormatError(
                f"{candidate} is not a regular file (a link or device); a checkpoint holds only "
                "regular files, and a link could point outside it. Refusing to load it."
            )
        return candidate
    return None
