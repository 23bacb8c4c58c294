"""`get_file`: Keras's download cache, working offline.

Files are cached where Keras caches them, `$KERAS_HOME/<cache_subdir>` or
`~/.keras/<cache_subdir>` (`cache_subdir` defaults to "datasets"), so a file Keras downloaded, or
one put there by hand on an offline machine, is found without any network access. `origin` may be
an http(s) URL (fetched with urllib; each blocking read times out after `FETCH_TIMEOUT_SECONDS`),
a `file://` URL or a plain local path (both copied into the cache). A download is written to a
temporary file and moved into place only when complete and matching `file_hash`, so the cache
never holds a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings

from lamina.utils.archive_extraction import extract_archive
from lamina.utils.progbar import Progbar

FETCH_TIMEOUT_SECONDS = 60.0
_CHUNK_BYTES = 1 << 16
_ALGORITHMS = ("auto", "md5", "sha256")


def cache_home() -> str:
    """Keras's home folder: `$KERAS_HOME` if set, else `~/.keras` (`/tmp/.keras` if the home
    folder is not writable), read at each call.

    Examples:
        >>> os.path.basename(cache_home()) in (".keras", os.path.basename(
        ...     os.environ.get("KERAS_HOME", "")))
        True
    """
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    if not os.access(home, os.W_OK):
        home = tempfile.gettempdir()
    return os.path.join(home, ".keras")


def _hasher(algorithm, file_hash):
    if algorithm == "sha256" or (algorithm == "auto" and len(str(file_hash)) == 64):
        return hashlib.sha256(), "sha256"
    return hashlib.md5(), "md5"


def hash_file(path, algorithm="sha256", chunk_size=_CHUNK_BYTES) -> str:
    """The hex digest of the file at `path` (`algorithm`: "sha256" or "md5").

    Examples:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as handle:
        ...     _ = handle.write(b"abc")
        >>> hash_file(handle.name, "md5")
        '900150983cd24fb0d6963f7d28e17f72'
        >>> os.remove(handle.name)
    """
    hasher, _ = _hasher(algorithm, None)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(path, file_hash, algorithm="auto", chunk_size=_CHUNK_BYTES) -> bool:
    """Whether the file at `path` has the md5 or sha256 digest `file_hash`.

    "auto" takes a 64-character hash for sha256 and any other for md5, as Keras does.

    Examples:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as handle:
        ...     _ = handle.write(b"abc")
        >>> validate_file(handle.name, "900150983cd24fb0d6963f7d28e17f72")
        True
        >>> os.remove(handle.name)
    """
    return _digest(path, file_hash, algorithm, chunk_size)[0] == str(file_hash).lower()


def _digest(path, file_hash, algorithm, chunk_size=_CHUNK_BYTES):
    hasher, name = _hasher(algorithm, file_hash)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest(), name


def _as_url(origin: str) -> str:
    scheme = urllib.parse.urlsplit(origin).scheme
    if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        return origin
    return "file://" + urllib.request.pathname2url(os.path.abspath(os.path.expanduser(origin)))


def _fetch(origin, target):
    """Copy what `origin` serves to `target` through a temporary file; raise OSError on failure."""
    folder = os.path.dirname(target)
    handle, partial = tempfile.mkstemp(
        prefix=os.path.basename(target) + ".", suffix=".part", dir=folder
    )
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(_as_url(origin), timeout=FETCH_TIMEOUT_SECONDS) as source,
        ):
            length = source.headers.get("Content-Length") if source.headers else None
            total = int(length) if length and length.isdigit() else None
            bar = Progbar(total, unit_name="byte") if total and total > _CHUNK_BYTES else None
            done = 0
            for chunk in iter(lambda: source.read(_CHUNK_BYTES), b""):
                out.write(chunk)
                done += len(chunk)
                if bar is not None:
                    bar.update(min(done, total))
        return partial
    except BaseException:
        os.remove(partial)
        raise


def _reason(error) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return f"{type(error).__name__}: {error}"


def _fetch_error(origin, target, error, stale, force_download, file_hash, hash_algorithm):
    """The OSError for a failed fetch: the URL, why, and what to do on an offline machine."""
    if force_download and os.path.exists(target) and not stale:
        advice = (
            f"force_download=True, so the cached copy at {target!r} was not used; call "
            "without force_download to use it."
        )
    else:
        cached = f" ({stale})" if stale else ""
        expectation = ""
        if file_hash is not None:
            expectation = f" with {_hasher(hash_algorithm, file_hash)[1]} hash {file_hash}"
        advice = (
            f"No usable cached copy{cached} at {target!r}. If this machine is offline, copy the "
            f"file there by hand{expectation}; get_file then uses it without any network access."
        )
    return OSError(f"get_file could not fetch {origin!r}: {_reason(error)}. {advice}")


def _cache_folder(cache_dir, cache_subdir):
    """`cache_dir/cache_subdir`, created; a read-only one falls back to the temporary folder."""
    root = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else cache_home())
    folder = os.path.join(root, os.fspath(cache_subdir))
    try:
        os.makedirs(folder, exist_ok=True)
        writable = os.access(folder, os.W_OK)
    except OSError:
        writable = False
    if not writable:  # as Keras does
        folder = os.path.join(tempfile.gettempdir(), ".keras", os.fspath(cache_subdir))
        os.makedirs(folder, exist_ok=True)
    return folder


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Fetches a file into the cache unless it is already there, and returns its path.

    The file lands in `cache_dir/cache_subdir/fname`; `cache_dir` defaults to `$KERAS_HOME` or
    `~/.keras`, Keras's own cache, so the two share downloads. A cached file is used without any
    network access (checked against `file_hash` when given). When the fetch fails and nothing is
    cached, the error names the URL, the reason and the exact path to put the file at by hand,
    which is how to use `get_file` on an offline machine.

    Args:
        fname: the file's name in the cache (default: the last part of `origin`'s path). With
            `extract=True`, a name without a dot names the extraction folder.
        origin: an http(s) URL, a `file://` URL or a local path.
        untar: deprecated (use `extract`): extract a tar archive.
        md5_hash: deprecated (use `file_hash`): the file's md5 digest.
        file_hash: the expected sha256 or md5 hex digest. A cached file that does not match is
            fetched again; a fetched file that does not match raises `ValueError`.
        cache_subdir: the sub-folder of `cache_dir` (an absolute path is used as it is).
        hash_algorithm: "auto" (sha256 for a 64-character hash, else md5), "sha256" or "md5".
        extract: extract the tar / tar.gz / tar.bz2 / zip archive, safely (no member may be
            written outside the extraction folder), and return the folder's path. An archive
            already extracted is extracted again only when it was fetched again.
        archive_format: "auto" (tar then zip), "tar", "zip", a list of those, or None.
        cache_dir: the cache's root folder (default `$KERAS_HOME` or `~/.keras`).
        force_download: fetch even if the file is cached.

    Returns:
        The path of the cached file, or of the extraction folder with `extract=True`.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     source = os.path.join(folder, "notes.txt")
        ...     _ = open(source, "w").write("hello")
        ...     path = get_file(origin=source, cache_dir=os.path.join(folder, "cache"))
        ...     print(os.path.relpath(path, folder), open(path).read())
        Downloading data from .../notes.txt
        cache/datasets/notes.txt hello
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if hash_algorithm not in _ALGORITHMS:
        raise ValueError(
            f"get_file expects hash_algorithm 'auto', 'md5' or 'sha256'; received "
            f"{hash_algorithm!r}."
        )
    origin = os.fspath(origin)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    folder = _cache_folder(cache_dir, cache_subdir)

    given_name = os.fspath(fname) if fname else None
    name = given_name or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(
            f"Can't parse the file name from the origin provided: '{origin}'. "
            "Please specify the `fname` argument."
        )
    if os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's parent "
            f"directory, use the `cache_dir` argument. Received: fname={name}"
        )
    extraction_dir = None
    if extract or untar:
        if given_name and "." in name:
            target = os.path.join(folder, name)
            extraction_dir = os.path.join(folder, name[: name.find(".")] + "_extracted")
        else:
            target = os.path.join(folder, name + "_archive")
            extraction_dir = os.path.join(folder, name)
    else:
        target = os.path.join(folder, name)

    stale = None
    if os.path.exists(target) and not force_download:
        if file_hash is None:
            fetch = False
        else:
            actual, algorithm = _digest(target, file_hash, hash_algorithm)
            fetch = actual != str(file_hash).lower()
            if fetch:
                stale = f"the cached copy's {algorithm} hash {actual} does not match {file_hash}"
                print(
                    "A local file was found, but it seems to be incomplete or outdated because "
                    f"the {algorithm} file hash does not match the original value of {file_hash} "
                    "so we will re-download the data."
                )
    else:
        fetch = True

    if fetch:
        print(f"Downloading data from {origin}")
        try:
            partial = _fetch(origin, target)
        except (OSError, ValueError) as error:
            raise _fetch_error(
                origin, target, error, stale, force_download, file_hash, hash_algorithm
            ) from error
        if file_hash is not None:
            actual, algorithm = _digest(partial, file_hash, hash_algorithm)
            if actual != str(file_hash).lower():
                os.remove(partial)
                raise ValueError(
                    f"Incomplete or corrupted file detected. The {algorithm} file hash does not "
                    f"match the provided value of {file_hash}: {origin!r} served a file whose "
                    f"{algorithm} is {actual}. It was not cached."
                )
        os.replace(partial, target)

    if extraction_dir is None:
        return target
    if fetch or force_download or not os.path.isdir(extraction_dir):
        formats = "tar" if untar else archive_format
        if not extract_archive(target, extraction_dir, formats):
            warnings.warn(
                f"Could not extract archive {target!r}: it is not a {formats} archive.",
                UserWarning,
                stacklevel=2,
            )
    return extraction_dir


__all__ = ["get_file", "hash_file", "validate_file"]
