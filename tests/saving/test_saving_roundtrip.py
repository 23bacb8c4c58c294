"""Files: lamina -> lamina and lamina <-> Keras for `.keras`, legacy `.h5` and `.weights.h5`, with
the
same predictions, and a reloaded compiled model that continues training exactly."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

FORMATS = ["keras", "h5"]


def _cnn_rnn_model():
    return lamina.Sequential(
        [
            layers.Input((6, 6, 2)),
            layers.Conv2D(3, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dense(4),
            layers.Reshape((4, 1)),
            layers.LSTM(3),
            layers.Dense(2, activation="softmax"),
        ]
    )


def _functional_model():
    inputs = layers.Input((5,))
    first = layers.Dense(3, activation="tanh", name="first")(inputs)
    second = layers.Dense(3, name="zz")(first)
    merged = layers.Add()([first, second])
    outputs = layers.Dense(2, name="out")(merged)
    return lamina.Model(inputs, outputs)


MODELS = {"cnn-rnn": (_cnn_rnn_model, (6, 6, 2)), "functional": (_functional_model, (5,))}


def _data(shape, n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape)).astype("float32")
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, n)]
    return x, y


def _trained(name, optimizer="adam"):
    make, shape = MODELS[name]
    model = make()
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = _data(shape)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    return model, x, y


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_reload_predicts_identically(tmp_path, name, fmt):
    model, x, _ = _trained(name)
    path = tmp_path / f"model.{fmt}"
    model.save(path)
    restored = lamina.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.shape for w in restored.get_weights()] == [w.shape for w in model.get_weights()]


@pytest.mark.parametrize("name", list(MODELS))
def test_weights_file_round_trip(tmp_path, name):
    model, x, _ = _trained(name)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    lamina.backend.clear_session()
    fresh = MODELS[name][0]()
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "optimizer",
    [
        "adam",
        lambda: lamina.optimizers.SGD(0.05, momentum=0.9),
        "rmsprop",
        lambda: lamina.optimizers.Adam(lamina.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5)),
    ],
    ids=["adam", "sgd-momentum", "rmsprop", "adam-schedule"],
)
def test_reloaded_compiled_model_continues_training(tmp_path, fmt, optimizer):
    optimizer_factory = optimizer if callable(optimizer) else (lambda: optimizer)
    model, x, y = _trained("functional", optimizer_factory())
    path = tmp_path / f"model.{fmt}"
    model.save(path)
    restored = lamina.models.load_model(path)
    assert restored.optimizer.iterations == model.optimizer.iterations == 2
    for m in (model, restored):
        m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(restored.get_weights(), model.get_weights(), strict=False):
        # SGD's momentum travels as Keras's -lr * b and back: equal to float rounding.
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------------------
# Interop with Keras (test-only reference)


def _keras_twin_of(name):
    import keras

    if name == "cnn-rnn":
        return keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                keras.layers.Conv2D(3, 3, activation="relu"),
                keras.layers.BatchNormalization(),
                keras.layers.Flatten(),
                keras.layers.Dense(4),
                keras.layers.Reshape((4, 1)),
                keras.layers.LSTM(3),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
    inputs = keras.Input((5,))
    first = keras.layers.Dense(3, activation="tanh", name="first")(inputs)
    second = keras.layers.Dense(3, name="zz")(first)
    outputs = keras.layers.Dense(2, name="out")(keras.layers.Add()([first, second]))
    return keras.Model(inputs, outputs)


@pytest.mark.parity
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("fmt", ["keras", "h5", "weights.h5"])
def test_keras_loads_lamina_files(tmp_path, name, fmt):
    import keras

    model, x, _ = _trained(name)
    path = str(tmp_path / f"model.{fmt}")
    if fmt == "weights.h5":
        model.save_weights(path)
        reference = _keras_twin_of(name)
        reference.load_weights(path)
    else:
        model.save(path)
        reference = keras.models.load_model(path)
    np.testing.assert_allclose(
        reference.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parity
def test_keras_loads_a_model_whose_first_layer_declared_input_shape(tmp_path):
    # Before: the Dense's config carried batch_input_shape, which Keras 3 refuses to read
    # (Keras's model_from_json example writes such a model).
    import keras

    model = lamina.Sequential([layers.Dense(5, input_shape=(3,)), layers.Softmax()])
    assert "batch_input_shape" not in model.layers[0].get_config()
    model.save(tmp_path / "model.keras")
    reference = keras.models.load_model(tmp_path / "model.keras")
    assert reference.input_shape == (None, 3)
    assert keras.models.model_from_json(model.to_json()).input_shape == (None, 3)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(reference.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parity
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("fmt", ["keras", "h5", "weights.h5"])
def test_lamina_loads_keras_files(tmp_path, name, fmt):
    import keras

    reference = _keras_twin_of(name)
    reference.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = _data(MODELS[name][1])
    reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / f"model.{fmt}")
    if fmt == "weights.h5":
        reference.save_weights(path)
        model = MODELS[name][0]()
        model.load_weights(path)
    else:
        reference.save(path)
        model = lamina.models.load_model(path)
        assert model.optimizer.iterations == 2
    np.testing.assert_allclose(
        model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    del keras


@pytest.mark.parity
def test_keras_continues_training_from_lamina_optimizer_state(tmp_path):
    import keras

    model, x, y = _trained("functional")
    path = str(tmp_path / "model.keras")
    model.save(path)
    reference = keras.models.load_model(path)
    assert int(keras.ops.convert_to_numpy(reference.optimizer.iterations)) == 2
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(reference.get_weights(), model.get_weights(), strict=False):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), b, rtol=1e-4, atol=1e-5)


def test_state_dict_unchanged_by_save(tmp_path):
    model, _, _ = _trained("functional")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.save(tmp_path / "m.keras")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "filename, options, logged",
    [
        ("m.h5", {}, ["legacy HDF5"]),
        ("m.keras", {}, []),
        ("m.keras", {"save_format": "keras"}, ["save_format='keras' is deprecated"]),
        ("m.h5", {"save_format": "h5"}, ["save_format='h5' is deprecated", "legacy HDF5"]),
    ],
    ids=["h5", "keras", "keras-save_format", "h5-save_format"],
)
def test_legacy_formats_are_reported_on_the_log_as_keras_does(
    tmp_path, caplog, filename, options, logged
):
    # Keras logs (not warns) when a model is saved as .h5 or given the old save_format argument.
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    with caplog.at_level("WARNING", logger="lamina"):
        model.save(tmp_path / filename, **options)
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for message, fragment in zip(messages, logged, strict=True):
        assert fragment in message


def test_weights_of_an_unbuilt_model_are_neither_saved_nor_loaded(tmp_path):
    # As Keras: an empty file, or weights dropped on load, would pass silently otherwise.
    def unbuilt():
        return lamina.Sequential([lamina.layers.Dense(2)])

    path = tmp_path / "m.weights.h5"
    with pytest.raises(ValueError, match="to be built before its weights are saved"):
        unbuilt().save_weights(path)
    assert not path.exists()
    built = unbuilt()
    built.build((None, 3))
    built.save_weights(path)
    with pytest.raises(ValueError, match="to be built before its weights are loaded"):
        unbuilt().load_weights(path)


def test_an_unsupported_save_argument_is_a_value_error_as_keras(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"unsupported argument\(s\) \['random_arg'\]"):
        lamina.saving.save_model(model, tmp_path / "m.keras", random_arg=True)
    assert not (tmp_path / "m.keras").exists()


def test_a_missing_file_is_a_value_error_as_keras_and_a_file_not_found_error(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    for load in (lamina.models.load_model, model.load_weights):
        for error in (ValueError, FileNotFoundError):
            with pytest.raises(error, match="No file at"):
                load(str(tmp_path / "absent.keras"))


class _FunctionalSubclass(lamina.Model):
    pass


def test_a_functional_subclass_saves_under_its_own_class_as_keras(tmp_path):
    # Keras names the subclass (not "Functional"), and loading needs the class, as in Keras.
    inputs = lamina.Input((4,))
    model = _FunctionalSubclass(inputs, lamina.layers.Dense(1)(inputs))
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="_FunctionalSubclass"):
        lamina.models.load_model(tmp_path / "m.keras")
    loaded = lamina.models.load_model(
        tmp_path / "m.keras", custom_objects={"_FunctionalSubclass": _FunctionalSubclass}
    )
    assert type(loaded) is _FunctionalSubclass
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
