"""Checks where a loss meets the labels: shapes at each new batch shape, label values once.

Each check is keyed by the loss's family, the Loss class it belongs to (`SparseCategorical-
Crossentropy` for the function `sparse_categorical_crossentropy`, for `"sparse_categorical_
crossentropy"` and for a `SparseCategoricalCrossentropy()` object or a subclass of it), never by a
function's name: a user's own function that happens to share a name is not checked as if it were
Keras's.
"""

from __future__ import annotations

import warnings

import torch

from lamina import losses as losses_module
from lamina.engine import data_adapter, errors

_FAMILY_OF_FUNCTION = {
    losses_module.sparse_categorical_crossentropy: losses_module.SparseCategoricalCrossentropy,
    losses_module.categorical_crossentropy: losses_module.CategoricalCrossentropy,
    losses_module.binary_crossentropy: losses_module.BinaryCrossentropy,
    losses_module.binary_focal_crossentropy: losses_module.BinaryFocalCrossentropy,
    losses_module.mean_squared_error: losses_module.MeanSquaredError,
    losses_module.mean_absolute_error: losses_module.MeanAbsoluteError,
}
_SHAPE_CHECKED = (
    losses_module.SparseCategoricalCrossentropy,
    losses_module.CategoricalCrossentropy,
    losses_module.BinaryCrossentropy,
    losses_module.MeanSquaredError,
    losses_module.MeanAbsoluteError,
)
_BINARY = (losses_module.BinaryCrossentropy, losses_module.BinaryFocalCrossentropy)


def family_of(fn) -> type | None:
    """The Loss class whose checks apply to the loss `fn` (a function or a Loss), or None.

    Example:
    >>> family_of(lamina.losses.get("mse")) is lamina.losses.MeanSquaredError  # doctest: +SKIP
    True
    """
    if isinstance(fn, losses_module.Loss):
        for family in _FAMILY_OF_FUNCTION.values():
            if isinstance(fn, family):
                return family
        return None
    return _FAMILY_OF_FUNCTION.get(fn)


def _is(family, *kinds) -> bool:
    return family is not None and issubclass(family, kinds)


def _sparse_fits(y_true, y_pred) -> bool:
    pred_shape, true_shape = tuple(y_pred.shape), tuple(y_true.shape)
    fits = y_pred.dim() == y_true.dim() + 1 or (
        y_pred.dim() == y_true.dim() and true_shape[-1] == 1
    )
    fits = fits and true_shape[:1] == pred_shape[:1]
    if y_pred.dim() >= 2 and y_true.dim() >= 1 and fits:
        core = true_shape if y_pred.dim() == y_true.dim() + 1 else true_shape[:-1]
        fits = core == pred_shape[:-1]
    return fits


def check_shapes(model, family, y_true, y_pred) -> None:
    """Raise the house error when the outputs cannot meet the labels (integers only: the error a
    forgotten Flatten produces belongs here, where loss meets labels)."""
    if not _is(family, *_SHAPE_CHECKED):
        return
    pred_shape, true_shape = tuple(y_pred.shape), tuple(y_true.shape)
    hint = None
    received = f"model outputs of shape {pred_shape}"
    if y_pred.dim() > 2 and y_true.dim() <= 2:
        hint = (
            "the model's output still has spatial/time axes: Dense acts on the last axis only. "
            "Add Flatten() or GlobalAveragePooling2D() before the final Dense layer."
        )
    if _is(family, losses_module.SparseCategoricalCrossentropy):
        fits = _sparse_fits(y_true, y_pred)
        expected = f"outputs shaped (batch, classes) for labels {true_shape}"
        if not fits and true_shape == pred_shape and pred_shape[-1] > 1:
            expected = f"class ids shaped (batch,) or (batch, 1) for outputs {pred_shape}"
            received = f"labels of shape {true_shape}, one-hot rows by their look"
            hint = hint or (
                "with one-hot labels use loss='categorical_crossentropy', or pass the class "
                "ids: y.argmax(axis=-1)."
            )
    elif _is(family, losses_module.CategoricalCrossentropy):
        fits = true_shape == pred_shape
        expected = f"outputs of the labels' shape {true_shape} (one-hot)"
        looks_like_class_ids = y_true.dim() == y_pred.dim() - 1 or (
            true_shape[-1:] == (1,) and pred_shape[-1] > 1
        )
        if not fits and looks_like_class_ids:
            hint = hint or (
                "the labels look like class ids, not one-hot rows: use "
                "loss='sparse_categorical_crossentropy' or lamina.utils.to_categorical(y)."
            )
    else:
        # Keras broadcasts labels against outputs once their ranks are matched: (1,) against
        # (1, 10) trains (Keras's EarlyStopping example), (5,) against (5, 10) fails in Keras too.
        matched_true, matched_pred = losses_module.match_rank(y_true, y_pred)
        fits = _broadcasts(matched_true.shape, matched_pred.shape)
        expected = f"outputs shaped like the labels {true_shape}"
        if fits and matched_true.shape != matched_pred.shape:
            # It trains, as in Keras, but one label against every output is mostly a mistake.
            warnings.warn(
                errors.message(
                    f"Loss '{_snake_name(family)}' of model '{model.name}'",
                    f"labels shaped like its outputs {pred_shape}",
                    f"labels of shape {true_shape}, which broadcast: every output is compared "
                    "with the same label",
                    "this trains, as in Keras; if the labels are class ids, use "
                    "loss='sparse_categorical_crossentropy' on a softmax output.",
                ),
                UserWarning,
                stacklevel=2,
            )
    if not fits:
        raise errors.value_error(
            f"Loss '{_snake_name(family)}' of model '{model.name}'",
            expected,
            received,
            hint,
        )


def _broadcasts(true_shape, pred_shape) -> bool:
    try:
        torch.broadcast_shapes(true_shape, pred_shape)
    except RuntimeError:
        return False
    return True


def _snake_name(family) -> str:
    for fn, cls in _FAMILY_OF_FUNCTION.items():
        if cls is family:
            return fn.__name__
    return family.__name__


def check_labels(model, data, compiled_loss, labels_of) -> None:
    """Labels a loss cannot take (class ids out of [0, classes), binary targets out of [0, 1]):
    one check on the whole array, before training. `labels_of(y)`: the labels as a flat list in
    the outputs' order."""
    if not isinstance(data, data_adapter.ArrayData) or data.y is None:
        return
    if not compiled_loss.built:
        return
    trues = labels_of(data.y)
    outputs = getattr(model, "outputs", None) or []
    for index, entry in enumerate(compiled_loss.outputs):
        if index >= len(trues) or trues[index] is None or not trues[index].numel():
            continue
        if _is(entry.family, losses_module.SparseCategoricalCrossentropy):
            classes = outputs[index].shape[-1] if index < len(outputs) else None
            if classes is not None:
                _check_class_ids(trues[index], classes)
        elif _is(entry.family, *_BINARY):
            _check_binary_targets(trues[index], _snake_name(entry.family))


def _check_class_ids(labels, classes) -> None:
    # Float ids in range are taken as Keras takes them, truncated by the cast to int (the
    # bilinear-resized masks of segmentation recipes are such labels); ids out of range are not.
    low, high = float(labels.min()), float(labels.max())
    if low < 0 or high >= classes:
        raise errors.value_error(
            "y (labels for sparse_categorical_crossentropy)",
            f"integer class ids in [0, {classes}) for a model with {classes} outputs",
            f"labels from {low:g} to {high:g}",
            "check the number of units of the last Dense layer, or remap the labels to "
            "0..classes-1.",
        )


def _check_binary_targets(labels, kind) -> None:
    low, high = float(labels.min()), float(labels.max())
    if low < 0 or high > 1:
        raise errors.value_error(
            f"y (labels for {kind})",
            "targets in [0, 1] (0 or 1, or a probability)",
            f"labels from {low:g} to {high:g}",
            "for more than two classes use Dense(classes, activation='softmax') with "
            "loss='sparse_categorical_crossentropy'.",
        )
