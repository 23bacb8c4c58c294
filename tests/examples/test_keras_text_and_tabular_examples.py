"""Small reproductions of what the keras.io text, timeseries and tabular examples ask of lamina.

Each test is our own few lines for one pattern those programs use; the programs themselves are not
copied here.
"""

import json
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity.reference import keras


def test_sequential_takes_one_layer_instance_twice_as_keras_does():
    # A helper that builds `Sequential([norm, Dense, norm, Dense])` from one normalisation layer.
    norm = layers.LayerNormalization()
    model = lamina.Sequential([norm, layers.Dense(4), norm, layers.Dense(4)])
    out = model(np.ones((2, 4), "float32"))

    reference_norm = keras.layers.LayerNormalization()
    reference = keras.Sequential(
        [reference_norm, keras.layers.Dense(4), reference_norm, keras.layers.Dense(4)]
    )
    reference(np.ones((2, 4), "float32"))
    assert tuple(out.shape) == (2, 4)
    assert [layer.name for layer in model.layers].count(norm.name) == 2
    assert len(model.layers) == len(reference.layers)
    assert model.count_params() == reference.count_params()


def test_sequential_pop_of_a_shared_layer_keeps_its_other_use_registered():
    norm = layers.LayerNormalization()
    model = lamina.Sequential([lamina.Input((4,)), norm, layers.Dense(4), norm])
    model.pop()
    assert model.layers[0] is norm
    assert any(module is norm for module in model.modules())


def test_sequential_still_rejects_two_different_layers_with_one_name():
    with pytest.raises(ValueError, match="already has a layer named 'twin'"):
        lamina.Sequential([layers.Dense(4, name="twin"), layers.Dense(4, name="twin")])


def test_a_batch_of_text_reads_with_numpy_as_a_tensor_batch_does(tmp_path):
    # Programs print a text batch with `text_batch.numpy()[i]`, as they do a label batch.
    for label, text in (("neg", "dull plot"), ("pos", "great film")):
        (tmp_path / label).mkdir()
        (tmp_path / label / "0.txt").write_text(text)
    dataset = lamina.utils.text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False)
    text_batch, label_batch = next(iter(dataset))
    assert text_batch.numpy().tolist() == ["dull plot", "great film"]
    assert type(text_batch.numpy()) is np.ndarray
    assert label_batch.numpy().tolist() == [0, 1]


def test_text_elements_of_a_sliced_dataset_read_with_numpy():
    dataset = lamina.data.Dataset.from_tensor_slices({"thal": np.array(["fixed", "normal"])})
    element = next(iter(dataset))
    assert element["thal"].numpy().tolist() == "fixed"
    batch = next(iter(dataset.batch(2)))
    assert batch["thal"].numpy().tolist() == ["fixed", "normal"]
    # It stays an array of text to everything that reads arrays.
    assert np.char.upper(batch["thal"]).tolist() == ["FIXED", "NORMAL"]


def _positions_model(framework):
    # A BERT-style graph: token features plus a constant table of position embeddings.
    inputs = framework.Input((4, 3))
    positions = framework.layers.Embedding(4, 3)(framework.ops.arange(4))
    return framework.Model(inputs, framework.layers.Dense(3)(inputs) + positions)


def test_a_graph_with_a_constant_operand_loads_from_a_keras_file(tmp_path):
    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    reference = _positions_model(keras)
    reference.save(tmp_path / "positions.keras")
    loaded = lamina.models.load_model(tmp_path / "positions.keras")
    expected = reference(x).detach().numpy()
    np.testing.assert_allclose(loaded(x).detach().numpy(), expected, atol=1e-6)


def test_a_graph_with_a_constant_operand_saves_for_lamina_and_keras(tmp_path):
    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    model = _positions_model(lamina)
    model.save(tmp_path / "positions.keras")
    expected = model(x).detach().numpy()
    reloaded = lamina.models.load_model(tmp_path / "positions.keras")
    np.testing.assert_allclose(reloaded(x).detach().numpy(), expected, atol=1e-6)
    in_keras = keras.models.load_model(tmp_path / "positions.keras")
    np.testing.assert_allclose(in_keras(x).detach().numpy(), expected, atol=1e-6)


def _set_constant_dtypes(structure, dtype) -> int:
    """Set the dtype of every constant operand in a config; how many there were."""
    if isinstance(structure, list):
        return sum(_set_constant_dtypes(item, dtype) for item in structure)
    if not isinstance(structure, dict):
        return 0
    if structure.get("class_name") in ("__tensor__", "__numpy__"):
        structure["config"]["dtype"] = dtype
        return 1
    return sum(_set_constant_dtypes(item, dtype) for item in structure.values())


@pytest.mark.parametrize("dtype", ["V2000000000", "object", "str"])
def test_a_constant_operand_of_a_dtype_other_than_numbers_is_refused(tmp_path, dtype):
    # The dtype string comes from the file: NumPy must not be handed one that allocates
    # gigabytes per element or holds objects.
    _positions_model(lamina).save(tmp_path / "positions.keras")
    with zipfile.ZipFile(tmp_path / "positions.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    assert _set_constant_dtypes(config, dtype) == 1  # the table of position embeddings
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "corrupt.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="constant operand of dtype"):
        lamina.models.load_model(tmp_path / "corrupt.keras")


def test_a_shape_error_on_a_graph_tensor_names_the_unknown_batch_as_none():
    # A normalisation layer shared by blocks of two widths fails in Keras and lamina alike; the
    # message shows the graph tensor's shape, not the stand-in size of a shape probe.
    norm = layers.BatchNormalization()
    model = lamina.Sequential([norm, layers.Dense(8), norm])
    with pytest.raises(ValueError, match=r"received shape \(None, 8\)"):
        model(lamina.Input((4,)))
