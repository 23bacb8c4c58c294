"""One `fit` call in named parts: preparation, the start (and resume), an epoch, validation, end.

`FitRun.prepare` checks the arguments and makes the data into batches; `run` drives the epochs.
A callback (BackupAndRestore) may ask to resume mid-run through `model.training_state`
(`fit_state.TrainingState.resume_from`): the epoch's data order is replayed from the states it
started with, the batches already trained are produced again and skipped, and the random
generators continue from where the backup left them.
"""

from __future__ import annotations

import warnings

from lamina import backend, config, distribution
from lamina.callbacks import CallbackList
from lamina.engine import epoch_loop, errors, fit_arguments, fit_data
from lamina.engine.fit_state import TrainingState


def resolve_verbose(verbose) -> int:
    """Keras's `verbose="auto"` is 1 (a progress bar)."""
    return 1 if verbose == "auto" else int(verbose)


def callback_steps(data) -> int | None:
    """`params["steps"]` as Keras sets it: the `steps` asked for (`steps_per_epoch`, `steps`),
    else the batches one pass holds; None when unknown (a generator)."""
    steps = getattr(data, "steps", None)
    if steps is not None:
        return int(steps)
    return len(data) if data.__len__() is not None else None


class FitRun:
    """The checked arguments and the batches of one `fit` call.

    Attributes:
        train: the training batches (`data_adapter` data).
        validation: the validation batches, or None.
        callbacks: the `CallbackList` (History and the progress bar included).
        epochs, initial_epoch, validation_freq: as `fit` received them, checked.
        class_weight: the `{class id: weight}` table to fold into each batch (None when it was
            folded into array data up front, or not given).
    """

    def __init__(self, model, train, validation, callbacks, options):
        self.model = model
        self.train = train
        self.validation = validation
        self.callbacks = callbacks
        self.epochs = options["epochs"]
        self.initial_epoch = options["initial_epoch"]
        self.validation_freq = options["validation_freq"]
        class_weight = options["class_weight"]
        self.class_weight = None if train_is_arrays(train) else class_weight
        self.custom_step = model._overrides("train_step")

    @classmethod
    def prepare(cls, model, x, y, sample_weight, arguments: dict) -> FitRun:
        """Check fit's arguments, make the data into batches, build what the steps need."""
        options = check_arguments(arguments)
        train, validation = fit_data.training_data(model, x, y, sample_weight, options)
        train = distribution.shard(train, "train")  # this rank's share of each batch
        validation = distribution.shard(validation, "evaluate")
        state = model._prepare_steps(train)
        verbose = resolve_verbose(options["verbose"])
        callbacks = CallbackList(
            options["callbacks"],
            model=model,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=options["epochs"],
            steps=callback_steps(train),
        )
        distribution.for_this_rank(callbacks)  # writers and the progress bar: rank 0 only
        run = cls(model, train, validation, callbacks, options)
        if run.custom_step and state.captured is not None:
            state.captured.skip("the model overrides train_step")
        return run

    # ----------------------------------------------------------------------------------------------
    def begin(self):
        """Publish `model.training_state`, call `on_train_begin`, return the resume point (or
        None) a callback asked for there."""
        model = self.model
        model.stop_training = False
        model.training_state = TrainingState(
            self.callbacks.callbacks,
            train=getattr(self.train, "source", None),
            validation=getattr(self.validation, "source", None),
        )
        self.callbacks.on_train_begin()
        resume = model.training_state.take_resume()
        distribution.prepare_model(model)  # DistributedDataParallel around the training forward
        return resume

    def run_epoch(self, epoch: int, resume=None):
        """Train one epoch (from `resume["step"]` when resuming it) and validate; return its
        logs, or None when the data yielded no batch."""
        model, callbacks = self.model, self.callbacks
        if resume is not None:
            backend.set_rng_state(resume["epoch_start_rng"])
        model.training_state.begin_epoch(epoch)
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        model.train()
        captured = model._compile_state.captured
        if captured is not None:  # recompiles if a callback or the user changed a configuration
            captured.note_epoch_begin()
        last_logs, last_step = epoch_loop.train_epoch(
            model, self.train, callbacks, self.class_weight, resume
        )
        model.eval()
        if last_step < 0:  # the data yielded no batch this epoch: there is nothing to record
            epoch_loop.warn_ran_out()
            return None
        if getattr(self.train, "ran_out", False):  # fewer batches than steps_per_epoch
            epoch_loop.warn_ran_out()
            model.stop_training = True
        elif getattr(self.train, "cut_short", False):  # the pass ended: the next epoch restarts
            epoch_loop.warn_cut_short(last_step + 1, self.train.steps)
        distribution.sync_metrics(model)  # every rank's totals summed: global values
        logs = distribution.reduce_logs(model._epoch_logs(last_logs, self.custom_step))
        if self.validation is not None and (epoch + 1) % self.validation_freq == 0:
            logs.update(self.validate())
            logs = dict(sorted(logs.items()))  # Keras's callbacks see every key sorted
        callbacks.on_epoch_end(epoch, logs)
        return logs

    def validate(self) -> dict:
        """Evaluate on the validation data; the logs with `val_` prefixes."""
        self.callbacks.on_test_begin()  # Keras calls the test hooks for validation too
        self.validation.restart()  # validation_steps: the same first batches every epoch
        logs = self.model._evaluate_batches(self.validation, self.callbacks)
        self.callbacks.on_test_end(logs)
        return {f"val_{k}": v for k, v in logs.items()}

    def close_data(self) -> None:
        """Stop the passes the epochs left open (an endless dataset's prefetch thread)."""
        self.train.close()
        if self.validation is not None:
            self.validation.close()

    def end(self, logs: dict):
        """Finish the run: EMA weights copied in, `on_train_end`; return the History."""
        model = self.model
        model.eval()
        # Keras's fit ends by copying the optimizer's moving averages (use_ema) into the weights,
        # before on_train_end; without EMA this does nothing.
        model.optimizer.finalize_variable_values()
        self.callbacks.on_train_end(logs)
        return self.callbacks.history


def run(model, fit_run: FitRun):
    """Drive the epochs of `fit_run`; return the History."""
    try:
        resume = fit_run.begin()
        logs = {}
        first_epoch = resume["epoch"] if resume else fit_run.initial_epoch
        for epoch in range(first_epoch, fit_run.epochs):
            resuming = resume if resume is not None and epoch == resume["epoch"] else None
            epoch_logs = fit_run.run_epoch(epoch, resuming)
            if epoch_logs is None:
                break
            logs = epoch_logs
            if model.stop_training:
                break
        return fit_run.end(logs)
    finally:
        fit_run.close_data()
        # The run is over: its state no longer describes one, and must not keep the data and
        # the callbacks (progress bar, open log files) alive with the model, nor stop it pickling.
        model.training_state = None


def train_is_arrays(data) -> bool:
    from lamina.engine import data_adapter

    return isinstance(data, data_adapter.ArrayData)


def check_arguments(arguments: dict) -> dict:
    """fit's arguments checked (house errors) and normalised."""
    options = dict(arguments)
    options["epochs"], options["initial_epoch"] = fit_arguments.epoch_range(
        arguments["epochs"], arguments["initial_epoch"]
    )
    cap = config.max_epochs()  # Keras's debugging cap (lamina.config.set_max_epochs)
    if cap and cap < options["epochs"]:
        warnings.warn(f"Limiting epochs to {cap}", UserWarning, stacklevel=4)
        options["epochs"] = cap
    for name in ("batch_size", "validation_batch_size"):
        options[name] = fit_arguments.optional_positive_int(arguments[name], name)
    for name in ("steps_per_epoch", "validation_steps"):
        options[name] = fit_arguments.optional_step_count(arguments[name], name)
    if fit_arguments.optional_positive_int(arguments["validation_freq"], "validation_freq") is None:
        raise errors.value_error("validation_freq", "a positive integer", "None")
    options["callbacks"] = fit_arguments.callback_list(arguments["callbacks"])
    if arguments["class_weight"] is not None:
        options["class_weight"] = fit_arguments.class_weight_table(arguments["class_weight"])
    return options
