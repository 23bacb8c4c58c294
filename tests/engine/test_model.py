"""Model's own API (engine/model.py) beyond training: its JSON architecture."""

import json

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
