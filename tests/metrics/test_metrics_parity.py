"""Every Keras metric lamina adds here, against keras.metrics on random data: several
update_state calls (with and without sample weights), result(), reset_state(), then another
update; the function forms; configs; updates on the meta device (so they read nothing on the
host); name resolution; and pinned argument errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import metrics
from tests.parity.reference import keras

RNG = np.random.default_rng(11)
N, C = 16, 3


def _probabilities(shape):
    z = RNG.standard_normal(shape)
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


def _batch(kind):
    if kind == "regression":
        y_true = RNG.standard_normal((N, C)).astype("float32")
        return y_true, (y_true + 0.7 * RNG.standard_normal((N, C))).astype("float32")
    if kind == "positive":
        return RNG.uniform(0, 3, (N, C)).astype("float32"), RNG.uniform(0.1, 3, (N, C)).astype(
            "float32"
        )
    if kind == "binary":
        return RNG.integers(0, 2, (N, 1)).astype("float32"), RNG.uniform(0, 1, (N, 1)).astype(
            "float32"
        )
    if kind == "signed":
        return RNG.integers(0, 2, (N, C)).astype("float32"), RNG.standard_normal((N, C)).astype(
            "float32"
        )
    if kind == "onehot":
        return np.eye(C, dtype="float32")[RNG.integers(0, C, N)], _probabilities((N, C))
    if kind == "sparse":
        return RNG.integers(0, C, (N,)).astype("float32"), _probabilities((N, C))
    raise AssertionError(kind)


# (class name, options, data kind)
CASES = [
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("LogCoshError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("Poisson", {}, "positive"),
    ("KLDivergence", {}, "onehot"),
    ("Hinge", {}, "signed"),
    ("SquaredHinge", {}, "signed"),
    ("CategoricalHinge", {}, "onehot"),
    ("BinaryCrossentropy", {"from_logits": False, "label_smoothing": 0.1}, "binary"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("MeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"num_regressors": 2}, "regression"),
    ("SensitivityAtSpecificity", {"specificity": 0.6}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.5}, "binary"),
    ("RecallAtPrecision", {"precision": 0.55, "num_thresholds": 17}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.4, "class_id": 1}, "onehot"),
    ("BinaryIoU", {"dtype": "float32"}, "binary"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3, "dtype": "float32"}, "binary"),
]


def _case_id(case):
    options = "-".join(f"{k}{v}" for k, v in case[1].items())
    return case[0] + (f"-{options}" if options else "")


def _close(ours, theirs):
    np.testing.assert_allclose(
        np.asarray(ours.detach().cpu()),
        keras.ops.convert_to_numpy(theirs),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metric_matches_keras_over_updates_and_reset(case, weighted):
    class_name, options, kind = case
    ours = getattr(metrics, class_name)(**options)
    theirs = getattr(keras.metrics, class_name)(**options)
    for round_ in range(2):
        for _ in range(3):
            y_true, y_pred = _batch(kind)
            weight = RNG.uniform(0, 2, (N,)).astype("float32") if weighted else None
            ours.update_state(torch.tensor(y_true), torch.tensor(y_pred), sample_weight=weight)
            theirs.update_state(y_true, y_pred, sample_weight=weight)
        _close(ours.result(), theirs.result())
        if round_ == 0:
            ours.reset_state()
            theirs.reset_state()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metric_update_reads_nothing_on_the_host(case):
    # .item(), bool(tensor) and .cpu() raise on the meta device: an update that runs there
    # never waits on the host (DESIGN.md rule 5).
    class_name, options, kind = case
    metric = getattr(metrics, class_name)(**options)
    y_true, y_pred = _batch(kind)
    weight = torch.ones(N, device="meta")
    metric.update_state(
        torch.tensor(y_true).to("meta"), torch.tensor(y_pred).to("meta"), sample_weight=weight
    )
    assert all(v.device.type == "meta" for v in metric.variables)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metric_config_matches_keras(case):
    class_name, options, _ = case
    options = {**options, "name": "m"}
    ours = getattr(metrics, class_name)(**options).get_config()
    theirs = getattr(keras.metrics, class_name)(**options).get_config()
    # Keras's CosineSimilarity config drops its axis (its own round trip loses it); lamina keeps it.
    assert theirs.items() <= ours.items()
    assert set(ours) - set(theirs) <= ({"axis"} if class_name == "CosineSimilarity" else set())
    rebuilt = metrics.deserialize({"class_name": class_name, "config": ours})
    assert rebuilt.get_config() == ours


FUNCTIONS = [
    ("binary_crossentropy", "binary"),
    ("binary_focal_crossentropy", "binary"),
    ("categorical_crossentropy", "onehot"),
    ("categorical_focal_crossentropy", "onehot"),
    ("sparse_categorical_crossentropy", "sparse"),
    ("categorical_hinge", "onehot"),
    ("hinge", "signed"),
    ("squared_hinge", "signed"),
    ("huber", "regression"),
    ("kl_divergence", "onehot"),
    ("log_cosh", "regression"),
    ("mean_absolute_error", "regression"),
    ("mean_absolute_percentage_error", "regression"),
    ("mean_squared_error", "regression"),
    ("mean_squared_logarithmic_error", "positive"),
    ("poisson", "positive"),
    ("pearson_correlation", "regression"),
    ("concordance_correlation", "regression"),
    ("binary_accuracy", "binary"),
    ("categorical_accuracy", "onehot"),
    ("sparse_categorical_accuracy", "sparse"),
]


@pytest.mark.parametrize(("name", "kind"), FUNCTIONS)
def test_metric_function_matches_keras(name, kind):
    y_true, y_pred = _batch(kind)
    ours = getattr(metrics, name)(torch.tensor(y_true), torch.tensor(y_pred))
    theirs = getattr(keras.metrics, name)(
        keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred)
    )
    _close(ours, theirs)


def test_hand_computed_r2_and_constrained_rates():
    r2 = metrics.R2Score()
    r2.update_state(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [4.0]]))
    assert r2.result().item() == pytest.approx(0.5)
    y_true, y_pred = torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.2, 0.8, 0.7, 0.9])
    # thresholds 0, 0.5, 1: at 0.5 recall is 1 with precision 2/3 (one negative above 0.5)
    assert metrics.PrecisionAtRecall(1.0, num_thresholds=3)(y_true, y_pred).item() == (
        pytest.approx(2 / 3)
    )
    assert metrics.SpecificityAtSensitivity(1.0, num_thresholds=3)(y_true, y_pred).item() == 0.5


def test_new_metric_names_resolve():
    assert isinstance(metrics.get("r2_score"), metrics.R2Score)
    assert isinstance(metrics.get("squared_hinge"), metrics.SquaredHinge)
    assert isinstance(metrics.get("logcosh"), metrics.LogCoshError)
    assert isinstance(metrics.get("PearsonCorrelation"), metrics.PearsonCorrelation)
    config = metrics.serialize(metrics.BinaryIoU(threshold=0.3))
    assert metrics.deserialize(config).threshold == 0.3


def test_metric_errors_are_pinned():
    with pytest.raises(ValueError, match=r"PrecisionAtRecall expects recall in the range \[0, 1\]"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match=r"expects num_thresholds to be an integer > 0"):
        metrics.RecallAtPrecision(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match=r"R2Score expects class_aggregation in"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match=r"R2Score expects num_regressors >= 0"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(TypeError, match=r"Hinge\(\) got unexpected keyword argument"):
        metrics.Hinge(axis=0)


# One-hot labels stored as booleans (np.eye(..., dtype=bool), a character table's encoding): Keras's
# ops.argmax reads them, torch's argmax refuses them.
BOOLEAN_ONE_HOT_CASES = [
    ("CategoricalAccuracy", {}),
    ("TopKCategoricalAccuracy", {"k": 2}),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [0, 2]}),
    ("OneHotMeanIoU", {"num_classes": C}),
]


@pytest.mark.parametrize("case", BOOLEAN_ONE_HOT_CASES, ids=lambda case: case[0])
def test_boolean_one_hot_labels_match_keras(case):
    class_name, options = case
    ours = getattr(metrics, class_name)(**options)
    theirs = getattr(keras.metrics, class_name)(**options)
    for _ in range(2):
        y_true = np.eye(C, dtype=bool)[RNG.integers(0, C, (N, 4))]  # (N, 4, C): a sequence
        y_pred = _probabilities((N, 4, C))
        ours.update_state(torch.tensor(y_true), torch.tensor(y_pred))
        theirs.update_state(y_true, y_pred)
    _close(ours.result(), theirs.result())


# Keras's constructors take their arguments by position too: keras-io's ViT example writes
# SparseTopKCategoricalAccuracy(5, name="top-5-accuracy").
POSITIONAL_CASES = [
    ("TopKCategoricalAccuracy", (2, "top-2"), "onehot"),
    ("SparseTopKCategoricalAccuracy", (2, "top-2"), "sparse"),
    ("BinaryAccuracy", ("acc", None, 0.3), "binary"),
    ("CategoricalCrossentropy", ("cce", None, False, 0.1), "onehot"),
    ("SparseCategoricalCrossentropy", ("scce", None, False, None, -1), "sparse"),
    ("CosineSimilarity", ("cos", None, -1), "regression"),
]


@pytest.mark.parametrize("case", POSITIONAL_CASES, ids=lambda case: case[0])
def test_positional_arguments_follow_keras_order(case):
    class_name, args, kind = case
    ours = getattr(metrics, class_name)(*args)
    theirs = getattr(keras.metrics, class_name)(*args)
    assert ours.name == theirs.name
    y_true, y_pred = _batch(kind)
    ours.update_state(torch.tensor(y_true), torch.tensor(y_pred))
    theirs.update_state(y_true, y_pred)
    _close(ours.result(), theirs.result())
    assert theirs.get_config().items() <= ours.get_config().items()


def test_the_base_class_takes_dtype_then_name_as_keras_does():
    # A custom metric forwarding its arguments by position reaches Metric(dtype, name) in Keras.
    class Counted(metrics.Metric):
        def __init__(self, dtype=None, name=None):
            super().__init__(dtype, name)

    class KerasCounted(keras.metrics.Metric):
        def __init__(self, dtype=None, name=None):
            super().__init__(dtype, name)

    ours, theirs = Counted("float32", "counted"), KerasCounted("float32", "counted")
    assert (ours.name, ours.dtype) == (theirs.name, theirs.dtype) == ("counted", "float32")


def test_sparse_top_k_reads_sorted_ids_as_keras_does():
    y_true = RNG.integers(0, 6, (N,))
    sorted_ids = np.argsort(-RNG.standard_normal((N, 6)), axis=-1)[:, :4].astype("float32")
    ours = metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    theirs = keras.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    ours.update_state(torch.tensor(y_true), torch.tensor(sorted_ids))
    theirs.update_state(y_true, sorted_ids)
    _close(ours.result(), theirs.result())
    assert ours.get_config() == theirs.get_config()


def test_too_many_or_repeated_arguments_are_refused():
    with pytest.raises(TypeError, match=r"TopKCategoricalAccuracy\(\) takes at most 3 positional"):
        metrics.TopKCategoricalAccuracy(5, "top", None, 1)
    with pytest.raises(TypeError, match=r"got multiple values for argument 'k'"):
        metrics.TopKCategoricalAccuracy(5, k=3)


@pytest.mark.parametrize("name", ["Mean", "Sum"])
def test_reduction_metrics_take_a_variable_as_keras_does(name):
    # A GAN tracks its augmentation probability, a scalar Variable, with Mean().update_state.
    ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
    for value in (0.25, [1.0, 2.0]):
        ours.update_state(lamina.Variable(value))
        theirs.update_state(keras.Variable(value))
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)


def MeanAbsGap(y_true, y_pred):  # noqa: N802 - a capitalised function name, as user code has
    return abs(y_true - y_pred)


@pytest.mark.parity
def test_a_function_metric_logs_under_its_snake_cased_name_as_keras():
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    histories = []
    for framework in (keras, lamina):
        model = framework.Sequential([framework.Input((3,)), framework.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=[MeanAbsGap])
        histories.append(model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y)).history)
    assert sorted(histories[1]) == sorted(histories[0])
    assert "mean_abs_gap" in histories[1]


@pytest.mark.parametrize("weights", [[-1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
def test_mean_divides_by_a_negative_or_zero_weight_sum_as_keras(weights):
    # Keras divides with divide_no_nan: 0 only where the weights sum to 0, not below it.
    ours, theirs = metrics.Mean(), keras.metrics.Mean()
    ours.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=weights)
    theirs.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=weights)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)


@pytest.mark.parametrize("rank", [1, 2])
def test_rmse_weights_each_entry_as_keras(rank):
    # Keras squares element-wise before the weighted mean: weights shaped like y_true apply to
    # each entry (a per-sample MSE would reduce the axis they name).
    y_true = np.array([2.0, 4.0, 6.0, 8.0], "float32")
    y_pred = np.array([1.0, 3.0, 2.0, 3.0], "float32")
    weight = np.array([0.0, 1.0, 0.0, 1.0], "float32")
    if rank == 2:
        y_true, y_pred, weight = y_true.reshape(2, 2), y_pred.reshape(2, 2), weight.reshape(2, 2)
    ours, theirs = metrics.RootMeanSquaredError(), keras.metrics.RootMeanSquaredError()
    ours.update_state(y_true, y_pred, sample_weight=weight)
    theirs.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_crossentropy_ignore_class_weights_as_keras(weighted):
    # Keras drops the ignored samples from the count only when sample weights are given.
    y_true = np.array([0, 1, 2])
    y_pred = np.array([[0.8, 0.1, 0.1], [0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], "float32")
    weight = np.array([0.5, 1.5, 2.0], "float32") if weighted else None
    ours = metrics.SparseCategoricalCrossentropy(ignore_class=0)
    theirs = keras.metrics.SparseCategoricalCrossentropy(ignore_class=0)
    ours.update_state(y_true, y_pred, sample_weight=weight)
    theirs.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-5)


@pytest.mark.parametrize(("name", "kind"), FUNCTIONS)
def test_metric_function_takes_numpy_as_keras(name, kind):
    # Keras's metric functions take arrays as they come (`pearson_correlation(np_a, np_b)`).
    y_true, y_pred = _batch(kind)
    _close(getattr(metrics, name)(y_true, y_pred), getattr(keras.metrics, name)(y_true, y_pred))


def test_get_none_is_none_as_keras():
    assert metrics.get(None) is None and keras.metrics.get(None) is None
