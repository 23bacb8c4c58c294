"""The batch loops of fit (one epoch), evaluate and predict, with their callback hooks.

With `steps_per_execution=N` the steps run in groups of N: `on_*_batch_begin` sees the group's
first step and `on_*_batch_end` its last, as in Keras (batch hooks see every Nth step; the last
group of an epoch may be shorter, and its end is its own last step).
"""

from __future__ import annotations

import contextlib
import itertools
import warnings

import torch

from lamina import backend, config
from lamina.callbacks.callback import predict_batch_logs
from lamina.engine import fit_data
from lamina.engine import layer as layer_module


def step_groups(batches, size: int, first: int = 0):
    """`(first step, [batch, ...])` for consecutive groups of `size` batches of `batches`.

    Example:
    >>> list(step_groups(iter("abcde"), 2))
    [(0, ['a', 'b']), (2, ['c', 'd']), (4, ['e'])]
    """
    if size == 1:
        for step, batch in enumerate(batches, start=first):
            yield step, (batch,)
        return
    step = first
    while True:
        group = list(itertools.islice(batches, size))
        if not group:
            return
        yield step, group
        step += len(group)


def resume_batches(data, resume):
    """(batch iterator, first step) for an epoch; when resuming mid-epoch, the batches already
    trained are produced again (their random draws, e.g. augmentation in a map, replayed too)
    and skipped, and the generators continue from where the backup left them."""
    batches = iter(data)
    if resume is None:
        return batches, 0
    first = resume["step"]
    for _ in itertools.islice(batches, first):
        pass
    if resume["rng"] is not None:  # None: continue from the epoch's own draw
        backend.set_rng_state(resume["rng"])
    return batches, first


def train_epoch(model, data, callbacks, class_weight=None, resume=None):
    """Run one epoch of `model.train_step`; return (the last step's logs, the last step's index,
    which stays below 0 when the data yielded no batch; a resumed epoch starts at its step)."""
    batches, first = resume_batches(data, resume)
    cap = config.max_steps_per_epoch()  # Keras's debugging cap (set_max_steps_per_epoch)
    if cap:
        batches = itertools.islice(batches, max(cap - first, 0))
    size = model.steps_per_execution
    train_step = model.train_step
    logs, last = None, first - 1
    # The steps and the batch callbacks call layers by Keras's rule, not torch's train() mode.
    with layer_module.train_step_calls():
        for begin, group in step_groups(batches, size, first):
            callbacks.on_train_batch_begin(begin)
            for batch in group:
                if class_weight is not None:
                    batch = fit_data.with_class_weight(batch, class_weight)
                logs = train_step(fit_data.step_data(batch))
            last = begin + len(group) - 1
            callbacks.on_train_batch_end(last, logs)
            if model.stop_training:
                break
    return logs, last


def step_calls(default_step: bool):
    """What evaluate and predict run their steps under: Keras's own test and predict steps call
    `self(x, training=False)`, so lamina's run as if given it; a user's step passes what it
    passes, and a call that passes nothing takes its signature's default, as in Keras."""
    return layer_module.inference_calls() if default_step else contextlib.nullcontext()


def test_batches(model, data, callbacks=None, default_step=True):
    """Run `model.test_step` over `data` under inference mode; return the last step's logs.
    With no test batch hook to call and one step at a time, the loop only steps."""
    logs = None
    test_step = model.test_step
    model.stop_evaluating = False  # a callback sets it to end the loop, as in Keras
    with torch.inference_mode(), step_calls(default_step):
        if model.steps_per_execution == 1 and not _hears(callbacks, "test"):
            for batch in data:
                logs = test_step(fit_data.step_data(batch))
                if model.stop_evaluating:
                    break
            return logs
        for begin, group in step_groups(iter(data), model.steps_per_execution):
            if callbacks is not None:
                callbacks.on_test_batch_begin(begin)
            for batch in group:
                logs = test_step(fit_data.step_data(batch))
            if callbacks is not None:
                callbacks.on_test_batch_end(begin + len(group) - 1, logs)
            if model.stop_evaluating:
                break
    return logs


def _hears(callbacks, mode: str) -> bool:
    """Whether a callback defines `on_<mode>_batch_begin` or `on_<mode>_batch_end`."""
    if callbacks is None:
        return False
    return callbacks.needs(f"on_{mode}_batch_begin") or callbacks.needs(f"on_{mode}_batch_end")


def predict_batches(model, data, callbacks, default_step=True) -> list:
    """Run `model.predict_step` over `data` under inference mode; return the outputs.

    When no callback defines a predict batch hook and the steps run one at a time, the loop
    only steps: no hook dispatch and no batch logs per batch (a step that sets
    `model.stop_predicting` still ends it after its batch, as in Keras)."""
    outputs = []
    model.stop_predicting = False  # a callback sets it to end the loop, as in Keras
    step = _predict_function(model, default_step)
    with torch.inference_mode(), step_calls(default_step):
        if model.steps_per_execution == 1 and not _hears(callbacks, "predict"):
            for batch in data:
                outputs.append(step(batch))
                if model.stop_predicting:
                    break
            return outputs
        for begin, group in step_groups(iter(data), model.steps_per_execution):
            callbacks.on_predict_batch_begin(begin)
            for batch in group:
                outputs.append(step(batch))
            logs = predict_batch_logs(outputs[-1])
            callbacks.on_predict_batch_end(begin + len(group) - 1, logs)
            if model.stop_predicting:
                break
    return outputs


def _predict_function(model, default_step: bool):
    """What predict runs on each `(x, y, sample_weight)` batch: the default `predict_step`'s
    forward of `x` called directly (what `predict_step(step_data(batch))` computes), or the
    model's own `predict_step` (a subclass's, or one set on the instance) on the step data."""
    if default_step and "predict_step" not in vars(model):
        forward = model._predict_forward()
        return lambda batch: forward(batch[0])
    predict_step = model.predict_step
    return lambda batch: predict_step(fit_data.step_data(batch))


def concat(chunks):
    """Per-batch outputs (tensors, lists or dicts of them) joined along the batch axis, NumPy."""
    first = chunks[0]
    if isinstance(first, (list, tuple)):
        items = [concat([c[i] for c in chunks]) for i in range(len(first))]
        if hasattr(first, "_fields"):  # a namedtuple of outputs stays one, as in Keras
            return type(first)(*items)
        return tuple(items) if isinstance(first, tuple) else items
    if isinstance(first, dict):
        return {k: concat([c[k] for c in chunks]) for k in first}
    return backend.as_numpy(torch.cat(chunks))


def warn_cut_short(steps_run: int, steps_per_epoch: int) -> None:
    """Keras's warning when an epoch reaches the end of the data before `steps_per_epoch`
    steps: the epoch ends there and the next one starts a new pass over the data.

    Args:
        steps_run: the steps this epoch ran.
        steps_per_epoch: the steps it was to run.

    Example:
    >>> warn_cut_short(2, 4)  # doctest: +SKIP
    """
    warnings.warn(
        f"Your input ran out of data after {steps_run} of steps_per_epoch={steps_per_epoch} "
        "steps: this epoch ends early and the next one starts a new pass over the data. Make "
        "sure that your dataset or generator can generate at least `steps_per_epoch * epochs` "
        "batches (steps_per_epoch times the epochs that share one pass), or use a "
        "lamina.data.Dataset with .repeat().",
        UserWarning,
        stacklevel=4,
    )


def warn_ran_out() -> None:
    """Keras's warning when the data has fewer batches than the epochs need."""
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches (a generator is "
        "consumed once: pass steps_per_epoch, or use a lamina.data.Dataset with .repeat()).",
        UserWarning,
        stacklevel=4,
    )
