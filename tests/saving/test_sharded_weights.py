"""Sharded weights (saving/sharded_weights.py): `save_weights(..., max_shard_size=)` writes
Keras's `.weights.json` index and shard files; lamina and Keras read each other's shards."""

import json

import numpy as np
import pytest

import lamina
from tests.parity import reference

_SHARD = 300 / 1024**3  # GB: 300 bytes, so the three layers below (392 bytes) need two shards


def _model(m):
    return m.Sequential(
        [m.Input((8,)), m.layers.Dense(6), m.layers.Dense(4), m.layers.BatchNormalization()]
    )


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_shards_round_trip_under_the_size_limit(tmp_path):
    model = _model(lamina)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=_SHARD)
    index = json.loads((tmp_path / "m.weights.json").read_text())
    assert sorted(set(sum(index["weight_map"].values(), []))) == [
        "m_00000.weights.h5",
        "m_00001.weights.h5",
    ]
    assert index["metadata"]["total_size"] == sum(w.nbytes for w in _weights(model))
    restored = _model(lamina)
    restored.load_weights(tmp_path / "m.weights.json")
    for ours, saved in zip(_weights(restored), _weights(model), strict=True):
        np.testing.assert_array_equal(ours, saved)


@pytest.mark.parity
def test_keras_and_lamina_read_each_others_shards(tmp_path):
    ours = _model(lamina)
    ours.save_weights(tmp_path / "ours.weights.json", max_shard_size=_SHARD)

    def keras_reads_and_writes(m):
        model = _model(m)
        model.load_weights(tmp_path / "ours.weights.json")
        model.save_weights(tmp_path / "theirs.weights.json", max_shard_size=_SHARD)
        return _weights(model)

    theirs_read = reference.keras_run(keras_reads_and_writes)
    for theirs, saved in zip(theirs_read, _weights(ours), strict=True):
        np.testing.assert_array_equal(theirs, saved)
    restored = _model(lamina)
    restored.load_weights(tmp_path / "theirs.weights.json")
    for ours_now, saved in zip(_weights(restored), _weights(ours), strict=True):
        np.testing.assert_array_equal(ours_now, saved)


def test_a_weight_larger_than_a_shard_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"max_shard_size to fit each weight.*raise"):
        _model(lamina).save_weights(tmp_path / "m.weights.json", max_shard_size=100 / 1024**3)


def test_an_index_naming_a_file_outside_its_folder_is_refused(tmp_path):
    model = _model(lamina)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=_SHARD)
    index = json.loads((tmp_path / "m.weights.json").read_text())
    index["weight_map"]["/layers/dense/vars"] = ["../elsewhere.weights.h5"]
    (tmp_path / "m.weights.json").write_text(json.dumps(index))
    with pytest.raises(lamina.saving.FileFormatError, match="not a file name beside the index"):
        model.load_weights(tmp_path / "m.weights.json")


def _shard_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".weights.h5"))


def test_a_save_never_writes_over_the_shards_the_index_names(tmp_path):
    # The second save takes the other name set and removes the first's only after its index is
    # in place; the third returns to Keras's names.
    model = _model(lamina)
    index = tmp_path / "m.weights.json"
    model.save_weights(index, max_shard_size=_SHARD)
    first = _shard_files(tmp_path)
    model.save_weights(index, max_shard_size=_SHARD)
    assert _shard_files(tmp_path) == ["m.1_00000.weights.h5", "m.1_00001.weights.h5"]
    model.save_weights(index, max_shard_size=_SHARD)
    assert _shard_files(tmp_path) == first == ["m_00000.weights.h5", "m_00001.weights.h5"]


def test_a_crash_before_the_index_is_replaced_keeps_the_previous_weights(tmp_path, monkeypatch):
    from lamina.saving import sharded_weights

    saved = _model(lamina)
    index = tmp_path / "m.weights.json"
    saved.save_weights(index, max_shard_size=_SHARD)
    changed = _model(lamina)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing the index")

    monkeypatch.setattr(sharded_weights.json, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        changed.save_weights(index, max_shard_size=_SHARD)
    monkeypatch.undo()
    restored = _model(lamina)
    restored.load_weights(index)
    for ours, before in zip(_weights(restored), _weights(saved), strict=True):
        np.testing.assert_array_equal(ours, before)


def test_an_oversized_index_is_refused_before_it_is_parsed(tmp_path):
    model = _model(lamina)
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=_SHARD)
    with (
        lamina.saving.load_limits(max_json_bytes=64),
        pytest.raises(lamina.saving.FileFormatError, match="JSON documents are limited to 64"),
    ):
        model.load_weights(tmp_path / "m.weights.json")
