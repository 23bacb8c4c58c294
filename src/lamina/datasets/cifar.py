"""Reading CIFAR batches in either standard form: the Python version (pickled dicts, read through
the restricted unpickler) or the binary version (fixed-size records), from the extracted folder or
straight from the `.tar.gz` (members are read in memory, nothing is extracted)."""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np

from lamina.datasets.archive import safe_unpickle

_PIXELS = 32 * 32 * 3


def read_members(location, names: list[str]) -> dict[str, bytes]:
    """The bytes of each file in `names`, from a folder (or its single sub-folder) or a tarball."""
    found: dict[str, bytes] = {}
    if os.path.isdir(location):
        folders = [location] + [
            os.path.join(location, d)
            for d in sorted(os.listdir(location))
            if os.path.isdir(os.path.join(location, d))
        ]
        for name in names:
            for folder in folders:
                candidate = os.path.join(folder, name)
                if os.path.isfile(candidate):
                    with open(candidate, "rb") as handle:
                        found[name] = handle.read()
                    break
    elif tarfile.is_tarfile(location):
        with tarfile.open(location, "r:*") as archive:
            for member in archive.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names and base not in found:
                    found[base] = archive.extractfile(member).read()
    missing = [name for name in names if name not in found]
    if missing:
        raise FileNotFoundError(f"{os.fspath(location)!r} lacks the CIFAR file(s) {missing}.")
    return found


def has_members(location, names: list[str]) -> bool:
    try:
        read_members(location, names[:1])
    except (FileNotFoundError, tarfile.TarError):
        return False
    return True


def _get(record: dict, key: str):
    return record[key.encode()] if key.encode() in record else record[key]


def images_from_rows(rows: np.ndarray) -> np.ndarray:
    """(n, 3072) channel-planar rows -> (n, 32, 32, 3) uint8 images."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), dtype=np.uint8)


def read_python_batch(data: bytes, label_key: str):
    """A pickled batch -> (images (n, 32, 32, 3) uint8, labels list)."""
    record = safe_unpickle(io.BytesIO(data))
    rows = np.asarray(_get(record, "data"), dtype=np.uint8)
    return images_from_rows(rows), list(_get(record, label_key))


def read_binary_batch(data: bytes, label_bytes: int, label_index: int):
    """A binary batch (records: `label_bytes` label bytes, 3072 pixels) -> (images, labels)."""
    record_size = label_bytes + _PIXELS
    if len(data) % record_size:
        raise ValueError(
            f"A CIFAR binary batch must be a whole number of {record_size}-byte "
            f"records; received {len(data)} bytes."
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, record_size)
    return images_from_rows(records[:, label_bytes:]), records[:, label_index].tolist()
