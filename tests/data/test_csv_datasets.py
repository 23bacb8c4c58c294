"""tf.data.experimental's CSV readers: `make_csv_dataset` and `CsvDataset`.

The expected values are those tf.data's documentation gives (its Feature_A / Feature_B table, its
CsvDataset file with an empty optional field) and its documented rules: kinds inferred in the
order int32, int64, float32, float64, string; empty fields default to 0 / ""; the data repeats
forever unless `num_epochs` is given, and then every batch is full.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest
import torch

import lamina
from lamina.data.experimental import CsvDataset, make_csv_dataset


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return str(path)


def test_the_documented_table_reads_as_batched_feature_dicts(tmp_path):
    path = write(tmp_path, "ab.csv", 'Feature_A,Feature_B\n1,"a"\n2,"b"\n3,"c"\n4,"d"\n')
    ds = make_csv_dataset(path, batch_size=2, shuffle=False, num_epochs=1)
    batches = list(ds)
    assert len(batches) == 2
    first = batches[0]
    assert list(first) == ["Feature_A", "Feature_B"]
    assert first["Feature_A"].dtype == torch.int32
    assert first["Feature_A"].tolist() == [1, 2]
    assert first["Feature_B"].tolist() == ["a", "b"]

    features, label = next(
        iter(make_csv_dataset(path, 2, label_name="Feature_A", shuffle=False, num_epochs=1))
    )
    assert list(features) == ["Feature_B"]
    assert label.tolist() == [1, 2]


def test_kinds_are_inferred_least_permissive_first_and_empty_fields_default(tmp_path):
    text = "i32,i64,f32,f64,text,late\n1,3000000000,1.5,1e300,x,1\n,2,,2.0,,2.5\n-4,5,2,1,nan,3\n"
    path = write(tmp_path, "kinds.csv", text)
    (batch,) = list(make_csv_dataset(path, batch_size=3, shuffle=False, num_epochs=1))
    assert [str(batch[name].dtype) for name in ["i32", "i64", "f32", "f64", "late"]] == [
        "torch.int32",
        "torch.int64",
        "torch.float32",
        "torch.float64",
        "torch.float32",  # an int column with a float later becomes float
    ]
    assert batch["i32"].tolist() == [1, 0, -4]  # the empty field reads as 0
    assert batch["f32"].tolist() == [1.5, 0.0, 2.0]
    assert batch["text"].tolist() == ["x", "", "nan"]  # "nan" is not a finite float: text


def test_only_the_first_rows_decide_the_kinds(tmp_path):
    path = write(tmp_path, "late.csv", "n\n1\n2\n3.5\n")
    with pytest.raises(ValueError, match=r"line 4: column 0 expects int32; received '3.5'"):
        list(make_csv_dataset(path, 3, shuffle=False, num_epochs=1, num_rows_for_inference=2))
    (batch,) = list(make_csv_dataset(path, 3, shuffle=False, num_epochs=1))
    assert batch["n"].dtype == torch.float32


@pytest.fixture(params=["in-memory", "streamed"])
def reading(request, monkeypatch):
    """Both ways make_csv_dataset reads: parsed whole when made, or streamed file by file."""
    if request.param == "streamed":
        monkeypatch.setattr(lamina.data.experimental, "IN_MEMORY_BYTES", 0)
    return request.param


def test_the_data_repeats_forever_by_default_in_full_batches(tmp_path, reading):
    path = write(tmp_path, "three.csv", "x\n1\n2\n3\n")
    ds = make_csv_dataset(path, batch_size=2, shuffle=False)
    assert [b["x"].tolist() for b in ds.take(3)] == [[1, 2], [3, 1], [2, 3]]
    # one pass keeps the short last batch
    ds = make_csv_dataset(path, batch_size=2, shuffle=False, num_epochs=1)
    assert [b["x"].tolist() for b in ds] == [[1, 2], [3]]


def test_rows_and_files_are_shuffled_repeatably_with_a_seed(tmp_path, reading):
    paths = [
        write(tmp_path, f"part{k}.csv", "x\n" + "".join(f"{10 * k + i}\n" for i in range(5)))
        for k in range(3)
    ]

    def values(seed):
        ds = make_csv_dataset(str(tmp_path / "part*.csv"), 15, num_epochs=1, shuffle_seed=seed)
        return next(iter(ds))["x"].tolist()

    assert sorted(values(1)) == sorted(range(5)) + list(range(10, 15)) + list(range(20, 25))
    assert values(1) == values(1)
    assert values(1) != values(2)
    ordered = make_csv_dataset(paths, 15, num_epochs=1, shuffle=False)
    assert next(iter(ordered))["x"].tolist() == [*range(5), *range(10, 15), *range(20, 25)]


def test_select_columns_by_name_or_index_and_stated_defaults(tmp_path):
    path = write(tmp_path, "t.csv", "a,b,c\n1,x,2.5\n2,y,\n")
    ds = make_csv_dataset(
        path,
        2,
        select_columns=["c", 0],
        column_defaults=[[0], [-1.0]],
        shuffle=False,
        num_epochs=1,
    )
    (batch,) = list(ds)
    assert list(batch) == ["a", "c"]  # file order, as tf.data keeps it
    assert batch["c"].tolist() == [2.5, -1.0]
    with pytest.raises(ValueError, match="select_columns names 'd'"):
        make_csv_dataset(path, 2, select_columns=["d"])
    with pytest.raises(ValueError, match="label_name='b' is not among the columns read"):
        make_csv_dataset(path, 2, select_columns=["a"], label_name="b")


def test_files_without_a_header_take_column_names(tmp_path):
    path = write(tmp_path, "raw.csv", "1,2\n3,4\n")
    (batch,) = list(
        make_csv_dataset(
            path, 2, column_names=["p", "q"], header=False, shuffle=False, num_epochs=1
        )
    )
    assert batch["q"].tolist() == [2, 4]
    with pytest.raises(ValueError, match="needs column_names when header=False"):
        make_csv_dataset(path, 2, header=False)


def test_files_with_different_headers_are_refused(tmp_path):
    write(tmp_path, "a.csv", "x,y\n1,2\n")
    write(tmp_path, "b.csv", "x,z\n1,2\n")
    with pytest.raises(ValueError, match="same header"):
        make_csv_dataset(str(tmp_path / "*.csv"), 2)
    with pytest.raises(FileNotFoundError, match="no file matching"):
        make_csv_dataset(str(tmp_path / "*.tsv"), 2)


def test_the_documented_csv_dataset_with_an_optional_field(tmp_path):
    path = write(tmp_path, "my_file0.csv", "abcdefg,4.28E10,5.55E6,12\nhijklmn,-5.3E14,,2\n")
    ds = CsvDataset(path, [torch.float32, [0.0], "int32"], select_cols=[1, 2, 3])
    records = [tuple(v.item() for v in record) for record in ds]
    assert records == [
        (pytest.approx(4.28e10), pytest.approx(5.55e6), 12),
        (pytest.approx(-5.3e14), 0.0, 2),
    ]
    assert [v.dtype for v in next(iter(ds))] == [torch.float32, torch.float32, torch.int32]
    excluded = CsvDataset(path, [[""], [0]], exclude_cols=[1, 2])
    assert [(str(a), int(b)) for a, b in excluded] == [("abcdefg", 12), ("hijklmn", 2)]


def test_bad_fields_name_the_file_line_and_column_or_are_skipped(tmp_path):
    path = write(tmp_path, "bad.csv", "1,2\n3,oops\n5\n,6\n7,8\n")
    ds = CsvDataset(path, ["int32", [0]])
    with pytest.raises(ValueError, match=r"bad\.csv', line 2: column 1 expects int32"):
        list(ds)
    with pytest.raises(ValueError, match=r"line 3: expected 2 fields"):
        list(CsvDataset(path, ["int32", "string"]))
    with pytest.raises(ValueError, match=r"line 2: column 0 is required"):
        list(CsvDataset(write(tmp_path, "gap.csv", "1,a\n,b\n"), ["int32", "string"]))
    kept = CsvDataset(path, ["int32", [0]], ignore_errors=True)
    assert [tuple(int(v) for v in record) for record in kept] == [(1, 2), (7, 8)]
    with pytest.raises(ValueError, match="expects int32; received .3000000000."):
        list(CsvDataset(write(tmp_path, "big.csv", "3000000000\n"), ["int32"]))
    with pytest.raises(ValueError, match="expects float32; received .1e300."):
        list(CsvDataset(write(tmp_path, "huge.csv", "1.5\n1e300\n"), ["float32"]))


def test_record_defaults_are_checked(tmp_path):
    path = write(tmp_path, "one.csv", "1\n")
    with pytest.raises(ValueError, match="one value, or a dtype"):
        CsvDataset(path, [[1, 2]])
    with pytest.raises(ValueError, match="received dtype torch.bool"):
        CsvDataset(path, [torch.bool])
    typed = CsvDataset(path, [np.array([], dtype="int64")])  # an empty typed array: required
    assert next(iter(typed))[0].dtype == torch.int64


def test_quotes_delimiters_na_values_and_compressed_files(tmp_path):
    text = 'name;note\n"Smith; J";"said ""hi"""\nDoe;NA\n'
    path = write(tmp_path, "q.csv", text)
    (batch,) = list(
        make_csv_dataset(path, 2, field_delim=";", na_value="NA", shuffle=False, num_epochs=1)
    )
    assert batch["name"].tolist() == ["Smith; J", "Doe"]
    assert batch["note"].tolist() == ['said "hi"', ""]

    plain = "x,y\n1,2.5\n3,4.5\n"
    (tmp_path / "z.csv.gz").write_bytes(gzip.compress(plain.encode()))
    (tmp_path / "z.csv.zz").write_bytes(zlib.compress(plain.encode()))
    for name, kind in [("z.csv.gz", "GZIP"), ("z.csv.zz", "ZLIB")]:
        (batch,) = list(
            make_csv_dataset(
                str(tmp_path / name), 2, compression_type=kind, shuffle=False, num_epochs=1
            )
        )
        assert batch["y"].tolist() == [2.5, 4.5]


def test_files_read_side_by_side_interleave_their_rows(tmp_path):
    write(tmp_path, "p0.csv", "x\n1\n2\n3\n")
    write(tmp_path, "p1.csv", "x\n10\n20\n")
    ds = make_csv_dataset(
        str(tmp_path / "p*.csv"), 5, num_parallel_reads=2, shuffle=False, num_epochs=1
    )
    assert next(iter(ds))["x"].tolist() == [1, 10, 2, 20, 3]


def test_bad_rows_are_dropped_or_named_in_both_ways_of_reading(tmp_path, reading):
    path = write(tmp_path, "t.csv", "x,y\n1,2\n3,oops\n4\n5,6\n")
    with pytest.raises(ValueError, match=r"line 3: column 1 expects int32; received 'oops'"):
        list(make_csv_dataset(path, 4, column_defaults=[[0], [0]], shuffle=False, num_epochs=1))
    ds = make_csv_dataset(
        path, 4, column_defaults=[[0], [0]], shuffle=False, num_epochs=1, ignore_errors=True
    )
    assert next(iter(ds))["y"].tolist() == [2, 6]


def test_fit_trains_on_a_csv_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    rows = "".join(f"{x:.4f},{y:.4f},{int(x + y > 0)}\n" for x, y in zip(a, b, strict=True))
    path = write(tmp_path, "train.csv", "a,b,target\n" + rows)
    ds = make_csv_dataset(path, 20, label_name="target", shuffle_seed=0).map(
        lambda features, label: (torch.stack([features["a"], features["b"]], -1), label)
    )
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer=lamina.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(ds, epochs=4, steps_per_epoch=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_a_zlib_file_inflates_a_piece_at_a_time(tmp_path):
    from lamina.data.csv_reader import open_text

    text = "".join(f"{i},{i * 2.5}\n" for i in range(40000))  # inflates past several pieces
    (tmp_path / "big.zz").write_bytes(zlib.compress(text.encode()))
    with open_text(str(tmp_path / "big.zz"), "ZLIB") as stream:
        assert stream.read() == text
    with pytest.raises(ValueError, match="compression_type '', 'GZIP' or 'ZLIB'"):
        open_text(str(tmp_path / "big.zz"), "BZIP2")
