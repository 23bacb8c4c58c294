"""The Metric base class against Keras's: the dtype a metric computes in (floatx by default, a
DTypePolicy's compute dtype, never the global policy's) and its read-only `dtype`."""

import pytest
import torch

import lamina
from lamina.metrics.metric import _as_tensor, _detached_tensor
from tests.parity.reference import keras


def _custom_metric_class(ns):
    class SquaredError(ns.metrics.Metric):
        def __init__(self, dtype=None):
            super().__init__(name="squared_error", dtype=dtype)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred):
            y_true = ns.ops.convert_to_tensor(y_true, dtype=self.dtype)
            y_pred = ns.ops.convert_to_tensor(y_pred, dtype=self.dtype)
            self.total.assign(self.total + ns.ops.sum((y_true - y_pred) ** 2))

        def result(self):
            return ns.ops.cast(self.total, self.dtype)

    return SquaredError


def _dtypes(ns, dtype=None):
    metric = _custom_metric_class(ns)(dtype=dtype)
    metric.update_state([1.0, 2.0], [0.5, 2.5])
    result = metric.result()
    return metric.dtype, ns.backend.standardize_dtype(result.dtype), float(result)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [None, "float16", "float64", "mixed_float16", "mixed_bfloat16"])
def test_a_metrics_dtype_is_its_policys_compute_dtype_as_keras(dtype):
    theirs = _dtypes(keras, dtype and keras.dtype_policies.DTypePolicy(dtype))
    ours = _dtypes(lamina, dtype and lamina.dtype_policies.DTypePolicy(dtype))
    assert ours[:2] == theirs[:2]
    assert ours[2] == pytest.approx(theirs[2], rel=1e-2)


@pytest.mark.parity
def test_a_metric_follows_floatx_not_the_global_policy_as_keras():
    for ns in (keras, lamina):
        ns.config.set_dtype_policy("mixed_float16")
        try:
            assert _dtypes(ns)[:2] == ("float32", "float32")
        finally:
            ns.config.set_dtype_policy("float32")
        ns.config.set_floatx("float16")
        try:
            assert _dtypes(ns)[:2] == ("float16", "float16")
        finally:
            ns.config.set_floatx("float32")


def test_a_metrics_dtype_is_read_only_as_keras():
    for ns in (keras, lamina):
        metric = ns.metrics.Mean()
        with pytest.raises(AttributeError):
            metric.dtype = "bfloat16"


@pytest.mark.parity
@pytest.mark.parametrize("holder", ["attribute", "list", "dict"])
def test_metrics_held_in_attributes_lists_and_dicts_count_as_keras(holder):
    counts, values = {}, {}
    for ns in (keras, lamina):
        outer = ns.metrics.Sum(name="outer")
        inner = [ns.metrics.Mean(name="first"), ns.metrics.Sum(name="second")]
        held = {
            "attribute": inner[0],
            "list": inner,
            "dict": {"a": inner[0], "b": inner[1]},
        }[holder]
        outer.parts = held
        for metric in inner:
            metric.update_state([1.0, 3.0])
        counts[ns.__name__] = len(outer.variables)
        values[ns.__name__] = sorted(float(v.numpy()) for v in outer.variables)
        outer.reset_state()
    assert counts["lamina"] == counts["keras"]
    assert values["lamina"] == values["keras"]


def test_iou_counts_stay_float32_under_a_float16_floatx():
    # floatx() is the default dtype of a custom metric, not of IoU's confusion matrix: float16
    # counts would stop at 2048.
    lamina.config.set_floatx("float16")
    try:
        metric = lamina.metrics.MeanIoU(num_classes=2)
        metric.update_state([0] * 3000, [0] * 3000)
        assert metric.dtype == "float32"
        assert float(metric.variables[0].numpy()[0, 0]) == 3000.0
    finally:
        lamina.config.set_floatx("float32")


def test_metric_inputs_convert_as_torch_as_tensor_does():
    plain = torch.ones(3)
    assert _as_tensor(plain) is plain and _detached_tensor(plain) is plain
    assert _as_tensor(plain, device=torch.device("cpu")) is plain
    moved = _as_tensor(plain, device=torch.device("meta"))
    assert moved.is_meta and moved.shape == (3,)
    weight = torch.nn.Parameter(torch.ones(2))  # a subclass: torch's own conversion
    assert torch.equal(_as_tensor(weight), torch.as_tensor(weight))
    assert _as_tensor([1.0, 2.0]).tolist() == [1.0, 2.0]
    stacked = _detached_tensor([torch.tensor(1.0, requires_grad=True), 2.0])
    assert stacked.tolist() == [1.0, 2.0] and not stacked.requires_grad
    mean = lamina.metrics.Mean()
    mean.update_state(torch.tensor([1.0, 3.0]))
    mean.update_state([torch.tensor(5.0)])
    assert mean.result().item() == 3.0
