"""Metrics' stateless API (`stateless_update_state` / `stateless_result` / `stateless_reset_state`)
against Keras's: the same state lists in and out, the metric's own state untouched; and the
public attributes Keras's metrics carry (`accumulator`, `axis`, `AUC.interpolate_pr_auc`)."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras, keras_run

RNG = np.random.default_rng(5)
Y_TRUE = RNG.integers(0, 2, (12, 1)).astype("float32")
Y_PRED = RNG.uniform(0, 1, (12, 1)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, (12,)).astype("float32")
ONEHOT = np.eye(3, dtype="float32")[RNG.integers(0, 3, 12)]
SCORES = RNG.uniform(0, 1, (12, 3)).astype("float32")

# (class name, constructor arguments, update arguments)
CASES = {
    "mean": ("Mean", {}, (Y_PRED[:, 0],)),
    "auc_roc": ("AUC", {"num_thresholds": 20}, (Y_TRUE, Y_PRED)),
    "auc_pr_multi_label": (
        "AUC",
        {"num_thresholds": 20, "curve": "PR", "multi_label": True, "num_labels": 3},
        (ONEHOT, SCORES),
    ),
    "mean_metric_wrapper": ("BinaryAccuracy", {"threshold": 0.4}, (Y_TRUE, Y_PRED)),
    "precision": ("Precision", {"thresholds": [0.3, 0.7]}, (Y_TRUE, Y_PRED)),
    "true_positives": ("TruePositives", {}, (Y_TRUE, Y_PRED)),
}


def _numpy(values):
    return [np.asarray(torch.as_tensor(v).detach().cpu()) for v in values]


@pytest.mark.parity
@pytest.mark.parametrize("case", list(CASES))
def test_stateless_api_matches_keras_and_leaves_the_metric_alone(case):
    name, config, args = CASES[case]
    theirs, ours = getattr(keras.metrics, name)(**config), getattr(lamina.metrics, name)(**config)
    ours.update_state(*args)  # state of its own, which the stateless calls must not touch
    own = _numpy(ours.variables)
    kept = ours.variables

    state_k = theirs.stateless_update_state(theirs.variables, *args)
    state_k = theirs.stateless_update_state(state_k, *args, sample_weight=WEIGHTS)
    state = ours.stateless_update_state(ours.stateless_reset_state(), *args)
    state = ours.stateless_update_state(state, *args, sample_weight=WEIGHTS)

    assert len(state) == len(state_k)
    for mine, reference in zip(_numpy(state), _numpy(state_k), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        _numpy([ours.stateless_result(state)])[0],
        _numpy([theirs.stateless_result(state_k)])[0],
        rtol=1e-5,
        atol=1e-6,
    )
    for mine, before in zip(_numpy(ours.variables), own, strict=True):
        np.testing.assert_array_equal(mine, before)
    assert all(a is b for a, b in zip(ours.variables, kept, strict=True))  # the same tensors
    assert all(not np.any(v) for v in _numpy(ours.stateless_reset_state()))


@pytest.mark.parity
@pytest.mark.parametrize(
    "weights", [None, WEIGHTS, WEIGHTS[:, None] * ONEHOT], ids=["none", "per_sample", "per_value"]
)
def test_mean_metric_wrapper_state_counts_samples_as_keras(weights):
    # Keras averages each sample's values first: its state is (sum of sample means, samples).
    def fn(y_true, y_pred):
        return (y_true - y_pred) ** 2

    theirs = keras.metrics.MeanMetricWrapper(fn, name="sq")
    ours = lamina.metrics.MeanMetricWrapper(fn, name="sq")
    state_k = theirs.stateless_update_state(theirs.variables, ONEHOT, SCORES, sample_weight=weights)
    state = ours.stateless_update_state(ours.variables, ONEHOT, SCORES, sample_weight=weights)
    for mine, reference in zip(_numpy(state), _numpy(state_k), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5)
    assert float(ours.stateless_result(state)) == pytest.approx(
        float(theirs.stateless_result(state_k)), rel=1e-5
    )
    assert float(ours.result()) == 0.0


def _custom_metric(m):
    class Doubling(m.metrics.Metric):  # Keras's way: state made with add_variable, then assigned
        def __init__(self):
            super().__init__(name="doubling")
            self.total = self.add_variable((), "zeros", name="total")
            self.scale = self.add_variable((2,), "ones", name="scale")

        def update_state(self, values):
            self.total.assign_add(m.ops.sum(values))
            self.scale.assign(self.scale * 2)

        def result(self):
            return self.total.value + m.ops.sum(self.scale.value)

    return Doubling()


@pytest.mark.parity
def test_stateless_api_on_a_custom_metric_of_added_variables():
    found = []
    for m in (keras, lamina):
        metric = _custom_metric(m)
        metric.update_state(np.array([1.0], "float32"))
        state = metric.stateless_update_state(metric.variables, np.array([2.0, 3.0], "float32"))
        reset = metric.stateless_reset_state()
        numbers = [np.asarray(m.ops.convert_to_numpy(v)).tolist() for v in [*state, *reset]]
        found.append((numbers, float(metric.stateless_result(state)), float(metric.result())))
    assert found[1] == found[0] == ([6.0, [4.0, 4.0], 0.0, [0.0, 0.0]], 14.0, 5.0)


def test_stateless_update_of_a_metric_built_by_its_first_update():
    # F1Score makes its state when it first sees the number of classes, as Keras's does.
    metric = lamina.metrics.F1Score()
    state = metric.stateless_update_state(metric.variables, ONEHOT, SCORES)
    reference = keras.metrics.F1Score()
    state_k = reference.stateless_update_state(reference.variables, ONEHOT, SCORES)
    for mine, theirs in zip(_numpy(state), _numpy(state_k), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    assert [tuple(v.shape) for v in metric.variables] == [(3,)] * 4
    assert not any(np.any(v) for v in _numpy(metric.variables))


def test_stateless_calls_cover_a_metric_group():
    group = lamina.metrics.metric.MetricGroup("pair", [lamina.metrics.Mean("a")])
    group.metrics.append(lamina.metrics.Sum("b"))
    state = [torch.tensor(4.0), torch.tensor(2.0), torch.tensor(7.0)]
    assert {k: v.item() for k, v in group.stateless_result(state).items()} == {"a": 2.0, "b": 7.0}
    assert [v.item() for v in group.stateless_reset_state()] == [0.0, 0.0, 0.0]
    assert {k: v.item() for k, v in group.result().items()} == {"a": 0.0, "b": 0.0}


def test_stateless_update_of_a_group_whose_first_metric_builds_at_the_update():
    class Pair(lamina.metrics.metric.MetricGroup):
        def update_state(self, y_true, y_pred):
            self.metrics[0].update_state(y_true, y_pred)
            self.metrics[1].update_state(y_pred)

    group = Pair("pair", [lamina.metrics.F1Score(), lamina.metrics.Mean()])
    group.metrics[1].update_state(torch.tensor([10.0]))
    state = group.stateless_update_state([torch.tensor(0.0), torch.tensor(0.0)], ONEHOT, SCORES)
    assert [tuple(v.shape) for v in state] == [(3,)] * 4 + [(), ()]
    assert state[-1].item() == 12  # the Mean counted the 12 samples from the given zeros
    assert group.metrics[1].result().item() == 10.0  # its own state untouched
    assert not any(np.any(v) for v in _numpy(group.metrics[0].variables))


def test_stateless_call_with_the_wrong_number_of_variables():
    with pytest.raises(ValueError, match=r"Mean 'mean' expects metric_variables: a list of 2"):
        lamina.metrics.Mean().stateless_result([torch.tensor(1.0)])


@pytest.mark.parity
@pytest.mark.parametrize("config", [{}, {"multi_label": True}], ids=["single", "multi_label"])
def test_interpolate_pr_auc_matches_keras_for_any_curve(config):
    # A ROC metric still answers the PR area of its counts, as Keras's method does.
    theirs = keras.metrics.AUC(num_thresholds=15, **config)
    ours = lamina.metrics.AUC(num_thresholds=15, **config)
    for metric in (theirs, ours):
        metric.update_state(ONEHOT, SCORES, sample_weight=WEIGHTS)
    assert float(ours.interpolate_pr_auc()) == pytest.approx(
        float(theirs.interpolate_pr_auc()), rel=1e-5
    )


@pytest.mark.parity
@pytest.mark.parametrize(
    "name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]
)
def test_accumulator_is_the_running_count(name):
    theirs = getattr(keras.metrics, name)(thresholds=[0.2, 0.6])
    ours = getattr(lamina.metrics, name)(thresholds=[0.2, 0.6])
    for metric in (theirs, ours):
        metric.update_state(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(_numpy([ours.accumulator])[0], _numpy([theirs.accumulator.value])[0])
    assert ours.accumulator is ours.variables[0]


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_fbeta_axis_as_keras(average):
    assert lamina.metrics.FBetaScore(average).axis == keras.metrics.FBetaScore(average).axis
    assert lamina.metrics.F1Score(average).axis == keras.metrics.F1Score(average).axis


@pytest.mark.parity
@pytest.mark.parametrize(
    "name, args",
    [
        ("AUC", ()),
        ("F1Score", ()),
        ("FBetaScore", ()),
        ("TruePositives", ()),
        ("Precision", ()),
        ("IoU", (2, [0])),
        ("OneHotIoU", (2, [0])),
    ],
)
def test_dtype_is_kept_and_configured_as_keras(name, args):
    theirs = getattr(keras.metrics, name)(*args, dtype="float16")
    ours = getattr(lamina.metrics, name)(*args, dtype="float16")
    assert ours.dtype == theirs.dtype == "float16"
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    assert type(ours).from_config(ours.get_config()).dtype == "float16"


def _metric_of_metrics(m):
    """A custom metric built from metrics held in its attributes, with a variable of its own:
    Keras tracks the held metrics, so their state is the custom metric's."""

    class MeanPlusSum(m.metrics.Metric):
        def __init__(self):
            super().__init__(name="mean_plus_sum")
            self.offset = self.add_variable((), "zeros", name="offset")
            self.mean = m.metrics.Mean(name="a")
            self.parts = [m.metrics.Sum(name="b")]

        def update_state(self, values):
            self.mean.update_state(values)
            self.parts[0].update_state(values)
            self.offset.assign_add(1.0)

        def result(self):
            return self.mean.result() + self.parts[0].result() + self.offset.value

    metric = MeanPlusSum()
    metric.update_state(np.array([1.0, 2.0], "float32"))
    named = [(v.name, v.path) for v in metric.variables]
    state = metric.stateless_update_state(metric.variables, np.array([3.0], "float32"))
    numbers = [float(m.ops.convert_to_numpy(v)) for v in state]
    before_reset = float(metric.result())
    metric.reset_state()  # the held metrics too
    return named, numbers, before_reset, float(metric.result())


@pytest.mark.parity
def test_a_metric_of_metrics_holds_their_state_as_keras_does():
    ours, theirs = _metric_of_metrics(lamina), keras_run(_metric_of_metrics)
    assert ours == theirs
    assert ours[0] == [
        ("offset", "mean_plus_sum/offset"),
        ("total", "a/total"),
        ("count", "a/count"),
        ("total", "b/total"),
    ]
    assert ours[2:] == (5.5, 0.0)  # reset_state() left no held total behind


@pytest.mark.parity
@pytest.mark.parametrize(
    "name,config",
    [
        ("Mean", {}),
        ("AUC", {"num_thresholds": 4}),
        ("TruePositives", {}),
        ("Precision", {}),
        ("MeanIoU", {"num_classes": 3}),
        ("R2Score", {}),
        ("SparseCategoricalAccuracy", {}),
    ],
)
def test_metric_variables_carry_keras_names_and_paths(name, config):
    def listed(m):
        metric = getattr(m.metrics, name)(**config)
        if name == "R2Score":  # its state is made by the first update, as Keras's
            metric.update_state(Y_PRED, Y_PRED)
        return [(v.name, v.path, tuple(v.shape)) for v in metric.variables]

    assert listed(lamina) == keras_run(listed)  # auto names count from zero
