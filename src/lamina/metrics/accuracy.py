"""Accuracy metrics: the functions (one value per sample, as Keras's) and the classes."""

from __future__ import annotations

import inspect

import torch

from lamina.engine import errors, hyperparameters
from lamina.losses import match_rank
from lamina.losses.loss import bind_positional, class_ids, one_hot_ids, takes_arrays
from lamina.metrics.metric import MeanMetricWrapper
from lamina.ops.indexing import in_top_k


@takes_arrays
def accuracy(y_true, y_pred):
    """1 where the prediction equals the label exactly, else 0.

    Args:
        y_true: labels.
        y_pred: predictions, shaped like `y_true`.

    Examples:
        >>> accuracy(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0])).tolist()
        [1.0, 0.0]
    """
    return _equal(y_true, y_pred).float()


def _equal(y_true, y_pred):
    y_true, y_pred = match_rank(y_true, y_pred)
    return torch.eq(y_true.to(y_pred.dtype), y_pred)


@takes_arrays
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where `(y_pred > threshold)` equals the label, entry by entry (as Keras's, no reduction).

    Args:
        y_true: 0/1 labels.
        y_pred: probabilities, shaped like `y_true`.
        threshold: the probability above which a prediction counts as 1 (default 0.5).

    Examples:
        >>> binary_accuracy(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.7, 0.6]])).tolist()
        [[1.0, 0.0]]
    """
    return _binary_matches(y_true, y_pred, threshold).float()


def _binary_matches(y_true, y_pred, threshold=0.5):
    y_true, y_pred = match_rank(y_true, y_pred)
    # eq promotes the boolean prediction to the labels' dtype inside its kernel: no cast copies.
    return (y_pred > threshold).eq(y_true)


@takes_arrays
def categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of the prediction is the arg-max of the one-hot label.

    Args:
        y_true: one-hot labels (floats, integers or booleans).
        y_pred: class scores, shaped like `y_true`.

    Examples:
        >>> categorical_accuracy(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.7]])).tolist()
        [1.0]
    """
    return _categorical_matches(y_true, y_pred).float()


def _categorical_matches(y_true, y_pred):
    return one_hot_ids(y_true) == y_pred.argmax(dim=-1)


@takes_arrays
def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of the prediction is the integer label.

    Args:
        y_true: class ids, `(N,)` or `(N, 1)`.
        y_pred: class scores `(N, classes)`.

    Examples:
        >>> sparse_categorical_accuracy(torch.tensor([0]), torch.tensor([[0.3, 0.7]])).tolist()
        [0.0]
    """
    return _sparse_matches(y_true, y_pred).float()


def _sparse_matches(y_true, y_pred):
    y_true = class_ids(y_true, y_pred)
    predicted = y_pred.argmax(dim=-1)
    if y_true.is_floating_point():
        # Keras compares in the labels' float dtype: a label of 2.7 matches no class.
        return predicted.to(y_true.dtype) == y_true
    return predicted == y_true


@takes_arrays
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot label's class is among the `k` largest predictions.

    Args:
        y_true: one-hot labels (floats, integers or booleans).
        y_pred: class scores, shaped like `y_true`.
        k: how many of the top predictions count (default 5).

    Examples:
        >>> y_true = torch.tensor([[0.0, 0.0, 1.0]])
        >>> top_k_categorical_accuracy(y_true, torch.tensor([[0.1, 0.5, 0.4]]), k=2).tolist()
        [1.0]
    """
    return sparse_top_k_categorical_accuracy(one_hot_ids(y_true), y_pred, k)


@takes_arrays
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the integer label is among the `k` largest predictions.

    Args:
        y_true: class ids, `(N,)` or `(N, 1)`.
        y_pred: class scores `(N, classes)`; with `from_sorted_ids=True`, the ids of the top
            classes `(N, M)`, best first.
        k: how many of the top predictions count (default 5).
        from_sorted_ids: whether `y_pred` holds sorted class ids rather than scores (default
            False).

    Examples:
        >>> y_pred = torch.tensor([[0.1, 0.5, 0.4]])
        >>> sparse_top_k_categorical_accuracy(torch.tensor([2]), y_pred, k=2).tolist()
        [1.0]
        >>> ids = torch.tensor([[1, 2, 0]])
        >>> sparse_top_k_categorical_accuracy(torch.tensor([2]), ids, k=1, from_sorted_ids=True)
        tensor([0.])
    """
    labels_shape = y_true.shape  # Keras gives one value per label: (N, 1) for (N, 1) labels
    y_true = class_ids(y_true, y_pred)
    if from_sorted_ids:
        top = y_pred[..., :k]
        hits = (top == y_true.to(top.dtype).unsqueeze(-1)).any(dim=-1)
        return hits.reshape(labels_shape).float()
    # Ties count in the label's favour, as Keras's (and TF's) in_top_k: the label is in the top k
    # when fewer than k scores are strictly higher, whatever order topk would break the tie in.
    flat = in_top_k(y_true.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return flat.reshape(labels_shape).float()


def wrapper_class(fn, class_name, default_name, *, doc=None, leading=(), matches=None, **defaults):
    """A MeanMetricWrapper class around `fn` whose options and defaults are `defaults`.

    The constructor takes its arguments in Keras's order, by position or by keyword: the options
    named in `leading`, then `name` and `dtype`, then the other options in `defaults`' order
    (Keras's `TopKCategoricalAccuracy(5, name="top-5")` puts `k` first).

    Args:
        fn: the function `(y_true, y_pred, **options) -> per-sample values`.
        class_name: the new class's name (Keras's).
        default_name: the metric objects' default `name`.
        doc: the class's docstring (a generic line when None).
        leading: the options that come before `name`, in order.
        matches: `fn`'s test as booleans (`fn` is its float), when `fn` is such a test: an
            unweighted update sums them without the float copy (`MeanMetricWrapper`).
        **defaults: the options the class takes, with their defaults, in Keras's order.

    Examples:
        >>> Exact = wrapper_class(accuracy, "Exact", "exact")
        >>> Exact()(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0])).item()
        0.5
        >>> TopTwo = wrapper_class(top_k_categorical_accuracy, "TopTwo", "top", leading=("k",), k=5)
        >>> TopTwo(2, "top-2").k
        2
    """
    order = (*leading, "name", "dtype", *(key for key in defaults if key not in leading))

    def __init__(self, *args, **kwargs):
        bind_positional(class_name, order, args, kwargs)
        name, dtype = kwargs.pop("name", default_name), kwargs.pop("dtype", None)
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise errors.unexpected_arguments(
                f"{class_name}()", unknown, f"It takes {', '.join(order)}."
            )
        hyperparameters.loss_options(f"{class_name}()", kwargs)
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
        for key, value in self.fn_kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    either = inspect.Parameter.POSITIONAL_OR_KEYWORD
    given = {"name": default_name, "dtype": None, **defaults}
    __init__.__signature__ = inspect.Signature(  # Keras's spelling, for help() and the reference
        [
            inspect.Parameter("self", either),
            *(inspect.Parameter(key, either, default=given[key]) for key in order),
        ]
    )
    cls = type(
        class_name,
        (MeanMetricWrapper,),
        {
            "__init__": __init__,
            "from_config": from_config,
            "_matches": None if matches is None else (fn, matches),
            "__doc__": doc or f"Keras's {class_name} metric: the running mean of `{fn.__name__}`.",
            "__module__": "lamina.metrics",
        },
    )
    for method in vars(cls).values():  # named as the class's own (tracebacks, the reference)
        function = getattr(method, "__func__", method)
        if callable(function) and hasattr(function, "__qualname__"):
            function.__qualname__ = f"{class_name}.{function.__name__}"
            function.__module__ = cls.__module__
    return cls


Accuracy = wrapper_class(
    accuracy,
    "Accuracy",
    "accuracy",
    matches=_equal,
    doc="""How often predictions equal labels exactly (a running, optionally weighted, mean).

    Args:
        name: the metric's name (default `"accuracy"`).
        dtype: accepted for Keras compatibility; state is float32.

    Examples:
        >>> m = Accuracy()
        >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        >>> float(m.result())
        0.75
    """,
)
BinaryAccuracy = wrapper_class(
    binary_accuracy,
    "BinaryAccuracy",
    "binary_accuracy",
    matches=_binary_matches,
    threshold=0.5,
    doc="""How often `(y_pred > threshold)` matches 0/1 labels.

    Args:
        name: the metric's name (default `"binary_accuracy"`).
        dtype: accepted for Keras compatibility.
        threshold: the probability above which a prediction counts as 1 (default 0.5).

    Examples:
        >>> m = BinaryAccuracy()
        >>> float(m([[1], [1], [0], [0]], [[0.98], [1.0], [0.0], [0.6]]))
        0.75
    """,
)
CategoricalAccuracy = wrapper_class(
    categorical_accuracy,
    "CategoricalAccuracy",
    "categorical_accuracy",
    matches=_categorical_matches,
    doc="""How often the arg-max of the prediction matches the one-hot label's.

    Args:
        name: the metric's name (default `"categorical_accuracy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> m = CategoricalAccuracy()
        >>> float(m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]]))
        0.5
    """,
)
SparseCategoricalAccuracy = wrapper_class(
    sparse_categorical_accuracy,
    "SparseCategoricalAccuracy",
    "sparse_categorical_accuracy",
    matches=_sparse_matches,
    doc="""How often the arg-max of the prediction matches the integer label.

    Args:
        name: the metric's name (default `"sparse_categorical_accuracy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> m = SparseCategoricalAccuracy()
        >>> float(m([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]]))
        0.5
    """,
)
TopKCategoricalAccuracy = wrapper_class(
    top_k_categorical_accuracy,
    "TopKCategoricalAccuracy",
    "top_k_categorical_accuracy",
    leading=("k",),
    k=5,
    doc="""How often the one-hot label's class is among the `k` highest predictions.

    Args:
        k: how many of the top predictions count (default 5).
        name: the metric's name (default `"top_k_categorical_accuracy"`).
        dtype: accepted for Keras compatibility.

    Examples:
        >>> m = TopKCategoricalAccuracy(k=1)
        >>> float(m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]]))
        0.5
    """,
)
SparseTopKCategoricalAccuracy = wrapper_class(
    sparse_top_k_categorical_accuracy,
    "SparseTopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy",
    leading=("k",),
    k=5,
    from_sorted_ids=False,
    doc="""How often the integer label is among the `k` highest predictions.

    Args:
        k: how many of the top predictions count (default 5).
        name: the metric's name (default `"sparse_top_k_categorical_accuracy"`).
        dtype: accepted for Keras compatibility.
        from_sorted_ids: whether the predictions are sorted class ids, best first, rather than
            scores (default False).

    Examples:
        >>> m = SparseTopKCategoricalAccuracy(k=1)
        >>> float(m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]]))
        0.5
    """,
)


def resolve_accuracy(name: str, loss, y_true_shape, y_pred_shape):
    """The class `compile(metrics=["accuracy"])` builds, by Keras's rule.

    Binary when the output has one unit or the loss is a binary cross-entropy; sparse categorical
    when the labels have a lower rank (or a last axis of 1 against several classes); else
    categorical.

    Args:
        name: the metric's name (what the user wrote: `"accuracy"` or `"acc"`).
        loss: the compiled loss (a function, a Loss or a name).
        y_true_shape: the labels' shape.
        y_pred_shape: the output's shape.

    Examples:
        >>> type(resolve_accuracy("accuracy", "mse", (8,), (8, 10))).__name__
        'SparseCategoricalAccuracy'
    """
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
