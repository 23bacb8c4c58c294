"""`lamina.data.experimental`: tf.data.experimental's CSV readers, `CsvDataset` and
`make_csv_dataset` (the structured-data examples of Keras read their tables with them).

The parsing lives in `csv_reader`; this module puts it into pipelines as tf.data does.
"""

from __future__ import annotations

import os

from lamina.data import csv_reader, sources
from lamina.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset

# CSV text up to this size is parsed whole when the pipeline is made (its columns take less
# memory than its text); larger inputs stream, a record at a time.
IN_MEMORY_BYTES = 2**30

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "CsvDataset",
    "cardinality",
    "make_csv_dataset",
]


def cardinality(dataset):
    """`tf.data.experimental.cardinality(ds)`: the dataset's size, as `dataset.cardinality()`.

    Args:
        dataset: a `lamina.data.Dataset`.

    Returns:
        An int with `.numpy()`: the number of elements, `INFINITE_CARDINALITY` (-1) or
        `UNKNOWN_CARDINALITY` (-2).

    Example:
        >>> int(cardinality(Dataset.range(10).batch(4)))
        3
    """
    return dataset.cardinality()


class CsvDataset(Dataset):
    """The records of CSV files, each a tuple of one value per (selected) column.

    Each entry of `record_defaults` gives a column's kind and what its empty fields become: a
    value (`0.0`, `[0.0]`, `""`) makes the column optional with that default; a dtype
    (`"float32"`, `torch.int64`, `str`) makes it required. Kinds are int32, int64, float32,
    float64 and string; numbers are 0-d tensors, text 0-d str arrays.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
        >>> _ = path.write_text("abc,4.5,,12\\nxyz,-2.0,7,2\\n")
        >>> ds = CsvDataset(str(path), ["float32", [0.0], "int32"], select_cols=[1, 2, 3])
        >>> [tuple(float(v) for v in record) for record in ds]
        [(4.5, 0.0, 12.0), (-2.0, 7.0, 2.0)]

    Args:
        filenames: a path or a list of paths, read one after another.
        record_defaults: one entry per column read (per entry of `select_cols` when given).
        compression_type: "" or None (plain text), "GZIP" or "ZLIB".
        buffer_size: accepted for tf.data compatibility.
        header: whether each file's first line names the columns (then skipped).
        field_delim: the character between fields.
        use_quote_delim: whether double quotes enclose fields (RFC 4180); False reads them as
            ordinary characters.
        na_value: a field text that, like an empty field, means "missing".
        select_cols: sorted indices of the columns to read; all columns when None.
        exclude_cols: indices of columns to leave out (instead of `select_cols`).
        ignore_errors: skip records that do not parse instead of raising.
        encoding: the files' text encoding.
        name: accepted for tf.data compatibility.
    """

    def __init__(
        self,
        filenames,
        record_defaults,
        compression_type=None,
        buffer_size=None,
        header=False,
        field_delim=",",
        use_quote_delim=True,
        na_value="",
        select_cols=None,
        exclude_cols=None,
        ignore_errors=False,
        encoding="utf-8",
        name=None,
    ):
        columns = [
            csv_reader.column_from_default(default, position)
            for position, default in enumerate(record_defaults)
        ]
        csv_format = csv_reader.CsvFormat(
            field_delim, use_quote_delim, na_value, header, compression_type, encoding
        )
        if select_cols is not None and exclude_cols is not None:
            raise ValueError(
                "CsvDataset takes select_cols or exclude_cols, not both. Hint: list the columns "
                "to read in select_cols."
            )
        if select_cols is not None and list(select_cols) != sorted(set(select_cols)):
            raise ValueError(
                f"CsvDataset expects select_cols sorted and without repeats; received "
                f"{list(select_cols)}."
            )
        records = csv_reader.CsvRecords(
            filenames, columns, select_cols, csv_format, ignore_errors=ignore_errors
        )
        if exclude_cols is not None:
            records.select_cols = _kept_columns(records, csv_format, set(exclude_cols))
        super().__init__(records)


def _kept_columns(records, csv_format, excluded: set) -> list[int]:
    """The columns left after `exclude_cols`, counted on the first record of the first file."""
    first = next(
        (fields for name in records.filenames for _, fields in csv_format.rows(name)), None
    )
    width = len(records.columns) + len(excluded) if first is None else len(first)
    return [index for index in range(width) if index not in excluded]


def make_csv_dataset(
    file_pattern,
    batch_size,
    column_names=None,
    column_defaults=None,
    label_name=None,
    select_columns=None,
    field_delim=",",
    use_quote_delim=True,
    na_value="",
    header=True,
    num_epochs=None,
    shuffle=True,
    shuffle_buffer_size=10000,
    shuffle_seed=None,
    prefetch_buffer_size=None,
    num_parallel_reads=None,
    sloppy=False,
    num_rows_for_inference=100,
    compression_type=None,
    ignore_errors=False,
    encoding="utf-8",
):
    """Batches of CSV rows as `(features, label)`: a dict of columns (in file order) and the
    `label_name` column, or the dict alone without a label.

    As in tf.data: the column names come from the first file's header unless given; without
    `column_defaults`, each column's kind is inferred from the first `num_rows_for_inference`
    rows (int32, int64, float32, float64 or string) and empty fields read as 0 or "". The files
    and rows are shuffled, and the data repeats forever (`num_epochs=None`, batches then always
    full): pass `num_epochs=1` for one pass, and `steps_per_epoch` to `fit` otherwise.

    Up to 1 GiB of CSV text in all is parsed when the dataset is made, a column at a time, and
    batches are then cut by indexing (20,000 rows of 12 columns: 0.25 s to parse, then about
    0.02 s an epoch); larger inputs stream record by record, which is far slower.

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
        >>> _ = path.write_text("size,colour,price\\n1,red,2.5\\n2,blue,4.0\\n3,,1.5\\n")
        >>> ds = make_csv_dataset(str(path), batch_size=2, label_name="price", num_epochs=1,
        ...                       shuffle=False)
        >>> features, label = next(iter(ds))
        >>> features["size"].tolist(), features["colour"].tolist(), label.tolist()
        ([1, 2], ['red', 'blue'], [2.5, 4.0])

    Args:
        file_pattern: a glob, a path, or a list of them.
        batch_size: rows per batch.
        column_names: the columns' names, when the files have no header (or to rename them).
        column_defaults: one `CsvDataset` record default per selected column, in column order.
        label_name: the column returned apart from the features, or None.
        select_columns: names or indices of the columns to read; all when None.
        field_delim: the character between fields.
        use_quote_delim: whether double quotes enclose fields.
        na_value: a field text that, like an empty field, means "missing".
        header: whether each file's first line names the columns.
        num_epochs: passes over the data; None repeats forever.
        shuffle: whether to shuffle the files and the rows.
        shuffle_buffer_size: rows held by the row shuffle.
        shuffle_seed: the shuffles' seed.
        prefetch_buffer_size: batches prepared ahead (0: none; default `AUTOTUNE`).
        num_parallel_reads: files read side by side, rows taken from each in turn (default 1).
        sloppy: accepted for tf.data compatibility (the order is always deterministic).
        num_rows_for_inference: rows read to infer the kinds; None reads every row.
        compression_type: "" or None, "GZIP" or "ZLIB".
        ignore_errors: skip rows that do not parse instead of raising.
        encoding: the files' text encoding.
    """
    paths = sources.matching_files(file_pattern, "make_csv_dataset")
    csv_format = csv_reader.CsvFormat(
        field_delim, use_quote_delim, na_value, header, compression_type, encoding
    )
    column_names = _column_names(paths, csv_format, column_names)
    selected = (
        None
        if select_columns is None
        else csv_reader.selected_indices(list(select_columns), column_names)
    )
    names = column_names if selected is None else [column_names[i] for i in selected]
    if column_defaults is None:
        rows = _first_rows(paths, csv_format, num_rows_for_inference)
        inferred = csv_reader.infer_columns(rows, na_value)
        inferred += [csv_reader.Column("string", "")] * (len(column_names) - len(inferred))
        column_defaults = inferred if selected is None else [inferred[i] for i in selected]
    if len(column_defaults) != len(names):
        raise ValueError(
            f"make_csv_dataset expects one column default per column read ({len(names)}: "
            f"{names}); received {len(column_defaults)}."
        )
    if label_name is not None and label_name not in names:
        raise ValueError(
            f"make_csv_dataset: label_name={label_name!r} is not among the columns read "
            f"{names}. Hint: check the header's spelling, or add it to select_columns."
        )

    def to_features(*columns):
        features = dict(zip(names, columns, strict=True))
        if label_name is None:
            return features
        label = features.pop(label_name)
        return features, label

    reads = num_parallel_reads or 1
    columns = [csv_reader.column_from_default(d, i) for i, d in enumerate(column_defaults)]
    if (shuffle or reads == 1) and sum(map(os.path.getsize, paths)) <= IN_MEMORY_BYTES:
        # Small enough to hold: parsed once, a column at a time, then batched by indexing. (Files
        # read side by side would interleave their rows; with the rows shuffled that is moot.)
        records = csv_reader.CsvRecords(paths, columns, selected, csv_format, ignore_errors)
        dataset = Dataset.from_tensor_slices(csv_reader.read_columns(records))
    else:
        files = Dataset.from_tensor_slices(paths)
        if shuffle:
            files = files.shuffle(len(paths), seed=shuffle_seed)
        dataset = files.interleave(
            lambda path: Dataset(
                csv_reader.CsvRecords([path], columns, selected, csv_format, ignore_errors)
            ),
            cycle_length=reads,
            block_length=1,
        )
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=shuffle_seed)
    if num_epochs != 1:
        dataset = dataset.repeat(num_epochs)
    # Repeating forever, every batch is full: tf.data drops the (never reached) remainder.
    dataset = dataset.batch(batch_size, drop_remainder=num_epochs is None).map(to_features)
    if prefetch_buffer_size == 0:
        return dataset
    return dataset.prefetch(AUTOTUNE if prefetch_buffer_size is None else prefetch_buffer_size)


def _column_names(paths, csv_format, column_names) -> list[str]:
    """The given names, or the first file's header, which every other file must repeat."""
    if column_names is not None:
        return list(column_names)
    if not csv_format.header:
        raise ValueError(
            "make_csv_dataset needs column_names when header=False (the names come from the "
            "header line otherwise)."
        )
    names = csv_format.header_of(paths[0])
    for path in paths[1:]:
        if csv_format.header_of(path) != names:
            raise ValueError(
                f"make_csv_dataset expects every file to have the same header; {path!r} has "
                f"{csv_format.header_of(path)}, {paths[0]!r} has {names}."
            )
    return names


def _first_rows(paths, csv_format, limit) -> list[list[str]]:
    rows = []
    for path in paths:
        for _, fields in csv_format.rows(path):
            if limit is not None and len(rows) >= limit:
                return rows
            rows.append(fields)
    return rows
