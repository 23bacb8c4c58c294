"""Reading a `.keras` zip without trusting it: every member's declared sizes, name and type are
checked against the archive and `limits` before a byte of it is inflated.

What is refused, and why:
- more members than `max_entries` (counted from the end record, before the central directory is
  parsed into objects);
- duplicate names (two tools may pick different copies), absolute or `..` names, symlinks and
  other non-regular entries (a `.keras` file from Keras or lamina has none of them);
- a member whose stored bytes would lie past the end of the archive (its declared sizes lie);
- a member declaring more than `max_member_bytes`, or a compressed member declaring more than
  `max_compression_ratio` times what it stores (a zip bomb), even if it is never read;
- encrypted members and unknown compression methods.
The member's CRC is checked as it is read, so a corrupted member is caught when used; members
that are never used are never inflated.
"""

from __future__ import annotations

import collections
import os
import stat
import struct
import zipfile

from lamina.saving import limits
from lamina.saving.errors import FileFormatError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_RATIO_FLOOR = 2**20  # below this a member's ratio is not judged (tiny JSON compresses well)
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def declared_member_count(handle) -> int | None:
    """The member count the archive's end record declares (zip64 too), None if it has none."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_start = max(0, size - (22 + 65535))
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) - at < 22:
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    locator = at - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
        offset = struct.unpack_from("<Q", tail, locator + 8)[0]
        if offset + 56 <= size:
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] == _ZIP64_END_RECORD:
                count = struct.unpack_from("<Q", record, 32)[0]
    return count


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or "\x00" in name
    )


def _entry_kind(info: zipfile.ZipInfo) -> str | None:
    """'symlink' / 'fifo' / ... for a non-regular unix entry, None for a file or folder."""
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    if info.create_system != 3 or not file_type or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, kind in [
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
    ]:
        if test(mode):
            return kind
    return "device or special file"


def _check_member(info: zipfile.ZipInfo, archive_size: int, source: str, current) -> None:
    name = info.filename
    if _unsafe_name(name):
        raise FileFormatError(
            f"{source} holds a member named {name!r}: an absolute path or one that climbs out "
            "with '..'. A .keras file names its members 'config.json', 'model.weights.h5', ...; "
            "this archive was crafted. Refusing to load it."
        )
    kind = _entry_kind(info)
    if kind is not None:
        raise FileFormatError(
            f"{source}: member '{name}' is a {kind} entry; a .keras file holds only regular "
            "files. Refusing to load it."
        )
    if info.flag_bits & 0x1:
        raise FileFormatError(
            f"{source}: member '{name}' is encrypted; lamina reads only unencrypted .keras files."
        )
    if info.compress_type not in _METHODS:
        raise FileFormatError(
            f"{source}: member '{name}' uses zip compression method {info.compress_type}, which "
            "lamina cannot read (expected stored or deflated, as Keras writes)."
        )
    if info.header_offset + info.compress_size > archive_size:
        raise FileFormatError(
            f"{source}: member '{name}' declares {info.compress_size} stored bytes at offset "
            f"{info.header_offset}, past the end of the {archive_size}-byte archive (truncated, "
            "or its sizes are forged)."
        )
    if info.file_size > current.max_member_bytes:
        raise FileFormatError(
            f"{source}: member '{name}' declares {info.file_size} bytes uncompressed; archive "
            f"members are limited to {current.max_member_bytes} bytes. "
            + limits.raise_hint(max_member_bytes=info.file_size)
        )
    stored = max(info.compress_size, 1)
    if info.file_size > _RATIO_FLOOR and info.file_size > current.max_compression_ratio * stored:
        ratio = info.file_size / stored
        raise FileFormatError(
            f"{source}: member '{name}' declares {info.file_size} bytes uncompressed from "
            f"{info.compress_size} stored (ratio {ratio:.0f}:1, a zip bomb?); the ratio is "
            f"limited to {current.max_compression_ratio:g}:1. "
            + limits.raise_hint(max_compression_ratio=int(ratio) + 1)
        )


def open_archive(path: str) -> zipfile.ZipFile:
    """Open the `.keras` file at `path` after checking its structure (see the module notes)."""
    current = limits.get_load_limits()
    with open(path, "rb") as handle:
        head = handle.read(8)
        if head.startswith(_HDF5_SIGNATURE):
            raise FileFormatError(
                f"{path} is an HDF5 file, not a .keras zip archive. Hint: a Keras legacy model "
                "file should end in '.h5' (rename it), a weights file in '.weights.h5'."
            )
        archive_size = os.fstat(handle.fileno()).st_size
        count = declared_member_count(handle)
    if count is not None and count > current.max_entries:
        raise FileFormatError(
            f"{path} declares {count} archive members; the limit is {current.max_entries} (a "
            ".keras file has 3 or 4). " + limits.raise_hint(max_entries=count)
        )
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, struct.error) as error:
        raise FileFormatError(
            f"{path} is not a readable .keras file (expected a zip archive; truncated, "
            f"corrupted or another file type: {error})."
        ) from None
    try:
        infos = archive.infolist()
        if len(infos) > current.max_entries:
            raise FileFormatError(
                f"{path} holds {len(infos)} archive members; the limit is {current.max_entries}. "
                + limits.raise_hint(max_entries=len(infos))
            )
        counts = collections.Counter(info.filename for info in infos)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise FileFormatError(
                f"{path} holds several members named {duplicates}; which copy is meant is "
                "ambiguous (different zip readers pick different ones). Refusing to load it."
            )
        for info in infos:
            _check_member(info, archive_size, path, current)
    except BaseException:
        archive.close()
        raise
    return archive


def read_member(archive: zipfile.ZipFile, name: str, source: str) -> bytes:
    """The bytes of member `name` (already checked by `open_archive`), its CRC verified."""
    try:
        return archive.read(name)
    except KeyError:
        raise FileFormatError(
            f"{source} is not a complete .keras file: it lacks '{name}'."
        ) from None
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError) as error:
        raise FileFormatError(
            f"{source} is corrupted: the member '{name}' cannot be read ({error})."
        ) from None
