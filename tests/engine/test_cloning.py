"""clone_model: clone_function, input_tensors, call_function and recursive on functional and
Sequential models, against what Keras builds from the same calls."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _nested_functional(k):
    inner_in = k.layers.Input((3,))
    inner = k.Model(inner_in, k.layers.Dense(2)(k.layers.Dense(3)(inner_in)))
    inputs = k.layers.Input((4,), name="x")
    return k.Model(inputs, k.layers.Dense(2)(inner(k.layers.Dense(3)(inputs))), name="outer")


def _with_dropout(k):
    def call_function(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        return k.layers.Dropout(0.5)(out) if isinstance(layer, k.layers.Dense) else out

    return call_function


def _structure(model) -> list:
    """Layer classes, nested models expanded."""
    return [
        _structure(layer) if hasattr(layer, "layers") else type(layer).__name__
        for layer in model.layers
    ]


@pytest.mark.parametrize("recursive", [False, True])
def test_call_function_inserts_layers_as_keras(recursive):
    clones = {
        k.__name__: k.models.clone_model(
            _nested_functional(k),
            clone_function=lambda layer: layer,
            call_function=_with_dropout(k),
            recursive=recursive,
        )
        for k in (lamina, keras)
    }
    assert _structure(clones["lamina"]) == _structure(clones["keras"])
    assert clones["lamina"].name == "outer"
    assert clones["lamina"].input.name == "x"


def test_shared_layers_stay_shared_and_outputs_match():
    model = _nested_functional(lamina)
    twin = lamina.models.clone_model(model, clone_function=lambda layer: layer, recursive=True)
    assert len(twin.weights) == len(model.weights)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    fresh = lamina.models.clone_model(model, recursive=True)
    assert not {id(w) for w in fresh.weights} & {id(w) for w in model.weights}
    assert fresh.count_params() == model.count_params()


def test_clone_function_renames_each_layer_of_a_functional_model():
    model = _nested_functional(lamina)
    twin = lamina.models.clone_model(
        model,
        clone_function=lambda layer: type(layer).from_config(
            {**layer.get_config(), "name": layer.name + "_copy"}
        ),
    )
    names = [layer.name for layer in twin.layers[1:]]
    assert names == [layer.name + "_copy" for layer in model.layers[1:]]


def test_input_tensors_keep_dict_structure_and_are_checked():
    x, y = lamina.Input((3,), name="x"), lamina.Input((3,), name="y")
    model = lamina.Model({"x": x, "y": y}, {"sum": x + y, "dense": lamina.layers.Dense(5)(x + y)})
    inputs = {"x": lamina.Input((3,), name="x"), "y": lamina.Input((3,), name="y")}
    twin = lamina.models.clone_model(model, input_tensors=inputs)
    assert twin.input is inputs
    assert sorted(twin.output) == ["dense", "sum"]
    with pytest.raises(ValueError, match="same structure as model.input"):
        lamina.models.clone_model(model, input_tensors=[x, y])


def test_compiled_models_clone_compiled():
    sequential = lamina.Sequential([lamina.Input((3,), dtype="float64", name="features")])
    sequential.add(lamina.layers.Dense(1))
    sequential.compile(optimizer="adam", loss="mse")
    twin = lamina.models.clone_model(sequential)
    assert twin.compiled and type(twin.optimizer).__name__ == "Adam"
    assert twin.optimizer is not sequential.optimizer
    assert (twin.input.name, twin.input.dtype) == ("features", "float64")
    functional = _nested_functional(lamina)
    functional.compile(optimizer="sgd", loss="mse")
    assert lamina.models.clone_model(functional, recursive=True).compiled
    assert lamina.models.clone_model(functional).compiled


def test_call_function_with_a_sequential_model_is_refused():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    with pytest.raises(ValueError, match="no call_function"):
        lamina.models.clone_model(model, call_function=lambda layer, x: layer(x))
