"""Atomic file writes: a crash (even SIGKILL) mid-save leaves the previous file intact.

The new content goes to a temporary file in the target's folder (same file system, so the final
rename is atomic), is flushed and fsync'd, then renamed over the target; the folder is fsync'd so
the rename itself survives a power loss.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _final_mode(target: str) -> int:
    """The permissions the file would have had from a plain open(): those of the file it replaces,
    else 0o666 less the umask. (mkstemp creates 0o600 files, which would make every saved model
    private to its owner.)"""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Linux reports it without changing it; os.umask() can only be read by setting it, which
    # would briefly change it for every thread of the process.
    with contextlib.suppress(OSError, ValueError, StopIteration), open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


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
        with contextlib.suppress(OSError):  # file systems without permissions
            os.chmod(temporary, _final_mode(target))
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
