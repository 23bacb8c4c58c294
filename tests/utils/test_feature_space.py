"""lamina.utils.FeatureSpace: each feature kind's encoding by hand, Keras's column order, dict
mode, crosses, adapt's inputs, config and file round trips, errors, and Keras's structured-data
tutorial trained with fit.

Keras's FeatureSpace runs only through TensorFlow (absent here), so the numbers are worked out
by hand from the preprocessing layers' rules (those layers have their own Keras parity tests).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import FeatureSpace

DATA = {
    "price": [1.0, 2.0, 3.0, 6.0],  # mean 3, variance 3.5
    "color": ["red", "blue", "red", "green"],  # vocabulary by count: red, then green > blue
    "size": [3, 1, 3, 3],  # vocabulary: 3, 1
}


def adapted(features, data=DATA, **kwargs):
    space = FeatureSpace(features, **kwargs)
    space.adapt(data)
    return space


@pytest.mark.parametrize(
    "kind, layer, output_mode",
    [
        ("float", "FloatIdentity", "float"),
        ("float_rescaled", "Rescaling", "float"),
        ("float_normalized", "Normalization", "float"),
        ("float_discretized", "Discretization", "one_hot"),
        ("integer_categorical", "IntegerLookup", "one_hot"),
        ("string_categorical", "StringLookup", "one_hot"),
        ("integer_hashed", "Hashing", "one_hot"),
        ("string_hashed", "Hashing", "one_hot"),
    ],
)
def test_each_shorthand_names_its_preprocessor(kind, layer, output_mode):
    space = FeatureSpace({"f": kind}, hashing_dim=5, num_discretization_bins=6)
    feature = space.features["f"]
    assert type(feature.preprocessor).__name__ == layer
    assert feature.output_mode == output_mode
    assert feature.preprocessor.name == "f_preprocessor"
    assert getattr(feature.preprocessor, "num_bins", None) in (None, 5, 6)
    dtypes = {"float": "float32", "integer": "int32", "string": "string"}
    assert feature.dtype == dtypes[kind.split("_")[0]]


def test_float_normalized_uses_the_adapted_mean_and_variance():
    space = adapted({"price": "float_normalized"})
    expected = (np.array(DATA["price"]) - 3.0) / np.sqrt(3.5)
    np.testing.assert_allclose(space(DATA).numpy()[:, 0], expected, rtol=1e-6)
    assert space(DATA).shape == (4, 1)


def test_float_and_float_rescaled_by_hand():
    space = FeatureSpace(
        {"a": "float", "b": FeatureSpace.float_rescaled(scale=2.0, offset=1.0)},
        output_mode="dict",
    )
    out = space({"a": [1, 2], "b": [0.5, -1.0]})  # no adapt needed: nothing to learn
    assert out["a"].dtype == torch.float32
    assert out["a"].tolist() == [[1.0], [2.0]]
    assert out["b"].tolist() == [[2.0], [-1.0]]


def test_string_categorical_one_hot_and_int_with_oov():
    one_hot = adapted({"color": "string_categorical"})
    # ids: 0 [UNK], 1 red (twice), 2 green, 3 blue (ties: the larger token first)
    out = one_hot({"color": ["red", "blue", "purple"]})
    assert out.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    ints = adapted(
        {"color": FeatureSpace.string_categorical(output_mode="int")}, output_mode="dict"
    )
    assert ints({"color": ["red", "blue", "purple"]})["color"].tolist() == [[1], [3], [0]]


def test_integer_categorical_with_max_tokens_and_no_oov():
    space = adapted({"size": FeatureSpace.integer_categorical(num_oov_indices=0)})
    assert space({"size": [1, 3]}).tolist() == [[0, 1], [1, 0]]
    capped = adapted({"size": FeatureSpace.integer_categorical(max_tokens=2)})
    assert capped({"size": [1, 3, 7]}).tolist() == [[1, 0], [0, 1], [1, 0]]


def test_float_discretized_learns_quantile_bins():
    data = {"x": np.arange(1.0, 9.0)}
    space = adapted({"x": "float_discretized"}, data=data, num_discretization_bins=4)
    # Quantiles of 1..8 at 1/4, 2/4, 3/4: boundaries 2, 4, 6 -> four one-hot bins.
    assert space.preprocessors["x"].bin_boundaries == [2.0, 4.0, 6.0]
    bins = space({"x": [1.0, 2.0, 3.9, 5.0, 7.0]}).argmax(-1).tolist()
    assert bins == [0, 1, 1, 2, 3]
    fixed = FeatureSpace(
        {"x": FeatureSpace.float_discretized(None, bin_boundaries=[0.0], output_mode="int")},
        output_mode="dict",
    )
    assert fixed({"x": [-1.0, 1.0]})["x"].tolist() == [[0], [1]]


def test_hashed_features_have_hashing_dim_columns():
    space = FeatureSpace({"s": "string_hashed", "i": "integer_hashed"}, hashing_dim=3)
    out = space({"s": ["A", "B", "C", "D", "E"], "i": [1, 2, 3, 4, 5]})
    assert out.shape == (5, 6)  # i's three bins, then s's (sorted names)
    # Keras's Hashing(num_bins=3) puts A..E in bins 1, 0, 1, 1, 2.
    assert out[:, 3:].argmax(-1).tolist() == [1, 0, 1, 1, 2]
    hashing = lamina.layers.Hashing(num_bins=3)
    assert out[:, :3].argmax(-1).tolist() == hashing([1, 2, 3, 4, 5]).tolist()


def test_concat_orders_features_then_crosses_by_sorted_name():
    space = adapted(
        {"size": "integer_categorical", "price": "float", "color": "string_categorical"},
        crosses=[("size", "color"), ("color", "size")],
        crossing_dim=5,
    )
    widths = {"color": 4, "price": 1, "size": 3, "color_X_size": 5, "size_X_color": 5}
    out = space(DATA)
    assert out.shape == (4, sum(widths.values()))
    encoded = FeatureSpace.from_config({**space.get_config(), "output_mode": "dict"})(DATA)
    assert list(encoded) == ["color", "price", "size", "color_X_size", "size_X_color"]
    assert torch.equal(out, torch.cat(list(encoded.values()), dim=-1))


def test_a_cross_hashes_the_preprocessed_ids():
    space = adapted(
        {"color": "string_categorical", "size": "integer_categorical"},
        crosses=[FeatureSpace.cross(("color", "size"), crossing_dim=7, output_mode="int")],
        output_mode="dict",
    )
    out = space(DATA)["color_X_size"]
    color_ids = [[1], [3], [1], [2]]  # red, blue, red, green
    size_ids = [[1], [2], [1], [1]]  # 3, 1, 3, 3
    expected = lamina.layers.HashedCrossing(7)((torch.tensor(color_ids), torch.tensor(size_ids)))
    assert out.tolist() == expected.tolist()
    assert out[0].item() == out[2].item()  # the same pair, the same bin


def test_a_custom_feature_with_text_vectorization_tf_idf():
    # Keras's docstring example: FeatureSpace.feature with any preprocessing layer.
    data = {"text": ["1st string", "2nd string", "3rd string"]}
    layer = lamina.layers.TextVectorization(output_mode="tf_idf")
    space = FeatureSpace(
        {"text": FeatureSpace.feature(preprocessor=layer, dtype="string", output_mode="float")}
    )
    space.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "string", "3rd", "2nd", "1st"]
    # idf = log(1 + documents / (1 + document frequency)): 3 documents.
    common, rare = np.log(1 + 3 / 4), np.log(1 + 3 / 2)
    expected = [[0, common, 0, 0, rare], [0, common, 0, rare, 0], [0, common, rare, 0, 0]]
    np.testing.assert_allclose(space(data).numpy(), expected, rtol=1e-6)
    assert space.get_encoded_features().shape == (None, 5)
    restored = FeatureSpace.from_config(json.loads(json.dumps(space.get_config())))
    torch.testing.assert_close(restored(data), space(data))


def test_one_sample_of_scalars_gives_one_vector():
    space = adapted({"price": "float_normalized", "color": "string_categorical"})
    batch = space(DATA)
    single = space({"price": 2.0, "color": "blue"})
    assert single.shape == (5,)
    assert torch.allclose(single, batch[1])
    as_dict = adapted({"color": "string_categorical"}, output_mode="dict")
    assert as_dict({"color": "red"})["color"].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("form", ["dict", "list", "generator", "dataset", "labelled", "samples"])
def test_adapt_takes_dicts_iterables_and_lamina_datasets(form):
    columns = {k: np.asarray(v) for k, v in DATA.items()}
    labels = np.array([0, 1, 0, 1])
    batches = [{k: v[:2] for k, v in columns.items()}, {k: v[2:] for k, v in columns.items()}]
    data = {
        "dict": columns,
        "list": batches,
        "generator": (b for b in batches),
        "dataset": lamina.data.Dataset.from_tensor_slices(columns).batch(3),
        "labelled": lamina.data.Dataset.from_tensor_slices((columns, labels)).batch(2),
        "samples": lamina.data.Dataset.from_tensor_slices(columns),
    }[form]
    space = adapted({"price": "float_normalized", "color": "string_categorical"}, data=data)
    reference = adapted({"price": "float_normalized", "color": "string_categorical"})
    torch.testing.assert_close(space(DATA), reference(DATA))


def test_the_tutorial_pipeline_maps_a_dataset_through_the_feature_space():
    space = adapted({"price": "float_normalized", "color": "string_categorical"})
    labels = np.array([0, 1, 0, 1])
    ds = lamina.data.Dataset.from_tensor_slices((DATA, labels)).batch(3)
    x, y = next(iter(ds.map(lambda x, y: (space(x), y))))
    assert x.shape == (3, 5)
    assert y.tolist() == [0, 1, 0]


def test_symbolic_features_build_a_training_and_an_inference_model():
    space = adapted({"price": "float_normalized", "color": "string_categorical"})
    inputs = space.get_inputs()
    assert sorted(inputs) == ["color", "price"]
    assert inputs["color"].dtype == "string" and inputs["color"].shape == (None, 1)
    encoded = space.get_encoded_features()
    assert encoded.shape == (None, 5)
    assert space.get_encoded_features() is encoded
    outputs = lamina.layers.Dense(1)(encoded)
    training = lamina.Model(encoded, outputs)
    inference = lamina.Model(inputs, outputs)
    raw = {"price": np.array([[2.0], [6.0]]), "color": np.array([["blue"], ["red"]])}
    torch.testing.assert_close(inference(raw), training(space(raw)))


def test_dict_mode_symbolic_outputs_and_keys():
    space = adapted(
        {
            "color": "string_categorical",
            "size": FeatureSpace.integer_categorical(output_mode="int"),
        },
        output_mode="dict",
        crosses=[("color", "size")],
        crossing_dim=4,
    )
    encoded = space.get_encoded_features()
    assert list(encoded) == ["color", "size", "color_X_size"]
    assert [encoded[k].shape for k in encoded] == [(None, 4), (None, 1), (None, 4)]
    out = space(DATA)
    assert out["size"].dtype == torch.int64 and out["color_X_size"].shape == (4, 4)


def test_config_round_trip_keeps_the_adapted_state():
    space = adapted(
        {"price": "float_normalized", "color": "string_categorical", "x": "float_discretized"},
        data={**DATA, "x": [0.0, 1.0, 2.0, 3.0]},
        crosses=[("color", "x")],
        num_discretization_bins=2,
    )
    config = json.loads(json.dumps(space.get_config()))
    assert config["crossing_dim"] == 32 and config["output_mode"] == "concat"
    restored = FeatureSpace.from_config(config)
    data = {**DATA, "x": [0.5, 1.5, 2.5, 9.0]}
    torch.testing.assert_close(restored(data), space(data))


def test_save_and_load_model(tmp_path):
    space = adapted({"price": "float_normalized", "color": "string_hashed"}, hashing_dim=4)
    path = tmp_path / "featurespace.keras"
    space.save(path)
    restored = lamina.saving.load_model(path)
    assert isinstance(restored, FeatureSpace)
    torch.testing.assert_close(restored(DATA), space(DATA))


def test_errors_are_clear():
    with pytest.raises(ValueError, match="Invalid feature type: 'float_normalised'"):
        FeatureSpace({"a": "float_normalised"})
    with pytest.raises(ValueError, match="non-empty `features`"):
        FeatureSpace({})
    with pytest.raises(ValueError, match="output_mode` 'concat' or 'dict'"):
        FeatureSpace({"a": "float"}, output_mode="stack")
    with pytest.raises(ValueError, match=r"unknown features \['b'\]"):
        FeatureSpace({"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode` in"):
        FeatureSpace.string_categorical(output_mode="multi_hot")
    unadapted = FeatureSpace({"price": "float_normalized"})
    with pytest.raises(ValueError, match=r"adapt\(dataset\) before use"):
        unadapted({"price": [1.0]})
    with pytest.raises(ValueError, match=r"adapt\(dataset\) before use"):
        unadapted.get_encoded_features()
    space = adapted({"price": "float"})
    with pytest.raises(ValueError, match="a dict of feature values"):
        space([1.0, 2.0])
    with pytest.raises(ValueError, match="including 'price'"):
        space({"cost": [1.0]})
    with pytest.raises(ValueError, match="output_mode='dict'"):
        adapted({"color": FeatureSpace.string_categorical(output_mode="int")})
    rescaled_one_hot = FeatureSpace.feature("float32", lamina.layers.Rescaling(1.0), "one_hot")
    with pytest.raises(ValueError, match="use output_mode='int'"):
        FeatureSpace({"a": rescaled_one_hot})({"a": [1.0]})
    with pytest.raises(ValueError, match="a dict of arrays"):
        FeatureSpace({"price": "float_normalized"}).adapt(np.array([1.0]))


def synthetic_heart_data(rows, seed):
    """A small dataframe-like dict in the spirit of Keras's heart-disease tutorial: the target
    depends on a few of the columns."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(30, 80, rows)
    sex = rng.integers(0, 2, rows)
    cp = rng.integers(0, 4, rows)
    thal = rng.choice(["normal", "fixed", "reversible"], rows)
    chol = rng.normal(240, 40, rows)
    thalach = rng.normal(150, 20, rows)
    risk = (age - 55) / 10 + (thal == "reversible") * 1.5 + (cp == 0) + (thalach < 140)
    target = (risk + rng.normal(0, 0.3, rows) > 1.0).astype("float32")
    features = {"age": age, "sex": sex, "cp": cp, "thal": thal, "chol": chol}
    return {**features, "thalach": thalach}, target


@pytest.mark.slow
def test_keras_structured_data_tutorial_trains_with_fit():
    data, target = synthetic_heart_data(256, seed=0)
    train_ds = lamina.data.Dataset.from_tensor_slices((data, target)).batch(32)
    feature_space = FeatureSpace(
        features={
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "cp": FeatureSpace.integer_categorical(num_oov_indices=0),
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            "age": FeatureSpace.float_discretized(num_bins=10),
            "chol": FeatureSpace.float_normalized(),
            "thalach": FeatureSpace.float_normalized(),
        },
        crosses=[
            FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=16),
            FeatureSpace.cross(feature_names=("thal", "cp"), crossing_dim=8),
        ],
        output_mode="concat",
    )
    feature_space.adapt(train_ds.map(lambda x, _: x))
    preprocessed_train_ds = train_ds.map(lambda x, y: (feature_space(x), y))

    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()
    assert encoded_features.shape == (None, 2 + 4 + 3 + 10 + 1 + 1 + 16 + 8)
    x = lamina.layers.Dense(32, activation="relu")(encoded_features)
    x = lamina.layers.Dropout(0.5)(x)
    predictions = lamina.layers.Dense(1, activation="sigmoid")(x)
    training_model = lamina.Model(inputs=encoded_features, outputs=predictions)
    adam = lamina.optimizers.Adam(learning_rate=0.01)
    training_model.compile(optimizer=adam, loss="binary_crossentropy", metrics=["accuracy"])
    inference_model = lamina.Model(inputs=dict_inputs, outputs=predictions)

    history = training_model.fit(preprocessed_train_ds, epochs=10, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]  # measured: 0.71 -> 0.22
    assert history.history["accuracy"][-1] > 0.85  # measured: 0.91

    sample = {"age": 60.0, "sex": 1, "cp": 0, "thal": "reversible", "chol": 280.0, "thalach": 120.0}
    raw = {name: np.array([[value]]) for name, value in sample.items()}
    probability = inference_model(raw)
    assert probability.shape == (1, 1)
    torch.testing.assert_close(probability, training_model(feature_space(sample)[None]))
