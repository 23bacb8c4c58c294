"""Keras 3's unzipped model folder (`model.save(path, zipped=False)`): the members of a `.keras`
archive as files of a folder, written atomically and read without trusting it.

Writing builds the folder beside the target under a temporary name, fsyncs every file and the
folder, then renames it into place (an existing folder is renamed aside first and removed once
the new one is in place). Reading lists the folder without following links: a symlink or other
non-regular entry is refused, as a `.keras` zip's are, so a load never reads outside the folder;
members are held to the same `limits` (count, size) as an archive's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile

from lamina.saving import atomic, limits
from lamina.saving.errors import FileFormatError


class _Member:
    def __init__(self, filename: str):
        self.filename = filename

    def is_dir(self) -> bool:
        return False


class FolderArchive:
    """A read-only, zip-like view (`namelist`, `infolist`, `read`) of an unzipped model folder.

    Args:
        path: the folder.

    Example:
    >>> import os, tempfile
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model.save(os.path.join(folder, "unzipped"), zipped=False)
    ...     with FolderArchive(os.path.join(folder, "unzipped")) as archive:
    ...         print(sorted(archive.namelist()))
    ['config.json', 'metadata.json', 'model.weights.h5']
    """

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        current = limits.get_load_limits()
        self._names = []
        for root, folders, files in os.walk(self.path, followlinks=False):
            for name in sorted(folders + files):
                full = os.path.join(root, name)
                relative = os.path.relpath(full, self.path).replace(os.sep, "/")
                mode = os.lstat(full).st_mode
                if stat.S_ISDIR(mode):
                    continue
                if not stat.S_ISREG(mode):
                    kind = "symbolic link" if stat.S_ISLNK(mode) else "non-regular"
                    raise FileFormatError(
                        f"{self.path}: '{relative}' is a {kind} entry; a saved model folder holds "
                        "only regular files (a link could point outside it). Refusing to load it."
                    )
                size = os.lstat(full).st_size
                if size > current.max_member_bytes:
                    raise FileFormatError(
                        f"{self.path}: '{relative}' holds {size} bytes; members are limited to "
                        f"{current.max_member_bytes} bytes. "
                        + limits.raise_hint(max_member_bytes=size)
                    )
                self._names.append(relative)
                if len(self._names) > current.max_entries:
                    raise FileFormatError(
                        f"{self.path} holds more than {current.max_entries} files. "
                        + limits.raise_hint(max_entries=len(self._names))
                    )

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def namelist(self) -> list[str]:
        return list(self._names)

    def infolist(self) -> list[_Member]:
        return [_Member(name) for name in self._names]

    def read(self, name: str) -> bytes:
        if name not in self._names:
            raise KeyError(name)
        full = os.path.join(self.path, *name.split("/"))
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(full, flags)  # a link swapped in since the listing is refused
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FileFormatError(f"{self.path}: '{name}' is no longer a regular file.")
            return handle.read()


def is_model_folder(path) -> bool:
    """Whether `path` is a folder (not a link to one) holding a saved model's `config.json`."""
    path = os.fspath(path)
    return (
        os.path.isdir(path)
        and not os.path.islink(path)
        and os.path.isfile(os.path.join(path, "config.json"))
    )


def write(target, members: list[tuple[str, bytes]], overwrite: bool = True) -> None:
    """Write `members` (`(name, bytes)`, names with "/") as the folder `target`, atomically."""
    target = os.path.abspath(os.fspath(target))
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it.")
        if os.path.islink(target) or not os.path.isdir(target):
            raise FileExistsError(
                f"{target} exists and is not a folder; model.save(..., zipped=False) writes a "
                "folder. Hint: pick another path, or remove that file first."
            )
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    atomic.remove_stale_temporaries(target)  # the folders of earlier writes killed midway
    # Named as `atomic` names a file's temporary (with the writer's pid), so that a leftover is
    # known as this target's and its writer's liveness can be checked.
    temporary = tempfile.mkdtemp(
        dir=parent, prefix=f".{os.path.basename(target)}.lamina-{os.getpid()}-", suffix=".tmp"
    )
    aside = None
    try:
        for name, data in members:
            path = os.path.join(temporary, *name.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for root, _, _ in os.walk(temporary):
            _fsync_folder(root)
        if os.path.lexists(target):
            aside = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(target)}.old-")
            os.rmdir(aside)
            os.rename(target, aside)
        os.rename(temporary, target)
        _fsync_folder(parent)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if aside is not None and not os.path.lexists(target):
            os.rename(aside, target)  # the old folder back
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _fsync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):  # platforms that cannot open a folder
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
