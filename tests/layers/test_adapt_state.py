"""Keras's adapt protocol on lamina's vocabulary layers (Keras's need TensorFlow, so these are
checked on their own): update_state accumulates, finalize_state fixes the vocabulary,
reset_state clears; a learned vocabulary travels as a saved model's vocabulary.txt asset."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import lamina


def lookup(name, **kwargs):
    return getattr(lamina.layers, name)(**kwargs)


def test_string_lookup_update_finalize_reset():
    layer = lookup("StringLookup")
    layer.update_state(np.array([["b", "a"], ["a", "c"]]))
    layer.update_state(np.array(["a", "b"]))  # a 1-D batch is one document
    assert layer.get_vocabulary() == ["[UNK]"]  # nothing fixed before finalize_state
    layer.finalize_state()
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    layer.update_state(np.array(["z"]))
    layer.reset_state()
    layer.finalize_state()  # nothing counted since the reset: the vocabulary stays
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]


def test_adapt_is_reset_update_finalize():
    data = np.array([[3, 4, 3], [4, 5, 3]])
    adapted = lookup("IntegerLookup", output_mode="tf_idf")
    adapted.adapt(data)
    stepped = lookup("IntegerLookup", output_mode="tf_idf")
    stepped.update_state(data[:1])
    stepped.update_state(data[1:])
    stepped.finalize_state()
    assert stepped.get_vocabulary() == adapted.get_vocabulary() == [-1, 3, 4, 5]
    np.testing.assert_allclose(stepped.idf_weights, adapted.idf_weights)


def test_text_vectorization_update_finalize_reset():
    layer = lamina.layers.TextVectorization()
    layer.update_state(["The cat", "the dog"])
    layer.update_state(["a cat"])
    layer.finalize_state()
    adapted = lamina.layers.TextVectorization()
    adapted.adapt(["The cat", "the dog", "a cat"])
    assert layer.get_vocabulary() == adapted.get_vocabulary()
    assert layer.get_vocabulary()[:4] == ["", "[UNK]", "the", "cat"]


@pytest.mark.parametrize(
    "make,data,tokens",
    [
        (lambda: lookup("StringLookup"), np.array([["x", "y", "x"]]), ["[UNK]", "x", "y"]),
        (lambda: lookup("IntegerLookup"), np.array([[7, 8, 8]]), [-1, 8, 7]),
        (lambda: lamina.layers.TextVectorization(), ["b a b"], ["", "[UNK]", "b", "a"]),
    ],
    ids=["StringLookup", "IntegerLookup", "TextVectorization"],
)
def test_save_and_load_assets(tmp_path, make, data, tokens):
    layer = make()
    layer.adapt(data)
    layer.save_assets(str(tmp_path))
    lines = (tmp_path / "vocabulary.txt").read_text().splitlines()
    assert lines == [str(t) for t in tokens]
    fresh = make()
    fresh.load_assets(str(tmp_path))
    assert fresh.get_vocabulary() == tokens


def test_given_vocabulary_is_not_an_asset(tmp_path):
    lookup("StringLookup", vocabulary=["a", "b"]).save_assets(str(tmp_path))
    lamina.layers.TextVectorization(vocabulary=["a"]).save_assets(str(tmp_path))
    assert not (tmp_path / "vocabulary.txt").exists()


def test_model_file_without_vocabulary_in_config_loads_it_from_assets(tmp_path):
    """A Keras file keeps an adapted vocabulary as assets/<layer>/vocabulary.txt only."""
    layer = lookup("StringLookup")
    layer.adapt(np.array([["k", "j", "k"]]))
    model = lamina.Sequential([lamina.Input((3,), dtype="string"), layer])
    path = tmp_path / "lookup.keras"
    model.save(path)
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(edited, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(data)
                for entry in config["config"]["layers"]:
                    if entry["class_name"] == "StringLookup":
                        entry["config"]["vocabulary"] = None
                data = json.dumps(config).encode()
            target.writestr(info, data)
        assert any(name.endswith("vocabulary.txt") for name in source.namelist())
    loaded = lamina.models.load_model(edited)
    assert loaded.layers[-1].get_vocabulary() == ["[UNK]", "k", "j"]
