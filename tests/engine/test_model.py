"""Model's own API (engine/model.py) beyond training: its JSON architecture, pickling."""

import json
import pickle

import numpy as np
import pytest

import lamina
from tests.parity import reference


def _json_round_trip(m):
    model = m.Sequential([m.Input((6,)), m.layers.Dense(3, name="head")])
    text = model.to_json()
    entry = json.loads(text)
    rebuilt = m.models.model_from_json(text)
    return entry["class_name"], entry["config"]["layers"][-1]["class_name"], rebuilt.output_shape


def test_to_json_gives_the_model_entry_model_from_json_reads():
    assert _json_round_trip(lamina) == ("Sequential", "Dense", (None, 3))


def test_to_json_passes_json_dumps_arguments():
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    assert "\n" in model.to_json(indent=2)


def test_functional_to_json_rebuilds():
    inputs = lamina.Input((4,))
    outputs = lamina.layers.Dense(2)(inputs)
    text = lamina.Model(inputs, outputs).to_json()
    assert json.loads(text)["class_name"] == "Functional"
    assert lamina.models.model_from_json(text).output_shape == (None, 2)


@pytest.mark.parity
def test_to_json_matches_keras():
    assert _json_round_trip(lamina) == reference.keras_run(_json_round_trip)


@pytest.mark.parity
def test_keras_json_loads_in_lamina():
    text = reference.keras_run(lambda m: m.Sequential([m.Input((6,)), m.layers.Dense(3)]).to_json())
    assert lamina.models.model_from_json(text).output_shape == (None, 3)


def _dict_input_model_fit(m):
    """A subclassed model whose call reads named entries of one dict input, fitted on a dict."""
    import numpy as np

    class TwoFeatures(m.Model):
        def __init__(self):
            super().__init__()
            self.left = m.layers.Dense(2, kernel_initializer="ones")
            self.right = m.layers.Dense(2, kernel_initializer="ones")

        def call(self, inputs):
            return self.left(inputs["a"]) + self.right(inputs["b"])

    model = TwoFeatures()
    model.compile(m.optimizers.SGD(0.1), loss="mse")
    data = {"a": np.ones((4, 3), "float32"), "b": np.full((4, 5), 0.5, "float32")}
    history = model.fit(data, np.zeros((4, 2), "float32"), epochs=2, verbose=0).history
    return [w.shape for w in model.get_weights()], history["loss"]


@pytest.mark.parity
def test_subclassed_model_on_a_dict_input_builds_and_fits_as_in_keras():
    import numpy as np

    ours = _dict_input_model_fit(lamina)
    theirs = reference.keras_run(_dict_input_model_fit)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_build_takes_a_dict_of_shapes():
    class Sum(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs["x"]) + inputs["y"]

    model = Sum()
    model.build({"x": (None, 3), "y": (None, 2)})
    assert model.built
    assert model.dense.get_weights()[0].shape == (3, 2)  # Keras layout


def test_build_names_what_is_not_a_shape():
    class Echo(lamina.Model):
        def call(self, inputs):
            return inputs["x"]

    with pytest.raises(ValueError, match=r"Model 'echo.*'\.build\(\) expected a shape"):
        Echo().build({"x": "wide"})


def test_a_build_shape_call_cannot_take_warns_and_the_model_still_runs():
    # Keras's TorchModuleWrapper example builds with (1, 28, 28) and calls with (1, 1, 28, 28):
    # Keras's build runs no call(), so the shape only matters at the first call.
    import torch

    class Classifier(lamina.Model):
        def __init__(self):
            super().__init__()
            self.conv = lamina.layers.TorchModuleWrapper(torch.nn.Conv2d(1, 2, 3))
            self.fc = lamina.layers.TorchModuleWrapper(torch.nn.Linear(2 * 4 * 4, 3))

        def call(self, inputs):
            return self.fc(torch.flatten(self.conv(inputs), 1))

    model = Classifier()
    with pytest.warns(UserWarning, match=r"could not run call\(\) on an input of shape"):
        model.build((1, 6, 6))
    assert model.built
    assert tuple(model(torch.ones(1, 1, 6, 6)).shape) == (1, 3)


def test_a_trained_model_pickles_without_its_last_run(tmp_path):
    # After fit the model kept the run's state: its data, and callbacks holding sys.stdout
    # (the progress bar) or open log files, so pickle (sklearn, joblib) failed on it.
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 2), "float32")
    callbacks = [lamina.callbacks.CSVLogger(str(tmp_path / "log.csv"))]
    model.fit(x, y, verbose=1, callbacks=callbacks)
    assert model.training_state is None
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def _one_output_in_a_list(m):
    """Model(x, [y]): Keras's functional call unpacks the one-element list, while `outputs`
    and the saved config keep it."""
    inputs = m.Input((3,))
    model = m.Model(inputs, [m.layers.Dense(2, kernel_initializer="ones")(inputs)])
    model.compile(loss="mse", optimizer="sgd")
    x = np.ones((4, 3), "float32")
    predicted = model.predict(x, verbose=0)
    rebuilt = m.Model.from_config(model.get_config())
    return (
        type(predicted).__name__,
        predicted.shape,
        type(model(x)).__name__,
        len(model.outputs),
        model.get_config()["output_layers"],
        type(rebuilt(x)).__name__,
    )


def test_a_one_output_list_is_unpacked_by_calls_as_keras_does():
    ours = _one_output_in_a_list(lamina)
    assert ours == reference.keras_run(_one_output_in_a_list)
    assert ours[:3] == ("ndarray", (4, 2), "Tensor")


def test_assigning_layers_is_refused_as_keras():
    # Keras reserves `layers`; torch would register a module that `model.layers` never shows.
    inputs = lamina.Input((3,))
    functional = lamina.Model(inputs, lamina.layers.Dense(2)(inputs))
    for model in (lamina.Model(), functional):
        with pytest.raises(AttributeError, match="`Model.layers` attribute is reserved"):
            model.layers = [lamina.layers.Dense(4)]
    with pytest.raises(AttributeError, match=r"use `add\(\)` and `pop\(\)`"):
        lamina.Sequential().layers = [lamina.layers.Dense(4)]
    assert len(functional.layers) == 2


def test_adding_a_non_layer_to_a_sequential_is_a_value_error_as_keras():
    for k in (lamina, reference.keras):
        with pytest.raises(ValueError):
            k.Sequential(name="seq").add({})
