"""The Loss base class and Keras's reductions: weighted per-sample values, then one number.

A loss function returns one value per sample (Keras reduces the last axis inside the function); a
`Loss` object applies the sample weights and the reduction. Probabilities are clipped to
[eps, 1 - eps] with Keras's eps = 1e-7 so numbers match Keras's on the same inputs.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

from lamina import backend, dtype_policies, tree
from lamina.engine import errors, hyperparameters, naming, symbolic
from lamina.engine.keras_tensor import KerasTensor

EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight", None)


def match_rank(y_true: torch.Tensor, y_pred: torch.Tensor):
    """Keras's rank matching: labels `(N,)` against outputs `(N, 1)` become `(N, 1)`, and back.

    Args:
        y_true: the labels.
        y_pred: the predictions.

    Returns:
        `(y_true, y_pred)`, one of them given or stripped of a trailing axis of size 1 when their
        ranks differ by one; unchanged otherwise.

    Examples:
        >>> y_true, y_pred = match_rank(torch.zeros(4), torch.zeros(4, 1))
        >>> tuple(y_true.shape)
        (4, 1)
    """
    true_rank, pred_rank = y_true.dim(), y_pred.dim()
    if true_rank == pred_rank:
        return y_true, y_pred
    if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1), y_pred
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:  # labels (N, 1), outputs (N,): N samples, not one mean (Keras)
            return y_true, y_pred.unsqueeze(-1)
        return y_true.squeeze(-1), y_pred
    return y_true, y_pred


def as_float(y_true, y_pred):
    """`y_true` in `y_pred`'s floating dtype (labels often come as integers).

    Args:
        y_true: the labels.
        y_pred: the predictions, whose dtype is taken.

    Examples:
        >>> as_float(torch.tensor([1, 0]), torch.zeros(2)).dtype
        torch.float32
    """
    return y_true.to(y_pred.dtype) if y_true.dtype != y_pred.dtype else y_true


def as_tensors(y_true, y_pred):
    """NumPy arrays, lists and numbers -> tensors on `y_pred`'s device, `y_pred` floating."""
    y_pred = _tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    return _tensor(y_true, device=y_pred.device), y_pred


def _tensor(value, device=None) -> torch.Tensor:
    """`torch.as_tensor`, stacking a list of tensors as Keras's `convert_to_tensor` does."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        return torch.stack([torch.as_tensor(item, device=device) for item in value])
    return torch.as_tensor(value, device=device)


def _holds_arrays(value) -> bool:
    """Whether `value` is a list, tuple or dict of tensors or arrays (not of numbers)."""
    if not isinstance(value, (list, tuple, dict)) or not value:
        return False
    return all(isinstance(leaf, (torch.Tensor, np.ndarray)) for leaf in tree.flatten(value))


def takes_arrays(fn):
    """Lets the loss function `fn(y_true, y_pred, ...)` take NumPy arrays, lists and numbers,
    as Keras's loss functions do: they become tensors (see `as_tensors`) before `fn` runs.

    Tensors pass through untouched (a softmax's output keeps the logits it remembers).

    Args:
        fn: a loss function whose first two arguments are `y_true` and `y_pred`.

    Returns:
        The function, converting its first two arguments.

    Example:
        >>> import numpy as np
        >>> squared = takes_arrays(lambda y_true, y_pred: (y_true - y_pred) ** 2)
        >>> squared(np.array([1.0]), np.array([3.0]))
        tensor([4.], dtype=torch.float64)
    """

    @functools.wraps(fn)
    def loss_function(y_true, y_pred, *args, **kwargs):
        if not (isinstance(y_true, torch.Tensor) and isinstance(y_pred, torch.Tensor)):
            if isinstance(y_true, KerasTensor) or isinstance(y_pred, KerasTensor):
                # On graph tensors (`losses.mse(inputs, decoded)` in a functional model) Keras
                # computes the loss symbolically: here an op node of the graph.
                return symbolic.apply_op(fn, y_true, y_pred, *args, name=name, **kwargs)
            y_true, y_pred = as_tensors(y_true, y_pred)
        return fn(y_true, y_pred, *args, **kwargs)

    # Its op's name in a saved graph, apart from `ops.binary_crossentropy` and its kind.
    name = f"{fn.__name__}_loss"
    symbolic.register_operation(name, loss_function)
    return loss_function


def class_ids(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Sparse labels as one class id per sample: `(N, 1)` against `(N, classes)` becomes `(N,)`,
    as Keras's sparse losses and metrics accept both.

    Args:
        y_true: class ids, `(N,)` or `(N, 1)` (any rank, with an axis of 1 at `axis` when it has
            `y_pred`'s rank).
        y_pred: the class scores.
        axis: the class axis (channels-first labels `(N, 1, H, W)` squeeze axis 1).

    Example:
        >>> tuple(class_ids(torch.zeros(4, 1), torch.zeros(4, 3)).shape)
        (4,)
    """
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        return y_true.squeeze(axis)
    return y_true


def one_hot_ids(y_true: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The class id of each one-hot (or score) row: the arg-max along `axis`.

    Boolean one-hot labels are accepted, as Keras's `ops.argmax` accepts them: torch's argmax
    rejects booleans, and as `uint8` they keep their order.

    Args:
        y_true: one-hot labels or scores, any dtype torch orders, booleans included.
        axis: the class axis (default -1).

    Returns:
        An int64 tensor of class ids, `y_true`'s shape without `axis`.

    Example:
        >>> one_hot_ids(torch.tensor([[False, True], [True, False]])).tolist()
        [1, 0]
    """
    if y_true.dtype == torch.bool:
        y_true = y_true.to(torch.uint8)
    return y_true.argmax(dim=axis)


def mean_over(values, axis=-1):
    """`values.mean(dim=axis)`, as a view when that axis has size 1 (a single output unit).

    Args:
        values: per-element loss values.
        axis: the axis averaged over, a tuple of axes, or None for all of them (one number),
            as Keras's `ops.mean`.

    Examples:
        >>> tuple(mean_over(torch.ones(4, 1)).shape)
        (4,)
        >>> tuple(mean_over(torch.ones(4, 2, 3), axis=(1, 2)).shape)
        (4,)
    """
    if axis is None:
        return values.mean()
    if isinstance(axis, int) and values.dim() and values.shape[axis] == 1:
        return values.squeeze(axis)  # no kernel, no allocation: it matters on small models
    return values.mean(dim=axis)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Keras's reduce_weighted_values: weight the values, then reduce them as `reduction` says.

    Args:
        values: per-sample (or per-element) loss values.
        sample_weight: optional weights broadcastable to `values` after rank matching.
        reduction: `"sum_over_batch_size"` / `"mean"` (sum divided by the number of values),
            `"mean_with_sample_weight"` (sum divided by the sum of the weights), `"sum"`, or
            `"none"` / `None` (the weighted values themselves).
        mask: optional boolean tensor like `values`; masked-out values count as absent (the mean
            divides by the number of valid values), as Keras's masks do.

    Examples:
        >>> reduce_values(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.0])).item()
        0.5
    """
    if mask is not None:
        mask = mask.to(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = mask.sum()
            scale = torch.where(valid > 0, mask.numel() / valid, torch.zeros_like(valid))
            mask = mask * scale
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight, device=values.device)
            mask, sample_weight = _keras_rank_match(mask, sample_weight)
            sample_weight = _broadcast(sample_weight, mask) * mask
        else:
            sample_weight = mask
    if sample_weight is not None:
        sample_weight = torch.as_tensor(sample_weight, device=values.device)
        values, sample_weight = _keras_rank_match(values, sample_weight)
        sample_weight = _broadcast(sample_weight, values)
        values = values * sample_weight.to(values.dtype)
    if reduction in ("none", None) or values.dim() == 0 or values.numel() == 0:
        return values
    if sample_weight is None and reduction in ("sum_over_batch_size", "mean"):
        return values.mean()  # sum / count in one kernel
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sample_weight.to(values.dtype).sum()
        return torch.where(divisor != 0, total / divisor, torch.zeros_like(total))
    return total / values.numel()


def loss_mask(values, y_pred, own=None):
    """The loss values that count, as Keras decides it: the loss's own rule (`own`), the mask a
    loss function put on its values (`sparse_categorical_crossentropy`'s `ignore_class`) and the
    predictions' mask (a masked sequence model's padded steps), combined; None when all count.

    A mask whose shape is not the values' (a per-step mask under a per-sample loss) is left out.

    Args:
        values: the per-sample (or per-step) loss values.
        y_pred: the predictions they were computed from.
        own: a boolean tensor like `values`, or None.

    Example:
        >>> y_pred = torch.zeros(2, 3)
        >>> y_pred._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
        >>> loss_mask(torch.ones(2, 3), y_pred).sum().item()
        3
    """
    combined = own
    for tensor in (values, y_pred):
        mask = getattr(tensor, "_keras_mask", None) if isinstance(tensor, torch.Tensor) else None
        if mask is None or tuple(mask.shape) != tuple(values.shape):
            continue
        combined = mask if combined is None else combined & mask
    return combined


def _keras_rank_match(values, weight):
    """Keras's rule for weights one axis longer than the values: weights `(N, 1)` against
    per-sample values `(N,)` give `(N, 1)` weighted values (what `reduction="none"` returns);
    against values of a higher rank, the weights lose their axis of 1.

    Other rank differences are left to `_broadcast`, which lines the weights up with the
    leading (batch) axes, as Keras's documentation says: Keras broadcasts them against the
    last axis instead, which weights `(N,)` against values `(N, N)` column by column.
    """
    if weight.dim() == values.dim() + 1 and weight.shape[-1] == 1:
        if values.dim() == 1:
            return values.unsqueeze(-1), weight
        return values, weight.squeeze(-1)
    return values, weight


def _broadcast(weight, values):
    weight = torch.as_tensor(weight)
    # A single loss value (a batch-wide Dice) weighted per sample gives one value per weight.
    while values.dim() and weight.dim() > values.dim() and weight.shape[-1] == 1:
        weight = weight.squeeze(-1)
    while weight.dim() < values.dim():
        weight = weight.unsqueeze(-1)
    return weight


class Loss:
    """Base of every loss object: `call` gives per-sample values, `__call__` weights and reduces.

    Args:
        name: the loss's name (snake case of the class name by default).
        reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`.
        dtype: the dtype (or dtype policy) the loss computes in: floating labels and predictions
            are cast to its compute dtype, floatx by default, as Keras's losses. Integer labels
            are left to the loss, which reads them as class ids or casts them itself.

    Examples:
        >>> class Absolute(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return (y_pred - y_true).abs()
        >>> Absolute()(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0])).item()
        0.5
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(
                "reduction must be 'sum_over_batch_size', 'sum', 'mean', "
                f"'mean_with_sample_weight' or 'none'; received reduction={reduction!r}."
            )
        # Unnamed, a loss takes the next auto-name of its class (`my_loss`, `my_loss_1`), as
        # Keras's losses, metrics and layers do: two instances of a custom loss differ by name.
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = reduction
        self._dtype = dtype_policies.get(dtype or backend.floatx()).compute_dtype
        self._compute_dtype = backend.to_torch_dtype(self._dtype)

    @property
    def dtype(self) -> str:
        """The dtype the loss computes in (read-only, as Keras's: setting it would leave the
        cast of the inputs behind)."""
        return self._dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def __call__(self, y_true, y_pred, sample_weight=None):
        given = y_pred  # its mask, which a conversion would drop
        if _holds_arrays(y_true) or _holds_arrays(y_pred):
            # Structures of tensors (a loss over a discriminator's list of feature maps) reach
            # call() as structures, each leaf a tensor, as in Keras.
            y_pred = tree.map_structure(lambda x: self._in_dtype(as_tensors(0, x)[1]), y_pred)
            device = tree.flatten(y_pred)[0].device
            y_true = tree.map_structure(lambda x: self._in_dtype(_tensor(x, device=device)), y_true)
        else:
            y_true, y_pred = as_tensors(y_true, y_pred)
            y_true, y_pred = self._in_dtype(y_true), self._in_dtype(y_pred)
        values = self.call(y_true, y_pred)
        mask = loss_mask(values, given, self.mask_of(values))
        return reduce_values(values, sample_weight, self.reduction, mask=mask)

    def _in_dtype(self, tensor):
        # NumPy's float64 arrays give a float32 loss, as in Keras; the check costs a step nothing.
        if tensor.dtype != self._compute_dtype and tensor.is_floating_point():
            return tensor.to(self._compute_dtype)
        return tensor

    def mask_of(self, values):
        """The values that count (None: all). Circle counts only its positive values, as Keras."""
        del values
        return

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A function `(y_true, y_pred, **options) -> per-sample values` as a Loss object.

    Args:
        fn: the loss function.
        name: the loss's name (the function's name by default).
        reduction: as for `Loss`.
        **fn_kwargs: options passed to `fn` on every call.

    Examples:
        >>> from lamina.losses import mean_absolute_error
        >>> loss = LossFunctionWrapper(mean_absolute_error)
        >>> loss(torch.zeros(2, 1), torch.ones(2, 1)).item()
        1.0
    """

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", dtype=None, **fn_kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def bind_positional(class_name: str, order: tuple, args: tuple, kwargs: dict) -> None:
    """Put positional `args` into `kwargs` under the names of `order` (a generated class's
    signature, in Keras's order), refusing too many and repeated arguments as Python would.

    Args:
        class_name: the class being constructed, for the error messages.
        order: the parameter names, in positional order.
        args: the positional arguments received.
        kwargs: the keyword arguments received; updated in place.

    Example:
        >>> kwargs = {"name": "h"}
        >>> bind_positional("Huber", ("delta", "reduction", "name"), (0.5,), kwargs)
        >>> kwargs
        {'name': 'h', 'delta': 0.5}
    """
    if len(args) > len(order):
        raise TypeError(
            f"{class_name}() takes at most {len(order)} positional arguments "
            f"({', '.join(order)}); received {len(args)}."
        )
    for key, value in zip(order, args, strict=False):
        if key in kwargs:
            raise TypeError(f"{class_name}() got multiple values for argument '{key}'.")
        kwargs[key] = value


def wrapper_class(fn, class_name, default_name, *, doc=None, order=None, **defaults):
    """A Loss class around `fn` whose options (and their order and defaults) are `defaults`.

    The constructor takes its arguments by position in Keras's order: `order` when given (Keras's
    `Dice(reduction, name, axis, dtype)` puts `axis` after `name`), else the options followed by
    `reduction`, `name` and `dtype`.

    Args:
        fn: the loss function `(y_true, y_pred, **options) -> per-sample values`.
        class_name: the new class's name (Keras's).
        default_name: the loss objects' default `name`.
        doc: the class's docstring (a generic line when None).
        order: every constructor argument's name in Keras's positional order, or None.
        **defaults: the options the class takes, in order, with their defaults.

    Examples:
        >>> from lamina.losses import huber
        >>> Smooth = wrapper_class(huber, "Smooth", "smooth", delta=1.0)
        >>> Smooth(delta=2.0).get_config()
        {'name': 'smooth', 'reduction': 'sum_over_batch_size', 'delta': 2.0}
        >>> Late = wrapper_class(huber, "Late", "late", order=("reduction", "delta"), delta=1.0)
        >>> Late("sum", 2.0).get_config()
        {'name': 'late', 'reduction': 'sum', 'delta': 2.0}
    """
    tail = {"reduction": "sum_over_batch_size", "name": default_name, "dtype": None}
    order = tuple(order or defaults)
    order += tuple(key for key in (*defaults, *tail) if key not in order)

    def __init__(self, *args, **kwargs):
        bind_positional(class_name, order, args, kwargs)
        reduction, name, dtype = (kwargs.pop(key, value) for key, value in tail.items())
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise errors.unexpected_arguments(f"{class_name}()", unknown)
        hyperparameters.loss_options(f"{class_name}()", kwargs)
        options = {**defaults, **kwargs}
        LossFunctionWrapper.__init__(
            self, fn, name=name, reduction=reduction, dtype=dtype, **options
        )
        for key, value in options.items():
            setattr(self, key, value)

    __init__.__signature__ = _signature(order, {**defaults, **tail})

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    cls = type(
        class_name,
        (LossFunctionWrapper,),
        {
            "__init__": __init__,
            "get_config": get_config,
            "from_config": from_config,
            "__doc__": doc
            or f"Keras's {class_name}: the `{fn.__name__}` function as a Loss object.",
            "__module__": "lamina.losses",
        },
    )
    for method in vars(cls).values():  # named as the class's own (tracebacks, the reference)
        function = getattr(method, "__func__", method)
        if callable(function) and hasattr(function, "__qualname__"):
            function.__qualname__ = f"{class_name}.{function.__name__}"
            function.__module__ = cls.__module__
    return cls


def _signature(order: tuple, defaults: dict) -> inspect.Signature:
    """The constructor's signature as Keras spells it, for help() and the API reference."""
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    options = [inspect.Parameter("self", keyword)]
    options += [inspect.Parameter(key, keyword, default=defaults[key]) for key in order]
    return inspect.Signature(options)


__all__ = [
    "EPSILON",
    "Loss",
    "LossFunctionWrapper",
    "as_float",
    "match_rank",
    "reduce_values",
    "wrapper_class",
]
