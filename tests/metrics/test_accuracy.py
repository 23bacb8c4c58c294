"""Accuracy functions (metrics/accuracy.py) take what Keras's take, NumPy included, and compare
sparse labels as Keras does, in the labels' dtype."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity import reference

SCORES = np.array([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], dtype="float32")
NAMES = [
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
]


def _labels_for(name):
    if name.startswith("sparse"):
        return np.array([0, 2, 2])
    return np.eye(3, dtype="float32")[[0, 2, 2]] if "categorical" in name else SCORES > 0.5


@pytest.mark.parametrize("name", NAMES)
def test_numpy_inputs_are_accepted(name):
    fn = getattr(lamina.metrics, name)
    out = fn(_labels_for(name), SCORES)
    expected = fn(torch.as_tensor(_labels_for(name)), torch.as_tensor(SCORES))
    assert torch.equal(out, expected)


def test_float_labels_are_compared_as_floats():
    # 0.4 and 2.7 name no class; Keras compares them as they are rather than truncated.
    out = lamina.metrics.sparse_categorical_accuracy(np.array([0.4, 1.0, 2.7]), SCORES)
    assert out.tolist() == [0.0, 1.0, 0.0]


def test_integer_labels_of_any_width_match():
    for dtype in (torch.int32, torch.int64, torch.uint8):
        out = lamina.metrics.sparse_categorical_accuracy(
            torch.tensor([0, 1, 1], dtype=dtype), torch.as_tensor(SCORES)
        )
        assert out.tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parity
@pytest.mark.parametrize("labels", [[0.4, 1.0, 2.7], [0, 1, 2], [[0], [2], [2]]])
def test_sparse_categorical_accuracy_matches_keras(labels):
    def run(m):
        out = m.metrics.sparse_categorical_accuracy(np.array(labels), SCORES)
        return np.asarray(m.ops.convert_to_numpy(out)).tolist()

    assert run(lamina) == reference.keras_run(run)


def test_top_k_ties_count_in_the_labels_favour():
    # Row 0 ties classes 0 and 1 at the k-th place: Keras counts label 1 as in the top 1.
    scores = np.array([[0.4, 0.4, 0.2], [0.1, 0.1, 0.8]], dtype="float32")

    def run(m):
        out = m.metrics.sparse_top_k_categorical_accuracy(np.array([1, 0]), scores, k=1)
        return np.asarray(m.ops.convert_to_numpy(out)).tolist()

    assert run(lamina) == reference.keras_run(run) == [1.0, 0.0]
