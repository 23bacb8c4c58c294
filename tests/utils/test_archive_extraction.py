"""Hostile archives handed to get_file(extract=True): refused whole, nothing written anywhere."""

import io
import os
import stat
import tarfile
import zipfile

import pytest

import lamina
from lamina.utils.archive_extraction import UnsafeArchiveError, extract_archive


def tar_entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    return info, io.BytesIO(data)


def write_tar(path, entries):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, data if info.isfile() else None)
    return path


def write_zip(path, entries):
    """entries: (name, data) or a ZipInfo-with-data pair."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def zip_symlink(name, target):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def safe():
    return tar_entry("data/ok.txt", b"ok")


HOSTILE_TARS = {
    "dotdot": ([safe(), tar_entry("../evil.txt", b"x")], "'../evil.txt' is an absolute path or "),
    "absolute": ([tar_entry("/tmp/evil.txt", b"x")], "'/tmp/evil.txt' is an absolute path or "),
    "symlink-absolute": (
        [tar_entry("etc", kind=tarfile.SYMTYPE, link="/etc")],
        "'etc' links to '/etc', outside the archive's folder",
    ),
    "symlink-up": (
        [tar_entry("data/up", kind=tarfile.SYMTYPE, link="../..")],
        "'data/up' links to '../..', outside",
    ),
    "hardlink-up": (
        [tar_entry("h", kind=tarfile.LNKTYPE, link="../secret")],
        "'h' links to '../secret', outside",
    ),
    "through-own-link": (
        [
            tar_entry("d", kind=tarfile.SYMTYPE, link="."),
            tar_entry("d/x", kind=tarfile.SYMTYPE, link=".."),
        ],
        "'d/x' lies under a link declared by the archive",
    ),
    "link-through-own-link": (
        [
            tar_entry("r", kind=tarfile.SYMTYPE, link="."),
            tar_entry("x", kind=tarfile.SYMTYPE, link="r/.."),
        ],
        "'x' links to 'r/..' through another link",
    ),
    "fifo": ([tar_entry("pipe", kind=tarfile.FIFOTYPE)], "'pipe' is a device, FIFO"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TARS))
def test_hostile_tar_is_refused_and_nothing_is_written(tmp_path, case):
    entries, message = HOSTILE_TARS[case]
    origin = write_tar(tmp_path / "bad.tar.gz", entries)
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(UnsafeArchiveError, match=f"Refusing to extract .*member {message}"):
        lamina.utils.get_file("bad", origin=str(origin), extract=True, cache_dir=cache)
    folder = cache / "datasets"
    assert sorted(os.listdir(folder)) == ["bad_archive"]  # the download, no extraction
    assert sorted(os.listdir(tmp_path)) == ["bad.tar.gz", "deep"]
    assert sorted(os.listdir(tmp_path / "deep")) == ["cache"]


@pytest.mark.parametrize(
    "entries, message",
    [
        ([("ok.txt", b"ok"), ("../evil.txt", b"x")], "'../evil.txt' is an absolute path"),
        ([("/abs.txt", b"x")], "'/abs.txt' is an absolute path"),
        ([("C:/windows.txt", b"x")], "'C:/windows.txt' is an absolute path"),
        ([zip_symlink("link", b"/etc/passwd")], "'link' is a symbolic link or special file"),
        ([("zeros.bin", bytes(2**21))], "'zeros.bin' declares 2097152 bytes from \\d+ stored"),
    ],
    ids=["dotdot", "absolute", "drive", "symlink", "zip-bomb"],
)
def test_hostile_zip_is_refused(tmp_path, entries, message):
    origin = write_zip(tmp_path / "bad.zip", entries)
    with pytest.raises(UnsafeArchiveError, match=f"member {message}"):
        extract_archive(origin, tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["bad.zip"]


def test_member_count_and_size_follow_the_saving_limits(tmp_path):
    origin = write_zip(tmp_path / "many.zip", [(f"{i}.txt", b"x") for i in range(3)])
    too_many = pytest.raises(UnsafeArchiveError, match="holds 3 members; archives are limited to 2")
    with lamina.saving.load_limits(max_entries=2), too_many:
        extract_archive(origin, tmp_path / "out")
    assert extract_archive(origin, tmp_path / "out")
    tar = write_tar(tmp_path / "big.tgz", [tar_entry("big.bin", bytes(100))])
    too_big = pytest.raises(UnsafeArchiveError, match="'big.bin' declares 100 bytes, over")
    with lamina.saving.load_limits(max_member_bytes=99), too_big:
        extract_archive(tar, tmp_path / "big")


def test_links_inside_the_archive_are_kept(tmp_path):
    origin = write_tar(
        tmp_path / "ok.tgz",
        [safe(), tar_entry("data/alias.txt", kind=tarfile.SYMTYPE, link="ok.txt")],
    )
    assert extract_archive(origin, tmp_path / "out")
    assert os.readlink(tmp_path / "out" / "data" / "alias.txt") == "ok.txt"
    assert (tmp_path / "out" / "data" / "alias.txt").read_bytes() == b"ok"
    # A second extraction replaces the folder; no staging folder is left behind.
    assert extract_archive(origin, tmp_path / "out", archive_format=["zip", "tar"])
    assert sorted(os.listdir(tmp_path)) == ["ok.tgz", "out"]
    assert not extract_archive(origin, tmp_path / "none", archive_format="zip")
    with pytest.raises(ValueError, match="archive_format must be 'auto', 'tar', 'zip'"):
        extract_archive(origin, tmp_path / "x", archive_format="rar")
