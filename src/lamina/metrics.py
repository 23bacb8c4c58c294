"""Stateful metrics whose state lives in device tensors: updating one never waits on the host.

`update_state` adds to running totals with tensor ops; `result()` returns a 0-d tensor; reading it as a
Python number (`float(metric.result())`) is the only sync, done by the progress bar and at epoch end.
"""

from __future__ import annotations

import torch

from lamina import losses as losses_module
from lamina.engine import errors
from lamina.engine.naming import to_snake_case


class Metric:
    """Base class: subclasses create state with `add_state` and implement update_state / result."""

    def __init__(self, name=None, dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        self._state_names: list[str] = []
        self._device = None

    def add_state(self, name: str, shape=(), dtype=torch.float32):
        setattr(self, name, torch.zeros(shape, dtype=dtype))
        self._state_names.append(name)

    def _to(self, device):
        """Move state to the data's device once (a no-op after the first update). Made outside
        inference mode even when the first update comes from evaluate(): an inference tensor
        could not be reset in place by the next fit()."""
        if self._device != device:
            with torch.inference_mode(False):
                for name in self._state_names:
                    setattr(self, name, getattr(self, name).to(device))
            self._device = device

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def reset_state(self) -> None:
        for name in self._state_names:
            getattr(self, name).zero_()

    def reset_states(self) -> None:
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """Weighted mean of the values given to update_state."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name)
        self.add_state("total")
        self.add_state("count")

    def update_state(self, values, sample_weight=None):
        values = torch.as_tensor(values)
        self._to(values.device)
        values = values.detach().float()
        if sample_weight is not None:
            weight = torch.as_tensor(sample_weight, device=values.device).float()
            weight = torch.broadcast_to(_match(weight, values), values.shape)
            self.total += (values * weight).sum()
            self.count += weight.sum()
        else:
            self.total += values.sum()
            self.count += values.numel()

    def result(self):
        return self.total / self.count.clamp_min(1e-12)  # 0 before any update, as Keras

    def update_weighted(self, value: torch.Tensor, weight) -> None:
        """Add `value` counted `weight` times (the batch loss counted once per sample)."""
        self._to(value.device)
        self.total += value.detach().float() * weight
        self.count += weight


class Sum(Metric):
    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name)
        self.add_state("total")

    def update_state(self, values, sample_weight=None):
        values = torch.as_tensor(values)
        self._to(values.device)
        self.total += values.detach().float().sum()

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """A function `(y_true, y_pred) -> per-sample values` as a running mean."""

    def __init__(self, fn, name=None, dtype=None, **fn_kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"))
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(y_true, y_pred, **self.fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        return {"name": self.name, **self.fn_kwargs}


def _match(weight, values):
    while weight.dim() > values.dim():
        weight = weight.squeeze(-1)
    while weight.dim() < values.dim():
        weight = weight.unsqueeze(-1)
    return weight


# --------------------------------------------------------------------------------------------------
# Accuracy functions (one value per sample, as Keras's)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = losses_module.match_rank(y_true, y_pred)
    predicted = (y_pred > threshold).to(y_pred.dtype)
    return (predicted == y_true.to(y_pred.dtype)).float().mean(dim=-1)


def categorical_accuracy(y_true, y_pred):
    return (y_true.argmax(dim=-1) == y_pred.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true, y_pred):
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true.long()).float()


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return sparse_top_k_categorical_accuracy(y_true.argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.long().unsqueeze(-1)).any(dim=-1).float()


def _class(fn, class_name, default_name, **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        options = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, **options)

    return type(
        class_name,
        (MeanMetricWrapper,),
        {
            "__init__": __init__,
            "__doc__": f"Keras's {class_name} metric.",
        },
    )


Accuracy = _class(lambda t, p: (t.to(p.dtype) == p).float(), "Accuracy", "accuracy")
BinaryAccuracy = _class(binary_accuracy, "BinaryAccuracy", "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _class(categorical_accuracy, "CategoricalAccuracy", "categorical_accuracy")
SparseCategoricalAccuracy = _class(
    sparse_categorical_accuracy, "SparseCategoricalAccuracy", "sparse_categorical_accuracy"
)
TopKCategoricalAccuracy = _class(
    top_k_categorical_accuracy, "TopKCategoricalAccuracy", "top_k_categorical_accuracy", k=5
)
SparseTopKCategoricalAccuracy = _class(
    sparse_top_k_categorical_accuracy,
    "SparseTopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy",
    k=5,
)
MeanSquaredError = _class(
    losses_module.mean_squared_error, "MeanSquaredError", "mean_squared_error"
)
MeanAbsoluteError = _class(
    losses_module.mean_absolute_error, "MeanAbsoluteError", "mean_absolute_error"
)
MeanAbsolutePercentageError = _class(
    losses_module.mean_absolute_percentage_error,
    "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error",
)
BinaryCrossentropy = _class(
    losses_module.binary_crossentropy, "BinaryCrossentropy", "binary_crossentropy"
)
CategoricalCrossentropy = _class(
    losses_module.categorical_crossentropy, "CategoricalCrossentropy", "categorical_crossentropy"
)
SparseCategoricalCrossentropy = _class(
    losses_module.sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy",
    "sparse_categorical_crossentropy",
)


class RootMeanSquaredError(Mean):
    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(losses_module.mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return torch.sqrt(super().result())


_FUNCTIONS = {
    "accuracy": None,  # resolved against the loss and shapes by the trainer, as Keras does
    "acc": None,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "root_mean_squared_error": RootMeanSquaredError,
    "rmse": RootMeanSquaredError,
}
_CLASSES: dict[str, type] = {}


def register(cls):
    """Make a metric class resolvable by its class name and snake-case name."""
    _CLASSES[cls.__name__] = cls
    if to_snake_case(cls.__name__) not in _FUNCTIONS:  # 'accuracy' stays resolved by the trainer
        _CLASSES[to_snake_case(cls.__name__)] = cls
    return cls


for _cls in (
    Mean,
    Sum,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    RootMeanSquaredError,
):
    register(_cls)


def get(identifier, *, name=None) -> Metric:
    """A name, a Metric, a class or a function -> a Metric object named as Keras names it."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        key = identifier.lower()
        if key not in _FUNCTIONS or _FUNCTIONS[key] is None:
            valid = [k for k in _FUNCTIONS] + list(_CLASSES)
            raise errors.unknown_name("metric", identifier, valid)
        return _FUNCTIONS[key](name=name or identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=name or getattr(identifier, "__name__", "metric"))
    raise TypeError(f"Could not interpret metric {identifier!r}.")


def resolve_accuracy(name: str, loss, y_true_shape, y_pred_shape) -> Metric:
    """'accuracy' -> binary / sparse categorical / categorical, by Keras's rule."""
    loss_name = getattr(loss, "__name__", None) or getattr(loss, "name", None) or str(loss)
    is_binary_loss = "binary_crossentropy" in str(loss_name)
    true_rank, pred_rank = len(y_true_shape), len(y_pred_shape)
    pred_last = y_pred_shape[-1] if pred_rank else 1
    true_last = y_true_shape[-1] if true_rank else 1
    if pred_last == 1 or is_binary_loss:
        return BinaryAccuracy(name=name)
    if true_rank < pred_rank or (true_last == 1 and pred_last != 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def names() -> list[str]:
    return sorted(k for k in _FUNCTIONS) + sorted(_CLASSES)


# Confusion-count metrics (they subclass Metric and register themselves on import).
from lamina.confusion_metrics import (  # noqa: E402, F401  (re-exported as lamina.metrics.*)
    AUC,
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    IoU,
    MeanIoU,
    OneHotIoU,
    OneHotMeanIoU,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
