"""Keras losses: the functions (per-sample values) and the Loss classes (reduction, weights).

Each function returns one value per sample (the last axis is reduced), as Keras's do; a `Loss`
object applies sample weights and the `sum_over_batch_size` reduction. Probabilities are clipped
to [eps, 1 - eps] with Keras's eps = 1e-7, so numbers match Keras's on the same inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors

EPSILON = 1e-7


def match_rank(y_true: torch.Tensor, y_pred: torch.Tensor):
    """Keras's squeeze_or_expand_to_same_rank: labels (N,) against outputs (N, 1) become (N, 1)."""
    true_rank, pred_rank = y_true.dim(), y_pred.dim()
    if true_rank == pred_rank:
        return y_true, y_pred
    if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1), y_pred
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1), y_pred
    return y_true, y_pred


def _as_float(y_true, y_pred):
    return y_true.to(y_pred.dtype) if y_true.dtype != y_pred.dtype else y_true


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_pred - _as_float(y_true, y_pred)).square().mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_pred - _as_float(y_true, y_pred)).abs().mean(dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _as_float(y_true, y_pred)
    diff = (y_true - y_pred).abs() / y_true.abs().clamp_min(EPSILON)
    return 100.0 * diff.mean(dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _as_float(y_true, y_pred)
    first = torch.log(y_pred.clamp_min(EPSILON) + 1.0)
    second = torch.log(y_true.clamp_min(EPSILON) + 1.0)
    return (first - second).square().mean(dim=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = match_rank(y_true, y_pred)
    error = (y_pred - _as_float(y_true, y_pred)).abs()
    quadratic = error.clamp_max(delta)
    linear = error - quadratic
    return (0.5 * quadratic.square() + delta * linear).mean(dim=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    x = y_pred - _as_float(y_true, y_pred)
    return (x + F.softplus(-2.0 * x) - torch.log(torch.tensor(2.0, dtype=x.dtype))).mean(dim=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _as_float(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        values = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return values.mean(dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true = _as_float(y_true, y_pred)
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        return -(y_true * torch.log_softmax(y_pred, dim=axis)).sum(dim=axis)
    p = y_pred / y_pred.sum(dim=axis, keepdim=True)
    p = p.clamp(EPSILON, 1.0 - EPSILON)
    return -(y_true * torch.log(p)).sum(dim=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    # Labels (N,) or (N, 1), integers or float class ids (0., 1., ...), as Keras accepts.
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    labels = y_true.long()
    if from_logits:
        log_probs = torch.log_softmax(y_pred, dim=axis)
    else:
        p = y_pred / y_pred.sum(dim=axis, keepdim=True)
        log_probs = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = torch.where(valid, labels, torch.zeros_like(labels))
    picked = log_probs.gather(axis, labels.unsqueeze(axis)).squeeze(axis)
    values = -picked
    if ignore_class is not None:
        values = values * valid.to(values.dtype)
    return values


def kl_divergence(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _as_float(y_true, y_pred).clamp(EPSILON, 1.0)
    y_pred = y_pred.clamp(EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_pred - _as_float(y_true, y_pred) * torch.log(y_pred + EPSILON)).mean(dim=-1)


def hinge(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    y_true = _as_float(y_true, y_pred)
    y_true = torch.where(y_true == 0, -torch.ones_like(y_true), y_true)
    return (1.0 - y_true * y_pred).clamp_min(0.0).mean(dim=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true = F.normalize(_as_float(y_true, y_pred), dim=axis)
    return -(y_true * F.normalize(y_pred, dim=axis)).sum(dim=axis)


# --------------------------------------------------------------------------------------------------
# Loss objects


class Loss:
    """A loss with Keras's reduction: weighted per-sample values, summed, divided by their count."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean", None):
            raise ValueError(
                "reduction must be 'sum_over_batch_size', 'sum', 'mean' or 'none'; "
                f"received reduction={reduction!r}."
            )
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if sample_weight is not None:
        weight = sample_weight.to(values.dtype)
        while weight.dim() > values.dim():
            weight = weight.squeeze(-1)
        while weight.dim() < values.dim():
            weight = weight.unsqueeze(-1)
        values = values * weight
    if reduction in ("none", None):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    return total / values.numel()


class LossFunctionWrapper(Loss):
    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **fn_kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _wrapper_class(fn, class_name, default_name, **defaults):
    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, **kwargs):
        options = dict(defaults)
        for key, value in zip(defaults, args):
            options[key] = value
        options.update(kwargs)
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected keyword argument(s) {sorted(unknown)}.")
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, **options)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    return type(
        class_name,
        (LossFunctionWrapper,),
        {
            "__init__": __init__,
            "get_config": get_config,
            "from_config": from_config,
            "__doc__": f"Keras's {class_name}: the `{fn.__name__}` function as a Loss object.",
        },
    )


MeanSquaredError = _wrapper_class(mean_squared_error, "MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _wrapper_class(mean_absolute_error, "MeanAbsoluteError", "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class(
    mean_absolute_percentage_error, "MeanAbsolutePercentageError", "mean_absolute_percentage_error"
)
MeanSquaredLogarithmicError = _wrapper_class(
    mean_squared_logarithmic_error, "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error"
)
Huber = _wrapper_class(huber, "Huber", "huber_loss", delta=1.0)
LogCosh = _wrapper_class(log_cosh, "LogCosh", "log_cosh")
BinaryCrossentropy = _wrapper_class(
    binary_crossentropy,
    "BinaryCrossentropy",
    "binary_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
)
CategoricalCrossentropy = _wrapper_class(
    categorical_crossentropy,
    "CategoricalCrossentropy",
    "categorical_crossentropy",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
)
SparseCategoricalCrossentropy = _wrapper_class(
    sparse_categorical_crossentropy,
    "SparseCategoricalCrossentropy",
    "sparse_categorical_crossentropy",
    from_logits=False,
    ignore_class=None,
    axis=-1,
)
KLDivergence = _wrapper_class(kl_divergence, "KLDivergence", "kl_divergence")
Poisson = _wrapper_class(poisson, "Poisson", "poisson")
Hinge = _wrapper_class(hinge, "Hinge", "hinge")
CosineSimilarity = _wrapper_class(
    cosine_similarity, "CosineSimilarity", "cosine_similarity", axis=-1
)


_FUNCTIONS = {
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "huber": huber,
    "huber_loss": huber,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "poisson": poisson,
    "hinge": hinge,
    "cosine_similarity": cosine_similarity,
}
_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        Huber,
        LogCosh,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Poisson,
        Hinge,
        CosineSimilarity,
    )
}


def get(identifier):
    """A name, a Loss, a class name or a function -> a callable `(y_true, y_pred) -> values`."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        key = identifier.lower()
        if key not in _FUNCTIONS:
            raise errors.unknown_name("loss", identifier, _FUNCTIONS)
        return _FUNCTIONS[key]
    if isinstance(identifier, dict) and "class_name" in identifier:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss {identifier!r}.")


def names() -> list[str]:
    return sorted(_FUNCTIONS)


def _snake(name: str) -> str:
    from lamina.engine.naming import to_snake_case

    return to_snake_case(name)
