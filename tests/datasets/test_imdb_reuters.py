"""imdb and reuters loaders on tiny `.npz` files in Keras's layout (object arrays of lists)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lamina.datasets import imdb, reuters


def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


@pytest.fixture
def imdb_file(tmp_path):
    path = tmp_path / "imdb.npz"
    np.savez(
        path,
        x_train=_objects([[1, 2, 3], [4, 5], [6, 7, 8, 9]]),
        y_train=np.array([0, 1, 1]),
        x_test=_objects([[9, 1], [2]]),
        y_test=np.array([1, 0]),
    )
    return path


def _by_label_and_length(x, y):
    return sorted((int(label), list(seq)) for seq, label in zip(x, y, strict=True))


def test_imdb_reindexes_like_keras(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(path=str(imdb_file))
    assert x_train.dtype == object and x_train.shape == (3,)
    # start_char 1, ids shifted by index_from 3; shuffling keeps (sequence, label) pairs.
    # Keras's quirk, kept: without num_words the cap is the largest id, which itself becomes
    # the OOV id 2.
    assert _by_label_and_length(x_train, y_train) == [
        (0, [1, 4, 5, 6]),
        (1, [1, 7, 8]),
        (1, [1, 9, 10, 11, 2]),
    ]
    assert _by_label_and_length(x_test, y_test) == [(0, [1, 5]), (1, [1, 2, 4])]


def test_imdb_shuffle_follows_keras_seeded_order(imdb_file):
    (x_train, _), _ = imdb.load_data(path=str(imdb_file), seed=113)
    order = np.arange(3)
    np.random.RandomState(113).shuffle(order)
    expected = [[[1, 4, 5, 6], [1, 7, 8], [1, 9, 10, 11, 2]][i] for i in order]
    assert [list(s) for s in x_train] == expected


def test_imdb_num_words_skip_top_and_maxlen(imdb_file):
    (x_train, y_train), (x_test, _) = imdb.load_data(
        path=str(imdb_file), num_words=8, skip_top=2, maxlen=4
    )
    # maxlen drops sequences of 4+ tokens (after the start char); ids >= 8 or < 2 become 2.
    assert _by_label_and_length(x_train, y_train) == [(1, [2, 7, 2])]
    assert sorted(list(s) for s in x_test) == [[2, 2, 4], [2, 5]]


def test_imdb_absent_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"imdb: no local copy found .* Place 'imdb\.npz'"):
        imdb.load_data()


def test_imdb_maxlen_that_drops_everything(imdb_file):
    with pytest.raises(ValueError, match=r"imdb\.load_data expects maxlen to leave some sequences"):
        imdb.load_data(path=str(imdb_file), maxlen=1)


def test_imdb_word_index_from_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "imdb_word_index.json").write_text(json.dumps({"the": 1}))
    assert imdb.get_word_index() == {"the": 1}


def test_npz_with_code_in_its_pickle_is_refused(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "imdb.npz"
    np.savez(
        path,
        x_train=_objects([Sneaky()]),
        y_train=np.array([0]),
        x_test=_objects([[1]]),
        y_test=np.array([0]),
    )
    with pytest.raises(Exception, match=r"Refusing to load builtins\.print"):
        imdb.load_data(path=str(path))


def test_reuters_split_and_reindex(tmp_path):
    path = tmp_path / "reuters.npz"
    wires = [[1, 2], [3], [4, 5, 6], [7], [8, 9]]
    np.savez(path, x=_objects(wires), y=np.array([0, 1, 2, 3, 4]))
    (x_train, y_train), (x_test, y_test) = reuters.load_data(path=str(path), test_split=0.4)
    assert len(x_train) == 3 and len(x_test) == 2
    pairs = _by_label_and_length(
        np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    )
    shifted = [[1] + [w + 3 for w in wire] for wire in wires]
    shifted[4][-1] = 2  # the largest id is the cap, so it maps to OOV (Keras's rule)
    assert pairs == list(enumerate(shifted))


def test_reuters_label_names_are_keras_topics():
    from tests.parity import reference

    assert reuters.get_label_names() == reference.keras_reuters_label_names()
