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


class _Casts(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts the dtype casts (`_to_copy`) run while active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += func.overloadpacket.__name__ == "_to_copy"
        return func(*args, **(kwargs or {}))


_GENERATOR = torch.Generator().manual_seed(0)
_SCORES = torch.rand(64, 5, generator=_GENERATOR)
ACCURACY_CASES = {
    "sparse": ("SparseCategoricalAccuracy", torch.randint(0, 5, (64,), generator=_GENERATOR)),
    "sparse_column": ("SparseCategoricalAccuracy", torch.randint(0, 5, (64, 1))),
    "sparse_float": ("SparseCategoricalAccuracy", torch.tensor([0.0, 1.0, 2.7, 4.0] * 16)),
    "categorical": ("CategoricalAccuracy", torch.eye(5)[torch.randint(0, 5, (64,))]),
    "binary": ("BinaryAccuracy", (torch.rand(64, 1, generator=_GENERATOR) > 0.5).float()),
    "binary_flat": ("BinaryAccuracy", (torch.rand(64, generator=_GENERATOR) > 0.5).float()),
    "binary_multilabel": ("BinaryAccuracy", (torch.rand(64, 5, generator=_GENERATOR) > 0.5)),
    "exact": ("Accuracy", torch.randint(0, 2, (64, 5)).float()),
}


def _accuracy_scores(case):
    if case.startswith("binary") and case != "binary_multilabel":
        return _SCORES[:, :1] if case == "binary" else _SCORES[:, 0]
    return _SCORES.round() if case == "exact" else _SCORES


@pytest.mark.parametrize("case", list(ACCURACY_CASES))
def test_an_unweighted_accuracy_sums_its_booleans_to_the_same_state(case):
    name, labels = ACCURACY_CASES[case]
    scores = _accuracy_scores(case)
    fast, general = getattr(lamina.metrics, name)(), getattr(lamina.metrics, name)()
    general._matches = None  # the float values through Mean, as before the booleans' path
    with _Casts() as casts:
        for first in range(0, 64, 24):  # batches of 24, 24 and 16
            fast.update_state(labels[first : first + 24], scores[first : first + 24])
    for first in range(0, 64, 24):
        general.update_state(labels[first : first + 24], scores[first : first + 24])
    assert torch.equal(fast.total, general.total) and torch.equal(fast.count, general.count)
    assert torch.equal(fast.result(), general.result())
    if case in ("sparse", "sparse_column", "categorical", "binary", "binary_flat"):
        assert casts.count == 0  # one value per sample: no float copy of the matches


def test_a_weighted_masked_or_converted_accuracy_takes_the_general_path():
    metric = lamina.metrics.SparseCategoricalAccuracy()
    labels = torch.tensor([0, 1, 2])
    scores = torch.eye(3)[[0, 1, 1]]
    metric.update_state(labels, scores, sample_weight=torch.tensor([1.0, 1.0, 2.0]))
    assert metric.result().item() == 0.5
    metric.reset_state()
    metric.update_state(labels.tolist(), scores.numpy())  # converted first
    assert metric.result().item() == pytest.approx(2 / 3)
    metric.reset_state()
    masked = scores.clone()
    masked._keras_mask = torch.tensor([True, True, False])
    metric.update_state(labels, masked)
    assert metric.result().item() == 1.0
    metric.reset_state()
    metric.fn = lambda y_true, y_pred: torch.ones(len(y_true))  # a replaced function is run
    metric.update_state(labels, scores)
    assert metric.result().item() == 1.0
    integers = lamina.metrics.Accuracy()  # integer predictions: compared as floats, as before
    integers.update_state(torch.tensor([2.7, 1.0]), torch.tensor([2, 1]))
    assert integers.result().item() == 0.5
