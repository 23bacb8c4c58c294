"""lamina's losses and metrics against Keras's at the edges a differential fuzz found them apart:
reductions over several axes (or all of them), sample weights one axis longer than the loss
values, and the metrics' arguments and states beyond the usual cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lamina import losses
from lamina import metrics as lamina_metrics
from tests.parity.reference import keras

RNG = np.random.default_rng(5)


def _assert_same(ours, ref, tol=1e-5):
    ref = ref.detach().cpu() if isinstance(ref, torch.Tensor) else torch.as_tensor(np.asarray(ref))
    ours = ours.detach().cpu() if isinstance(ours, torch.Tensor) else torch.as_tensor(ours)
    assert ours.dtype == ref.dtype, f"dtype {ours.dtype} != Keras {ref.dtype}"
    assert tuple(ours.shape) == tuple(ref.shape), f"shape {tuple(ours.shape)} != Keras's"
    torch.testing.assert_close(ours, ref, atol=tol, rtol=tol)


def _keras(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notes to Keras's own calls
        return fn()


def _labels_and_scores(shape, from_logits):
    labels = np.eye(shape[-1], dtype="float32")[RNG.integers(0, shape[-1], shape[:-1])]
    scores = RNG.standard_normal(shape).astype("float32")
    if not from_logits:
        scores = 1.0 / (1.0 + np.exp(-scores))
    return labels, scores


# --- losses -----------------------------------------------------------------------------------


@pytest.mark.parity
@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_focal_crossentropy"])
@pytest.mark.parametrize("axis", [None, (1, 2), (0, 2)])
@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_over_several_axes_or_all(name, axis, from_logits):
    y_true, y_pred = _labels_and_scores((4, 2, 3), from_logits)
    ours = getattr(losses, name)(y_true, y_pred, axis=axis, from_logits=from_logits)
    ref = _keras(
        lambda: getattr(keras.losses, name)(y_true, y_pred, axis=axis, from_logits=from_logits)
    )
    _assert_same(ours, ref)


@pytest.mark.parity
@pytest.mark.parametrize("axis", [None, (1, 2)])
def test_binary_crossentropy_object_reduces_over_the_axes_given(axis):
    y_true, y_pred = _labels_and_scores((3, 2, 5), from_logits=False)
    weight = RNG.random(3).astype("float32")
    ours = losses.BinaryCrossentropy(axis=axis, label_smoothing=0.1)(y_true, y_pred, weight)
    loss = keras.losses.BinaryCrossentropy(axis=axis, label_smoothing=0.1)
    _assert_same(ours, _keras(lambda: loss(y_true, y_pred, weight)))


@pytest.mark.parity
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_crossentropy_smoothing_over_all_axes_of_one_sample(from_logits):
    # axis=None over a single sample's scores is the class axis: the same classes to smooth over.
    y_true, y_pred = _labels_and_scores((5,), from_logits)
    if not from_logits:
        y_pred = y_pred / y_pred.sum()
    kwargs = {"label_smoothing": 0.2, "axis": None, "from_logits": from_logits}
    ours = losses.categorical_crossentropy(y_true, y_pred, **kwargs)
    expected = losses.categorical_crossentropy(y_true, y_pred, **{**kwargs, "axis": -1})
    _assert_same(ours, expected)
    if not from_logits:  # Keras's from_logits=True with axis=None is torch's implicit-dim softmax
        _assert_same(
            ours, _keras(lambda: keras.losses.categorical_crossentropy(y_true, y_pred, **kwargs))
        )


@pytest.mark.parametrize("name", ["categorical_crossentropy", "categorical_focal_crossentropy"])
def test_categorical_logits_over_two_axes_are_one_distribution(name):
    # Keras on JAX takes axis=(1, 2) as one softmax over both axes; Keras on torch refuses it.
    y_true, logits = _labels_and_scores((3, 6), from_logits=True)
    fn = getattr(losses, name)
    over_two = fn(y_true.reshape(3, 2, 3), logits.reshape(3, 2, 3), from_logits=True, axis=(1, 2))
    _assert_same(over_two, fn(y_true, logits, from_logits=True))


_PER_SAMPLE = {
    "MeanSquaredError": ((4, 3), "regression"),
    "BinaryCrossentropy": ((4, 3), "binary"),
    "CategoricalHinge": ((4, 3), "binary"),
    "Huber": ((4, 3), "regression"),
    "Tversky": ((4, 3), "binary"),  # axis=None: one value for the batch
    "Dice": ((4, 2, 2), "binary"),
    "Circle": ((4,), "circle"),  # its own mask of the values that count
}


def _inputs(shape, kind):
    if kind == "circle":
        return RNG.integers(0, 2, shape).astype("int64"), RNG.standard_normal((*shape, 3)).astype(
            "float32"
        )
    y_true = RNG.integers(0, 2, shape).astype("float32")
    y_pred = RNG.random(shape).astype("float32")
    return (
        RNG.standard_normal(shape).astype("float32") if kind == "regression" else y_true
    ), y_pred


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(_PER_SAMPLE))
@pytest.mark.parametrize("reduction", ["none", None, "sum", "mean_with_sample_weight"])
def test_weights_one_axis_longer_than_the_values(name, reduction):
    """Weights (N, 1) against per-sample values (N,) weigh each sample and, unreduced, give
    (N, 1), as Keras's rank matching; against one batch-wide value, one value per weight."""
    shape, kind = _PER_SAMPLE[name]
    y_true, y_pred = _inputs(shape, kind)
    weight = RNG.random((shape[0], 1)).astype("float32")
    ours = getattr(losses, name)(reduction=reduction)(y_true, y_pred, sample_weight=weight)
    loss = getattr(keras.losses, name)(reduction=reduction)
    _assert_same(ours, _keras(lambda: loss(y_true, y_pred, sample_weight=weight)))


# --- metrics ----------------------------------------------------------------------------------


@pytest.mark.parity
@pytest.mark.parametrize("from_sorted_ids", [False, True])
@pytest.mark.parametrize("labels_shape", [(5,), (5, 1)])
def test_sparse_top_k_gives_one_value_per_label(labels_shape, from_sorted_ids):
    y_true = RNG.integers(0, 4, labels_shape)
    scores = RNG.random((5, 4)).astype("float32")
    y_pred = np.argsort(-scores, -1)[:, :2] if from_sorted_ids else scores
    kwargs = {"k": 2, "from_sorted_ids": from_sorted_ids}
    ours = lamina_metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, **kwargs)
    ref = _keras(lambda: keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, **kwargs))
    _assert_same(ours, ref)
    metrics = (
        lamina_metrics.SparseTopKCategoricalAccuracy(**kwargs),
        keras.metrics.SparseTopKCategoricalAccuracy(**kwargs),
    )
    for metric in metrics:
        metric.update_state(y_true, y_pred, sample_weight=np.arange(5, dtype="float32"))
    _assert_same(metrics[0].result(), _keras(metrics[1].result))


@pytest.mark.parity
@pytest.mark.parametrize(
    "kwargs", [{}, {"num_thresholds": 7}, {"thresholds": [0.2, 0.6]}, {"name": "roc"}]
)
def test_auc_configs_as_keras(kwargs):
    keras.backend.clear_session()  # Keras numbers its names per session, as lamina
    ours, theirs = lamina_metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    assert ours.get_config() == theirs.get_config()
    rebuilt = lamina_metrics.AUC.from_config(ours.get_config())
    assert rebuilt.thresholds == ours.thresholds


@pytest.mark.parity
@pytest.mark.parametrize("identifier", ["accuracy", "mse", "mae", "bce", "binary_accuracy", "auc"])
def test_metrics_get_builds_what_keras_builds(identifier):
    keras.backend.clear_session()
    ours, theirs = lamina_metrics.get(identifier), keras.metrics.get(identifier)
    assert (type(ours).__name__, ours.name) == (type(theirs).__name__, theirs.name)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["mean_squared_error", "binary_crossentropy", "huber", "tversky"])
def test_loss_functions_serialize_as_keras_and_back(name):
    ours = losses.serialize(getattr(losses, name))
    assert ours == keras.losses.serialize(getattr(keras.losses, name))
    assert losses.deserialize(ours) is getattr(losses, name)


def _masked(array, mask):
    tensor = torch.tensor(array)
    tensor._keras_mask = torch.tensor(mask)
    return tensor


@pytest.mark.parity
@pytest.mark.parametrize("name", ["BinaryAccuracy", "Accuracy", "MeanSquaredError"])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_per_step_mask_covers_each_steps_values(name, weighted):
    """A masked sequence model's (N, T) mask against per-label values (N, T, C): the padded
    steps are left out of the mean, as Keras's MeanMetricWrapper leaves them."""
    y_true = RNG.integers(0, 2, (3, 4, 2)).astype("float32")
    y_pred = RNG.random((3, 4, 2)).astype("float32")
    mask = RNG.random((3, 4)) > 0.4
    weight = RNG.random((3, 4)).astype("float32") if weighted else None
    results = []
    for ns in (lamina_metrics, keras.metrics):
        metric = getattr(ns, name)()
        metric.update_state(y_true, _masked(y_pred, mask), sample_weight=weight)
        metric.update_state(y_true[:1], y_pred[:1])
        results.append(_keras(metric.result))
    _assert_same(*results)


@pytest.mark.parity
def test_sum_counts_a_mask_with_its_weights():
    values = RNG.standard_normal((3, 4)).astype("float32")
    mask = RNG.random((3, 4)) > 0.4
    weight = RNG.random((3, 4)).astype("float32")
    results = []
    for ns in (lamina_metrics, keras.metrics):
        metric = ns.Sum()
        metric.update_state(_masked(values, mask), sample_weight=weight)
        metric.update_state(_masked(values, mask))  # unweighted: Keras counts every value
        results.append(_keras(metric.result))
    _assert_same(*results)


@pytest.mark.parity
@pytest.mark.parametrize(
    "name",
    ["mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "cosine_similarity"],
)
@pytest.mark.parametrize("shapes", [((4, 1), (4,)), ((4,), (4, 1))])
def test_labels_and_outputs_one_axis_apart_give_one_value_per_sample(name, shapes):
    y_true = RNG.standard_normal(shapes[0]).astype("float32")
    y_pred = RNG.standard_normal(shapes[1]).astype("float32")
    ours = getattr(losses, name)(y_true, y_pred)
    _assert_same(ours, _keras(lambda: getattr(keras.losses, name)(y_true, y_pred)))


@pytest.mark.parity
def test_a_mean_metric_counts_samples_of_n1_labels_against_n_outputs():
    y_true = RNG.integers(0, 2, (4, 1)).astype("float32")
    y_pred = RNG.random(4).astype("float32")
    weight = RNG.random(4).astype("float32")
    results = []
    for ns in (lamina_metrics, keras.metrics):
        metric = ns.MeanSquaredError()
        metric.update_state(y_true, y_pred, sample_weight=weight)
        metric.update_state(y_true[:2], y_pred[:2])
        results.append(_keras(metric.result))
    _assert_same(*results)
