"""KerasFileEditor: reads what lamina and Keras write (the same tree Keras's editor reads), edits
it, writes a `.weights.h5` that loads, and refuses hostile files as loading does."""

import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import FileFormatError, KerasFileEditor, load_limits
from tests.parity import reference


def _model(*units, compiled=False):
    model = lamina.Sequential([layers.Input((2,)), *[layers.Dense(u) for u in units]])
    if compiled:
        model.compile(optimizer="adam", loss="mse")
        model.fit(np.ones((4, 2), "float32"), np.ones((4, units[-1]), "float32"), verbose=0)
    return model


@pytest.fixture
def saved(tmp_path):
    model = _model(3, 1)
    path = tmp_path / "m.keras"
    model.save(path)
    return model, path


def test_reads_a_lamina_file_and_compares(saved, capsys):
    model, path = saved
    editor = KerasFileEditor(path)
    assert editor.metadata["keras_version"] == "3.15.1"
    assert editor.config["class_name"] == "Sequential"
    tree = editor.weights_dict["layers"]
    expected = model.get_weights()
    got = [tree["dense"]["0"], tree["dense"]["1"], tree["dense_1"]["0"], tree["dense_1"]["1"]]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 4}
    # Dense(4) then Dense(1): three shapes differ, only the last bias (1,) matches.
    result = editor.compare(_model(4, 1))
    assert result == {"status": "error", "error_count": 3, "match_count": 1}
    out = capsys.readouterr().out
    assert "Weight shape mismatch for /layers/dense/0" in out
    assert "In saved file: shape=(2, 3)" in out
    editor.summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "Weights structure",
        "  layers",
        "    dense ('dense')",
        "      0: shape=(2, 3), dtype=float32",
    ]


def test_compare_counts_the_optimizer_and_missing_objects(tmp_path):
    model = _model(3, 1, compiled=True)
    model.save(tmp_path / "c.keras")
    editor = KerasFileEditor(tmp_path / "c.keras")
    # adam: iterations, learning rate, then m and v for each of the 4 weights.
    assert len(editor.weights_dict["optimizer"]) == 10
    assert editor.compare(model)["match_count"] == 14
    # An uncompiled reference lacks the optimizer (1 object) and the third layer is missing
    # from the file (1 object).
    result = editor.compare(_model(3, 1, 2))
    assert result["error_count"] == 2


def test_edit_for_a_changed_architecture_then_load(saved, tmp_path):
    model, path = saved
    editor = KerasFileEditor(path)
    # New model: Dense(3), Dense(5), Dense(1). The old dense_1 becomes dense_2.
    editor.rename_object("dense_1", "dense_2")
    kernel, bias = np.full((3, 5), 0.5, "float32"), np.arange(5, dtype="float32")
    editor.add_object("layers/dense_1", {"0": kernel, "1": bias})
    editor.delete_weight("layers/dense_2", "0")
    editor.add_weights("dense_2", {"0": np.ones((5, 1), "float32")})
    target = _model(3, 5, 1)
    assert editor.compare(target)["status"] == "success"
    editor.save(tmp_path / "edited.weights.h5")
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
    target.load_weights(tmp_path / "edited.weights.h5")
    weights = target.get_weights()
    np.testing.assert_array_equal(weights[0], model.get_weights()[0])
    np.testing.assert_array_equal(weights[2], kernel)
    np.testing.assert_array_equal(weights[3], bias)
    np.testing.assert_array_equal(weights[4], np.ones((5, 1)))
    np.testing.assert_array_equal(weights[5], model.get_weights()[3])
    # The saved file opens again with the same tree.
    again = KerasFileEditor(tmp_path / "edited.weights.h5")
    assert list(again.weights_dict["layers"]) == ["dense", "dense_1", "dense_2"]
    editor.delete_object("layers/dense_1")
    assert "dense_1" not in editor.weights_dict["layers"]


def test_edit_errors_name_what_is_wrong(saved):
    editor = KerasFileEditor(saved[1])
    with pytest.raises(ValueError, match="Name '0' occurs more than once"):
        editor.delete_object("0")
    with pytest.raises(ValueError, match="Source name 'conv' does not appear in the model"):
        editor.delete_object("conv")
    with pytest.raises(ValueError, match="Path 'layers/conv/0' not found in model"):
        editor.delete_object("layers/conv/0")
    with pytest.raises(ValueError, match="should be a leaf name"):
        editor.rename_object("dense", "layers/x")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_object("layers/x", [np.zeros(2)])
    with pytest.raises(ValueError, match="Weight 7 not found in object dense"):
        editor.delete_weight("dense", "7")
    with pytest.raises(ValueError, match="expected a `.weights.h5` extension"):
        editor.save("out.keras")
    with pytest.raises(ValueError, match="Invalid filename"):
        KerasFileEditor("model.h5")


@pytest.mark.parametrize("suffix", ["keras", "weights.h5"])
def test_reads_a_keras_file_as_keras_does(tmp_path, suffix):
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (3,), (3, 1), (1,)]
    weights = [rng.standard_normal(s).astype("float32") for s in shapes]
    path = tmp_path / f"k.{suffix}"
    reference.keras_save_dense_model(path, weights)
    ours = KerasFileEditor(path).weights_dict
    theirs = reference.keras_file_editor_weights(path)
    assert ours.keys() == theirs.keys()
    for layer in ("dense", "dense_1"):
        assert ours["layers"][layer].keys() == theirs["layers"][layer].keys()
        for key in ours["layers"][layer]:
            np.testing.assert_array_equal(ours["layers"][layer][key], theirs["layers"][layer][key])
    editor = KerasFileEditor(path)
    assert editor.compare(_model(3, 1))["status"] == "success"
    editor.save(tmp_path / "resaved.weights.h5")
    model = _model(3, 1)
    model.load_weights(tmp_path / "resaved.weights.h5")
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


def _weights_file(tmp_path, edit):
    path = tmp_path / "w.weights.h5"
    _model(3, 1).save_weights(path)
    with h5py.File(path, "r+") as file:
        edit(file)
    return path


def test_refuses_links_and_loops(tmp_path):
    def external(file):
        file["layers/dense/vars/2"] = h5py.ExternalLink("/etc/passwd", "/x")

    with pytest.raises(FileFormatError, match="external link"):
        KerasFileEditor(_weights_file(tmp_path, external))

    def loop(file):
        file["layers/dense/again"] = file["layers"]

    with pytest.raises(FileFormatError, match="more than one hard link"):
        KerasFileEditor(_weights_file(tmp_path, loop))


def test_refuses_datasets_declaring_too_many_bytes(tmp_path):
    def huge(file):
        file["layers/dense/vars"].create_dataset("2", shape=(60000, 60000), dtype="float32")

    path = _weights_file(tmp_path, huge)
    with pytest.raises(FileFormatError, match="declare more than 8589934592 bytes"):
        KerasFileEditor(path)
    # 13 float32 weights are 52 bytes.
    with load_limits(max_member_bytes=40), pytest.raises(FileFormatError, match="limit is"):
        KerasFileEditor(_weights_file(tmp_path, lambda file: None))


def test_refuses_hostile_archives(saved, tmp_path):
    path = tmp_path / "dup.keras"
    with zipfile.ZipFile(saved[1]) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr("config.json", b"{}")
    with pytest.raises(FileFormatError, match="several members named"):
        KerasFileEditor(path)


def test_edits_bfloat16_weights_and_writes_them_back(tmp_path):
    import torch

    model = lamina.Sequential([layers.Input((2,)), layers.Dense(3, dtype="bfloat16")])
    path = tmp_path / "m.keras"
    model.save(path)
    editor = KerasFileEditor(path)
    kernel = editor.weights_dict["layers"]["dense"]["0"]
    assert kernel.dtype.name == "bfloat16"
    np.testing.assert_array_equal(
        kernel.astype("float32"), model.get_weights()[0].astype("float32")
    )
    # A bfloat16 tensor in, as a NumPy array cannot be made from one with .numpy().
    editor.add_weights("dense", {"0": torch.full((2, 3), 1.5, dtype=torch.bfloat16)})
    edited = tmp_path / "edited.weights.h5"
    editor.save(edited)
    model.load_weights(edited)
    assert model.layers[0].kernel.dtype == torch.bfloat16
    assert model.get_weights()[0].astype("float32").tolist() == [[1.5] * 3] * 2
