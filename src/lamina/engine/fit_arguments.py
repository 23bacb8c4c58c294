"""The arguments of fit / evaluate / predict, checked before any work is done.

Each check raises the house message (the argument, what was expected, what came, a hint), so a
typo such as `batch_size=0` or `epochs="10"` fails at the call, not as a torch error mid-epoch or
as a run that silently trains nothing.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import torch

from lamina.engine import errors, functional
from lamina.losses.loss import one_hot_ids


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def optional_positive_int(value, argument: str, hint: str | None = None) -> int | None:
    """None, or an integer >= 1 (NumPy integers included; bools and fractional floats refused).

    A whole float (`np.ceil(2 * neg / batch_size)`, TF's imbalanced-data tutorial's steps) counts
    as its integer, as tf.keras takes it."""
    if value is None:
        return None
    whole_float = isinstance(value, float) and value.is_integer()  # np.float64 is a float too
    if not (_is_integer(value) or whole_float) or value < 1:
        raise errors.value_error(
            argument, "a positive integer or None", f"{argument}={value!r}", hint
        )
    return int(value)


def optional_step_count(value, argument: str) -> int | None:
    """`steps_per_epoch`, `validation_steps`, `steps`: a positive integer, or a positive float
    rounded up, as tf.keras 2 ran it (its loop went on while `step < steps`):
    `steps_per_epoch=len(x) / 32` (DeepLearning.AI's course) runs the last, partial batch too."""
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        value = math.ceil(value)
    return optional_positive_int(value, argument)


def epoch_range(epochs, initial_epoch) -> tuple[int, int]:
    """`epochs` is the index of the last epoch, as in Keras: `initial_epoch=3, epochs=5` runs 2."""
    if not _is_integer(epochs) or epochs < 0:
        raise errors.value_error(
            "epochs",
            "a non-negative integer (the index of the last epoch)",
            f"epochs={epochs!r}",
            "pass epochs=10, not a string or a float." if not _is_integer(epochs) else None,
        )
    if not _is_integer(initial_epoch) or initial_epoch < 0:
        raise errors.value_error(
            "initial_epoch", "a non-negative integer", f"initial_epoch={initial_epoch!r}"
        )
    if initial_epoch > epochs:
        raise errors.value_error(
            "initial_epoch",
            f"at most epochs={epochs} (epochs is the index of the last epoch, not a count)",
            f"initial_epoch={initial_epoch}",
            f"to train {epochs} more epochs from epoch {initial_epoch}, pass "
            f"epochs={initial_epoch + epochs}.",
        )
    return int(epochs), int(initial_epoch)


def callback_list(callbacks) -> list:
    """None, one Callback or a list of them (Keras flattens a single one too)."""
    from lamina.callbacks import Callback

    if callbacks is None:
        return []
    items = [callbacks] if isinstance(callbacks, Callback) else callbacks
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            errors.message(
                "callbacks",
                "a list of Callback instances",
                f"{type(callbacks).__name__}",
                "pass callbacks=[EarlyStopping(...), ...].",
            )
        )
    for item in items:
        if not isinstance(item, Callback):
            hint = (
                "pass an instance: EarlyStopping(), not EarlyStopping."
                if isinstance(item, type) and issubclass(item, Callback)
                else "subclass lamina.callbacks.Callback, or use LambdaCallback(...)."
            )
            raise TypeError(
                errors.message(
                    "callbacks",
                    "Callback instances",
                    f"an entry of type {type(item).__name__}",
                    hint,
                )
            )
    return list(items)


def class_weight_table(class_weight) -> dict[int, float]:
    """`{class id: weight}`; ids are integers (or integral floats), weights finite numbers."""
    if not isinstance(class_weight, dict):
        raise errors.value_error(
            "class_weight",
            "a dict {class id: weight}",
            f"{type(class_weight).__name__}",
            "e.g. class_weight={0: 1.0, 1: 5.0}.",
        )
    table = {}
    for key, value in class_weight.items():
        integral = _is_integer(key) or (isinstance(key, float) and float(key).is_integer())
        if not integral or key < 0:
            raise errors.value_error(
                "class_weight", "non-negative integer class ids as keys", f"the key {key!r}"
            )
        if not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise errors.value_error(
                "class_weight", "finite numbers as weights", f"{key!r}: {value!r}"
            )
        table[int(key)] = float(value)
    return table


def class_ids(labels: torch.Tensor) -> torch.Tensor:
    """Class ids from sparse labels `(n,)` / `(n, 1)` or one-hot rows `(n, classes)`, as Keras
    reads them for class_weight (rounded, so 1.0 is class 1)."""
    if labels.dim() > 1:
        labels = one_hot_ids(labels) if labels.shape[-1] > 1 else labels.squeeze(-1)
    return labels.round().long() if labels.is_floating_point() else labels.long()


def class_weights_to_sample_weights(table: dict[int, float], labels) -> torch.Tensor:
    """One weight per sample; a class missing from the table weighs 1.0, as in Keras. Runs on the
    labels' device without reading them on the host."""
    values = _class_weight_lookup(tuple(table.items()), labels.device)
    size = len(values) - 1
    ids = class_ids(labels)
    return values[torch.where((ids >= 0) & (ids < size), ids, size)]


@functools.lru_cache(maxsize=16)
def _class_weight_lookup(items: tuple, device: torch.device) -> torch.Tensor:
    """The weights by class id, then 1.0 for a class past the table; made on `device` once per
    table, not copied from the host at every batch of a dataset."""
    size = max((key for key, _ in items), default=-1) + 1
    values = [1.0] * (size + 1)
    for key, value in items:
        values[key] = value
    return torch.tensor(values, device=device)


def _layers_take(model, shape) -> bool:
    """Whether a model without an input spec of its own (a Sequential, as in Keras) runs on an
    array whose sizes differ from its `Input`'s (a longer sequence): asked of its layers on the
    meta device, before any batch runs, so an array no layer takes is still named whole."""
    if getattr(model, "_checks_input_sizes", True):
        return False
    try:
        model.compute_output_shape((None, *shape[1:]))
    except ValueError:
        return False
    return True


def conform_inputs(model, x):
    """Array inputs checked against the model's `Input` shapes before any batch runs, so a
    mismatch names the whole array (`x` of shape (83, 4)) rather than one batch of it. The rank is
    adjusted by the rule a direct call follows too (`functional.adjust_input_rank`): a (N, 28, 28)
    array fits Input((28, 28, 1)), as in Keras."""
    inputs = getattr(model, "inputs", None)
    if not inputs or isinstance(x, dict):
        return x
    # Keras flattens `[array]` given to a one-input model (`predict([batch])`) onto that input;
    # a list of numbers stays data.
    one_array_list = isinstance(x, (list, tuple)) and len(x) == 1 and getattr(x[0], "ndim", 0)
    if len(inputs) == 1 and one_array_list:
        x = x[0]
    if len(inputs) == 1 and functional.several_inputs(x):
        raise errors.value_error(
            f"Model '{model.name}'",
            f"one input array (for its Input '{inputs[0].name}' of shape "
            f"{errors.format_shape(tuple(inputs[0].shape))})",
            f"a {type(x).__name__} of {len(x)} arrays (x)",
            "pass the array itself; a model that takes several arrays is built on several "
            "Inputs (functional API).",
        )
    multiple = isinstance(x, (list, tuple)) and len(inputs) > 1
    leaves = functional.flat_feed(x) if multiple else [x]
    if len(leaves) != len(inputs):
        return x
    conformed = []
    for index, (array, spec) in enumerate(zip(leaves, inputs, strict=True)):
        expected = tuple(spec.shape)
        array = functional.adjust_input_rank(array, expected)
        shape = tuple(getattr(array, "shape", ()))
        name = "x" if len(inputs) == 1 else f"x[{index}]"
        strings = isinstance(array, np.ndarray) and array.dtype.kind in "US"
        if strings and spec.dtype != "string":
            raise errors.value_error(
                f"Input '{spec.name}' of model '{model.name}'",
                f"{spec.dtype} values",
                f"an array of strings of shape {shape} ({name})",
                "a model reads text through Input(shape=(1,), dtype='string') and a "
                "TextVectorization or StringLookup layer; or vectorize the text first.",
            )
        fits = len(shape) == len(expected) and (
            all(e is None or e == s for e, s in zip(expected[1:], shape[1:], strict=True))
            or _layers_take(model, shape)
        )
        if not fits:
            raise errors.value_error(
                f"Input '{spec.name}' of model '{model.name}'",
                f"shape {errors.format_shape(expected)}",
                f"an array of shape {shape} ({name})",
                "reshape the data (batch axis first), or build the model with Input(shape=...) "
                "matching one sample.",
            )
        conformed.append(array)
    if len(inputs) == 1:
        return conformed[0]
    return type(x)(conformed)
