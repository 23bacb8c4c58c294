"""Keras's step functions: `model.make_train_function()` and its test and predict siblings.

Keras's `fit` calls `model.train_function(data)` batch after batch, and programs that drive their
own loop do the same (`model.make_train_function(); model.train_function(iterator)`). lamina's
`fit` runs its own loop (`epoch_loop.py`) and never calls these; they are for those programs: one
step of `train_step` / `test_step` / `predict_step` on one batch, run as `train_on_batch` runs it
(the batch moved to the model's device, the model built and the compiled loss resolved on the
first call, Keras's training flag for the step).
"""

from __future__ import annotations

import torch

from lamina.engine import data_adapter, epoch_loop, fit_data
from lamina.engine import layer as layer_module

KINDS = ("train", "test", "predict")


def next_batch(data):
    """The batch a step function's argument holds: Keras on torch passes a list of batches and
    steps on the first; on TensorFlow, an iterator, stepped on its next batch.

    Example:
        >>> next_batch(iter([("x", "y"), ("x2", "y2")]))
        ('x', 'y')
        >>> next_batch([("x", "y")])
        ('x', 'y')
    """
    if hasattr(data, "__next__"):
        return next(data)
    if isinstance(data, list) and data:
        return data[0]
    return data


def make(model, kind: str):
    """The step function of `kind` ("train", "test" or "predict") for `model`: a callable taking
    a list of batches or an iterator of them and returning the step's logs (train, test) or the
    batch's outputs (predict).

    Example:
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> predict = make(model, "predict")
        >>> tuple(predict([torch.ones(3, 2)]).shape)
        (3, 1)
    """

    def one_step_on_data(data):
        return run(model, kind, next_batch(data))

    return one_step_on_data


def run(model, kind: str, batch):
    """One `kind` step of `model` on `batch` (`x`, `(x, y)` or `(x, y, sample_weight)`)."""
    x, y, sample_weight = data_adapter.unpack(batch)
    data = fit_data.single_batch(model, x, y, sample_weight)
    first = data.first_batch()
    if kind == "predict":
        if not model.built:
            fit_data.ensure_built(model, first)
        model.eval()
        default_step = not model._overrides("predict_step")
        with torch.inference_mode(), epoch_loop.step_calls(default_step):
            return model.predict_step(fit_data.step_data(first))
    state = model._require_compiled()
    if model.__dict__.get("_step_functions_prepared") is not state:
        model._prepare_steps(data)  # once per compile, as fit prepares once per call
        model.__dict__["_step_functions_prepared"] = state
    if kind == "train":
        model.train()
        try:
            with layer_module.train_step_calls():
                return model.train_step(fit_data.step_data(first))
        finally:
            model.eval()
    model.eval()
    with torch.inference_mode(), epoch_loop.step_calls(not model._overrides("test_step")):
        return model.test_step(fit_data.step_data(first))
