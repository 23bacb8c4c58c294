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
