"""Reading an HDF5 weights file without trusting it: every object is reached through hard links
only, and every dataset's declared layout, filters, dtype and shape are checked before its data is
read.

What is refused, and why:
- external links and soft links (an external link makes HDF5 open another file on the host; a
  soft link points anywhere; Keras and lamina write neither);
- datasets with external raw storage (`external=`: the bytes live in another host file) and
  virtual datasets (their bytes come from other datasets or files);
- any layout but compact, contiguous or chunked, and any filter but HDF5's built-in ones (an
  unknown filter id makes HDF5 look for a plugin library to load: code from the host);
- non-numeric dtypes (strings, objects/variable-length, compound, references, sub-arrays); the
  one exception is bfloat16, which HDF5 has no type for: Keras (and lamina) store its 2-byte
  values as an opaque type and mark the dataset with the attribute `dtype="bfloat16"`;
- chunks larger than the dataset's own data (and 1 MiB): reading a (3, 2) dataset whose one
  deflated chunk declares 4000 x 4000 floats would inflate all of them;
- a declared shape other than the one expected (checked before reading, so a dataset declaring
  60000 x 60000 floats with nothing stored costs nothing).
"""

from __future__ import annotations

import contextlib
import io
import traceback
from pathlib import PurePath

import h5py
import numpy as np
import torch
from h5py import h5d, h5l, h5z

from lamina import backend
from lamina.saving import limits
from lamina.saving.errors import FileFormatError

_LAYOUTS = {h5d.COMPACT: "compact", h5d.CONTIGUOUS: "contiguous", h5d.CHUNKED: "chunked"}
# HDF5's own filters (deflate, shuffle, fletcher32, szip, nbit, scaleoffset) and h5py's built-in
# LZF; none of them loads a plugin.
_FILTERS = {
    h5z.FILTER_DEFLATE,
    h5z.FILTER_SHUFFLE,
    h5z.FILTER_FLETCHER32,
    h5z.FILTER_SZIP,
    h5z.FILTER_NBIT,
    h5z.FILTER_SCALEOFFSET,
    h5z.FILTER_LZF,
}
_NUMERIC_KINDS = "fiub"
_CHUNK_FLOOR = 2**20  # chunks up to this size are never judged against the data's size


@contextlib.contextmanager
def open_file(filepath):
    """The HDF5 file at `filepath` opened read-only, or a `FileFormatError` saying what it is.

    A context manager: inside it, HDF5's own errors on a damaged file become `FileFormatError`s
    naming the file (see `damaged_file_errors`).
    """
    try:
        file = h5py.File(filepath, "r")
    except (OSError, ValueError) as error:
        hint = ""
        with open(filepath, "rb") as handle:
            if handle.read(4) == b"PK\x03\x04":
                hint = " Hint: it is a zip archive; a Keras 3 model file should end in '.keras'."
        raise FileFormatError(
            f"{filepath} is not a readable HDF5 file (truncated, corrupted or another file "
            f"type: {error}).{hint}"
        ) from None
    with file, damaged_file_errors(filepath):
        yield file


@contextlib.contextmanager
def open_bytes(data: bytes, source: str, member: str = "model.weights.h5"):
    """The HDF5 file held in memory as `data` (the `member` of the archive `source`), read-only;
    a context manager like `open_file`."""
    try:
        file = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        raise FileFormatError(f"{source}: {member} is not readable HDF5 ({error}).") from None
    with file, damaged_file_errors(f"{source} ({member})"):
        yield file


@contextlib.contextmanager
def damaged_file_errors(source: str):
    """HDF5's errors from a damaged file as one `FileFormatError` that names it.

    A file whose header opens can still be damaged further in: h5py then raises KeyError,
    RuntimeError, OSError or ValueError from deep inside its object reader ("bad object header
    version number", "wrong B-tree signature") at the first lookup that reaches the damage.
    Only errors raised inside h5py are translated; lamina's own pass through unchanged.
    """
    try:
        yield
    except FileFormatError:
        raise
    except (KeyError, RuntimeError, OSError, ValueError) as error:
        if not _raised_in_h5py(error):
            raise
        raise FileFormatError(
            f"{source} is damaged: HDF5 cannot read its structure ({error}). Hint: the file was "
            "truncated or altered after it was written; load an intact copy."
        ) from None


def _raised_in_h5py(error: BaseException) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "h5py" in PurePath(frames[-1].filename).parts


def _link_kind(group, name: str) -> str | None:
    """'hard' / 'soft' / 'external' / 'user-defined' for a link of `group`, None if absent."""
    key = name.encode("utf-8")
    # HDF5 raises here only when the group's own structure is damaged: that is not absence
    # (which would turn into a misleading "no such layer"), so it propagates to
    # `damaged_file_errors`.
    if not group.id.links.exists(key):
        return None
    kind = group.id.links.get_info(key).type
    return {h5l.TYPE_HARD: "hard", h5l.TYPE_SOFT: "soft", h5l.TYPE_EXTERNAL: "external"}.get(
        kind, "user-defined"
    )


def _describe_link(group, name: str) -> str:
    link = group.get(name, getlink=True)
    if isinstance(link, h5py.ExternalLink):
        return f"an external link to '{link.path}' in the file {link.filename!r}"
    if isinstance(link, h5py.SoftLink):
        return f"a soft link to '{link.path}'"
    return "a user-defined link"


def lookup(root, path: str, source: str):
    """The object at `path` (relative to group `root`), reached through hard links only; None
    when a part of the path does not exist. A soft or external link on the way is refused."""
    node = root
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise FileFormatError(
                f"{source}: the path '{path}' (under '{root.name}') has an empty, '.' or '..' "
                "part; a weights file names its objects plainly. Refusing to load it."
            )
        if not isinstance(node, h5py.Group):
            return None
        kind = _link_kind(node, part)
        if kind is None:
            return None
        if kind != "hard":
            where = f"{node.name.rstrip('/')}/{part}"
            raise FileFormatError(
                f"{source}: '{where}' is {_describe_link(node, part)}; lamina reads only objects "
                "stored inside the file itself (Keras writes no links). Refusing to load it."
            )
        node = node[part]
    return node


def group(root, path: str, source: str):
    """The group at `path`, or None when absent; anything else at that path is refused."""
    node = lookup(root, path, source) if path else root
    if node is not None and not isinstance(node, h5py.Group):
        raise FileFormatError(
            f"{source}: '{node.name}' is expected to be a group; received a {type(node).__name__}."
        )
    return node


def check_dataset(node, source: str, expected_shape=None) -> h5py.Dataset:
    """Refuse `node` unless it is a plain numeric dataset stored in the file (and, when given,
    of `expected_shape`); reads no data."""
    if not isinstance(node, h5py.Dataset):
        raise FileFormatError(
            f"{source}: '{node.name}' is expected to be a dataset of weights; received a "
            f"{type(node).__name__}."
        )
    name = node.name
    if node.is_virtual:
        raise FileFormatError(
            f"{source}: '{name}' is a virtual dataset (its data comes from other datasets or "
            "files); lamina reads only data stored in the file itself. Refusing to load it."
        )
    if node.external:
        files = sorted({entry[0] for entry in node.external})
        raise FileFormatError(
            f"{source}: '{name}' keeps its data in external file(s) {files}; lamina reads only "
            "data stored in the file itself. Refusing to load it."
        )
    plist = node.id.get_create_plist()
    layout = plist.get_layout()
    if layout not in _LAYOUTS:
        raise FileFormatError(
            f"{source}: '{name}' has storage layout {layout}; expected compact, contiguous or "
            "chunked storage."
        )
    for index in range(plist.get_nfilters()):
        code, _, _, filter_name = plist.get_filter(index)
        if code not in _FILTERS:
            label = filter_name.decode("utf-8", "replace") if filter_name else "unnamed"
            raise FileFormatError(
                f"{source}: '{name}' is compressed with filter {code} ({label}); lamina reads "
                "only HDF5's built-in filters (deflate, shuffle, fletcher32, szip, nbit, "
                "scaleoffset, lzf) and never loads filter plugins. Hint: re-save the weights "
                "with a built-in compression."
            )
    dtype = node.dtype
    if is_bfloat16(node):
        pass  # 2-byte opaque values that Keras marked as bfloat16
    elif dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
        raise FileFormatError(
            f"{source}: '{name}' holds values of dtype {dtype} (kind '{dtype.kind}'); weights "
            "are numbers (float, int, uint or bool)."
        )
    if node.chunks is not None:
        chunk_bytes = int(np.prod(node.chunks)) * dtype.itemsize
        data_bytes = int(np.prod(node.shape or ())) * dtype.itemsize
        if chunk_bytes > max(data_bytes, _CHUNK_FLOOR):
            raise FileFormatError(
                f"{source}: '{name}' of shape {node.shape} declares chunks of shape "
                f"{node.chunks} ({chunk_bytes} bytes each, larger than its data): reading it "
                "would inflate whole chunks. A file written by Keras or lamina never does this. "
                "Refusing to load it."
            )
    if expected_shape is not None and node.shape != tuple(expected_shape):
        raise FileFormatError(
            f"{source}: '{name}' declares shape {node.shape}; expected {tuple(expected_shape)}."
        )
    return node


def _check_stored(node, source: str) -> None:
    """Refuse a dataset whose values were never written. HDF5 reads unwritten storage (or a
    chunk whose address was damaged into "unallocated") as the fill value, zeros, without any
    error or checksum failure: a weights file always stores all its values."""
    if not node.size:
        return
    if node.chunks is None:
        stored, expected = node.id.get_storage_size(), 1
        written = stored > 0
    else:
        counts = [
            -(-extent // chunk) for extent, chunk in zip(node.shape, node.chunks, strict=True)
        ]
        expected = int(np.prod(counts))
        stored = len(_chunk_positions(node))
        written = stored == expected
    if not written:
        where = "no data" if node.chunks is None else f"{stored} of its {expected} chunks"
        raise FileFormatError(
            f"{source}: '{node.name}' declares shape {node.shape} but stores {where}: HDF5 would "
            "read the missing values as zeros. The file is damaged or was never fully written; "
            "load an intact copy."
        )


def _chunk_positions(node) -> set:
    """The in-bounds, aligned chunk positions the dataset stores (a damaged chunk index can
    place a chunk outside the dataset, leaving the position it should fill unwritten)."""
    positions = set()
    for index in range(node.id.get_num_chunks()):
        offset = node.id.get_chunk_info(index).chunk_offset
        if all(
            0 <= at < extent and at % chunk == 0
            for at, extent, chunk in zip(offset, node.shape, node.chunks, strict=True)
        ):
            positions.add(tuple(offset))
    return positions


BFLOAT16_MARK = "bfloat16"  # the value of Keras's `dtype` attribute on a bfloat16 dataset


def mark_bfloat16(dataset) -> None:
    """Tag a dataset written from a bfloat16 array the way Keras does, so Keras reads it back."""
    dataset.attrs["dtype"] = BFLOAT16_MARK


def is_bfloat16(node) -> bool:
    """Whether `node` holds bfloat16 values: a 2-byte opaque type carrying Keras's mark."""
    dtype = node.dtype
    if dtype.kind != "V" or dtype.itemsize != 2 or dtype.fields is not None or dtype.subdtype:
        return False
    try:
        if "dtype" not in node.attrs:
            return False
        attr_id = h5py.h5a.open(node.id, b"dtype")
        if attr_id.get_storage_size() > 64:  # the mark is a short string; never read a big one
            return False
        mark = node.attrs["dtype"]
    except Exception:  # a damaged attribute: no mark
        return False
    if isinstance(mark, bytes):
        mark = mark.decode("utf-8", "replace")
    return mark == BFLOAT16_MARK


def _bfloat16_from_bits(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) as `backend.as_numpy` gives bfloat16: `ml_dtypes.bfloat16`,
    or float32 (exactly) where ml_dtypes is not installed."""
    return backend.as_numpy(torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16))


def read_array(node, source: str) -> np.ndarray:
    """The data of a dataset that passed `check_dataset`, in native byte order; a bfloat16
    dataset as `ml_dtypes.bfloat16` (see `is_bfloat16`)."""
    _check_stored(node, source)
    try:
        array = np.asarray(node[()])
    except Exception as error:  # h5py raises OSError/RuntimeError/ValueError on damaged data
        raise FileFormatError(
            f"{source} is damaged: could not read '{node.name}' ({error})."
        ) from None
    if array.dtype.kind == "V" and is_bfloat16(node):
        # Opaque bytes are stored as the writer held them: ml_dtypes' little-endian bfloat16.
        return _bfloat16_from_bits(np.ascontiguousarray(array).view("<u2").astype(np.uint16))
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """`array` as a CPU tensor of the same dtype (`backend.from_numpy`: bfloat16 included)."""
    return backend.from_numpy(array)


def as_tensor(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """`array` as a CPU tensor of `like`'s dtype (numpy's unsigned, half and bfloat16 types
    included)."""
    if array.dtype.kind == "u" or array.dtype == np.float16:
        array = array.astype(np.float64 if array.dtype.kind == "u" else np.float32)
    return to_tensor(array).to(like.dtype)


def read_names(obj, attribute: str, source: str) -> list[str] | None:
    """A list of names stored in attribute `attribute` (bytes or str), None when absent; its
    size is checked before it is read."""
    try:
        if attribute not in obj.attrs:
            return None
        attr_id = h5py.h5a.open(obj.id, attribute.encode("utf-8"))
    except (KeyError, OSError, RuntimeError) as error:
        raise FileFormatError(f"{source}: cannot read attribute '{attribute}' ({error}).") from None
    shape = attr_id.shape or ()
    count = int(np.prod(shape)) if shape else 1
    current = limits.get_load_limits()
    if len(shape) > 1 or count > current.max_entries:
        raise FileFormatError(
            f"{source}: attribute '{attribute}' of '{obj.name}' declares shape {shape}; a name "
            f"list is one-dimensional with at most {current.max_entries} names. "
            + limits.raise_hint(max_entries=count)
        )
    try:
        values = obj.attrs[attribute]
    except Exception as error:  # damaged attribute
        raise FileFormatError(f"{source}: cannot read attribute '{attribute}' ({error}).") from None
    values = np.atleast_1d(np.asarray(values, dtype=object))
    names = []
    for value in values:
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = None
        if not isinstance(value, str):
            raise FileFormatError(
                f"{source}: attribute '{attribute}' of '{obj.name}' is expected to hold "
                f"names (strings); received {value!r}."
            )
        names.append(value)
    return names


def read_text_attribute(obj, attribute: str, source: str) -> str | bytes | None:
    """A string attribute (a JSON document), None when absent; a fixed-size one is measured
    before it is read."""
    try:
        if attribute not in obj.attrs:
            return None
        attr_id = h5py.h5a.open(obj.id, attribute.encode("utf-8"))
        stored = attr_id.get_storage_size()
    except (KeyError, OSError, RuntimeError) as error:
        raise FileFormatError(f"{source}: cannot read attribute '{attribute}' ({error}).") from None
    current = limits.get_load_limits()
    if stored > current.max_json_bytes:
        raise FileFormatError(
            f"{source}: attribute '{attribute}' is {stored} bytes; JSON documents are limited "
            f"to {current.max_json_bytes} bytes. " + limits.raise_hint(max_json_bytes=stored)
        )
    try:
        value = obj.attrs[attribute]
    except Exception as error:
        raise FileFormatError(f"{source}: cannot read attribute '{attribute}' ({error}).") from None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if not isinstance(value, (str, bytes)):
        raise FileFormatError(
            f"{source}: attribute '{attribute}' is expected to hold JSON text; received a "
            f"value of type {type(value).__name__}."
        )
    return value
