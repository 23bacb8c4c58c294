"""TensorBoard event files, written (and read back) without TensorFlow or protobuf.

An event file is a sequence of TFRecords: `uint64 length`, `uint32 masked CRC-32C of the length`,
the bytes of one `Event` protocol buffer, `uint32 masked CRC-32C of those bytes` (little endian).
The few protobuf messages needed are encoded by hand here:

    Event           wall_time (1, double), step (2, int64), file_version (3, string),
                    summary (5, Summary)
    Summary         value (1, repeated Value)
    Summary.Value   tag (1, string), simple_value (2, float), histo (5, HistogramProto),
                    tensor (8, TensorProto), metadata (9, SummaryMetadata)
    HistogramProto  min (1), max (2), num (3), sum (4), sum_squares (5): double;
                    bucket_limit (6), bucket (7): packed repeated double
    TensorProto     dtype (1, enum), tensor_shape (2, {dim (2, {size (1)})}),
                    string_val (8, repeated bytes)
    SummaryMetadata plugin_data (1, {plugin_name (1), content (2)}), data_class (4, enum)

Scalars are `simple_value`s and histograms `HistogramProto`s: the forms every TensorBoard version
reads (it converts them to its scalar and histogram plugins on load). Images are what
`tf.summary.image` writes: a string tensor `[width, height, png, ...]` for the images plugin.
"""

from __future__ import annotations

import os
import socket
import struct
import time
import zlib

import numpy as np

# --------------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), masked as TFRecord masks it


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------
# Protocol-buffer encoding (the wire format: a key varint, then the value)


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s take ten bytes, as protobuf writes them
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


def _float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _packed_doubles(field: int, values) -> bytes:
    return _bytes(field, np.asarray(values, dtype="<f8").tobytes())


def scalar_value(tag: str, value: float) -> bytes:
    """A `Summary.Value` holding a scalar."""
    return _bytes(1, tag.encode()) + _float(2, float(value))


def histogram_value(tag: str, values, bins: int = 30) -> bytes:
    """A `Summary.Value` holding a histogram of `values` in `bins` equal-width buckets."""
    data = np.asarray(values, dtype="float64").reshape(-1)
    data = data[np.isfinite(data)]
    if data.size == 0:
        low = high = 0.0
        counts, edges = np.zeros(1), np.zeros(2)
    else:
        low, high = float(data.min()), float(data.max())
        span = (low - 0.5, high + 0.5) if low == high else (low, high)
        counts, edges = np.histogram(data, bins=bins, range=span)
    histogram = (
        _double(1, low)
        + _double(2, high)
        + _double(3, float(data.size))
        + _double(4, float(data.sum()))
        + _double(5, float(np.square(data).sum()))
        + _packed_doubles(6, edges[1:])
        + _packed_doubles(7, counts)
    )
    return _bytes(1, tag.encode()) + _bytes(5, histogram)


def png(pixels) -> bytes:
    """A PNG file's bytes for a uint8 image `(height, width, channels)`, 1 (grey), 3 (RGB) or 4
    (RGBA) channels: unfiltered rows, deflated."""
    height, width, channels = pixels.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(pixels, np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_value(tag: str, images, max_outputs: int = 3) -> bytes:
    """A `Summary.Value` holding the first `max_outputs` of `images`, floats `(count, height,
    width, channels)` read in [0, 1] (clipped), as `tf.summary.image` stores them."""
    images = np.asarray(images, dtype=np.float64)[:max_outputs]
    # tf.image.convert_image_dtype(..., uint8, saturate=True): scale by 255.5, clip, truncate.
    pixels = np.clip(images * 255.5, 0, 255).astype(np.uint8)
    strings = [str(images.shape[2]).encode(), str(images.shape[1]).encode()]
    strings += [png(image) for image in pixels]
    tensor = (
        _int(1, 7)  # DT_STRING
        + _bytes(2, _bytes(2, _int(1, len(strings))))
        + b"".join(_bytes(8, item) for item in strings)
    )
    metadata = _bytes(1, _bytes(1, b"images") + _bytes(2, b"")) + _int(4, 3)  # BLOB_SEQUENCE
    return _bytes(1, tag.encode()) + _bytes(8, tensor) + _bytes(9, metadata)


def event(step: int, values=(), wall_time: float | None = None, file_version=None) -> bytes:
    """An `Event` with a `Summary` of the given encoded values (or the file's version header)."""
    message = _double(1, time.time() if wall_time is None else wall_time) + _int(2, int(step))
    if file_version is not None:
        message += _bytes(3, file_version.encode())
    if values:
        message += _bytes(5, b"".join(_bytes(1, v) for v in values))
    return message


def record(data: bytes) -> bytes:
    """One TFRecord around `data`."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


# --------------------------------------------------------------------------------------------------
# Writer


class EventFileWriter:
    """Appends events to `events.out.tfevents.<time>.<host>.<pid>.<n>.v2` in `log_dir`.

    Records are buffered in memory and written by `flush()` (the callback flushes at each epoch
    end), so per-batch logging costs no file-system call per batch.
    """

    _count = 0

    def __init__(self, log_dir):
        os.makedirs(log_dir, exist_ok=True)
        EventFileWriter._count += 1
        name = (
            f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
            f"{os.getpid()}.{EventFileWriter._count}.v2"
        )
        self.path = os.path.join(log_dir, name)
        self._file = open(self.path, "ab")  # noqa: SIM115  (held open across a whole run)
        self._pending: list[bytes] = []
        self.add(event(0, file_version="brain.Event:2"))
        self.flush()

    def add(self, event_bytes: bytes) -> None:
        self._pending.append(record(event_bytes))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.add(event(step, [scalar_value(tag, value)]))

    def histogram(self, tag: str, values, step: int) -> None:
        self.add(event(step, [histogram_value(tag, values)]))

    def image(self, tag: str, images, step: int) -> None:
        self.add(event(step, [image_value(tag, images)]))

    def flush(self) -> None:
        if self._pending and not self._file.closed:
            self._file.write(b"".join(self._pending))
            self._file.flush()
            self._pending = []

    def close(self) -> None:
        self.flush()
        self._file.close()


# --------------------------------------------------------------------------------------------------
# Reader (for tests and for looking at a log without TensorBoard)


def read_records(path) -> list[bytes]:
    """Every record's bytes in the file; a wrong CRC or a cut record raises ValueError."""
    with open(path, "rb") as handle:
        data = handle.read()
    records, offset = [], 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise ValueError(f"{path}: truncated record header at byte {offset}.")
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        if header_crc != masked_crc32c(header):
            raise ValueError(f"{path}: bad length CRC at byte {offset}.")
        body = data[offset + 12 : offset + 12 + length]
        footer = data[offset + 12 + length : offset + 16 + length]
        if len(body) != length or len(footer) != 4:
            raise ValueError(f"{path}: truncated record at byte {offset}.")
        if struct.unpack("<I", footer)[0] != masked_crc32c(body):
            raise ValueError(f"{path}: bad data CRC at byte {offset}.")
        records.append(body)
        offset += 16 + length
    return records


def _fields(message: bytes):
    """(field number, wire type, value) triples of one protobuf message."""
    offset = 0
    while offset < len(message):
        key, offset = _read_varint(message, offset)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, offset = _read_varint(message, offset)
        elif wire == 1:
            value, offset = struct.unpack("<d", message[offset : offset + 8])[0], offset + 8
        elif wire == 5:
            value, offset = struct.unpack("<f", message[offset : offset + 4])[0], offset + 4
        elif wire == 2:
            length, offset = _read_varint(message, offset)
            value, offset = message[offset : offset + length], offset + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _read_varint(data: bytes, offset: int):
    result = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, offset


def decode_event(data: bytes) -> dict:
    """An Event as a dict: wall_time, step, file_version, and values: [(tag, kind, value)]
    where kind is 'scalar' (a float), 'histogram' (a dict of HistogramProto's fields) or 'image'
    (the tensor's strings: width, height, then one PNG per image)."""
    found = {"wall_time": None, "step": 0, "file_version": None, "values": []}
    for field, _, value in _fields(data):
        if field == 1:
            found["wall_time"] = value
        elif field == 2:
            found["step"] = value
        elif field == 3:
            found["file_version"] = value.decode()
        elif field == 5:
            for _, _, encoded in _fields(value):
                found["values"].append(_decode_value(encoded))
    return found


def _decode_value(encoded: bytes):
    tag, kind, content = None, None, None
    for field, _, value in _fields(encoded):
        if field == 1:
            tag = value.decode()
        elif field == 2:
            kind, content = "scalar", value
        elif field == 8:
            kind, content = "image", [item for number, _, item in _fields(value) if number == 8]
        elif field == 5:
            names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
            content = {"bucket_limit": [], "bucket": []}
            for number, _, item in _fields(value):
                if number in names:
                    content[names[number]] = item
                elif number in (6, 7):
                    key = "bucket_limit" if number == 6 else "bucket"
                    content[key] = np.frombuffer(item, dtype="<f8").tolist()
            kind = "histogram"
    return tag, kind, content
