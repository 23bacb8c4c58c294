"""Atomic file writes: a crash (even SIGKILL) mid-save leaves the previous file intact.

The new content goes to a temporary file in the target's folder (same file system, so the final
rename is atomic), is flushed and fsync'd, then renamed over the target; the folder is fsync'd so
the rename itself survives a power loss.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _fsync_folder(folder: str) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms (Windows) cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(target, overwrite: bool = True):
    """Yield a temporary path next to `target`; on success it replaces `target` atomically.

    Example:
        >>> with atomic_path("model.weights.h5") as temporary:   # doctest: +SKIP
        ...     write_h5(temporary)
    """
    target = os.path.abspath(os.fspath(target))
    if not overwrite and os.path.exists(target):
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it.")
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
    )
    os.close(descriptor)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            written.flush()
            os.fsync(written.fileno())
        os.replace(temporary, target)
        _fsync_folder(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def write_bytes(target, data: bytes, overwrite: bool = True) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target, overwrite=overwrite) as temporary, open(temporary, "wb") as handle:
        handle.write(data)


def write_text(target, text: str, overwrite: bool = True) -> None:
    write_bytes(target, text.encode("utf-8"), overwrite=overwrite)
