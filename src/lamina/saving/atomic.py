"""Atomic file writes: a crash (even SIGKILL) mid-save leaves the previous file intact.

The new content goes to a temporary file in the target's folder (same file system, so the final
rename is atomic), is flushed and fsync'd, then renamed over the target; the folder is fsync'd so
the rename itself survives a power loss.

A writer killed before the rename (SIGKILL, power loss) leaves its temporary behind. Each later
save of the same target removes such leftovers (see `remove_stale_temporaries`). The temporary is
named `.<target name>.lamina-<pid>-<random>.tmp`, so a leftover is recognised as belonging to that
exact target and its writer's liveness can be checked.

Two processes saving the same target at once each write their own temporary and rename it; the
last rename wins and both leave a complete file. Neither removes the other's temporary while it is
being written: a temporary is removed only once its writer is known to be gone (its pid no longer
exists on this machine) and it has not been modified for `STALE_SECONDS`, or, whatever its pid
says (another machine sharing the folder, a reused pid), once it has not been modified for
`ABANDONED_SECONDS`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time

from lamina.engine import errors

# A temporary whose writer has exited is removed after this long without modification; one
# whose writer cannot be checked, after the longer delay.
STALE_SECONDS = 30.0
ABANDONED_SECONDS = 3600.0


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


def _temporary_pattern(basename: str) -> re.Pattern:
    # The part after the target's name holds exactly one dot, so no other target's temporaries
    # can match. Leftovers of earlier lamina versions (`.<name>.<8 random>.tmp`) match too,
    # without a pid.
    return re.compile(
        rf"\.{re.escape(basename)}\.(?:lamina-(?P<pid>\d+)-[a-z0-9_]{{8}}|[a-z0-9_]{{8}})\.tmp"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (another user's), or cannot be told: treat as alive
    return True


def remove_stale_temporaries(target, now: float | None = None) -> list[str]:
    """Remove the leftover temporaries of earlier, killed saves of `target`; returns their paths.

    Only files named as this module names `target`'s temporaries are considered, and only
    those whose writer is gone (see the module notes); errors are ignored (another process may
    be removing the same file).

    Examples:
        >>> remove_stale_temporaries("checkpoints/model.keras")   # doctest: +SKIP
        ['checkpoints/.model.keras.lamina-4242-k3j9x0q1.tmp']
    """
    target = os.path.abspath(os.fspath(target))
    folder, basename = os.path.split(target)
    pattern = _temporary_pattern(basename)
    now = time.time() if now is None else now
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if match is None:
                continue
            with contextlib.suppress(OSError):
                # A folder: the temporary of a folder written whole (`folder_archive.write`:
                # an unzipped model, an OrbaxCheckpoint step).
                folder = entry.is_dir(follow_symlinks=False)
                if not (folder or entry.is_file(follow_symlinks=False)):
                    continue
                age = now - entry.stat(follow_symlinks=False).st_mtime
                pid = match.group("pid")
                writer_gone = pid is not None and int(pid) != os.getpid() and not _alive(int(pid))
                if (writer_gone and age > STALE_SECONDS) or age > ABANDONED_SECONDS:
                    if folder:
                        shutil.rmtree(entry.path)
                    else:
                        os.remove(entry.path)
                    removed.append(entry.path)
    return removed


@contextlib.contextmanager
def atomic_path(target, overwrite: bool = True):
    """Yield a temporary path next to `target`; on success it replaces `target` atomically.

    Examples:
        >>> with atomic_path("model.weights.h5") as temporary:   # doctest: +SKIP
        ...     write_h5(temporary)
    """
    target = os.path.abspath(os.fspath(target))
    if os.path.isdir(target):  # refused before anything is written
        raise IsADirectoryError(
            errors.message(
                "filepath",
                "a file path",
                f"{target!r}, which is a directory",
                f"save into it with a file name, e.g. {os.path.join(target, 'model.keras')!r}.",
            )
        )
    if not overwrite and os.path.exists(target):
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it.")
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(target)
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(target)}.lamina-{os.getpid()}-", suffix=".tmp"
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
