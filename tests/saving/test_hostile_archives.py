"""Hostile `.keras` archives and configs: each is built here, tiny (sizes are declared, not
stored), and refused from what the archive declares, before anything is inflated, with an error
naming the file, the member, the declared size and the limit (and how to raise it)."""

import contextlib
import json
import os
import stat
import threading
import warnings
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers, saving
from lamina.saving import FileFormatError

GIB = 2**30


def _model():
    return lamina.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])


def _members(tmp_path):
    """The members of a genuine `.keras` file, as {name: bytes}."""
    path = tmp_path / "genuine.keras"
    _model().save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _archive(path, members, declare=None, extra=(), compression=zipfile.ZIP_STORED):
    """Write `members` (and `extra` ZipInfo/bytes pairs); `declare` maps a member name to the
    fields its central-directory entry should claim (ZipFile writes that entry from the ZipInfo
    at close, so only the declaration changes, not the stored bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            for info, data in extra:
                archive.writestr(info, data)
            for info in archive.infolist():
                for field, value in (declare or {}).get(info.filename, {}).items():
                    setattr(info, field, value)
    return path


def _refused(path, match):
    with pytest.raises(FileFormatError, match=match):
        lamina.models.load_model(path)


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_member_declaring_10_gb_is_refused(tmp_path, member):
    path = _archive(
        tmp_path / "big.keras", _members(tmp_path), declare={member: {"file_size": 10 * GIB}}
    )
    assert path.stat().st_size < 100_000
    _refused(
        path,
        rf"big\.keras: member '{member}' declares 10737418240 bytes uncompressed; archive "
        rf"members are limited to {8 * GIB} bytes\. Hint: .*"
        r"lamina\.saving\.set_load_limits\(max_member_bytes=10737418240\)",
    )


def test_raised_limit_lets_a_trusted_file_load(tmp_path):
    # zipfile never inflates past the bytes actually stored, so once the user vouches for the
    # file its (false) declaration costs nothing.
    path = _archive(
        tmp_path / "big.keras", _members(tmp_path), declare={"config.json": {"file_size": 10 * GIB}}
    )
    with saving.load_limits(max_member_bytes=16 * GIB, max_compression_ratio=1e12):
        assert lamina.models.load_model(path).layers[-1].units == 2
    assert saving.get_load_limits().max_member_bytes == 8 * GIB  # restored after the block


def test_compression_ratio_past_the_limit_is_refused(tmp_path):
    path = _archive(
        tmp_path / "bomb.keras", _members(tmp_path), declare={"config.json": {"file_size": GIB}}
    )
    _refused(
        path,
        r"member 'config\.json' declares 1073741824 bytes uncompressed from \d+ stored "
        r"\(ratio \d+:1, a zip bomb\?\); the ratio is limited to 100:1\..*max_compression_ratio=",
    )


def test_real_zip_bomb_in_an_unused_member_is_refused_without_inflating(tmp_path, monkeypatch):
    # 64 MiB of zeros deflate to ~64 KiB; the old loader inflated every member (testzip).
    members = _members(tmp_path)
    members["assets/bomb.bin"] = bytes(64 * 2**20)
    path = _archive(tmp_path / "bomb.keras", members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 200_000
    opened = []
    original = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    _refused(
        path, r"member 'assets/bomb\.bin' declares 67108864 bytes uncompressed from \d+ stored"
    )
    assert opened == []  # refused from the central directory alone


def test_stored_size_past_the_end_of_the_archive_is_refused(tmp_path):
    path = _archive(
        tmp_path / "forged.keras",
        _members(tmp_path),
        declare={"model.weights.h5": {"compress_size": 2 * GIB, "file_size": 2 * GIB}},
    )
    _refused(
        path,
        r"member 'model\.weights\.h5' declares 2147483648 stored bytes at offset \d+, "
        r"past the end of the \d+-byte archive",
    )


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil.json", "assets/../../evil.json"])
def test_member_names_climbing_out_are_refused(tmp_path, name):
    members = _members(tmp_path)
    members[name] = b"{}"
    path = _archive(tmp_path / "climb.keras", members)
    _refused(path, rf"holds a member named '{name}': an absolute path or one that climbs out")


@pytest.mark.parametrize(
    "mode, kind", [(stat.S_IFLNK | 0o777, "symlink"), (stat.S_IFIFO | 0o644, "FIFO")]
)
def test_special_entries_are_refused(tmp_path, mode, kind):
    members = _members(tmp_path)
    del members["config.json"]
    info = zipfile.ZipInfo("config.json")
    info.create_system = 3
    info.external_attr = mode << 16
    path = _archive(tmp_path / "link.keras", members, extra=[(info, b"/etc/passwd")])
    _refused(path, rf"member 'config\.json' is a {kind} entry; a \.keras file holds only regular")


def test_duplicate_member_names_are_refused(tmp_path):
    members = _members(tmp_path)
    info = zipfile.ZipInfo("config.json")
    path = _archive(tmp_path / "twice.keras", members, extra=[(info, b'{"class_name": "X"}')])
    _refused(path, r"holds several members named \['config\.json'\]; which copy is meant")


def test_too_many_members_are_refused_from_the_end_record(tmp_path):
    members = _members(tmp_path)
    members.update({f"assets/{i}": b"" for i in range(20)})
    path = _archive(tmp_path / "many.keras", members)
    with saving.load_limits(max_entries=10):
        _refused(path, r"many\.keras declares 23 archive members; the limit is 10")


def test_encrypted_member_is_refused(tmp_path):
    members = _members(tmp_path)
    path = _archive(tmp_path / "locked.keras", members, declare={"config.json": {"flag_bits": 1}})
    _refused(path, r"member 'config\.json' is encrypted")


def test_deeply_nested_config_is_refused(tmp_path):
    # Before: a bare RecursionError from the JSON parser.
    members = _members(tmp_path)
    members["config.json"] = b"[" * 200_000 + b"]" * 200_000
    path = _archive(tmp_path / "deep.keras", members)
    _refused(
        path,
        r"deep\.keras: config\.json nests lists/objects 200000 levels deep; the limit is 100\. .*"
        r"set_load_limits\(max_json_depth=200000\)",
    )


def test_nesting_inside_strings_does_not_count(tmp_path):
    assert saving.safe_json.nesting_depth(b'{"a": "[[[[[[\\"]]", "b": [[1]]}') == 3
    assert saving.safe_json.nesting_depth(b"[" * 7 + b"]" * 7) == 7


def test_oversized_config_is_refused(tmp_path):
    members = _members(tmp_path)
    size = len(members["config.json"])
    path = _archive(tmp_path / "long.keras", members)
    with saving.load_limits(max_json_bytes=100):
        _refused(path, rf"config\.json is {size} bytes; JSON documents are limited to 100 bytes")


def test_integer_past_pythons_digit_limit_gets_a_clear_error(tmp_path):
    # Before: a bare ValueError ("Exceeds the limit (4300 digits) for integer string conversion").
    members = _members(tmp_path)
    members["config.json"] = b'{"class_name": "Sequential", "config": ' + b"9" * 5000 + b"}"
    path = _archive(tmp_path / "digits.keras", members)
    _refused(path, r"digits\.keras: config\.json is not valid JSON \(Exceeds the limit")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", r"is not a readable \.keras file \(expected a zip archive"),
        (b"this is text, not a zip" * 4, r"is not a readable \.keras file \(expected a zip"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), r"is an HDF5 file, not a \.keras zip archive\. Hint"),
    ],
    ids=["empty", "text", "hdf5"],
)
def test_wrong_file_types_get_a_clear_error(tmp_path, content, match):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    _refused(path, match)


def test_folder_named_keras_is_refused(tmp_path):
    (tmp_path / "model.keras").mkdir()
    _refused(tmp_path / "model.keras", r"model\.keras is a directory; expected a regular file")


def test_fifo_named_keras_is_refused_without_blocking(tmp_path):
    path = tmp_path / "model.keras"
    os.mkfifo(path)
    done = threading.Event()

    def unblock():  # should a reader block on the FIFO, a writer that closes at once frees it
        while not done.wait(0.2):
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        with pytest.raises(FileFormatError, match=r"is a FIFO, socket or device; expected a reg"):
            lamina.models.load_model(path)
        with pytest.raises(FileFormatError, match=r"is a FIFO, socket or device"):
            _model().load_weights(path)
    finally:
        done.set()
        thread.join()


def test_keras_file_with_extra_honest_members_still_loads(tmp_path):
    # Folders and assets that Keras may write are fine; only their declarations are checked.
    members = _members(tmp_path)
    members["assets/"] = b""
    members["assets/vocabulary.txt"] = b"a\nb\n"
    path = _archive(tmp_path / "extra.keras", members, compression=zipfile.ZIP_DEFLATED)
    restored = lamina.models.load_model(path)
    x = np.ones((2, 4), "float32")
    assert restored.predict(x, verbose=0).shape == (2, 2)


def test_load_limits_reject_unknown_and_invalid_values():
    with pytest.raises(TypeError, match=r"unknown limit\(s\) \['max_size'\]; the limits are"):
        saving.set_load_limits(max_size=1)
    with pytest.raises(ValueError, match=r"expects max_json_depth to be a positive number"):
        saving.set_load_limits(max_json_depth=0)


@pytest.mark.parametrize(
    "config, match",
    [
        ({"class_name": {}, "config": {}}, r"expected to hold a class name .* class_name=\{\}"),
        ({"class_name": "Sequential", "config": 5}, r"a config of type int"),
        (
            {"class_name": "Sequential", "config": {"layers": 5}},
            r"cannot be rebuilt: TypeError: 'int' object is not iterable",
        ),
        (
            {
                "class_name": "Sequential",
                "config": {"layers": [{"class_name": "Dense", "config": "x"}]},
            },
            r"cannot be rebuilt: ValueError",
        ),
        (
            {
                "class_name": "Sequential",
                "config": {"layers": [{"class_name": "Dense", "config": {"units": 3, "zzz": 1}}]},
            },
            r"cannot be rebuilt: UnexpectedArgumentError: Dense\(\) got unexpected keyword"
            r" argument.* \['zzz'",
        ),
    ],
    ids=[
        "class-name-object",
        "config-number",
        "layers-number",
        "layer-config-string",
        "unknown-argument",
    ],
)
def test_malformed_config_names_the_file(tmp_path, config, match):
    # Before: bare TypeError / AttributeError / ValueError from deep inside from_config.
    members = _members(tmp_path)
    members["config.json"] = json.dumps(config).encode()
    path = _archive(tmp_path / "odd.keras", members)
    _refused(path, r"odd\.keras: (the model config )?.*" + match)
