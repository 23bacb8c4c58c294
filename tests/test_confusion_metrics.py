"""Confusion-count metrics: results equal keras.metrics' on random data (accumulated over two
updates, with and without sample weights), updates run on the meta device (so they read no value
on the host), names resolve by string in compile() as Keras resolves them, and bad arguments fail
with clear messages."""

import re
import warnings

import keras
import numpy as np
import pytest
import torch

import lamina
from lamina import layers, metrics

RNG = np.random.RandomState(7)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(kind, n=64):
    """(y_true, y_pred, sample_weight) for one update."""
    weight = RNG.uniform(0, 2, size=(n,)).astype("float32")
    if kind == "binary":
        return (
            RNG.randint(0, 2, (n, 1)).astype("float32"),
            RNG.uniform(size=(n, 1)).astype("float32"),
            weight,
        )
    if kind == "binary-flat":
        return (
            RNG.randint(0, 2, (n,)).astype("float32"),
            RNG.uniform(size=(n,)).astype("float32"),
            weight,
        )
    if kind == "logits":
        return (
            RNG.randint(0, 2, (n, 1)).astype("float32"),
            RNG.normal(size=(n, 1)).astype("float32") * 3,
            weight,
        )
    if kind == "multilabel":
        return (
            RNG.randint(0, 2, (n, 4)).astype("float32"),
            RNG.uniform(size=(n, 4)).astype("float32"),
            weight,
        )
    if kind == "onehot":
        labels = np.eye(5, dtype="float32")[RNG.randint(0, 5, n)]
        return labels, _softmax(RNG.normal(size=(n, 5)) * 2).astype("float32"), weight
    if kind == "ids":
        return RNG.randint(0, 4, (n,)), RNG.randint(0, 4, (n,)), weight
    if kind == "segmentation":  # labels (n, 6, 6) against softmax maps (n, 6, 6, 4)
        labels = RNG.randint(0, 4, (n, 6, 6))
        return labels, _softmax(RNG.normal(size=(n, 6, 6, 4))).astype("float32"), None
    raise KeyError(kind)


CASES = {
    "precision": (lambda m: m.Precision(), "binary"),
    "precision-flat": (lambda m: m.Precision(), "binary-flat"),
    "precision-thresholds": (lambda m: m.Precision(thresholds=[0.8, 0.3, 0.55]), "binary"),
    "precision-top2": (lambda m: m.Precision(top_k=2), "multilabel"),
    "precision-class1": (lambda m: m.Precision(class_id=1, thresholds=0.4), "multilabel"),
    "recall": (lambda m: m.Recall(), "binary"),
    "recall-top1-class2": (lambda m: m.Recall(top_k=1, class_id=2), "onehot"),
    "recall-thresholds": (lambda m: m.Recall(thresholds=[0.2, 0.9]), "multilabel"),
    "true-positives": (lambda m: m.TruePositives(thresholds=[0.25, 0.5]), "binary"),
    "false-positives": (lambda m: m.FalsePositives(), "multilabel"),
    "true-negatives": (lambda m: m.TrueNegatives(), "binary"),
    "false-negatives": (lambda m: m.FalseNegatives(thresholds=[0.1, 0.7]), "multilabel"),
    "auc-roc": (lambda m: m.AUC(), "binary"),
    "auc-roc-50": (lambda m: m.AUC(num_thresholds=50), "multilabel"),
    "auc-roc-minoring": (lambda m: m.AUC(num_thresholds=30, summation_method="minoring"), "binary"),
    "auc-roc-majoring": (lambda m: m.AUC(num_thresholds=30, summation_method="majoring"), "binary"),
    "auc-pr": (lambda m: m.AUC(curve="PR"), "binary"),
    "auc-pr-multilabel": (
        lambda m: m.AUC(curve="PR", multi_label=True, num_labels=4),
        "multilabel",
    ),
    "auc-pr-majoring": (lambda m: m.AUC(curve="PR", summation_method="majoring"), "multilabel"),
    "auc-roc-multilabel-weights": (
        lambda m: m.AUC(multi_label=True, label_weights=[0.1, 0.5, 1.0, 2.0]),
        "multilabel",
    ),
    "auc-label-weights": (lambda m: m.AUC(label_weights=[0.1, 0.5, 1.0, 2.0]), "multilabel"),
    "auc-logits": (lambda m: m.AUC(from_logits=True), "logits"),
    "auc-prgain": (lambda m: m.AUC(num_thresholds=50, curve="PRGAIN"), "binary"),
    "auc-prgain-minoring": (
        lambda m: m.AUC(curve="prgain", summation_method="minoring", multi_label=True),
        "multilabel",
    ),
    "auc-thresholds": (lambda m: m.AUC(thresholds=[0.3, 0.1, 0.6, 0.9]), "binary"),
    "f1-none": (lambda m: m.F1Score(), "onehot"),
    "f1-micro": (lambda m: m.F1Score(average="micro"), "onehot"),
    "f1-macro-threshold": (lambda m: m.F1Score(average="macro", threshold=0.3), "multilabel"),
    "f1-weighted": (lambda m: m.F1Score(average="weighted"), "onehot"),
    "fbeta-2": (lambda m: m.FBetaScore(beta=2.0, average="macro", threshold=0.5), "multilabel"),
    "mean-iou": (lambda m: m.MeanIoU(num_classes=4), "ids"),
    "mean-iou-ignore": (lambda m: m.MeanIoU(num_classes=4, ignore_class=0), "ids"),
    "mean-iou-dense-pred": (
        lambda m: m.MeanIoU(num_classes=4, sparse_y_pred=False),
        "segmentation",
    ),
    "iou-targets": (lambda m: m.IoU(num_classes=4, target_class_ids=[1, 3]), "ids"),
    "one-hot-mean-iou": (lambda m: m.OneHotMeanIoU(num_classes=5), "onehot"),
    "one-hot-iou": (lambda m: m.OneHotIoU(num_classes=5, target_class_ids=[0, 2]), "onehot"),
}


def _to_keras(value):
    return None if value is None else keras.ops.convert_to_tensor(value)


@pytest.mark.parity
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_keras(case, weighted):
    factory, kind = CASES[case]
    ours, theirs = factory(metrics), factory(keras.metrics)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers repeated names
    for _ in range(2):
        y_true, y_pred, weight = _data(kind)
        weight = weight if weighted else None
        if weight is not None and "iou" in case:
            # Keras 3 keeps IoU counts in integers and truncates weights (with a warning); lamina
            # keeps TensorFlow Keras's float counts. Whole weights agree in both (fractional
            # weights: test_mean_iou_fractional_weights).
            weight = np.round(weight).astype("int32")
        ours.update_state(
            torch.as_tensor(y_true),
            torch.as_tensor(y_pred),
            None if weight is None else torch.as_tensor(weight),
        )
        theirs.update_state(_to_keras(y_true), _to_keras(y_pred), sample_weight=_to_keras(weight))
    expected = keras.ops.convert_to_numpy(theirs.result())
    np.testing.assert_allclose(ours.result().numpy(), expected, rtol=2e-5, atol=2e-6)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(
        ours.result().numpy(), keras.ops.convert_to_numpy(theirs.result()), atol=1e-7
    )


def test_mean_iou_fractional_weights():
    labels, predicted = RNG.randint(0, 3, 200), RNG.randint(0, 3, 200)
    weight = RNG.uniform(0, 1, 200)
    matrix = np.zeros((3, 3))
    np.add.at(matrix, (labels, predicted), weight)
    tp = np.diag(matrix)
    expected = np.mean(tp / (matrix.sum(0) + matrix.sum(1) - tp))
    metric = metrics.MeanIoU(num_classes=3)
    metric.update_state(
        torch.as_tensor(labels), torch.as_tensor(predicted), torch.as_tensor(weight)
    )
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_update_reads_nothing_on_the_host(case):
    # On the meta device a tensor has no values: any .item() / bool(tensor) / data-dependent shape
    # in update_state would raise, so passing here means the update never waits on the device.
    factory, kind = CASES[case]
    metric = factory(metrics)
    y_true, y_pred, weight = _data(kind)
    metric.update_state(
        torch.as_tensor(y_true, device="meta"),
        torch.as_tensor(y_pred, device="meta"),
        None if weight is None else torch.as_tensor(weight, device="meta"),
    )
    assert metric.result().device.type == "meta"


def test_compile_resolves_names_as_keras():
    lamina.utils.set_random_seed(1)
    x = RNG.normal(size=(96, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * RNG.normal(size=(96, 1)) > 0).astype("float32")
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[
            "precision",
            "recall",
            "auc",
            metrics.AUC(curve="PR", name="pr_auc"),
            metrics.F1Score(average="macro", threshold=0.5),
        ],
    )
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "precision", "recall", "auc", "pr_auc", "f1_score"}
    found = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    for name, reference in [
        ("precision", keras.metrics.Precision()),
        ("recall", keras.metrics.Recall()),
        ("auc", keras.metrics.AUC()),
        ("pr_auc", keras.metrics.AUC(curve="PR")),
        ("f1_score", keras.metrics.F1Score(average="macro", threshold=0.5)),
    ]:
        reference.update_state(y, predicted)
        assert found[name] == pytest.approx(float(reference.result()), rel=1e-5, abs=1e-6), name


def test_vector_results_reach_history():
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[metrics.F1Score()])
    x = RNG.normal(size=(30, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[RNG.randint(0, 3, 30)]
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.asarray(history.history["f1_score"][0]).shape == (3,)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: metrics.Precision(thresholds=1.5),
            r"Precision thresholds must be values in \[0, 1\]",
        ),
        (lambda: metrics.AUC(curve="DET"), "AUC curve must be 'ROC', 'PR' or 'PRGAIN'"),
        (
            lambda: metrics.AUC(summation_method="simpson"),
            "summation_method must be 'interpolation'",
        ),
        (lambda: metrics.AUC(num_thresholds=1), "num_thresholds must be an integer > 1"),
        (lambda: metrics.F1Score(average="mean"), "Invalid `average` argument value"),
        (lambda: metrics.FBetaScore(beta=0.0), r"It should be > 0\. Received: beta=0\.0"),
        (lambda: metrics.F1Score(threshold=2.0), "It should verify 0 < threshold <= 1"),
        (lambda: metrics.MeanIoU(num_classes=0), "num_classes must be a positive integer"),
        (lambda: metrics.IoU(3, target_class_ids=[3]), r"class ids in \[0, 3\)"),
    ],
    ids=[
        "precision-threshold",
        "auc-curve",
        "auc-summation",
        "auc-thresholds",
        "f1-average",
        "fbeta-beta",
        "f1-threshold",
        "iou-classes",
        "iou-targets",
    ],
)
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"beta": 1},
        {"beta": "1.0"},
        {"beta": None},
        {"beta": -0.5},
        {"threshold": 1},
        {"threshold": "0.5"},
        {"threshold": 0.0},
        {"threshold": 1.1},
        {"average": "mean"},
    ],
    ids=str,
)
def test_fbeta_argument_errors_as_keras(kwargs):
    # Keras refuses an int beta or threshold too; both raise ValueError, and lamina's message
    # opens with Keras's so code matching Keras's message matches lamina's.
    with pytest.raises(ValueError) as expected:
        keras.metrics.FBetaScore(**kwargs)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        metrics.FBetaScore(**kwargs)


def test_fbeta_build_refuses_shapes_as_keras():
    for shapes in [((2, 3, 4), (2, 3, 4)), ((2, None), (2, None))]:
        with pytest.raises(ValueError) as expected:
            keras.metrics.FBetaScore()._build(*shapes)
        with pytest.raises(ValueError, match=re.escape(str(expected.value))):
            metrics.FBetaScore()._build(*shapes)


@pytest.mark.parametrize(
    "update, message",
    [
        (
            lambda: metrics.Precision(class_id=0).update_state(torch.ones(4), torch.ones(4)),
            "When class_id is given, y_pred must be shaped",
        ),
        (
            lambda: metrics.AUC(multi_label=True).update_state(torch.ones(4), torch.ones(4)),
            "multi_label=True expects predictions shaped",
        ),
        (
            lambda: metrics.F1Score().update_state(torch.ones(4), torch.ones(4)),
            r"FBetaScore expects 2D inputs with shape \(batch_size, output_dim\)",
        ),
        (
            lambda: metrics.F1Score().update_state(
                torch.ones(4, 3), torch.ones(4, 3), torch.ones(3)
            ),
            r"F1Score expects sample_weight with one value per sample \(4\) or one per sample "
            r"and class \(4, 3\); received shape \(3,\)",
        ),
    ],
    ids=["class-id-1d", "auc-multilabel-1d", "f1-1d", "f1-weights"],
)
def test_shape_errors(update, message):
    with pytest.raises(ValueError, match=message):
        update()


def test_fbeta_weights_per_sample_and_class_weigh_each_entry():
    # Keras refuses (samples, classes) weights with a variable-assign error; each entry's own
    # weight is what such weights mean, the same as repeating the samples by hand.
    y_true = np.eye(3, dtype="float32")[[0, 1, 2, 1]]
    y_pred = np.array(
        [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]], "float32"
    )
    per_entry = metrics.F1Score(average="micro", threshold=0.5)
    per_entry.update_state(y_true, y_pred, np.full((4, 3), 2.0, "float32"))
    per_sample = metrics.F1Score(average="micro", threshold=0.5)
    per_sample.update_state(y_true, y_pred, np.full((4,), 2.0, "float32"))
    np.testing.assert_allclose(float(per_entry.result()), float(per_sample.result()), rtol=1e-6)
    uneven = metrics.F1Score(average=None, threshold=0.5)
    uneven.update_state(y_true, y_pred, np.array([[1, 0, 0]] * 4, "float32"))  # class 0 only
    assert float(uneven.result()[1]) == 0.0 and float(uneven.result()[0]) > 0.6


def test_iou_counts_in_the_dtype_given():
    # MeanIoU passed no dtype on: "int32" (Keras 3's default) counts exactly past 2**24, where a
    # float32 cell stops counting.
    m = metrics.MeanIoU(num_classes=2, dtype="int32")
    m.total_cm.fill_(2**24)
    m.update_state([0], [0])
    assert m.total_cm.dtype == torch.int32 and int(m.total_cm[0, 0]) == 2**24 + 1


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_iou_dtype_and_float_weights_as_keras(dtype):
    y_true, y_pred, weight = [0, 1, 1, 0], [0, 1, 1, 1], np.array([0.2, 0.3, 0.4, 0.1])
    ours, theirs = metrics.MeanIoU(3, dtype=dtype), keras.metrics.MeanIoU(3, dtype=dtype)
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
    assert len(caught) == (2 if dtype == "int32" else 0)  # Keras's and ours: weights truncated
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
