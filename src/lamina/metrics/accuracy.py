"""Accuracy metrics: the functions (one value per sample, as Keras's) and the classes."""

from __future__ import annotations

import torch

from lamina.losses import match_rank
from lamina.metrics.metric import MeanMetricWrapper


def accuracy(y_true, y_pred):
    """1 where the prediction equals the label exactly, else 0."""
    y_true, y_pred = match_rank(y_true, y_pred)
    return torch.eq(y_true.to(y_pred.dtype), y_pred).float()


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals the label, entry by entry (as Keras's, no reduction).

    Example:
    >>> binary_accuracy(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.7, 0.6]])).tolist()
    [[1.0, 0.0]]
    """
    y_true, y_pred = match_rank(y_true, y_pred)
    predicted = (y_pred > threshold).to(y_pred.dtype)
    return (predicted == y_true.to(y_pred.dtype)).float()


def categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of the prediction is the arg-max of the one-hot label.

    Example:
    >>> categorical_accuracy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.7]])).tolist()
    [1.0]
    """
    return (y_true.argmax(dim=-1) == y_pred.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of the prediction is the integer label.

    Example:
    >>> sparse_categorical_accuracy(torch.tensor([0]), torch.tensor([[0.3, 0.7]])).tolist()
    [0.0]
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true.long()).float()


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot label's class is among the k largest predictions."""
    return sparse_top_k_categorical_accuracy(y_true.argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the k largest predictions.

    Example:
    >>> y_pred = torch.tensor([[0.1, 0.5, 0.4]])
    >>> sparse_top_k_categorical_accuracy(torch.tensor([2]), y_pred, k=2).tolist()
    [1.0]
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.long().unsqueeze(-1)).any(dim=-1).float()


def wrapper_class(fn, class_name, default_name, **defaults):
    """A MeanMetricWrapper class around `fn` whose options and defaults are `defaults`."""

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected keyword argument(s) {sorted(unknown)}.")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
        for key, value in self.fn_kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    return type(
        class_name,
        (MeanMetricWrapper,),
        {
            "__init__": __init__,
            "from_config": from_config,
            "__doc__": f"Keras's {class_name} metric: the running mean of `{fn.__name__}`.",
            "__module__": "lamina.metrics",
        },
    )


Accuracy = wrapper_class(accuracy, "Accuracy", "accuracy")
BinaryAccuracy = wrapper_class(binary_accuracy, "BinaryAccuracy", "binary_accuracy", threshold=0.5)
CategoricalAccuracy = wrapper_class(
    categorical_accuracy, "CategoricalAccuracy", "categorical_accuracy"
)
SparseCategoricalAccuracy = wrapper_class(
    sparse_categorical_accuracy, "SparseCategoricalAccuracy", "sparse_categorical_accuracy"
)
TopKCategoricalAccuracy = wrapper_class(
    top_k_categorical_accuracy, "TopKCategoricalAccuracy", "top_k_categorical_accuracy", k=5
)
SparseTopKCategoricalAccuracy = wrapper_class(
    sparse_top_k_categorical_accuracy,
    "SparseTopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy",
    k=5,
)


def resolve_accuracy(name: str, loss, y_true_shape, y_pred_shape):
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
