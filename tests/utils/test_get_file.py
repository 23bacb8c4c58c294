"""lamina.utils.get_file: the cache, local and http origins, hashes, the offline error, extraction.

Every origin is a file the test writes, or a `http.server` on 127.0.0.1 serving one; nothing
leaves the machine.
"""

import hashlib
import http.server
import io
import os
import re
import socket
import tarfile
import threading
import zipfile

import pytest

import lamina
from tests.parity import reference

get_file = lamina.utils.get_file


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "origin" / "notes.txt"
    path.parent.mkdir()
    path.write_bytes(b"hello lamina\n")
    return path


@pytest.fixture
def server(tmp_path):
    """(base URL, list of requested paths) of an HTTP server over tmp_path/'served'."""
    folder = tmp_path / "served"
    folder.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def closed_port_url(name):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def test_local_path_and_file_url_are_copied_into_the_cache(tmp_path, source, capsys):
    cache = tmp_path / "cache"
    path = get_file(origin=str(source), cache_dir=cache)
    assert path == str(cache / "datasets" / "notes.txt")
    assert read_bytes(path) == b"hello lamina\n"
    assert "Downloading data from" in capsys.readouterr().out
    by_url = get_file("copy.txt", origin=source.as_uri(), cache_dir=cache, cache_subdir="sub")
    assert by_url == str(cache / "sub" / "copy.txt")
    capsys.readouterr()
    source.unlink()  # offline from now on: the cached copy is used, nothing is fetched
    assert get_file(origin=str(source), cache_dir=cache) == path
    assert capsys.readouterr().out == ""


def test_default_cache_is_keras_home(tmp_path, source, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    path = get_file(origin=str(source))
    assert path == str(tmp_path / "keras_home" / "datasets" / "notes.txt")


def test_http_fetch_once_then_served_from_the_cache(tmp_path, server, capsys):
    base, folder, requests = server
    (folder / "data.bin").write_bytes(bytes(range(256)) * 300)  # 76800 bytes: shows a progbar
    path = get_file(origin=f"{base}/data.bin", cache_dir=tmp_path / "cache")
    assert read_bytes(path) == bytes(range(256)) * 300
    assert requests == ["/data.bin"]
    get_file(origin=f"{base}/data.bin", cache_dir=tmp_path / "cache")
    assert requests == ["/data.bin"]
    get_file(origin=f"{base}/data.bin", cache_dir=tmp_path / "cache", force_download=True)
    assert requests == ["/data.bin"] * 2
    assert not [name for name in os.listdir(tmp_path / "cache" / "datasets") if "part" in name]
    capsys.readouterr()


def test_offline_error_names_url_reason_and_where_to_put_the_file(tmp_path):
    url = closed_port_url("weights.h5")
    target = tmp_path / "cache" / "models" / "weights.h5"
    expected = (
        re.escape(f"get_file could not fetch '{url}': ")
        + r".*refused\."
        + re.escape(
            f" No usable cached copy at '{target}'. If this machine is offline, copy the file "
            f"there by hand with sha256 hash {'a' * 64}; get_file then uses it without any "
            "network access."
        )
    )
    with pytest.raises(OSError, match=expected):
        get_file(
            origin=url, cache_dir=tmp_path / "cache", cache_subdir="models", file_hash="a" * 64
        )
    assert os.listdir(tmp_path / "cache" / "models") == []
    target.write_bytes(b"put here by hand")
    assert get_file(origin=url, cache_dir=tmp_path / "cache", cache_subdir="models") == str(target)
    by_hand = hashlib.sha256(b"put here by hand").hexdigest()
    found = get_file(
        origin=url, cache_dir=tmp_path / "cache", cache_subdir="models", file_hash=by_hand
    )
    assert found == str(target)
    with pytest.raises(OSError, match="force_download=True, so the cached copy at '.*weights.h5'"):
        get_file(
            origin=url, cache_dir=tmp_path / "cache", cache_subdir="models", force_download=True
        )
    assert target.read_bytes() == b"put here by hand"


def test_http_404_is_reported(tmp_path, server):
    base, _, _ = server
    with pytest.raises(OSError, match=r"could not fetch '.*/missing.zip': HTTP 404 File not found"):
        get_file(origin=f"{base}/missing.zip", cache_dir=tmp_path)


def test_hashes_md5_sha256_and_auto(tmp_path, source):
    content = source.read_bytes()
    md5, sha256 = hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()
    for index, kwargs in enumerate(
        [
            {"file_hash": sha256},
            {"file_hash": md5},
            {"md5_hash": md5},
            {"file_hash": sha256, "hash_algorithm": "sha256"},
        ]
    ):
        path = get_file(f"n{index}.txt", origin=str(source), cache_dir=tmp_path, **kwargs)
        assert read_bytes(path) == content
    assert lamina.utils.file_download.validate_file(path, md5)
    assert not lamina.utils.file_download.validate_file(path, md5, algorithm="sha256")


def test_wrong_hash_is_refused_and_not_cached(tmp_path, source):
    with pytest.raises(
        ValueError,
        match=r"Incomplete or corrupted file detected. The md5 file hash does not match the "
        r"provided value of 0{32}: .* served a file whose md5 is [0-9a-f]{32}\. It was not cached",
    ):
        get_file(origin=str(source), cache_dir=tmp_path, file_hash="0" * 32)
    assert os.listdir(tmp_path / "datasets") == []


def test_stale_cached_file_is_fetched_again(tmp_path, source, capsys):
    cached = tmp_path / "datasets" / "notes.txt"
    cached.parent.mkdir()
    cached.write_bytes(b"truncated")
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    path = get_file(origin=str(source), cache_dir=tmp_path, file_hash=sha256)
    assert read_bytes(path) == source.read_bytes()
    assert "the sha256 file hash does not match the original value" in capsys.readouterr().out
    # Offline with a stale copy: the error says so.
    cached.write_bytes(b"truncated")
    with pytest.raises(OSError, match=r"No usable cached copy \(the cached copy's sha256 hash"):
        get_file(origin=closed_port_url("notes.txt"), cache_dir=tmp_path, file_hash=sha256)


def test_argument_errors(tmp_path, source):
    with pytest.raises(ValueError, match='Please specify the "origin" argument'):
        get_file("x.txt")
    with pytest.raises(ValueError, match="Paths are no longer accepted as the `fname` argument"):
        get_file("a/b.txt", origin=str(source), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="Can't parse the file name from the origin"):
        get_file(origin="http://127.0.0.1/", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm 'auto', 'md5' or 'sha256'"):
        get_file(origin=str(source), cache_dir=tmp_path, hash_algorithm="sha1")


def write_tar(path, members, mode="w:gz"):
    """members: {name: bytes}."""
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def tree_of(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            full = os.path.join(root, name)
            found[os.path.relpath(full, folder)] = read_bytes(full)
    return found


@pytest.mark.parametrize(
    "archive, fname, extract_as",
    [
        ("flowers.tgz", None, "flowers.tgz"),
        ("flowers.tgz", "flowers", "flowers"),
        ("flowers.tgz", "flowers.tar.gz", "flowers_extracted"),
        ("flowers.zip", None, "flowers.zip"),
        ("flowers.zip", "flowers.zip", "flowers_extracted"),
    ],
    ids=["tgz-no-fname", "tgz-fname-folder", "tgz-fname-dotted", "zip-no-fname", "zip-dotted"],
)
def test_extract_like_keras(tmp_path, archive, fname, extract_as):
    members = {"flowers/daisy/1.txt": b"one", "flowers/rose/2.txt": b"two"}
    origin = tmp_path / archive
    if archive.endswith(".zip"):
        write_zip(origin, members)
    else:
        write_tar(origin, members)
    ours = get_file(fname, origin=origin.as_uri(), extract=True, cache_dir=tmp_path / "ours")
    (tmp_path / "keras").mkdir()  # Keras falls back to /tmp/.keras for a folder not yet made
    keras_path = reference.keras_get_file(
        fname=fname, origin=origin.as_uri(), extract=True, cache_dir=str(tmp_path / "keras")
    )
    assert ours == str(tmp_path / "ours" / "datasets" / extract_as)
    assert os.path.relpath(ours, tmp_path / "ours") == os.path.relpath(
        keras_path, tmp_path / "keras"
    )
    assert (
        tree_of(ours)
        == tree_of(keras_path)
        == {os.path.join(*name.split("/")): data for name, data in members.items()}
    )


def test_untar_and_not_an_archive(tmp_path, source):
    origin = write_tar(tmp_path / "a.tar", {"x.txt": b"x"}, mode="w")
    folder = get_file("a", origin=str(origin), untar=True, cache_dir=tmp_path / "c")
    assert tree_of(folder) == {"x.txt": b"x"}
    with pytest.warns(UserWarning, match="Could not extract archive .*notes.txt_archive"):
        get_file(origin=str(source), extract=True, cache_dir=tmp_path / "c")
