"""The data helpers take Keras 3's arguments, in Keras's order, with Keras's defaults."""

import inspect

import pytest

import lamina
from tests.parity import reference

PATHS = [
    "utils.get_file",
    "utils.split_dataset",
    "utils.text_dataset_from_directory",
    "utils.audio_dataset_from_directory",
    "preprocessing.text_dataset_from_directory",
    "preprocessing.timeseries_dataset_from_array",
]


@pytest.mark.parity
@pytest.mark.parametrize("path", PATHS)
def test_parameters_match_keras(path):
    ours = lamina
    for part in path.split("."):
        ours = getattr(ours, part)
    parameters = [(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
    assert parameters == reference.keras_parameters(path)


def test_timeseries_format_is_checked():
    with pytest.raises(ValueError, match='`format` should be either "tf" or "grain"'):
        lamina.preprocessing.timeseries_dataset_from_array([1, 2, 3], None, 2, format="jax")
