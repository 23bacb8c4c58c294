"""The `.keras` archive (saving/keras_format.py) carries the files layers write with Keras's
`save_assets(folder)` under `assets/<layer path>/`, and hands them back to `load_assets`."""

import os
import zipfile

import pytest

import lamina
from tests.parity import reference


def _words_class(m):
    class Words(m.layers.Layer):
        """A layer whose state is a word list kept as a text file, not a tensor."""

        def __init__(self, words=None, **kwargs):
            super().__init__(**kwargs)
            self.words = words

        def call(self, x):
            return x

        def save_assets(self, folder):
            with open(os.path.join(folder, "words.txt"), "w") as handle:
                handle.write("\n".join(self.words))

        def load_assets(self, folder):
            with open(os.path.join(folder, "words.txt")) as handle:
                self.words = handle.read().split("\n")

    return Words


def _saved_words(m, path):
    model = m.Sequential([m.Input((2,)), _words_class(m)(words=["red", "green"])])
    model.save(path)


def _loaded_words(m, path):
    restored = m.models.load_model(path, custom_objects={"Words": _words_class(m)})
    return restored.layers[0].words


def test_assets_come_back_to_the_layer(tmp_path):
    path = tmp_path / "words.keras"
    _saved_words(lamina, path)
    assert _loaded_words(lamina, path) == ["red", "green"]


def test_assets_sit_under_the_layer_path(tmp_path):
    path = tmp_path / "words.keras"
    _saved_words(lamina, path)
    with zipfile.ZipFile(path) as archive:
        assert "assets/layers/words/words.txt" in archive.namelist()


def test_a_model_without_asset_hooks_writes_no_assets(tmp_path):
    path = tmp_path / "plain.keras"
    lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)]).save(path)
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("assets/")]


@pytest.mark.parity
def test_assets_are_laid_out_as_keras_lays_them_out(tmp_path):
    ours, theirs = tmp_path / "ours.keras", tmp_path / "theirs.keras"
    _saved_words(lamina, ours)
    reference.keras_run(lambda m: _saved_words(m, theirs))
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        ours_assets = sorted(n for n in a.namelist() if n.startswith("assets/"))
        theirs_assets = sorted(n for n in b.namelist() if n.startswith("assets/"))
        assert ours_assets == theirs_assets
        assert a.read(ours_assets[0]) == b.read(theirs_assets[0])


@pytest.mark.parity
def test_assets_cross_between_keras_and_lamina(tmp_path):
    theirs, ours = tmp_path / "theirs.keras", tmp_path / "ours.keras"
    reference.keras_run(lambda m: _saved_words(m, theirs))
    assert _loaded_words(lamina, theirs) == ["red", "green"]
    _saved_words(lamina, ours)
    assert reference.keras_run(lambda m: _loaded_words(m, ours)) == ["red", "green"]
