"""Finding a data set's standard archive on disk, and reading pickles safely.

lamina never downloads: a loader looks for Keras's file name in the places Keras and lamina keep
data sets, and, when it is absent, says which file to put where.
"""

from __future__ import annotations

import os
import pickle

# The downloads Keras's loaders fetch, for the error message.
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def cache_folders() -> list[str]:
    """Where data sets are looked for, in order: $LAMINA_HOME/datasets, $KERAS_HOME/datasets,
    ~/.lamina/datasets, ~/.keras/datasets."""
    folders = []
    for variable in ("LAMINA_HOME", "KERAS_HOME"):
        if os.environ.get(variable):
            folders.append(os.path.join(os.environ[variable], "datasets"))
    home = os.path.expanduser("~")
    folders += [os.path.join(home, ".lamina", "datasets"), os.path.join(home, ".keras", "datasets")]
    return folders


def locate(dataset: str, candidates, path=None, url=None) -> str:
    """The first existing file or folder among `path` and `candidates` in the cache folders.

    Args:
        dataset: the data set's name, for the message.
        candidates: file or folder names (relative to a cache folder) that hold the data.
        path: the user's `path=`: an existing path is used as it is; a relative name is also
            looked up in the cache folders.
        url: where the standard file can be downloaded.
    """
    names = list(candidates)
    if path is not None:
        path = os.path.expanduser(os.fspath(path))
        if os.path.exists(path):
            return path
        if os.path.isabs(path):
            raise FileNotFoundError(f"{dataset}: {path!r} does not exist.")
        names = [path, *names]
    for folder in cache_folders():
        for name in names:
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate):
                return candidate
    where = os.path.join(cache_folders()[-1], names[0])
    source = f" (download it from {url})" if url else ""
    raise FileNotFoundError(
        f"{dataset}: no local copy found and lamina does not download. Place {names[0]!r}"
        f"{source} at {where!r}, or pass path= to load_data(). Looked for {names} in "
        f"{cache_folders()}."
    )


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits arrays, lists, dicts, numbers and strings: the globals a NumPy array needs to be
    rebuilt, and nothing else (a pickle can otherwise run any code while it loads)."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how protocol-2 pickles from Python 3 spell bytes
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name} from a data set pickle: only arrays, lists, dicts, "
            "numbers and strings are allowed."
        )


def safe_unpickle(handle):
    """Load a data set pickle (Python 2's CIFAR batches included) without running code."""
    return _RestrictedUnpickler(handle, encoding="bytes").load()
