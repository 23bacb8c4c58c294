"""The captured train step of `compile(jit_compile=True)`: forward, loss, gradients and the
optimizer's update in one torch.compile graph.

Why: a small model's eager step is mostly per-op overhead (Python, the dispatcher, one kernel per
op, the optimizer's own loop). Compiling only the forward leaves the backward and the update eager
and does not pay on a CPU; compiling the whole step as one function does (BENCHMARKS.md has the
numbers). The design is functional, because that is what torch.compile captures whole:

- `_Objective` holds the model, so `torch.func.functional_call` swaps the parameters for the
  function's inputs both in the forward and in the regularization penalties (`model.losses`
  reads the layers' attributes).
- `torch.func.grad_and_value` differentiates with respect to the optimizer's parameters. Buffers
  (BatchNormalization's moving statistics) and frozen weights are inputs too, so the layers'
  in-place updates of them (`moving_mean.lerp_`) land in the real tensors.
- The optimizer's update (`optimizers/captured_rules.py`) runs in the same graph on the
  parameters' storage and on the torch optimizer's own state tensors, with the learning rate as a
  0-d tensor: a schedule or ReduceLROnPlateau changes its value, never the graph. Gradient
  clipping is the eager path's own `Optimizer.clip_gradients`, traced.
- The loss trackers and the compiled metrics are updated inside the graph too (their state
  tensors are inputs it updates in place): outside it, those updates were a third of a small
  MLP's epoch on the CPU (the peer harness's: 4.9 -> 3.3 ms; its LSTM's 26.6 -> 24.7). That
  holds for lamina's own metrics under the model's own `compute_metrics`; a metric class of the
  user's (which may keep Python state the graph would bake in) or an overridden
  `compute_metrics` is updated outside the graph, from its detached outputs, as is everything
  when a graph with the metrics inside fails to compile. Nothing reads a value on the host.
- The first step is eager: a user's mistake meets lamina's own error message, not the
  compiler's, and it shows which weights get a gradient (one that gets none is skipped by the
  eager step; torch.func would hand it zeros, so such a model is not captured).
- The graph is compiled at the second step, for that batch's shapes (`dynamic=False`). A batch of
  other shapes (an epoch's last, partial batch) takes the eager step on the same weights and
  state: one eager step costs far less than a second compile (seconds on a CPU).

- Dynamo's guards are cut to the tensor guards (shapes, dtypes, devices, strides of the
  inputs): the rest, hundreds of checks of every layer's and the optimizer's attributes, cost
  more per call than the MLP's whole compiled graph (its step: 240 -> 158 us, BENCHMARKS.md).
  What they guarded is lamina's to check, and it does: the weights and optimizer (the build key),
  the batch's structure and shapes (the signature), the training mode (every call), and the
  layers' and optimizer's configuration (`get_config()`, compared as each epoch begins through
  `note_epoch_begin`); a change there recompiles, as a failed guard would have.
- On the CPU inductor writes the graph's wrapper (the calls of its kernels, its buffers) in C++:
  a small model's step is mostly such calls (LSTM epoch 41.8 -> 36.7 ms at one thread).
- On CUDA the graph is replayed as a CUDA graph (torch.compile's "reduce-overhead" mode): one
  launch per step instead of one per kernel, which is what a GPU step of a small model is bound
  by. The weights, the buffers, the optimizer's state and the learning rate are marked as static
  addresses, so the graph updates them in place (torch re-records if one is replaced, e.g. by
  loading an optimizer state); the batch is copied into the graph's own input buffers. The
  outputs (loss, predictions) live in the graph's memory until the next replay, and are consumed
  (trackers, metrics) before it. `LAMINA_CUDA_GRAPHS=0` compiles without CUDA graphs.

What it cannot capture takes the eager step, with one warning (CAPTURE_SKIPPED) naming why.
"""

from __future__ import annotations

import operator
import os
import types
import warnings

import numpy as np
import torch
from torch.utils import _pytree as pytree

from lamina.callbacks import LazyLogs
from lamina.engine import compile_utils, data_adapter, weight
from lamina.engine.stateless import slot_names
from lamina.metrics.metric import flatten_metrics
from lamina.optimizers import captured_rules
from lamina.optimizers.optimizer import runs_update_step

CAPTURE_SKIPPED = (
    "Model '{model}' was compiled with jit_compile=True, but its train step is not captured in "
    "one graph: {reason}. It trains with the eager step."
)

_FUNCTION_INSTANTIATED = r"<class 'torch\.autograd\.function\.Function'> should not be instantiated"


class _Objective(torch.nn.Module):
    """The loss as a module of the model, so functional_call reaches the regularizers too."""

    def __init__(self, model, compiled_loss):
        super().__init__()
        self.model = model
        self.compiled_loss = compiled_loss

    def forward(self, x, y, sample_weight):
        y_pred = self.model(x, training=True)
        total, per_term = self.compiled_loss.terms(y, y_pred, sample_weight)
        # A masked sequence model's outputs carry their mask, which the metrics read (a compiled
        # graph returns plain tensors): it comes out beside them and goes back on.
        outputs = compile_utils.flatten_outputs(y_pred)
        masks = {i: getattr(p, "_keras_mask", None) for i, p in enumerate(outputs)}
        masks = {i: mask for i, mask in masks.items() if mask is not None}  # aux: tensors only
        # torch.func's auxiliary outputs are tensors only: the loss terms' values.
        return total, ([term[0] for term in per_term], y_pred, masks)


def _slot_of(module: torch.nn.Module, dotted: str) -> tuple[dict, str]:
    """The dict that holds the parameter or buffer `dotted` of `module`, and its key there."""
    *path, name = dotted.split(".")
    owner = module.get_submodule(".".join(path))
    return (owner._parameters if name in owner._parameters else owner._buffers), name


def _own_code(fn):
    """`fn` with a code object of its own. Dynamo keeps compiled graphs per code object, guarded
    on the closure: every model's step sharing one would make the ninth model in a process hit
    Dynamo's recompile limit (and each call test the other models' guards first)."""
    return types.FunctionType(
        fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )


def _detached(tree):
    return pytree.tree_map(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, tree)


class CapturedStep:
    """The default train step of a model compiled with jit_compile=True, as one compiled graph."""

    def __init__(self, model, state):
        self.model = model
        self.state = state
        self.disabled = False
        self.eager_forward = model  # for batches of other shapes: the plain eager forward
        self._compiled = None
        self._key = None
        self._probe_key = None
        self._signature = None
        self._constant_refs = []
        self._slot_keys = []
        self._learning_rate = None
        self._learning_rate_value = None
        self._cuda_graphs = False
        self._configuration = None
        self._step = None  # the function compiled (its graph traced at the first call)
        self._metrics_inside = False
        self._traced = False

    # ----------------------------------------------------------------------------------------------
    def skip(self, reason: str, forward=None) -> None:
        """Take the eager step from now on, saying why once."""
        if not self.disabled:
            warnings.warn(
                CAPTURE_SKIPPED.format(model=self.model.name, reason=reason), stacklevel=4
            )
        self.disabled = True
        self.eager_forward = self.state.forward if forward is None else forward

    def _unsupported(self) -> str | None:
        """Why this model and optimizer cannot be captured, or None."""
        optimizer = self.model.optimizer
        if self.model._overrides("compute_loss"):
            # The graph computes the compiled loss itself: an override would be dropped.
            return "the model overrides compute_loss"
        if runs_update_step(optimizer):
            return (
                f"the optimizer {type(optimizer).__name__} is a custom one: its update_step runs "
                "in Python, variable by variable, outside the graph"
            )
        if not captured_rules.supports(optimizer):
            return (
                f"the optimizer {type(optimizer).__name__} has no captured update (SGD, Adam, "
                "AdamW, RMSprop, Adagrad, Muon and ScheduleFreeAdamW have one)"
            )
        for option in ("use_ema", "gradient_accumulation_steps", "loss_scale_factor"):
            value = getattr(optimizer, option)
            if value:
                return f"the optimizer option {option}={value!r} is not supported"
        if optimizer.has_constraints:
            return "weight constraints (kernel_constraint, ...) are not supported"
        if not optimizer.parameters:
            return "the model has no trainable weights"
        if any(getattr(m, "quantization_mode", None) == "float8" for m in self.model.modules()):
            # Their scales' "gradients" come from a custom backward (float8_training), which
            # torch.compile does not run under torch.func: it differentiates the forward.
            return "float8 layers' delayed scales need their custom gradient, not traced here"
        return None

    def _seeded_layer(self) -> str | None:
        """The name of a layer that draws its noise from its own SeedGenerator, or None.

        Such a layer makes a torch.Generator at every call, an object Dynamo cannot trace: the
        step runs eagerly, and so does its forward (a compiled one would break its graph there
        at every step)."""
        for module in self.model.modules():
            if getattr(module, "seed_generator", None) is not None:
                return getattr(module, "name", type(module).__name__)
        return None

    def _metrics_traceable(self) -> bool:
        """Whether the metric updates can go inside the graph: the model's own compute_metrics
        over lamina's own metrics, whose updates are tensor ops on tensor state. A user's
        metric may keep Python state (a call count), which the graph would bake in as it was
        when traced: the guards that would catch it are cut (see above). A metric function is
        wrapped in lamina's MeanMetricWrapper and traced with it, as Keras's jit_compile traces
        it; one that reads the host cannot be traced and moves the metrics out (`__call__`)."""
        if self.model._overrides("compute_metrics"):
            return False
        metrics = flatten_metrics(self.state.all_metrics())
        return all(type(metric).__module__.startswith("lamina.") for metric in metrics)

    # ----------------------------------------------------------------------------------------------
    def _build(self, key) -> bool:
        optimizer = self.model.optimizer
        updated = len(optimizer.parameters)
        # The weights the update rule steps, then those their gradient overwrites (float8's
        # scales): all differentiated, each group handled as the eager step handles it.
        parameters = [*optimizer.parameters, *optimizer.overwritten]
        objective = _Objective(self.model, self.state.loss)
        names = {id(p): name for name, p in objective.named_parameters()}
        if any(id(p) not in names for p in parameters):
            self.skip("the optimizer updates weights that are not the model's")
            return False
        # The eager step skips a weight without a gradient; torch.func would hand it zeros, and
        # weight decay or Adam's step count would then differ.
        ungraded = [names[id(p)].removeprefix("model.") for p in parameters if p.grad is None]
        if ungraded:
            self.skip(f"{len(ungraded)} trainable weight(s) get no gradient ({ungraded[0]}, ...)")
            return False
        for parameter in parameters:
            parameter.grad = None  # the graph keeps its gradients to itself: free the eager ones
        trainable_ids = {id(p) for p in parameters}
        constant_names = [n for n, p in objective.named_parameters() if id(p) not in trainable_ids]
        constant_names += [n for n, _ in objective.named_buffers()]
        # (owner's _parameters or _buffers dict, key): read at every step, so a weight or a
        # moving statistic replaced by assignment (not copied into) is still the one trained.
        self._constant_refs = [_slot_of(objective, name) for name in constant_names]

        slots = slot_names(objective)
        trainable_slots = [slots[id(p)] for p in parameters]
        constant_slots = [slots[id(owner[key])] for owner, key in self._constant_refs]

        def loss_fn(trainable, constant, x, y, sample_weight):
            tensors = {}
            for slot_lists, values in ((trainable_slots, trainable), (constant_slots, constant)):
                for slot_list, value in zip(slot_lists, values, strict=True):
                    tensors.update(dict.fromkeys(slot_list, value))
            return torch.func.functional_call(
                objective, tensors, (x, y, sample_weight), tie_weights=False
            )

        def step(trainable, constant, slots, learning_rate, x, y, sample_weight):
            grads, (loss, aux) = torch.func.grad_and_value(loss_fn, has_aux=True)(
                trainable, constant, x, y, sample_weight
            )
            loss, aux = loss.detach(), _detached(aux)
            with torch.no_grad():
                if len(grads) > updated:  # Keras's overwrite_with_gradient, before the update
                    torch._foreach_copy_(trainable[updated:], grads[updated:])
                    trainable, grads = trainable[:updated], grads[:updated]
                optimizer.clip_gradients(grads)
                captured_rules.apply(optimizer, trainable, grads, slots, learning_rate)
                if self._metrics_inside:  # read when traced: each value has its own graph
                    self._update_metrics(loss, aux, x, y, sample_weight)
            return loss, aux

        captured_rules.prime_state(optimizer)
        self._slot_keys = captured_rules.slot_keys(optimizer)
        first = parameters[0]
        self._learning_rate = torch.zeros((), dtype=first.dtype, device=first.device)
        self._learning_rate_value = None
        self._cuda_graphs = _wants_cuda_graphs(first.device)
        self._plain_parameters = self._plain_views(parameters)
        self._constants = self._constant_views = None  # made at each step's first use
        self._weights_generation = weight.storage_generation()
        if self._cuda_graphs:
            state = optimizer.torch_optimizer.state
            slot_tensors = [state[p].get(k) for k in self._slot_keys for p in parameters]
            # The metrics' state too, which the graph updates in place when they are inside it.
            metric_states = [t for m in self.state.all_metrics() for t in m._state_tensors()]
            for tensor in (*slot_tensors, *metric_states, self._learning_rate):
                if isinstance(tensor, torch.Tensor):
                    torch._dynamo.mark_static_address(tensor)
        self._configuration = _configuration(self.model)
        self._step = step
        self._compile(metrics_inside=self._metrics_traceable())
        self._key = key
        return True

    def _compile(self, metrics_inside: bool) -> None:
        """A new compiled graph of the step (traced at its first call), with the metric updates
        inside it or not."""
        self._metrics_inside = metrics_inside
        device = self.model.optimizer.parameters[0].device
        self._compiled = torch.compile(
            _own_code(self._step), fullgraph=True, dynamic=False, options=_options(device)
        )
        self._signature = None
        self._traced = False  # until its first call has traced the graph

    def note_epoch_begin(self) -> None:
        """Recompile at the next step if a layer's or the optimizer's configuration changed since
        the graph was traced (the guards that would have caught it are cut, see above)."""
        if self._key is not None and _configuration(self.model) != self._configuration:
            self._key = self._probe_key = None

    def _set_learning_rate(self) -> None:
        optimizer = self.model.optimizer
        if callable(optimizer._learning_rate):  # a schedule or a callable, as Optimizer.step()
            optimizer.refresh_learning_rate()  # as Optimizer.step() does: this update's rate
        value = optimizer.torch_optimizer.param_groups[0]["lr"]
        if value != self._learning_rate_value:
            self._learning_rate.fill_(value)
            self._learning_rate_value = value

    # ----------------------------------------------------------------------------------------------
    def __call__(self, data):
        """One captured step: its lazy logs, or None when this batch takes the eager step."""
        if self.disabled or not self.model.training:
            return None  # the graph is traced in training mode
        optimizer = self.model.optimizer
        key = (id(optimizer.torch_optimizer), tuple(id(p) for p in optimizer.parameters))
        if key != self._key:
            if key != self._probe_key:
                # The first step with these weights is eager: it raises lamina's own errors for
                # a user's mistake, and it shows which weights get a gradient (_build).
                reason = self._unsupported()
                seeded = self._seeded_layer()
                if reason is not None:
                    self.skip(reason)
                elif seeded is not None:
                    reason = (
                        f"layer '{seeded}' draws its noise from its own SeedGenerator (seed=...)"
                    )
                    self.skip(reason + ", which is not supported", forward=self.model)
                else:
                    self._probe_key = key
                return None
            if not self._build(key):
                return None
        x, y, sample_weight = data_adapter.unpack(data)
        signature = _signature((x, y, sample_weight))
        if isinstance(signature, str):
            self.skip(f"its batches hold a {signature}, not only tensors")
            return None
        if self._signature is None:
            self._signature = signature
        elif signature != self._signature:
            return None  # another batch size: the eager step (no second compile)
        self._set_learning_rate()
        if self._learning_rate_value == 0 and optimizer._moves_at_zero_rate():
            return None  # SGD's momentum still carries the weights: the eager step's rule
        # Read at every step (a few dict look-ups): loading an optimizer state replaces torch's
        # state tensors, and the graph must update the ones the optimizer holds now.
        parameters = optimizer.parameters
        state = optimizer.torch_optimizer.state
        # None where a weight has no such slot (Muon: only its AdamW weights have a velocity).
        slots = {k: [state[p].get(k) for p in parameters] for k in self._slot_keys}
        if self._weights_generation != weight.storage_generation():  # a module moved or cast
            self._plain_parameters = self._plain_views([*parameters, *optimizer.overwritten])
            self._constants = None
            self._weights_generation = weight.storage_generation()
        constant = [owner[name] for owner, name in self._constant_refs]
        if self._constants is None or not all(map(operator.is_, constant, self._constants)):
            self._constants, self._constant_views = constant, self._plain_views(constant)
        inputs = (
            self._plain_parameters,
            self._constant_views,
            slots,
            self._learning_rate,
            x,
            y,
            sample_weight,
        )
        if self.state.loss.penalized:
            # An eager step's activity losses stay on the layers (`model.losses` shows them);
            # the graph must not read them as its own.
            self.model._clear_activity_losses()
        try:
            loss, aux = self._run(inputs)
        except Exception as error:  # noqa: BLE001 - any failure to capture means: run eagerly
            if not self._metrics_inside:
                self.skip(f"torch.compile failed ({_describe(error)})", forward=self.model)
                return None
            # Dynamo fails while tracing, before the graph runs: nothing was updated yet. Once
            # more, with the metrics outside the graph.
            self._compile(metrics_inside=False)
            return self(data)
        optimizer.iterations += 1
        if self._metrics_inside:
            return LazyLogs(self.model.get_metrics_result)
        return self._update_metrics(loss, aux, x, y, sample_weight)

    def _plain_views(self, tensors: list) -> list:
        """The weights as the graph takes them: plain tensors on the same storage (and version
        counter), so its in-place updates land in the weights. Dynamo cannot trace lamina's
        weight classes (engine/weight.py) while a torch function mode is active, as
        `torch.set_default_device` makes one; plain tensors it traces in any mode. On CUDA they
        are static addresses for the CUDA graph."""
        views = [t if type(t) is torch.Tensor else t.detach() for t in tensors]
        if self._cuda_graphs:
            for view in views:
                torch._dynamo.mark_static_address(view)
        return views

    def _run(self, inputs):
        """The compiled step on `inputs`: (loss, (per-output losses, outputs, masks))."""
        if self._cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # the last replay's outputs are consumed
        if self._traced:  # (a warnings filter per call would cost more than the MLP's guards)
            return self._compiled(*inputs)
        with warnings.catch_warnings():
            # Dynamo's tracing of a torch.autograd.Function (the captured LSTM's, in
            # layers/recurrent/lstm_sequence.py) instantiates it, which torch deprecates.
            warnings.filterwarnings("ignore", _FUNCTION_INSTANTIATED, DeprecationWarning)
            result = self._compiled(*inputs)
        self._traced = True
        return result

    def _update_metrics(self, loss, aux, x, y, sample_weight):
        """The loss trackers and the compiled metrics from the step's detached outputs, inside
        the graph or after it; the lazy logs."""
        per_term, y_pred, masks = aux
        outputs = compile_utils.flatten_outputs(y_pred)
        for index, mask in masks.items():
            outputs[index]._keras_mask = mask
        state = self.state
        state.loss_tracker.update_weighted(loss, data_adapter.batch_size_of(x))
        compiled_loss = state.loss
        if compiled_loss.output_trackers:
            terms = [
                (value, outputs[term.first].shape[0])
                for value, term in zip(per_term, compiled_loss.loss_terms, strict=True)
            ]
            compiled_loss.update_trackers(terms)
        return self.model.compute_metrics(x, y, y_pred, sample_weight)


def _wants_cuda_graphs(device: torch.device) -> bool:
    """Whether the graph replays as a CUDA graph: on CUDA, unless LAMINA_CUDA_GRAPHS=0."""
    return device.type == "cuda" and os.environ.get("LAMINA_CUDA_GRAPHS", "1") != "0"


def _options(device: torch.device) -> dict:
    """torch.compile's options: CUDA graphs on CUDA; on the CPU a C++ wrapper (the code that calls
    the graph's kernels and allocates its buffers: a small model's step is mostly such calls);
    and only the tensor guards where this torch has the filter (lamina checks the rest itself)."""
    options = {}
    if device.type == "cpu":
        options["cpp_wrapper"] = True
    elif _wants_cuda_graphs(device):
        options["triton.cudagraphs"] = True
    keep_tensor_guards = getattr(torch.compiler, "keep_tensor_guards_unsafe", None)
    if keep_tensor_guards is not None:
        options["guard_filter_fn"] = keep_tensor_guards
    return options


def _configuration(model) -> list:
    """What the traced graph baked in as Python values: every layer's and the optimizer's
    configuration (the learning rate aside: it is an input tensor of the graph), as plain data."""
    optimizer_config = dict(model.optimizer.get_config())
    optimizer_config.pop("learning_rate", None)
    layers = [
        _plain(module)
        for module in model.modules()
        if module is not model and callable(getattr(module, "get_config", None))
    ]
    return [_plain(optimizer_config), layers]


def _plain(value):
    """`value` as nested lists and numbers: configurable objects by type and configuration,
    functions by name, anything else by type (never by address, so equal stays equal)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return [[str(key), _plain(item)] for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):  # shape and dtype: no read of the values
        return [type(value).__name__, list(value.shape), str(value.dtype)]
    if callable(getattr(value, "get_config", None)):
        try:
            config = value.get_config()
        except Exception:  # noqa: BLE001 - a custom object without a configuration to compare
            config = None
        return [type(value).__qualname__, _plain(config)]
    return [type(value).__qualname__, getattr(value, "__qualname__", None)]


def _signature(batch):
    """What the graph is specialised on: the batch's structure, shapes, dtypes and devices (the
    name of the first leaf's type that is not a tensor instead, if any)."""
    if all(isinstance(t, torch.Tensor) or t is None for t in batch):  # the usual (x, y, weights)
        return tuple(None if t is None else (t.shape, t.dtype, t.device) for t in batch)
    leaves, spec = pytree.tree_flatten(batch)
    for leaf in leaves:
        if leaf is not None and not isinstance(leaf, torch.Tensor):
            return type(leaf).__name__
    return spec, tuple(None if t is None else (t.shape, t.dtype, t.device) for t in leaves)


def _describe(error: Exception) -> str:
    """The error's type and first line; for Dynamo's wrapped errors, the original exception."""
    while error.__cause__ is not None:  # "RuntimeError when making fake tensor call" <- the why
        error = error.__cause__
    text = str(error)
    marker = "raised exception "
    if marker in text:  # "Observed exception ... raised exception RuntimeError('...')"
        return text[text.index(marker) + len(marker) :].strip().splitlines()[0][:300]
    lines = [line for line in text.strip().splitlines() if line.strip()] or [""]
    first_line = lines[0]
    if first_line.endswith("raised:") and len(lines) > 1:  # "backend='inductor' raised:" <- why
        return lines[1][:300]
    return f"{type(error).__name__}: {first_line[:300]}"
