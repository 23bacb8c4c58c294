"""`Trainer`: the training API that `Model` inherits, along Keras's seams.

compile / fit / evaluate / predict / the `*_on_batch` methods call the step methods
(`train_step`, `test_step`, `predict_step`, overridable), which call `compute_loss` and
`compute_metrics`. What compile() configured lives in `CompileState` (`model._compile_state`):
the optimizer, the compiled loss and metrics (`compile_utils.py`) and the forward the steps call.
The batch loops are in `epoch_loop.py`, the data's preparation in `fit_data.py`.

The training loop never waits on the host per batch: the loss and the metrics accumulate in device
tensors, batch logs are computed only when a callback reads them (the progress bar, at most every
0.1 s on a terminal), and Python floats appear at epoch end.

Seams other features hook into: `CompileState.make_forward` (where the model is wrapped for the
step), `fit_data.training_data` (where data becomes batches), `Trainer._backward` (where the loss
is scaled), `Trainer._epoch_logs` (where the metrics are read at epoch end).
"""

from __future__ import annotations

import functools
import inspect
import warnings

import torch

from lamina import backend, distribution, mixed_precision, optimizers
from lamina import metrics as metrics_module
from lamina.callbacks import CallbackList, LazyLogs
from lamina.callbacks.callback import flat_logs, log_value
from lamina.engine import (
    captured_step,
    compile_utils,
    data_adapter,
    epoch_loop,
    errors,
    fit_arguments,
    fit_data,
    fit_loop,
    loss_checks,
    moving_statistics,
    stateless,
    step_functions,
)
from lamina.engine import layer as layer_module
from lamina.engine import state_tree as state_tree_module
from lamina.metrics.metric import flatten_metrics


class CompileState:
    """What compile() configured: the optimizer, the compiled loss and metrics, the loss tracker,
    the execution options and the forward the steps call."""

    def __init__(self, model, optimizer, loss, metrics, loss_weights, weighted_metrics, options):
        self.model = model
        # None, as Keras allows: a model compiled to evaluate and predict only (fit refuses).
        self.optimizer = None if optimizer is None else optimizers.get(optimizer)
        self.loss_spec = loss
        self.loss_weights_spec = loss_weights
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        self.loss = compile_utils.CompileLoss(model, loss, loss_weights)
        self.metrics = compile_utils.CompileMetrics(metrics, weighted_metrics, model)
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.run_eagerly = options["run_eagerly"]
        self.steps_per_execution = options["steps_per_execution"]
        self.auto_scale_loss = options["auto_scale_loss"]
        self.jit_compile = options["jit_compile"]
        self.forward, self.captured = self.make_forward()
        if model.built:
            self.build_optimizer()

    def make_forward(self):
        """(the forward the steps call, the captured train step or None). jit_compile=True: the
        default train step runs captured (captured_step.py: forward, loss, gradients and the
        optimizer's update in one torch.compile graph) and the evaluation forward through
        torch.compile; otherwise both are the model itself, eager."""
        if not self.jit_compile:
            return self.model, None
        return torch.compile(self.model), captured_step.CapturedStep(self.model, self)

    @property
    def built(self) -> bool:
        return self.loss.built and self.metrics.built

    def build(self, y_true_flat, y_pred_flat, structure=None) -> None:
        """Resolve the per-output losses and metrics against one batch's labels and outputs
        (`structure`: the outputs as the model returns them, for a loss given as a structure)."""
        names = compile_utils.output_names(self.model)
        flat_dict = isinstance(structure, dict) and not any(
            isinstance(value, (list, tuple, dict)) for value in structure.values()
        )
        if flat_dict and len(names) != len(y_pred_flat):
            # A subclassed model's dict of outputs: named by its keys (flatten's order), as Keras
            # matches a dict of losses or metrics to them.
            names = [str(key) for key in sorted(structure)]
        if not self.loss.built:
            self.loss.build(names, y_true_flat, y_pred_flat, structure)
        if not self.metrics.built:
            self.metrics.build(names, y_true_flat, y_pred_flat, self.loss.outputs)

    def build_optimizer(self) -> None:
        """Create (or re-create after freezing changes) the torch optimizer over the trainable
        weights."""
        weights = self.model.trainable_weights
        if self.optimizer is None:  # compile(optimizer=None): evaluate and predict only
            self.loss.note_penalties(self.model)
            return
        if self.optimizer.built_for(weights):
            return
        from lamina import constraints
        from lamina.engine import weight_paths

        weight_paths.assign(self.model)  # Keras's paths, which Muon and MultiOptimizer match
        # Constraints apart: a Keras-style custom optimizer overrides `build(var_list)`.
        self.optimizer.set_constraints(constraints.collect(self.model))
        self.optimizer.build(weights)
        self.loss.note_penalties(self.model)

    def all_metrics(self) -> list:
        """Keras's `model.metrics`: the loss tracker, the compiled metrics as one entry
        (`compile_metrics`, when compile() was given metrics) and the per-output loss
        trackers."""
        compiled = [] if self.metrics.empty else [self.metrics]
        return [self.loss_tracker, *compiled, *self.loss.output_trackers]


def _execution_options(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss) -> dict:
    steps = fit_arguments.optional_positive_int(steps_per_execution, "steps_per_execution")
    if steps is None:
        raise errors.value_error("steps_per_execution", "a positive integer", "None")
    if jit_compile is True and run_eagerly:
        warnings.warn(
            "compile(run_eagerly=True) runs every step op by op: jit_compile=True is ignored.",
            UserWarning,
            stacklevel=4,
        )
    return {
        "run_eagerly": bool(run_eagerly),
        "steps_per_execution": steps,
        "jit_compile": jit_compile is True and not run_eagerly,
        "auto_scale_loss": bool(auto_scale_loss),
    }


class Trainer:
    """The training API of `Model`: compile, fit, evaluate, predict, the `*_on_batch` methods and
    the step methods a subclass may override (see the README's "Custom training" section).

    Example:
    >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])  # doctest: +SKIP
    >>> history = model.fit(x, y, epochs=3, batch_size=32)  # doctest: +SKIP
    """

    def _init_trainer(self) -> None:
        self.compiled = False
        # What compile() was given as `loss`, as in Keras (a custom train_step calls
        # `self.loss(y, y_pred)`); the compiled loss lives in the compile state.
        self.loss = None
        self.stop_training = False
        # Keras's flags a callback sets to end evaluate() / predict() early.
        self.stop_evaluating = False
        self.stop_predicting = False
        self.history = None
        self.optimizer = None
        self.training_state = None
        self._compile_state: CompileState | None = None
        # Keras's step functions, made by make_train_function() & co (step_functions.py);
        # compile() forgets them, as Keras does. fit() runs its own loop, not these.
        self.train_function = None
        self.test_function = None
        self.predict_function = None
        # Keras lets these be set before compile() (which then sets them again); they wait here.
        self._options_before_compile = {
            "run_eagerly": False,
            "jit_compile": False,
            "steps_per_execution": 1,
        }

    # ----------------------------------------------------------------------------------------------
    # Compile

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        """Configure training: optimizer, loss and metrics by name or object, as in Keras.

        Args:
            optimizer: a name (`"adam"`) or an optimizer object.
            loss: a loss for every output, a list (one per output) or a dict by output name;
                a nested structure as Keras reads it (a loss over several outputs, several
                losses summed on one).
            metrics: metrics computed without sample weights (per output: a list of lists or a
                dict).
            loss_weights: per-output weights of the losses in the total.
            weighted_metrics: metrics weighted by `sample_weight` and `class_weight`.
            run_eagerly: True runs every step op by op (no `torch.compile`, no captured step).
            steps_per_execution: train steps per callback call (batch hooks see every Nth).
            jit_compile: True compiles the train step (`captured_step.py`) and the evaluation
                forward with `torch.compile`; `"auto"` and False stay eager.
            auto_scale_loss: accepted as Keras has it (loss scaling for float16 training).

        Example:
        >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])  # doctest: +SKIP
        """
        options = _execution_options(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss)
        # mixed_float16: wrapped in a LossScaleOptimizer, as Keras does (lamina/mixed_precision)
        optimizer = mixed_precision.optimizer_for_policy(self, optimizer, auto_scale_loss)
        self._compile_state = CompileState(
            self, optimizer, loss, metrics, loss_weights, weighted_metrics, options
        )
        self.optimizer = self._compile_state.optimizer
        if loss is not None:
            object.__setattr__(self, "loss", loss)  # never a sub-module, even a torch loss
        self.compiled = True
        self.train_function = self.test_function = self.predict_function = None

    def _require_compiled(self) -> CompileState:
        if self._compile_state is None:
            raise errors.NotCompiledError(
                f"Model '{self.name}' must be compiled before training or evaluation. "
                "Hint: call model.compile(optimizer='adam', loss=..., metrics=[...]) first."
            )
        return self._compile_state

    def _require_optimizer(self, caller: str) -> None:
        if self._require_compiled().optimizer is None:
            raise ValueError(
                f"Model '{self.name}' {caller}() expects an optimizer; it was compiled with "
                "optimizer=None, which allows evaluate() and predict() only. Hint: compile it "
                "with an optimizer, e.g. model.compile(optimizer='adam', loss=...)."
            )

    @property
    def run_eagerly(self) -> bool:
        """Whether the steps run op by op (`compile(run_eagerly=True)`)."""
        state = self._compile_state
        return self._options_before_compile["run_eagerly"] if state is None else state.run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value) -> None:
        state = self._compile_state
        if state is None:
            self._options_before_compile["run_eagerly"] = bool(value)
            return
        state.run_eagerly = bool(value)
        state.jit_compile = state.jit_compile and not state.run_eagerly
        state.forward, state.captured = state.make_forward()

    @property
    def jit_compile(self) -> bool:
        """Whether the train step runs compiled (`compile(jit_compile=True)`)."""
        state = self._compile_state
        return self._options_before_compile["jit_compile"] if state is None else state.jit_compile

    @jit_compile.setter
    def jit_compile(self, value) -> None:
        state = self._compile_state
        if state is None:
            self._options_before_compile["jit_compile"] = value is True
            return
        state.jit_compile = value is True and not state.run_eagerly
        state.forward, state.captured = state.make_forward()

    @property
    def steps_per_execution(self) -> int:
        """Train steps per callback call (`compile(steps_per_execution=N)`)."""
        state = self._compile_state
        if state is None:
            return self._options_before_compile["steps_per_execution"]
        return state.steps_per_execution

    @steps_per_execution.setter
    def steps_per_execution(self, value) -> None:
        steps = _execution_options(False, value, False, True)["steps_per_execution"]
        state = self._compile_state
        if state is None:
            self._options_before_compile["steps_per_execution"] = steps
            return
        state.steps_per_execution = steps

    # ----------------------------------------------------------------------------------------------
    # Steps

    def train_step(self, data):
        """One optimization step on one batch; override for custom training (GAN/VAE pattern).

        Args:
            data: the batch: `x`, `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            the logs (a mapping of metric names to values, computed when read).
        """
        state = self._compile_state
        forward = distribution.train_forward(state)  # DistributedDataParallel under torchrun
        if state.captured is not None:
            logs = state.captured(data)
            if logs is not None:
                return logs
            forward = state.captured.eager_forward
        x, y, sample_weight = data_adapter.unpack(data)
        with moving_statistics.deferred():  # the BatchNormalizations' updates in three ops
            y_pred = forward(x, training=True)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        optimizer = self.optimizer
        optimizer.zero_grad()
        if loss.requires_grad:
            self._backward(loss)
            optimizer.step()
        else:
            self._no_gradient()
        state.loss_tracker.update_weighted(loss.detach(), _batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _no_gradient(self) -> None:
        """The loss has no gradient: as in Keras, a model without trainable weights trains
        nothing (it says so once); with trainable weights, the graph was cut, a user's bug."""
        trainable = self.trainable_weights
        if not trainable:
            warnings.warn(
                f"Model '{self.name}' has no trainable weights: fit() computes its loss and "
                "metrics but updates nothing.",
                stacklevel=3,
            )
            return
        raise errors.value_error(
            f"Model '{self.name}'",
            f"a loss that depends on its {len(trainable)} trainable weights",
            "a loss with no gradient",
            "a call() that detaches its output, converts it to NumPy or runs under "
            "torch.no_grad() cuts the gradient; keep the computation in tensors.",
        )

    def _backward(self, loss) -> None:
        """Gradients of `loss` into the weights' `.grad` (scaled by the optimizer's
        `loss_scale_factor`, which `optimizer.step()` divides back out)."""
        self.optimizer.scale_loss(loss).backward()

    def test_step(self, data):
        """One evaluation step on one batch: loss and metrics, no update."""
        state = self._compile_state
        x, y, sample_weight = data_adapter.unpack(data)
        y_pred = state.forward(x)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        state.loss_tracker.update_weighted(loss, _batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The outputs for one batch."""
        x, _, _ = data_adapter.unpack(data)
        return self._predict_forward()(x)

    def _predict_forward(self):
        """What the default `predict_step` runs the inputs through: the compiled forward
        (`torch.compile`d with `jit_compile=True`), or the model itself when not compiled."""
        state = self._compile_state
        return state.forward if state is not None else self

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss (weighted over outputs) plus the layers' regularization losses.

        Args:
            x: the inputs (unused by the default; there for overrides, as in Keras).
            y: the labels.
            y_pred: the model's outputs.
            sample_weight: per-sample weights, or None.
            training: whether this is a training step.
        """
        if self._compile_state is None:
            return self._uncompiled_loss()
        return self._compile_state.loss(y, y_pred, sample_weight)

    def _uncompiled_loss(self):
        """Keras's `compute_loss` before `compile()`: the layers' own losses (add_loss,
        regularizers), or the error that there is nothing to compute."""
        penalties = self.losses
        if not penalties:
            raise errors.value_error(
                f"Model '{self.name}'",
                "a loss to compute",
                "compute_loss() on a model never compiled, and no loss added by its layers "
                "(add_loss, regularizers)",
                "compile it with a loss first, e.g. model.compile(optimizer='adam', loss='mse').",
            )
        total = torch.stack([p.to(penalties[0].dtype) for p in penalties]).sum()
        self._clear_activity_losses()
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """`compute_loss`, passing `training` only to an override that declares it: Keras added
        the argument in 3.3, and overrides written before (keras-io's distiller) omit it."""
        if _declares_training(type(self).compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics (`metrics` unweighted, `weighted_metrics` weighted);
        return lazy logs, computed only when read."""
        state = self._compile_state
        if y is not None and not state.metrics.empty:
            trues = compile_utils.flatten_labels(self, y)
            preds = compile_utils.flatten_outputs(y_pred)
            if not state.metrics.built:
                state.build(trues, preds)
            state.metrics.update_flat(trues, preds, sample_weight)
        return LazyLogs(self.get_metrics_result)

    def get_metrics_result(self) -> dict:
        """Every metric's current result, by name in sorted order as Keras logs them (device
        tensors, not yet Python floats)."""
        metrics = flatten_metrics(self.metrics)  # compile_metrics's members, as Keras logs them
        return {m.name: m.result() for m in sorted(metrics, key=lambda m: m.name)}

    @property
    def metrics(self) -> list:
        """Keras's `model.metrics`: the loss tracker, the compiled metrics, the per-output loss
        trackers, then the metrics the model's layers hold (`Layer.metrics`)."""
        compiled = [] if self._compile_state is None else self._compile_state.all_metrics()
        return [*compiled, *self._held_metrics(compiled)]

    def _held_metrics(self, compiled) -> list:
        """The layers' own metrics (`Layer.metrics`) that compile() did not make."""
        made = flatten_metrics(compiled)
        return [m for m in super().metrics if not any(m is c for c in made)]

    @property
    def metrics_names(self) -> list[str]:
        """The names of Keras's `model.metrics`: `loss`, `compile_metrics` (the compiled metrics,
        one entry) and each output's loss tracker once built, e.g.
        `['loss', 'compile_metrics', 'price_loss', 'kind_loss']`."""
        state = self._compile_state
        if state is None:
            return []
        compiled = [] if state.metrics.empty else ["compile_metrics"]
        held = [m.name for m in self._held_metrics(state.all_metrics())]
        return [state.loss_tracker.name, *compiled, *self._output_loss_names(), *held]

    def _output_loss_names(self) -> list[str]:
        """The per-output loss trackers' names, a dict output's in its keys' given order."""
        names = [m.name for m in self._compile_state.loss.output_trackers]
        declared = [f"{name}_loss" for name in compile_utils.declared_output_names(self)]
        declared = [name for name in declared if name in names]  # the outputs with a loss
        return declared if sorted(declared) == sorted(names) else names

    def reset_metrics(self) -> None:
        """Reset every metric's state (each epoch and evaluation begins with this)."""
        for metric in self.metrics:
            metric.reset_state()

    def _epoch_logs(self, last_logs, custom_step: bool) -> dict:
        """The logs of an epoch (or an evaluation): every metric's result as a Python float, or
        a custom step's own last logs."""
        if custom_step and last_logs is not None:
            return {k: log_value(v) for k, v in flat_logs(last_logs).items()}
        return {name: log_value(value) for name, value in self.get_metrics_result().items()}

    def _flat_results(self, logs: dict) -> list:
        """evaluate()'s list, in Keras's order: the values of `loss`, of the compiled metrics
        whose Keras object name is a log key (a single output's; a weighted metric renamed
        `weighted_<name>` repeats the unweighted value there, as in Keras) and of the per-output
        losses (or a subclass's own `metrics`, by name), then every other key's value in sorted
        key order."""
        state = self._compile_state
        names = []
        if self._overrides("metrics"):  # a subclass lists its own metrics: Keras follows them
            names = [m.name for m in flatten_metrics(self.metrics)]
        elif state is not None:
            names = [state.loss_tracker.name, *state.metrics.object_names]
            names += self._output_loss_names()
        listed = set(names)
        values = [logs[name] for name in names if name in logs]
        return values + [logs[key] for key in sorted(logs) if key not in listed]

    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(Trainer, name)

    # ----------------------------------------------------------------------------------------------
    # Keras's step functions and stateless loss (for programs that drive their own loop)

    def make_train_function(self, force=False):
        """Make (once, or again with `force`) and return `model.train_function`: one
        `train_step` on a batch, given as a list of batches (Keras on torch steps on the first)
        or an iterator of them (stepped once); it returns the step's logs.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> logs = model.make_train_function()([(torch.ones(4, 2), torch.zeros(4, 1))])
            >>> sorted(logs)
            ['loss']
        """
        return self._step_function("train", force)

    def make_test_function(self, force=False):
        """Make and return `model.test_function`: one `test_step` on a batch (see
        `make_train_function`); it returns the logs.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> sorted(model.make_test_function()([(torch.ones(4, 2), torch.zeros(4, 1))]))
            ['loss']
        """
        return self._step_function("test", force)

    def make_predict_function(self, force=False):
        """Make and return `model.predict_function`: one `predict_step` on a batch (see
        `make_train_function`); it returns the batch's outputs, as tensors.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
            >>> tuple(model.make_predict_function()([torch.ones(3, 2)]).shape)
            (3, 1)
        """
        return self._step_function("predict", force)

    def _step_function(self, kind: str, force: bool):
        attribute = f"{kind}_function"
        if getattr(self, attribute) is None or force:
            setattr(self, attribute, step_functions.make(self, kind))
        return getattr(self, attribute)

    def get_state_tree(self, value_format="backend_tensor") -> dict:
        """The model's state as Keras's nested dict: `trainable_variables`,
        `non_trainable_variables`, `optimizer_variables` and `metrics_variables`, each nested
        by variable path (`{"sequential": {"dense": {"kernel": ...}}}`).

        Args:
            value_format: "backend_tensor" (torch tensors) or "numpy_array".

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, name="d")])
            >>> tree = model.get_state_tree("numpy_array")
            >>> list(tree)  # doctest: +NORMALIZE_WHITESPACE
            ['trainable_variables', 'non_trainable_variables', 'optimizer_variables',
             'metrics_variables']
        """
        return state_tree_module.get_state_tree(self, value_format)

    def set_state_tree(self, state_tree) -> None:
        """Assign a state tree (`get_state_tree`'s, lamina's or Keras's) to the variables with
        the same paths.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, name="d")])
            >>> tree = model.get_state_tree("numpy_array")
            >>> model.set_state_tree(tree)
        """
        state_tree_module.set_state_tree(self, state_tree)

    def stateless_compute_loss(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x=None,
        y=None,
        y_pred=None,
        sample_weight=None,
        training=True,
    ):
        """`compute_loss` on the given variable values, leaving the model and its metrics as
        they were (Keras's functional training API; `torch.func.grad` can differentiate it).

        Args:
            trainable_variables: one value per `model.trainable_variables`.
            non_trainable_variables: one value per `model.non_trainable_variables`.
            metrics_variables: one value per `model.metrics_variables`.
            x, y, y_pred, sample_weight, training: as `compute_loss` takes them.

        Returns:
            `(loss, (trainable_variables, non_trainable_variables, metrics_variables))`, the
            last two as the computation left them.

        Example:
            >>> model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
            >>> model.compile(loss="mse")
            >>> y, y_pred = torch.ones(2, 1), torch.zeros(2, 1)
            >>> loss, _ = model.stateless_compute_loss(
            ...     model.trainable_variables, [], model.metrics_variables, y=y, y_pred=y_pred
            ... )
            >>> float(loss)
            1.0
        """
        metrics = self.metrics_variables
        if len(metrics_variables) != len(metrics):
            raise errors.value_error(
                f"Model '{self.name}'",
                f"`metrics_variables` to hold one value per model.metrics_variables "
                f"({len(metrics)})",
                f"a list of {len(metrics_variables)}",
                "pass values in the order of model.metrics_variables.",
            )
        kept = [variable.detach().clone() for variable in metrics]
        try:
            with torch.no_grad():
                for variable, value in zip(metrics, metrics_variables, strict=True):
                    variable.copy_(torch.as_tensor(value, dtype=variable.dtype))
            loss, non_trainable, _ = stateless.run_with_values(
                self,
                trainable_variables,
                non_trainable_variables,
                lambda: self._compute_loss(x, y, y_pred, sample_weight, training),
            )
            new_metrics = [variable.detach().clone() for variable in metrics]
        finally:
            with torch.no_grad():
                for variable, value in zip(metrics, kept, strict=True):
                    variable.copy_(value)
        return loss, (trainable_variables, non_trainable, new_metrics)

    # ----------------------------------------------------------------------------------------------
    # Preparation shared by the loops

    def _prepare_steps(self, data) -> CompileState:
        """Build the model, the optimizer, the compiled loss and metrics from the first batch,
        and check the labels once."""
        state = self._require_compiled()
        first = data.first_batch()
        built_outputs = fit_data.ensure_built(self, first)
        state.build_optimizer()
        if not state.built and state.loss.spec is None and state.metrics.empty:
            # compile() with neither loss nor metrics: nothing reads the outputs, so, as in Keras,
            # the model is not called on the batch (a custom train_step's data, pairs of views
            # say, need not be what call() takes).
            state.build([], [])
        elif (
            not state.built
            and not fit_data.has_no_call(self)
            and not (type(self).compute_loss is not Trainer.compute_loss and not state.jit_compile)
        ):
            # (A model with its own compute_loss may hand the compiled loss other outputs than
            # call()'s, `[y_pred, y_pred]` say: the loss is built from those, at the first step,
            # as Keras builds it.)
            x, y, _ = first
            self.eval()
            y_pred = built_outputs  # the build's call: one call() fewer, as Keras makes
            if y_pred is None:
                with torch.no_grad():
                    y_pred = fit_data.outputs_by_shape(self, x)
            labels = compile_utils.flatten_labels(self, y) if y is not None else []
            state.build(labels, compile_utils.flatten_outputs(y_pred), y_pred)
            state.loss.note_penalties(self)  # a call() that uses add_loss() joins its losses
        loss_checks.check_labels(
            self, data, state.loss, lambda y: compile_utils.flatten_labels(self, y)
        )
        if state.loss.penalized:
            # Activity penalties left by calls outside training (the symbolic build's are on the
            # meta device) must not join the first step's loss.
            self._clear_activity_losses()
        return state

    # ----------------------------------------------------------------------------------------------
    # fit / evaluate / predict

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train for `epochs` epochs; returns a History whose `.history` holds per-epoch lists.

        Args: as Keras's `Model.fit` (`epochs` is the index of the last epoch: `initial_epoch=3,
        epochs=5` trains two).

        Example:
        >>> history = model.fit(x, y, epochs=3, validation_split=0.2)  # doctest: +SKIP
        """
        self._require_optimizer("fit")
        arguments = dict(
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            class_weight=class_weight,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            validation_batch_size=validation_batch_size,
            validation_freq=validation_freq,
        )
        run = fit_loop.FitRun.prepare(self, x, y, sample_weight, arguments)
        with torch.enable_grad():  # also when called from a callback hook (run under no_grad)
            return fit_loop.run(self, run)

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Loss and metrics on data: a list `[loss, metric...]`, a float, or a dict (return_dict).

        Example:
        >>> loss, accuracy = model.evaluate(x, y, verbose=0)  # doctest: +SKIP
        """
        self._require_compiled()
        batch_size = fit_arguments.optional_positive_int(batch_size, "batch_size")
        steps = fit_arguments.optional_step_count(steps, "steps")
        callbacks = fit_arguments.callback_list(callbacks)
        data = fit_data.evaluation_data(self, x, y, sample_weight, batch_size, steps)
        data = distribution.shard(data, "evaluate")  # this rank's share; metrics summed at the end
        try:
            self._prepare_steps(data)
            distribution.place_model(self)  # ModelParallel: the weights on the mesh
            callback_list = _callback_list(self, callbacks, verbose, data)
            callback_list.on_test_begin()
            logs = self._evaluate_batches(data, callback_list)
            callback_list.on_test_end(logs)
        finally:
            data.close()
        return _returned(self, logs, return_dict)

    def _evaluate_batches(self, data, callbacks=None) -> dict:
        """Reset the metrics, run test_step over `data`, return the epoch-style logs (empty,
        with Keras's warning, when the data yielded no batch: no metric has a value)."""
        self.reset_metrics()
        _eval_mode(self)
        last = epoch_loop.test_batches(
            self, data, callbacks, default_step=not self._overrides("test_step")
        )
        distribution.sync_metrics(self)  # every rank's totals summed: global values
        logs = distribution.reduce_logs(self._epoch_logs(last, self._overrides("test_step")))
        if last is None:  # a reset metric reads 0.0: Keras records nothing rather than a zero
            epoch_loop.warn_ran_out()
            return {}
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for `x`, batched, in inference mode, as NumPy arrays.

        Example:
        >>> probabilities = model.predict(x, batch_size=256, verbose=0)  # doctest: +SKIP
        """
        batch_size = fit_arguments.optional_positive_int(batch_size, "batch_size")
        steps = fit_arguments.optional_step_count(steps, "steps")
        callbacks = fit_arguments.callback_list(callbacks)
        data = fit_data.evaluation_data(self, x, None, None, batch_size, steps, labels=False)
        data = distribution.shard(data, "predict")  # this rank's share; gathered below
        try:
            if not self.built:
                fit_data.ensure_built(self, data.first_batch())
            distribution.place_model(self)  # ModelParallel: the weights on the mesh
            callback_list = _callback_list(self, callbacks, verbose, data)
            _eval_mode(self)
            callback_list.on_predict_begin()
            outputs = epoch_loop.predict_batches(
                self, data, callback_list, default_step=not self._overrides("predict_step")
            )
            outputs = distribution.gather_predictions(outputs, data)  # every rank's, in order
            callback_list.on_predict_end()
        finally:
            data.close()
        if not outputs:
            raise ValueError("predict() received no data.")
        return epoch_loop.concat(outputs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One train step on `x` as a single batch; returns the metrics as evaluate does."""
        self._require_optimizer("train_on_batch")
        data = fit_data.single_batch(self, x, y, sample_weight)
        self._prepare_steps(data)
        self.reset_metrics()
        batch = data.first_batch()
        if class_weight is not None:
            batch = fit_data.with_class_weight(
                batch, fit_arguments.class_weight_table(class_weight)
            )
        self.train()
        # enable_grad: also when called from an epoch-level callback hook (run under no_grad)
        with torch.enable_grad(), layer_module.train_step_calls():
            logs = self.train_step(fit_data.step_data(batch))
        self.eval()
        return _returned(self, self._epoch_logs(logs, self._overrides("train_step")), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """One test step on `x` as a single batch; returns the metrics as evaluate does."""
        data = fit_data.single_batch(self, x, y, sample_weight)
        self._prepare_steps(data)
        self.reset_metrics()
        _eval_mode(self)
        with torch.inference_mode(), epoch_loop.step_calls(not self._overrides("test_step")):
            logs = self.test_step(fit_data.step_data(data.first_batch()))
        return _returned(self, self._epoch_logs(logs, self._overrides("test_step")), return_dict)

    def predict_on_batch(self, x):
        """The outputs for `x` as one batch, as NumPy arrays."""
        _eval_mode(self)
        device = fit_data.model_device(self)
        inputs = data_adapter.to_tensors(x, device)
        with torch.inference_mode(), layer_module.inference_calls():
            y = self(inputs)
        if isinstance(y, (list, tuple, dict)):
            return data_adapter.map_structure(backend.as_numpy, y)
        return backend.as_numpy(y)


@functools.cache
def _declares_training(compute_loss) -> bool:
    return "training" in inspect.signature(compute_loss).parameters


def _eval_mode(model) -> None:
    """`model.eval()` unless every module is in eval mode already: torch's eval() visits and
    sets every module (15 us for a 12-layer model, a fixed cost of every predict, evaluate and
    *_on_batch call; 90 us before `Layer.__setattr__` took the flag straight), a walk that only
    reads it takes about 9."""
    if any(module.training for module in model.modules()):
        model.eval()


def _batch_size_of(x) -> int:
    return x.shape[0] if isinstance(x, torch.Tensor) else data_adapter.batch_size_of(x)


def _returned(model, logs: dict, return_dict: bool):
    """evaluate's result: the dict, a single float, or the list of values in Keras's order."""
    if return_dict:
        return logs
    values = model._flat_results(logs)
    return values[0] if len(values) == 1 else values


def _callback_list(model, callbacks, verbose, data) -> CallbackList:
    verbose = fit_loop.resolve_verbose(verbose)
    callback_list = CallbackList(  # Keras's params for evaluate and predict: one epoch
        callbacks,
        model=model,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=1,
        steps=fit_loop.callback_steps(data),
    )
    distribution.for_this_rank(callback_list)  # writers and the progress bar: rank 0 only
    return callback_list
