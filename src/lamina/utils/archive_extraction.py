"""Extracting a downloaded tar or zip archive without trusting it.

`get_file(..., extract=True)` unpacks whatever the URL served, so every member is checked before a
byte is written, and the whole archive is refused (nothing extracted) when one member is unsafe:
- an absolute name, a drive letter, a `..` component or a NUL byte (path traversal);
- a symbolic or hard link whose target is absolute or leads outside the extraction folder, and
  any member or link target whose path passes through a link the archive itself declared (the
  two-step escapes `d -> .` then `d/x -> ..`, or `r -> .` then `x -> r/..`);
- device files, FIFOs and other special entries; symlink entries in a zip;
- more members than `lamina.saving`'s `max_entries` limit, a member declaring more than
  `max_member_bytes`, or a zip member whose compression ratio exceeds `max_compression_ratio`
  (a zip bomb), the limits `.keras` files are read under (`lamina.saving.set_load_limits`).
Where Python offers it (3.10.12+), tar extraction also runs through `tarfile`'s "data" filter.
Keras skips unsafe members with a warning; lamina refuses the archive, since an archive that holds
one crafted member was crafted.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile

from lamina.saving import limits

_RATIO_FLOOR = 2**20  # members smaller than this are not judged by their compression ratio


class UnsafeArchiveError(ValueError):
    """An archive holding a member that would be written outside its folder, or too large.

    Examples:
        >>> issubclass(UnsafeArchiveError, ValueError)
        True
    """


def _refuse(source, member, why):
    return UnsafeArchiveError(
        f"Refusing to extract {source!r}: member {member!r} {why}. Nothing was extracted. "
        "Hint: only extract archives you trust; check the file's origin and pass file_hash= "
        "to get_file."
    )


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or "\x00" in name
    )


def _inside(relative: str) -> bool:
    normal = posixpath.normpath(relative)
    return not (posixpath.isabs(normal) or normal == ".." or normal.startswith("../"))


def _passes_through(name: str, links: set) -> bool:
    """Whether a folder on `name`'s path is one of `links` (checked before `..` is resolved)."""
    parts = name.replace("\\", "/").split("/")
    prefixes = (posixpath.normpath("/".join(parts[:end])) for end in range(1, len(parts)))
    return any(prefix in links for prefix in prefixes)


def _check_count(source, count):
    current = limits.get_load_limits()
    if count > current.max_entries:
        raise UnsafeArchiveError(
            f"Refusing to extract {source!r}: it holds {count} members; archives are limited to "
            f"{current.max_entries}. " + limits.raise_hint(max_entries=count)
        )


def _check_size(source, name, size, stored=None):
    current = limits.get_load_limits()
    if size > current.max_member_bytes:
        raise _refuse(
            source,
            name,
            f"declares {size} bytes, over the limit of {current.max_member_bytes} "
            "(lamina.saving.set_load_limits(max_member_bytes=...) raises it)",
        )
    ratio_limit = current.max_compression_ratio * max(stored or 0, 1)
    if stored is not None and size > _RATIO_FLOOR and size > ratio_limit:
        raise _refuse(
            source,
            name,
            f"declares {size} bytes from {stored} stored, a compression ratio over "
            f"{current.max_compression_ratio:g}:1 (a zip bomb?)",
        )


def check_tar_members(source: str, members) -> None:
    """Raise `UnsafeArchiveError` unless every tar member stays inside the extraction folder."""
    _check_count(source, len(members))
    links = set()
    for member in members:
        name = member.name
        if _unsafe_name(name):
            raise _refuse(source, name, "is an absolute path or climbs out with '..'")
        if _passes_through(name, links):
            raise _refuse(source, name, "lies under a link declared by the archive")
        if member.issym() or member.islnk():
            target = member.linkname
            base = posixpath.dirname(name) if member.issym() else ""
            absolute = target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":")
            joined = posixpath.join(base, target)
            if absolute or "\x00" in target or not _inside(joined):
                raise _refuse(source, name, f"links to {target!r}, outside the archive's folder")
            if _passes_through(joined + "/.", links):
                raise _refuse(source, name, f"links to {target!r} through another link")
            links.add(posixpath.normpath(name))
        elif not (member.isfile() or member.isdir()):
            raise _refuse(source, name, "is a device, FIFO or other special file")
        else:
            _check_size(source, name, member.size)


def check_zip_members(source: str, infos) -> None:
    """Raise `UnsafeArchiveError` unless every zip member is a plain file or folder inside it."""
    _check_count(source, len(infos))
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise _refuse(source, name, "is an absolute path or climbs out with '..'")
        mode = info.external_attr >> 16
        if (
            info.create_system == 3
            and stat.S_IFMT(mode)
            and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
        ):
            raise _refuse(source, name, "is a symbolic link or special file")
        _check_size(source, name, info.file_size, info.compress_size)


def _extract_tar(path, destination):
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        check_tar_members(path, members)
        if hasattr(tarfile, "data_filter"):
            archive.extractall(destination, members=members, filter="data")
        else:  # Python < 3.10.12: the checks above are the only guard
            archive.extractall(destination, members=members)


def _extract_zip(path, destination):
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        check_zip_members(path, infos)
        archive.extractall(destination, members=infos)


def extract_archive(path, destination, archive_format="auto") -> bool:
    """Extract the tar (plain, gzip, bz2, xz) or zip archive at `path` into `destination`.

    The members are checked first (see the module docstring); the archive is unpacked into a
    temporary sibling folder that replaces `destination` only once everything is written, so a
    failed or refused extraction leaves no half-filled folder behind.

    Args:
        path: the archive file.
        destination: the folder to create (replaced if it exists).
        archive_format: `"auto"` (tar, then zip), `"tar"`, `"zip"`, a list of those, or None.

    Returns:
        True if the file was an archive of an accepted format and was extracted, else False.

    Examples:
        >>> import io, os, tarfile, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     archive = os.path.join(folder, "a.tar")
        ...     with tarfile.open(archive, "w") as tar:
        ...         info = tarfile.TarInfo("data/hello.txt")
        ...         info.size = 2
        ...         tar.addfile(info, io.BytesIO(b"hi"))
        ...     extract_archive(archive, os.path.join(folder, "out"))
        ...     open(os.path.join(folder, "out", "data", "hello.txt")).read()
        True
        'hi'
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    openers = {"tar": (tarfile.is_tarfile, _extract_tar), "zip": (zipfile.is_zipfile, _extract_zip)}
    for kind in formats:
        if kind not in openers:
            raise ValueError(
                f"archive_format must be 'auto', 'tar', 'zip', a list of those, or None; "
                f"received {kind!r}."
            )
        matches, extract = openers[kind]
        if not matches(path):
            continue
        destination = os.fspath(destination)
        staging = f"{destination}.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            extract(path, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if os.path.isdir(destination) and not os.path.islink(destination):
            shutil.rmtree(destination)
        elif os.path.lexists(destination):
            os.remove(destination)
        os.replace(staging, destination)
        return True
    return False
