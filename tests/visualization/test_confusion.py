"""confusion_matrix, its normalisation and per-class scores, against scikit-learn."""

import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from lamina.visualization import confusion_matrix, normalize_confusion_matrix, per_class_scores

RNG = np.random.default_rng(0)


def _labels(classes, size, missing=()):
    """Random class ids in [0, classes) that never take the values in `missing`."""
    allowed = np.array([c for c in range(classes) if c not in missing])
    return RNG.choice(allowed, size=size)


# (id, y_true, y_pred, num_classes)
CASES = [
    ("ten-classes", _labels(10, 500), _labels(10, 500), 10),
    ("class-never-true", _labels(6, 200, missing=(2,)), _labels(6, 200), 6),
    ("class-never-predicted", _labels(6, 200), _labels(6, 200, missing=(0, 5)), 6),
    ("highest-class-absent-from-both", _labels(4, 50), _labels(4, 50), 5),
    ("binary", _labels(2, 64), _labels(2, 64), 2),
    ("single-sample", np.array([3]), np.array([1]), 4),
]
CASE_ARGS = [case[1:] for case in CASES]
CASE_IDS = [case[0] for case in CASES]


def _sklearn(y_true, y_pred, classes, normalize=None):
    with warnings.catch_warnings():  # sklearn warns on 0/0 for an empty class and writes 0
        warnings.simplefilter("ignore")
        return sk.confusion_matrix(y_true, y_pred, labels=range(classes), normalize=normalize)


@pytest.mark.parametrize("y_true, y_pred, classes", CASE_ARGS, ids=CASE_IDS)
def test_confusion_matrix_equals_sklearn(y_true, y_pred, classes):
    ours = confusion_matrix(y_true, y_pred, classes)
    assert ours.dtype == np.int64 and ours.shape == (classes, classes)
    np.testing.assert_array_equal(ours, _sklearn(y_true, y_pred, classes))


@pytest.mark.parametrize("normalize", ["true", "pred"])
@pytest.mark.parametrize("y_true, y_pred, classes", CASE_ARGS, ids=CASE_IDS)
def test_normalisation_equals_sklearn(y_true, y_pred, classes, normalize):
    ours = normalize_confusion_matrix(confusion_matrix(y_true, y_pred, classes), normalize)
    np.testing.assert_allclose(ours, _sklearn(y_true, y_pred, classes, normalize), atol=1e-12)


def test_normalize_none_returns_the_counts():
    counts = confusion_matrix([0, 1, 1], [0, 1, 0])
    assert normalize_confusion_matrix(counts, None) is counts
    assert counts.tolist() == [[1, 0], [1, 1]]


def _one_hot(ids, classes):
    return np.eye(classes, dtype="float32")[ids]


def _probabilities(ids, classes):
    """Softmax-like rows whose argmax is `ids`."""
    rows = RNG.uniform(0, 0.5, size=(len(ids), classes)).astype("float32")
    rows[np.arange(len(ids)), ids] = 0.9
    return rows / rows.sum(axis=1, keepdims=True)


TRUE_IDS, PRED_IDS = _labels(5, 120), _labels(5, 120)
# Every accepted way of giving the same labels: (id, y_true, y_pred).
FORMS = [
    ("ids", TRUE_IDS, PRED_IDS),
    ("column-ids", TRUE_IDS[:, None], PRED_IDS[:, None]),
    ("float-ids", TRUE_IDS.astype("float32"), PRED_IDS.astype("float64")),
    ("one-hot-true", _one_hot(TRUE_IDS, 5), PRED_IDS),
    ("probability-rows", TRUE_IDS, _probabilities(PRED_IDS, 5)),
    ("torch-tensors", torch.tensor(TRUE_IDS), torch.tensor(_probabilities(PRED_IDS, 5))),
    ("lists", TRUE_IDS.tolist(), PRED_IDS.tolist()),
]


@pytest.mark.parametrize("y_true, y_pred", [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_every_label_form_gives_the_same_matrix(y_true, y_pred):
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), _sklearn(TRUE_IDS, PRED_IDS, 5))


def test_probability_rows_set_the_number_of_classes():
    # The model knows 7 classes even when the data only shows 3 of them.
    assert confusion_matrix([0, 1, 2], _probabilities(np.array([0, 1, 1]), 7)).shape == (7, 7)


def test_sigmoid_column_is_thresholded_at_one_half():
    probabilities = np.array([[0.1], [0.7], [0.49], [0.51]], dtype="float32")
    np.testing.assert_array_equal(confusion_matrix([0, 1, 1, 0], probabilities), [[1, 1], [1, 1]])


def test_per_class_scores_equal_sklearn():
    y_true, y_pred = _labels(6, 300, missing=(4,)), _labels(6, 300, missing=(1,))
    scores = per_class_scores(confusion_matrix(y_true, y_pred, 6))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=range(6), zero_division=0
    )
    assert [row["class"] for row in scores] == list(range(6))
    np.testing.assert_allclose([row["precision"] for row in scores], precision, atol=1e-12)
    np.testing.assert_allclose([row["recall"] for row in scores], recall, atol=1e-12)
    np.testing.assert_allclose([row["f1"] for row in scores], f1, atol=1e-12)
    assert [row["support"] for row in scores] == support.tolist()
    assert all(type(row["support"]) is int and type(row["precision"]) is float for row in scores)


ERRORS = [
    (
        "lengths-differ",
        ([0, 1, 2], [0, 1]),
        {},
        r"confusion_matrix expects y_true and y_pred with one entry per sample; received 3 true "
        r"labels and 2 predictions\.",
    ),
    (
        "label-past-num-classes",
        ([0, 3], [0, 1]),
        {"num_classes": 3},
        r"confusion_matrix expects class ids in \[0, 3\) \(num_classes=3\); "
        r"received a class id 3\. "
        r"Hint: pass a larger num_classes",
    ),
    (
        "negative-label",
        ([0, -1], [0, 1]),
        {},
        r"y_true expects class ids >= 0; received a minimum of -1\.",
    ),
    (
        "fractional-labels",
        ([0, 1], [0.5, 1.0]),
        {},
        r"y_pred expects whole-number class ids; received non-integer values such as \[0\.5\]\. "
        r"Hint: pass probability rows",
    ),
    (
        "three-d",
        (np.zeros((2, 2, 2)), [0, 1]),
        {},
        r"y_true expects class ids shaped \(samples,\) or probability rows shaped \(samples, "
        r"classes\); received an array shaped \(2, 2, 2\)\.",
    ),
    (
        "string-labels",
        (["cat", "dog"], [0, 1]),
        {},
        r"y_true expects class ids \(integers\); received dtype <U3\.",
    ),
    (
        "bad-num-classes",
        ([0], [0]),
        {"num_classes": 0},
        r"num_classes expects a positive integer; received 0\.",
    ),
]


@pytest.mark.parametrize(
    "args, kwargs, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_confusion_matrix_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(*args, **kwargs)


def test_unknown_normalize_is_rejected():
    with pytest.raises(
        ValueError,
        match=r"normalize expects one of None, 'true', 'pred'; "
        r"received normalize='all'\.",
    ):
        normalize_confusion_matrix(np.eye(2, dtype=np.int64), "all")
