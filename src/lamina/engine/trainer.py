"""The loops: compile state, train / test / predict steps, fit / evaluate / predict.

The training loop never waits on the host per batch: the loss and the metrics accumulate in device
tensors, batch logs are computed only when a callback reads them (the progress bar, at most every
0.1 s on a terminal), and Python floats appear at epoch end.
"""

from __future__ import annotations

import itertools
import warnings

import torch

from lamina import backend, distribution, optimizers
from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina.callbacks import CallbackList, LazyLogs
from lamina.callbacks.callback import log_value
from lamina.engine import captured_step, data_adapter, errors, fit_arguments
from lamina.engine.fit_state import TrainingState
from lamina.engine.layer import Layer

# --------------------------------------------------------------------------------------------------
# Compile


def _output_names(model) -> list[str]:
    graph = getattr(model, "_graph", None)
    if graph is not None and isinstance(graph.outputs, dict):
        return list(graph.outputs)  # Model(..., outputs={"price": ...}): Keras names outputs by key
    outputs = model.outputs if hasattr(model, "outputs") else None
    if outputs:
        return [
            t.node.layer.name if t.node is not None else f"output_{i}"
            for i, t in enumerate(outputs)
        ]
    return ["output"]


class CompileState:
    """What compile() configured, resolved against the outputs at the first batch."""

    def __init__(
        self, model, optimizer, loss, metrics, loss_weights, weighted_metrics, jit_compile
    ):
        self.model = model
        self.optimizer = optimizers.get(optimizer)
        self.loss_spec = loss
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        self.loss_weights_spec = loss_weights
        # jit_compile=True: the default train step runs captured (engine/captured_step.py:
        # forward, loss, gradients and the optimizer's update in one torch.compile graph) and the
        # evaluation forward through torch.compile. "auto" stays eager: compiling takes seconds
        # on a CPU, more than it saves on most short runs.
        self.jit_compile = jit_compile is True
        self.forward = torch.compile(model) if self.jit_compile else model
        self.captured = captured_step.CapturedStep(model, self) if self.jit_compile else None
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.output_trackers: list = []
        self.losses: list | None = None  # per output: (callable, weight, kind)
        self.output_metrics: list[list] = []
        self.regularized = False
        # Resolve names early so a typo fails at compile(), not at the first batch.
        for spec in _as_list(loss):
            if spec is not None:
                losses_module.get(spec)
        for spec in _flat_metric_specs(metrics):
            if not (isinstance(spec, str) and spec.lower() in ("accuracy", "acc")):
                metrics_module.get(spec)
        if model.built:
            self.build_optimizer()

    # ----------------------------------------------------------------------------------------------
    def build_optimizer(self) -> None:
        """Create (or re-create after freezing changes) the torch optimizer over the trainable
        weights."""
        weights = self.model.trainable_weights
        current = [id(w) for w in weights]
        if self.optimizer.built and current == [id(p) for p in self.optimizer._parameters]:
            return
        from lamina import constraints

        self.optimizer.build(weights, constraints.collect(self.model))
        self.regularized = self.regularized or any(
            getattr(m, "_regularizers", None)
            or getattr(m, "activity_regularizer", None) is not None
            for m in self.model.modules()
        )

    def resolve(self, y_true_flat, y_pred_flat) -> None:
        """Per-output losses and metrics, with 'accuracy' resolved as Keras does."""
        names = _output_names(self.model)
        if len(names) != len(y_pred_flat):
            names = [f"output_{i}" for i in range(len(y_pred_flat))]
        count = len(y_pred_flat)
        loss_specs = _per_output(self.loss_spec, names, "loss")
        weight_specs = _per_output(self.loss_weights_spec, names, "loss_weights", default=1.0)
        self.losses = []
        for spec, weight in zip(loss_specs, weight_specs, strict=True):
            fn = losses_module.get(spec) if spec is not None else None
            self.losses.append((fn, 1.0 if weight is None else float(weight), _loss_kind(fn)))
        if self.loss_spec is None:
            self.losses = [(None, 1.0, None)] * count
        metric_specs = _per_output_metrics(self.metrics_spec, names)
        self.output_metrics = []
        for index, specs in enumerate(metric_specs):
            built = []
            for spec in specs:
                base = spec if isinstance(spec, str) else getattr(spec, "name", None)
                name = base if count == 1 else f"{names[index]}_{base}"
                if isinstance(spec, str) and spec.lower() in ("accuracy", "acc"):
                    y_true = y_true_flat[index] if index < len(y_true_flat) else y_pred_flat[index]
                    metric = metrics_module.resolve_accuracy(
                        name,
                        self.losses[index][0],
                        tuple(y_true.shape),
                        tuple(y_pred_flat[index].shape),
                    )
                else:
                    metric = metrics_module.get(spec, name=name if isinstance(spec, str) else None)
                    if count > 1 and not isinstance(spec, str):
                        metric.name = f"{names[index]}_{metric.name}"
                built.append(metric)
            self.output_metrics.append(built)
        if count > 1:
            self.output_trackers = [metrics_module.Mean(name=f"{n}_loss") for n in names]

    def all_metrics(self) -> list:
        found = [self.loss_tracker, *self.output_trackers]
        for group in self.output_metrics:
            found.extend(group)
        return found


def _as_list(spec) -> list:
    if isinstance(spec, (list, tuple)):
        return list(spec)
    if isinstance(spec, dict):
        return list(spec.values())
    return [spec]


def _flat_metric_specs(spec) -> list:
    out = []
    for item in _as_list(spec) if spec is not None else []:
        out.extend(_flat_metric_specs(item) if isinstance(item, (list, tuple, dict)) else [item])
    return out


def _per_output(spec, names, argument, default=None) -> list:
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise errors.value_error(
                argument, f"keys among the output names {names}", f"{sorted(unknown)}"
            )
        return [spec.get(name, default) for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise errors.value_error(
                argument, f"one entry per output ({len(names)})", f"{len(spec)} entries"
            )
        return list(spec)
    return [spec if spec is not None else default] * len(names)


def _per_output_metrics(spec, names) -> list[list]:
    if spec is None:
        return [[] for _ in names]
    if isinstance(spec, dict):
        return [_as_list(spec.get(name, [])) for name in names]
    spec = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if (
        len(names) > 1
        and len(spec) == len(names)
        and all(isinstance(s, (list, tuple)) for s in spec)
    ):
        return [list(s) for s in spec]
    return [list(spec) for _ in names]


def _loss_kind(fn) -> str | None:
    return getattr(fn, "__name__", None) or getattr(getattr(fn, "fn", None), "__name__", None)


# --------------------------------------------------------------------------------------------------
# Steps


def _require_compiled(model) -> None:
    if model._compile_state is None:
        raise RuntimeError(
            f"Model '{model.name}' must be compiled before training or evaluation. "
            "Hint: call model.compile(optimizer='adam', loss=..., metrics=[...]) first."
        )


def _flatten_outputs(y):
    return data_adapter.flatten(y) if isinstance(y, (list, tuple, dict)) else [y]


def _flatten_labels(model, y) -> list:
    """Labels in the outputs' order: a dict of labels is matched to the outputs by name, as Keras
    does, not by the order of its keys."""
    if isinstance(y, dict):
        names = _output_names(model)
        if set(names) <= set(y):
            return [y[name] for name in names]
    return _flatten_outputs(y)


def _check_loss_shapes(model, kind, y_true, y_pred) -> None:
    """Integers only: the error a forgotten Flatten produces belongs here, where loss meets
    labels."""
    pred_shape, true_shape = tuple(y_pred.shape), tuple(y_true.shape)
    hint = None
    if y_pred.dim() > 2 and y_true.dim() <= 2:
        hint = (
            "the model's output still has spatial/time axes: Dense acts on the last axis only. "
            "Add Flatten() or GlobalAveragePooling2D() before the final Dense layer."
        )
    if kind == "sparse_categorical_crossentropy":
        fits = y_pred.dim() == y_true.dim() + 1 or (
            y_pred.dim() == y_true.dim() and true_shape[-1] == 1
        )
        fits = fits and true_shape[:1] == pred_shape[:1]
        if y_pred.dim() >= 2 and y_true.dim() >= 1 and fits:
            core = true_shape if y_pred.dim() == y_true.dim() + 1 else true_shape[:-1]
            fits = core == pred_shape[:-1]
        expected = f"outputs shaped (batch, classes) for labels {true_shape}"
    elif kind == "categorical_crossentropy":
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
        matched_true, matched_pred = losses_module.match_rank(y_true, y_pred)
        fits = tuple(matched_true.shape) == tuple(matched_pred.shape)
        expected = f"outputs shaped like the labels {true_shape}"
    if not fits:
        raise errors.value_error(
            f"Loss '{kind}' of model '{model.name}'",
            expected,
            f"model outputs of shape {pred_shape}",
            hint,
        )


def compute_loss(model, y, y_pred, sample_weight=None):
    """The compiled loss (weighted over outputs) plus the layers' regularization losses."""
    total, per_output = loss_terms(model, y, y_pred, sample_weight)
    update_output_trackers(model._compile_state, per_output)
    return total


def update_output_trackers(state, per_output) -> None:
    """Each output's (unweighted) loss into its tracker, when there are several outputs."""
    if state.output_trackers:
        for tracker, term in zip(state.output_trackers, per_output, strict=True):
            if term is not None:
                tracker.update_weighted(term[0].detach(), term[1])


def loss_terms(model, y, y_pred, sample_weight=None):
    """(total loss, per output (unweighted loss, batch size) or None): no side effect on the
    metrics, so the captured train step can compute it inside its graph."""
    state = model._compile_state
    preds = _flatten_outputs(y_pred)
    trues = _flatten_labels(model, y) if y is not None else []
    if state.losses is None:
        state.resolve(trues, preds)
    total = None
    per_output = [None] * len(state.losses)
    for index, (fn, weight, kind) in enumerate(state.losses):
        if fn is None:
            continue
        if index >= len(trues):
            raise errors.value_error(
                f"model '{model.name}'",
                f"labels for output {index}",
                f"{len(trues)} label array(s)",
            )
        y_true, y_pred_i = trues[index], preds[index]
        if kind in (
            "sparse_categorical_crossentropy",
            "categorical_crossentropy",
            "binary_crossentropy",
            "mean_squared_error",
            "mean_absolute_error",
        ):
            _check_loss_shapes(model, kind, y_true, y_pred_i)
        if isinstance(fn, losses_module.Loss):
            value = fn(y_true, y_pred_i, sample_weight)
        else:
            value = losses_module.reduce_values(fn(y_true, y_pred_i), sample_weight)
        per_output[index] = (value, y_pred_i.shape[0])
        value = value * weight if weight != 1.0 else value
        total = value if total is None else total + value
    penalties = model.losses if state.regularized or total is None else []
    if total is None and not penalties:
        raise errors.value_error(
            f"Model '{model.name}'",
            "a loss to compute",
            "compile() without loss= and no loss added by the layers (add_loss, regularizers)",
            "pass loss= to compile(), e.g. model.compile(optimizer='adam', loss='mse').",
        )
    if total is None:
        total = preds[0].new_zeros(())
    if penalties:
        total = total + torch.stack([p.to(total.dtype) for p in penalties]).sum()
    if state.regularized or penalties:
        model._clear_activity_losses()
    return total, per_output


def compute_metrics(model, y, y_pred, sample_weight=None):
    """Update the compiled metrics; return lazy logs (computed only when read)."""
    state = model._compile_state
    if y is not None and state.output_metrics:
        trues, preds = _flatten_labels(model, y), _flatten_outputs(y_pred)
        with torch.no_grad():
            for group, y_true, y_hat in zip(state.output_metrics, trues, preds, strict=False):
                for metric in group:
                    metric.update_state(y_true, y_hat.detach(), sample_weight)
    return LazyLogs(lambda: {m.name: m.result() for m in state.all_metrics()})


def _batch_size_of(x) -> int:
    return data_adapter.flatten(x)[0].shape[0]


def _step_data(batch):
    """A batch as Keras hands it to train_step / test_step / predict_step: `x` alone when there
    are no labels (a list of inputs wrapped as `(x,)`), else `(x, y)` or `(x, y, sample_weight)`,
    so a custom step's `x, y = data` and the VAE pattern's `self.encoder(data)` both work."""
    x, y, sample_weight = batch
    if y is None and sample_weight is None:
        return x if isinstance(x, (torch.Tensor, dict)) else (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def default_train_step(model, data):
    state = model._compile_state
    forward = distribution.train_forward(state)  # DistributedDataParallel under torchrun
    if state.captured is not None:
        logs = state.captured(data)
        if logs is not None:
            return logs
        forward = state.captured.eager_forward
    return eager_train_step(model, data, forward)


def eager_train_step(model, data, forward):
    """Forward, loss, backward and the optimizer's step, op by op."""
    x, y, sample_weight = data_adapter.unpack(data)
    y_pred = forward(x)
    loss = compute_loss(model, y, y_pred, sample_weight)
    optimizer = model.optimizer
    optimizer.zero_grad()
    optimizer.scale_loss(loss).backward()
    optimizer.step()
    model._compile_state.loss_tracker.update_weighted(loss.detach(), _batch_size_of(x))
    return compute_metrics(model, y, y_pred, sample_weight)


def default_test_step(model, data):
    x, y, sample_weight = data_adapter.unpack(data)
    y_pred = model._compile_state.forward(x)
    loss = compute_loss(model, y, y_pred, sample_weight)
    model._compile_state.loss_tracker.update_weighted(loss, _batch_size_of(x))
    return compute_metrics(model, y, y_pred, sample_weight)


def default_predict_step(model, data):
    x, _, _ = data_adapter.unpack(data)
    state = model._compile_state
    return (state.forward if state is not None else model)(x)


# --------------------------------------------------------------------------------------------------
# Preparation shared by the loops


def model_device(model) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return backend.default_device()


def _has_no_call(model) -> bool:
    """A subclassed model that defines no call() (its train_step uses its sub-models directly)."""
    no_graph = getattr(model, "_graph", None) is None
    return no_graph and type(model).call is _default_method(model, "call")


def _ensure_built(model, first_batch) -> None:
    if model.built:
        return
    if _has_no_call(model):
        # Keras's VAE / GAN pattern: no call(), only a custom train_step over built sub-models.
        model.built = True
        return
    x = data_adapter.unpack(first_batch)[0]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(x)
    model.train(was_training)


def _check_labels(model, data, state) -> None:
    """Labels a loss cannot take (class ids out of [0, classes), binary targets out of [0, 1]):
    one check on the whole array, before training."""
    if not isinstance(data, data_adapter.ArrayData) or data.y is None or state.losses is None:
        return
    trues = _flatten_labels(model, data.y)
    outputs = getattr(model, "outputs", None) or []
    for index, (_, _, kind) in enumerate(state.losses):
        if index >= len(trues) or not trues[index].numel():
            continue
        labels = trues[index]
        if kind == "sparse_categorical_crossentropy":
            classes = outputs[index].shape[-1] if index < len(outputs) else None
            if classes is None:
                continue
            low, high = float(labels.min()), float(labels.max())
            if (
                low < 0
                or high >= classes
                or (labels.is_floating_point() and not torch.equal(labels, labels.round()))
            ):
                raise errors.value_error(
                    "y (labels for sparse_categorical_crossentropy)",
                    f"integer class ids in [0, {classes}) for a model with {classes} outputs",
                    f"labels from {low:g} to {high:g}",
                    "check the number of units of the last Dense layer, or remap the labels to "
                    "0..classes-1.",
                )
        elif kind in ("binary_crossentropy", "binary_focal_crossentropy"):
            low, high = float(labels.min()), float(labels.max())
            if low < 0 or high > 1:
                raise errors.value_error(
                    f"y (labels for {kind})",
                    "targets in [0, 1] (0 or 1, or a probability)",
                    f"labels from {low:g} to {high:g}",
                    "for more than two classes use Dense(classes, activation='softmax') with "
                    "loss='sparse_categorical_crossentropy'.",
                )


def _prepare(model, data):
    _require_compiled(model)
    state = model._compile_state
    first = data.first_batch()
    _ensure_built(model, first)
    state.build_optimizer()
    if state.losses is None and not _has_no_call(model):
        x, y, _ = first
        model.eval()
        with torch.no_grad():
            y_pred = model(x)
        state.resolve(_flatten_labels(model, y) if y is not None else [], _flatten_outputs(y_pred))
        # A call() that uses add_loss() joins its losses to the compiled one from now on.
        state.regularized = state.regularized or any(
            isinstance(m, Layer) and m._activity_losses for m in model.modules()
        )
    _check_labels(model, data, state)
    if state.regularized:
        # Activity penalties left by calls outside training (the symbolic build's are on the
        # meta device) must not join the first step's loss.
        model._clear_activity_losses()
    return state


def _resolve_verbose(verbose) -> int:
    return 1 if verbose == "auto" else int(verbose)


# --------------------------------------------------------------------------------------------------
# fit / evaluate / predict


def fit(
    model,
    x,
    y,
    *,
    batch_size,
    epochs,
    verbose,
    callbacks,
    validation_split,
    validation_data,
    shuffle,
    class_weight,
    sample_weight,
    initial_epoch,
    steps_per_epoch,
    validation_steps,
    validation_batch_size,
    validation_freq,
):
    _require_compiled(model)
    epochs, initial_epoch = fit_arguments.epoch_range(epochs, initial_epoch)
    batch_size = fit_arguments.optional_positive_int(batch_size, "batch_size")
    steps_per_epoch = fit_arguments.optional_positive_int(steps_per_epoch, "steps_per_epoch")
    validation_steps = fit_arguments.optional_positive_int(validation_steps, "validation_steps")
    validation_batch_size = fit_arguments.optional_positive_int(
        validation_batch_size, "validation_batch_size"
    )
    if fit_arguments.optional_positive_int(validation_freq, "validation_freq") is None:
        raise errors.value_error("validation_freq", "a positive integer", "None")
    callbacks = fit_arguments.callback_list(callbacks)
    if class_weight is not None:
        class_weight = fit_arguments.class_weight_table(class_weight)
    device = model_device(model)
    if data_adapter.is_array_like(x):
        x = fit_arguments.conform_inputs(model, x)
    if validation_split and validation_data is None:
        if not data_adapter.is_array_like(x):
            raise errors.value_error(
                "validation_split",
                "array inputs (it cuts the last fraction of the arrays)",
                f"x of type {type(x).__name__}",
                "pass validation_data= for datasets and generators.",
            )
        (x, y, sample_weight), validation_data = data_adapter.split_validation(
            x, y, sample_weight, validation_split
        )
    train_data = data_adapter.adapt(
        x, y, sample_weight, batch_size, shuffle, steps_per_epoch, device
    )
    if class_weight is not None and isinstance(train_data, data_adapter.ArrayData):
        weights = fit_arguments.class_weights_to_sample_weights(
            class_weight, _flatten_outputs(train_data.y)[0]
        )
        train_data.sample_weight = (
            weights if train_data.sample_weight is None else train_data.sample_weight * weights
        )
    train_data = distribution.shard(train_data, "train")  # this rank's share of each batch
    val_data = None
    if validation_data is not None:
        if isinstance(validation_data, (list, tuple)) and data_adapter.is_array_like(
            validation_data[0]
        ):
            vx, vy, vsw = data_adapter.unpack(tuple(validation_data))
            val_data = data_adapter.adapt(
                vx,
                vy,
                vsw,
                validation_batch_size or batch_size or 32,
                False,
                validation_steps,
                device,
            )
        else:
            val_data = data_adapter.adapt(validation_data, steps=validation_steps, device=device)
    val_data = distribution.shard(val_data, "evaluate")
    state = _prepare(model, train_data)
    steps = len(train_data) if train_data.__len__() is not None else None
    verbose = _resolve_verbose(verbose)
    callback_list = CallbackList(
        callbacks,
        model=model,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
        mode="fit",
    )
    distribution.for_this_rank(callback_list)  # writers and the progress bar: rank 0 only
    custom_step = type(model).train_step is not _default_method(model, "train_step")
    if custom_step and state.captured is not None:
        state.captured.skip("the model overrides train_step")
    model.stop_training = False
    model.training_state = TrainingState(
        callback_list.callbacks,
        train=getattr(train_data, "source", None),
        validation=getattr(val_data, "source", None),
    )
    callback_list.on_train_begin()
    # A callback (BackupAndRestore) may ask to resume mid-run (TrainingState.resume_from). The
    # epoch's data order is replayed from the states it started with, the batches already trained
    # are produced again and skipped, and the RNG continues from where the backup left it.
    resume = model.training_state.take_resume()
    distribution.prepare_model(model)  # DistributedDataParallel around the training forward
    epoch_logs = {}
    for epoch in range(resume["epoch"] if resume else initial_epoch, epochs):
        resuming = resume is not None and epoch == resume["epoch"]
        if resuming:
            backend.set_rng_state(resume["epoch_start_rng"])
        model.training_state.begin_epoch(epoch)
        model._current_epoch = epoch
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        model.train()
        last_logs = None
        batches = iter(train_data)
        first = 0
        if resuming:
            first = resume["step"]
            for _ in itertools.islice(batches, first):
                pass  # their random draws (augmentation in a map) are replayed too
            if resume["rng"] is not None:  # None: continue from the epoch's own draw
                backend.set_rng_state(resume["rng"])
        step = first - 1  # stays below `first` when the data yields no batch
        for step, batch in enumerate(batches, start=first):
            model._current_step = step
            callback_list.on_train_batch_begin(step)
            if class_weight is not None and not isinstance(train_data, data_adapter.ArrayData):
                bx, by, bsw = batch
                cw = fit_arguments.class_weights_to_sample_weights(
                    class_weight, _flatten_outputs(by)[0]
                )
                batch = (bx, by, cw if bsw is None else bsw * cw)
            last_logs = model.train_step(_step_data(batch))
            callback_list.on_train_batch_end(step, last_logs)
            if model.stop_training:
                break
        model.eval()
        if step < 0:  # the data yielded no batch this epoch: there is nothing to record
            _warn_ran_out()
            break
        if getattr(train_data, "ran_out", False):  # fewer batches than steps_per_epoch
            _warn_ran_out()
            model.stop_training = True
        distribution.sync_metrics(model)  # every rank's totals summed: global values
        epoch_logs = distribution.reduce_logs(_epoch_logs(state, last_logs, custom_step))
        if val_data is not None and (epoch + 1) % validation_freq == 0:
            callback_list.on_test_begin()  # Keras calls the test hooks for validation too
            val_logs = _run_evaluation(model, val_data, callbacks=callback_list)
            callback_list.on_test_end(val_logs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    model.eval()
    # Keras's fit ends by copying the optimizer's moving averages (use_ema) into the weights,
    # before on_train_end; without EMA this does nothing.
    model.optimizer.finalize_variable_values()
    callback_list.on_train_end(epoch_logs)
    return callback_list.history


def _warn_ran_out() -> None:
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches (a generator is "
        "consumed once: pass steps_per_epoch, or use a lamina.data.Dataset with .repeat()).",
        UserWarning,
        stacklevel=3,
    )


def _default_method(model, name):
    from lamina.engine.model import Model

    return getattr(Model, name)


def _epoch_logs(state, last_logs, custom_step) -> dict:
    if custom_step and last_logs is not None:
        return {k: log_value(v) for k, v in dict(last_logs).items()}
    return {m.name: log_value(m.result()) for m in state.all_metrics()}


def _run_evaluation(model, data, callbacks=None) -> dict:
    model.reset_metrics()
    model.eval()
    state = model._compile_state
    custom_step = type(model).test_step is not _default_method(model, "test_step")
    last = None
    with torch.inference_mode():
        for step, batch in enumerate(data):
            if callbacks is not None:
                callbacks.on_test_batch_begin(step)
            last = model.test_step(_step_data(batch))
            if callbacks is not None:
                callbacks.on_test_batch_end(step, last)
    distribution.sync_metrics(model)  # every rank's totals summed: global values
    return distribution.reduce_logs(_epoch_logs(state, last, custom_step))


def evaluate(model, x, y, *, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
    _require_compiled(model)
    batch_size = fit_arguments.optional_positive_int(batch_size, "batch_size")
    steps = fit_arguments.optional_positive_int(steps, "steps")
    callbacks = fit_arguments.callback_list(callbacks)
    if data_adapter.is_array_like(x):
        x = fit_arguments.conform_inputs(model, x)
    data = data_adapter.adapt(x, y, sample_weight, batch_size, False, steps, model_device(model))
    data = distribution.shard(data, "evaluate")  # this rank's share; metrics summed at the end
    _prepare(model, data)
    verbose = _resolve_verbose(verbose)
    callback_list = CallbackList(
        callbacks,
        model=model,
        add_progbar=verbose != 0,
        verbose=verbose,
        steps=len(data) if data.__len__() is not None else None,
        mode="evaluate",
    )
    distribution.for_this_rank(callback_list)
    callback_list.on_test_begin()
    logs = _run_evaluation(model, data, callback_list)
    callback_list.on_test_end(logs)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _concat(chunks):
    first = chunks[0]
    if isinstance(first, (list, tuple)):
        return [_concat([c[i] for c in chunks]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: _concat([c[k] for c in chunks]) for k in first}
    return torch.cat(chunks).cpu().numpy()


def predict(model, x, *, batch_size, verbose, steps, callbacks):
    batch_size = fit_arguments.optional_positive_int(batch_size, "batch_size")
    steps = fit_arguments.optional_positive_int(steps, "steps")
    callbacks = fit_arguments.callback_list(callbacks)
    if data_adapter.is_array_like(x):
        x = fit_arguments.conform_inputs(model, x)
    data = data_adapter.adapt(
        x, None, None, batch_size, False, steps, model_device(model), check=False
    )
    data = distribution.shard(data, "predict")  # this rank's share; gathered below
    if not model.built:
        _ensure_built(model, data.first_batch())
    verbose = _resolve_verbose(verbose)
    callback_list = CallbackList(
        callbacks,
        model=model,
        add_progbar=verbose != 0,
        verbose=verbose,
        steps=len(data) if data.__len__() is not None else None,
        mode="predict",
    )
    distribution.for_this_rank(callback_list)
    model.eval()
    callback_list.on_predict_begin()
    outputs = []
    with torch.inference_mode():
        for step, batch in enumerate(data):
            callback_list.on_predict_batch_begin(step)
            outputs.append(model.predict_step(_step_data(batch)))
            callback_list.on_predict_batch_end(step)
    outputs = distribution.gather_predictions(outputs, data)  # every rank's, in order
    callback_list.on_predict_end()
    if not outputs:
        raise ValueError("predict() received no data.")
    return _concat(outputs)


def train_on_batch(model, x, y, sample_weight, class_weight, return_dict):
    _require_compiled(model)
    data = data_adapter.adapt(
        x, y, sample_weight, batch_size=data_adapter.num_samples(x, "x"), device=model_device(model)
    )
    state = _prepare(model, data)
    model.reset_metrics()
    batch = data.first_batch()
    if class_weight is not None:
        cw = fit_arguments.class_weights_to_sample_weights(
            fit_arguments.class_weight_table(class_weight), _flatten_outputs(batch[1])[0]
        )
        batch = (batch[0], batch[1], cw if batch[2] is None else batch[2] * cw)
    model.train()
    logs = model.train_step(_step_data(batch))
    model.eval()
    return _batch_result(state, logs, return_dict, model)


def test_on_batch(model, x, y, sample_weight, return_dict):
    _require_compiled(model)
    data = data_adapter.adapt(
        x, y, sample_weight, batch_size=data_adapter.num_samples(x, "x"), device=model_device(model)
    )
    state = _prepare(model, data)
    model.reset_metrics()
    model.eval()
    with torch.inference_mode():
        logs = model.test_step(_step_data(data.first_batch()))
    return _batch_result(state, logs, return_dict, model)


def _batch_result(state, logs, return_dict, model):
    custom = type(model).train_step is not _default_method(model, "train_step")
    values = _epoch_logs(state, logs, custom)
    if return_dict:
        return values
    flat = list(values.values())
    return flat[0] if len(flat) == 1 else flat


def predict_on_batch(model, x):
    model.eval()
    device = model_device(model)
    inputs = data_adapter.map_structure(lambda a: data_adapter.to_tensor(a, device), x)
    with torch.inference_mode():
        y = model(inputs)
    return (
        data_adapter.map_structure(lambda t: t.cpu().numpy(), y)
        if isinstance(y, (list, tuple, dict))
        else y.cpu().numpy()
    )
