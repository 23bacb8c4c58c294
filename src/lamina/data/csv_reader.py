"""CSV files read into a pipeline: tf.data.experimental's `CsvDataset` (one element per record)
and `make_csv_dataset` (batches of a feature dict and a label).

A column has a kind (int32, int64, float32, float64 or string) and a default for its empty
fields (None: the field is required). Without stated defaults, `make_csv_dataset` infers each
column's kind from the first rows as tf.data does: the least permissive kind that parses every
non-empty value seen, in the order int32, int64, float32, float64, string; empty fields then
default to 0 or "".
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from lamina.data import sources

KINDS = ("int32", "int64", "float32", "float64", "string")  # least permissive first
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Column:
    """One CSV column as read: its kind and the default of its empty fields (None: required)."""

    kind: str
    default: object = None

    def parse(self, field: str):
        """The value of a non-empty `field`; ValueError when it is not of this column's kind."""
        if self.kind == "string":
            return field
        text = field.strip()  # tf.data allows spaces around numbers
        if self.kind in _INT_RANGES:
            value = int(text)
            low, high = _INT_RANGES[self.kind]
            if not low <= value <= high:
                raise ValueError(f"{value} is out of the range of {self.kind}")
            return value
        value = float(text)
        if self.kind == "float32" and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            raise ValueError(f"{value} is out of the range of float32")
        return value

    def convert(self, texts: np.ndarray, na_value: str):
        """A column of field texts as one leaf array (a tensor, or a str array for text) and the
        rows that failed (a bool array), or None for the rows when all parsed.

        NumPy parses the whole column at once; only a column with a bad field is parsed again
        field by field, to find which rows failed.
        """
        missing = (texts == "") | (texts == na_value)
        bad = missing if self.default is None else np.zeros(len(texts), dtype=bool)
        if self.kind == "string":
            values = np.where(missing, "" if self.default is None else str(self.default), texts)
            return values, bad if bad.any() else None
        filled = np.where(missing, "0" if self.default is None else repr(self.default), texts)
        try:
            parsed = filled.astype(np.int64 if self.kind in _INT_RANGES else np.float64)
            if self.kind == "int32":
                low, high = _INT_RANGES["int32"]
                bad = bad | (parsed < low) | (parsed > high)
            if self.kind == "float32":
                bad = bad | (np.isfinite(parsed) & (np.abs(parsed) > _FLOAT32_MAX))
        except (ValueError, OverflowError):
            parsed = np.zeros(len(texts), dtype=np.int64 if self.kind in _INT_RANGES else float)
            for row, text in enumerate(filled):
                try:
                    parsed[row] = self.parse(str(text))
                except (ValueError, OverflowError):
                    bad[row] = True
        parsed[bad] = 0  # out of the kind's range: the row is dropped or raised, never cast
        values = torch.from_numpy(parsed.astype(self.kind))
        return values, bad if bad.any() else None


def parses_as(field: str, kind: str) -> bool:
    """Whether `field` is a value of `kind`; a float kind needs a finite value (so "nan" and
    "inf" read as text), as in tf.data's inference."""
    try:
        value = Column(kind).parse(field)
    except (ValueError, OverflowError):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def infer_columns(rows, na_value: str) -> list[Column]:
    """Each column's least permissive kind over `rows` (lists of fields), defaulting to 0 / ""."""
    kinds: list[str | None] = []
    for row in rows:
        kinds.extend([None] * (len(row) - len(kinds)))
        for j, field in enumerate(row):
            if field in ("", na_value):
                continue  # an empty field says nothing about its column's kind
            start = 0 if kinds[j] is None else KINDS.index(kinds[j])
            kinds[j] = next(kind for kind in KINDS[start:] if parses_as(field, kind))
    kinds = [kind or "string" for kind in kinds]
    return [Column(kind, "" if kind == "string" else 0) for kind in kinds]


def column_from_default(default, position: int) -> Column:
    """A `record_defaults` entry as a Column: a dtype (a required column), a value (its default),
    a one-value list (the same), or an empty array / tensor of a dtype (required).

    Python values read as TensorFlow's constants do (a float is float32, an int int32); NumPy
    arrays and torch tensors keep their dtype.
    """
    if isinstance(default, Column):  # inferred by make_csv_dataset
        return default
    kind = _kind_of_dtype(default)
    if kind is not None:
        return Column(kind)
    if isinstance(default, torch.Tensor):
        default = default.detach().cpu().numpy()
    if not isinstance(default, (list, tuple, np.ndarray)):
        return Column(_kind_of_value(default, position), default)
    array = np.asarray(default)
    typed = isinstance(default, np.ndarray)  # a list's dtype is NumPy's guess, not the user's
    if array.size == 0 and typed:
        return Column(_kind_of_dtype(array.dtype))
    if array.size != 1:
        raise ValueError(
            f"CSV column {position}: a default is one value, or a dtype for a required column; "
            f"received {default!r}. Hint: [0.0] makes the column optional, 'float32' required."
        )
    value = array.reshape(-1)[0].item()
    value = value.decode("utf-8") if isinstance(value, bytes) else value
    kind = _kind_of_dtype(array.dtype) if typed else _kind_of_value(value, position)
    return Column(kind, value)


def _kind_of_dtype(dtype) -> str | None:
    """The column kind a dtype names (a torch / NumPy dtype, a Python type, or a dtype's name
    such as "float32"), or None when `dtype` is not a dtype."""
    if isinstance(dtype, type) and not issubclass(dtype, np.generic):
        return {str: "string", bytes: "string", float: "float32", int: "int32"}.get(dtype)
    if isinstance(dtype, torch.dtype):
        name = str(dtype).removeprefix("torch.")
        return name if name in KINDS else _unsupported_dtype(dtype)
    if isinstance(dtype, str):
        return {"str": "string"}.get(dtype, dtype) if dtype in (*KINDS, "str") else None
    if isinstance(dtype, (np.dtype, type)):
        dtype = np.dtype(dtype)
        if dtype.kind in "USO":
            return "string"
        return dtype.name if dtype.name in KINDS else _unsupported_dtype(dtype)
    return None


def _unsupported_dtype(dtype):
    raise ValueError(
        f"CSV columns are read as {KINDS}; received dtype {dtype}. Hint: read the column as "
        "one of these, then cast it in Dataset.map."
    )


def _kind_of_value(value, position: int) -> str:
    if isinstance(value, bool):
        raise ValueError(f"CSV column {position}: a bool default has no CSV kind; use 0 or 1.")
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, (int, np.integer)):
        return "int32"
    if isinstance(value, (float, np.floating)):
        return "float32"
    raise ValueError(
        f"CSV column {position}: a default is a dtype or a value of one of {KINDS}; received "
        f"{value!r} of type {type(value).__name__}."
    )


def open_text(path: str, compression_type, encoding: str = "utf-8"):
    """`path` opened for reading text, decompressed as `compression_type` ("", "GZIP", "ZLIB")."""
    compression = (compression_type or "").upper()
    if compression == "":
        return open(path, encoding=encoding, newline="")
    if compression == "GZIP":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    if compression == "ZLIB":
        stream = io.BufferedReader(_ZlibReader(open(path, "rb")))  # noqa: SIM115 (closed with it)
        return io.TextIOWrapper(stream, encoding=encoding, newline="")
    raise ValueError(
        f"CSV files are read with compression_type '', 'GZIP' or 'ZLIB'; received "
        f"compression_type={compression_type!r}."
    )


class _ZlibReader(io.RawIOBase):
    """A zlib-compressed file read as its decompressed bytes, a piece at a time (never the whole
    file at once, however far it inflates)."""

    PIECE = 1 << 16

    def __init__(self, packed):
        self.packed = packed
        self.inflate = zlib.decompressobj()
        self.pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self.pending:
            data = self.inflate.unconsumed_tail or self.packed.read(self.PIECE)
            if not data:
                self.pending = self.inflate.flush()
                if not self.pending:
                    return 0  # the end of the file
                break
            self.pending = self.inflate.decompress(data, self.PIECE)
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size

    def close(self):
        self.packed.close()
        super().close()


@dataclass(frozen=True)
class CsvFormat:
    """How the fields of a file are written."""

    field_delim: str = ","
    use_quote_delim: bool = True
    na_value: str = ""
    header: bool = False
    compression_type: str | None = None
    encoding: str = "utf-8"

    def reader(self, text):
        quoting = csv.QUOTE_MINIMAL if self.use_quote_delim else csv.QUOTE_NONE
        return csv.reader(text, delimiter=self.field_delim, quoting=quoting)

    def rows(self, path: str):
        """(line number, fields) of each record of `path`, after the header line if any."""
        with open_text(path, self.compression_type, self.encoding) as text:
            reader = self.reader(text)
            for number, fields in enumerate(reader):
                if number == 0 and self.header:
                    continue
                if fields:  # a blank line holds no record
                    yield reader.line_num, fields

    def header_of(self, path: str) -> list[str]:
        with open_text(path, self.compression_type, self.encoding) as text:
            first = next(self.reader(text), None)
        if first is None:
            raise ValueError(
                f"make_csv_dataset expects a header line in {path!r}, which is empty. Hint: "
                "pass header=False and column_names= for files without one."
            )
        return first


class CsvRecords(sources.Node):
    """The records of CSV files, file after file, each a tuple of one leaf per selected column.

    Files are parsed a chunk of rows at a time, each column by one NumPy conversion. A record with
    the wrong number of fields, a field that does not parse as its column's kind, or an empty
    required field raises, naming the file, the line and the column; with `ignore_errors` such
    records are skipped instead.
    """

    CHUNK_ROWS = 4096

    def __init__(self, filenames, columns, select_cols, csv_format, ignore_errors=False):
        self.filenames = sources.existing_files(filenames, "CsvDataset", "CSV")
        self.columns = list(columns)
        self.select_cols = None if select_cols is None else list(select_cols)
        if self.select_cols is not None and len(self.select_cols) != len(self.columns):
            raise ValueError(
                f"CsvDataset expects one record default per selected column: select_cols has "
                f"{len(self.select_cols)}, record_defaults {len(self.columns)}."
            )
        self.format = csv_format
        self.ignore_errors = ignore_errors

    def iterate(self):
        for table in self.tables():
            for row in range(len(table[0])):
                yield tuple(
                    np.asarray(column[row]) if isinstance(column, np.ndarray) else column[row]
                    for column in table
                )

    def tables(self):
        """Each chunk of rows of each file as a tuple of columns."""
        for name in self.filenames:
            chunk = []
            for line, fields in self.format.rows(name):
                chunk.append((line, fields))
                if len(chunk) == self.CHUNK_ROWS:
                    yield self.table(name, chunk)
                    chunk = []
            if chunk:
                yield self.table(name, chunk)

    def table(self, name: str, chunk: list) -> tuple:
        """`chunk` ((line, fields) pairs) as columns; bad rows raise (the first in the file) or,
        with `ignore_errors`, are dropped."""
        indices = self.select_cols or range(len(self.columns))
        needed = len(self.columns) if self.select_cols is None else self.select_cols[-1] + 1
        short = np.array(
            [
                len(fields) < needed or (self.select_cols is None and len(fields) != needed)
                for _, fields in chunk
            ]
        )
        blank = [""] * needed  # stands in for a short row's fields, dropped below
        rows = [blank if cut else fields for cut, (_, fields) in zip(short, chunk, strict=True)]
        bad_rows = short.copy()
        first_error = (int(np.argmax(short)), None) if short.any() else None
        table = []
        for column, index in zip(self.columns, indices, strict=True):
            texts = np.array([fields[index] for fields in rows], dtype=str)
            values, bad = column.convert(texts, self.format.na_value)
            if bad is not None:
                bad &= ~short
            if bad is not None and bad.any():
                row = int(np.argmax(bad))
                if first_error is None or row < first_error[0]:
                    first_error = (row, _field_error(column, index, texts[row], self.format))
                bad_rows |= bad
            table.append(values)
        if first_error is not None and not self.ignore_errors:
            row, message = first_error
            line, fields = chunk[row]
            if message is None:
                message = (
                    f"expected {needed} fields{'' if self.select_cols is None else ' or more'} "
                    f"(one per record default); received {len(fields)}. Hint: check "
                    "field_delim, or pass select_cols."
                )
            raise ValueError(f"CSV file {name!r}, line {line}: {message}")
        if bad_rows.any():
            keep = ~bad_rows
            table = [
                column[torch.from_numpy(keep)] if isinstance(column, torch.Tensor) else column[keep]
                for column in table
            ]
        return tuple(table)


def _field_error(column: Column, index: int, text: str, csv_format: CsvFormat) -> str:
    if text in ("", csv_format.na_value):
        return (
            f"column {index} is required (its default is a dtype) but the field is missing "
            f"({str(text)!r}). Hint: give the column a default value, e.g. [0.0]."
        )
    return (
        f"column {index} expects {column.kind}; received {str(text)!r}. Hint: state the "
        "column's kind in the record defaults (e.g. 'string')."
    )


def read_columns(records: CsvRecords) -> tuple:
    """Every row of `records`' files as one tuple of columns (files in order)."""
    tables = list(records.tables())
    if not tables:
        return tuple(
            np.array([], dtype=str)
            if column.kind == "string"
            else torch.empty(0, dtype=getattr(torch, column.kind))
            for column in records.columns
        )
    return tuple(
        np.concatenate(parts) if isinstance(parts[0], np.ndarray) else torch.cat(parts)
        for parts in zip(*tables, strict=True)
    )


def selected_indices(select_columns, column_names: list[str]) -> list[int]:
    """`select_columns` (names or indices) as sorted column indices; unknown or repeated raise."""
    indices = []
    for column in select_columns:
        if isinstance(column, (int, np.integer)):
            if not 0 <= column < len(column_names):
                raise ValueError(
                    f"make_csv_dataset: select_columns index {column} is outside the "
                    f"{len(column_names)} columns."
                )
            indices.append(int(column))
        elif column in column_names:
            indices.append(column_names.index(column))
        else:
            raise ValueError(
                f"make_csv_dataset: select_columns names {column!r}, which is not a column; "
                f"the columns are {column_names}."
            )
    if len(set(indices)) != len(indices):
        raise ValueError(f"make_csv_dataset: select_columns repeats a column: {select_columns}.")
    return sorted(indices)
