"""Output-shape inference on the meta device, and the call of a layer on symbolic tensors.

Calling a layer on a `KerasTensor` builds the layer from the symbolic shape, runs its `call` on meta
tensors (shapes only: no memory, no compute) to learn the output shape, and records a `Node` that
the functional model later replays on real data. Unknown (`None`) dimensions are probed with two
different sizes; the output dimensions that differ between the two runs are unknown too. Where a
probe size cannot stand for an unknown size (it must equal a known one), a layer that defines its
own `compute_output_shape` (the merges) gives its shape by that rule instead. A layer class written
outside lamina that defines `compute_output_shape` is never traced: Keras takes its word.

`Layer` calls into this module, so the module knows layers by what they do, not by their class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import operator
import threading

import torch

from lamina import backend, tree
from lamina.engine import errors, scopes
from lamina.engine.keras_tensor import KerasTensor, Node, flatten_symbolic, map_tensors
from lamina.engine.weight import keep_weight_class

# Two sizes for unknown dimensions: output dims that differ between the two runs are `None`.
# They lie far enough apart (84) that a strided layer cannot map both to one size: with 83 and
# 89, Conv1D(strides=16) gave 6 frames for both and an unknown length came out as 6.
_PROBE_SIZES = (83, 167)
# Tried on the meta device when the small sizes fail: an unknown length under a kernel longer
# than 83 (Conv1D(4, 100) or a 640-sample STFT frame on `Input((None, 1))`), which Keras builds.
# Meta only: no memory, where real zeros of these sizes could take gigabytes.
_LARGE_PROBE_SIZES = (8209, 16411)

# Whether this thread infers shapes: per thread, as Layer's training stack.
_thread_state = threading.local()


def in_meta_inference() -> bool:
    """Whether this thread is inferring output shapes on the meta device."""
    return getattr(_thread_state, "meta_inference", False)


class meta_inference:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Marks this thread as inferring shapes on the meta device while the block runs.

    Thread-local, as the training stack: a model built in one thread does not make layers called in
    another think they run on meta tensors.

    Example:
        >>> with meta_inference():
        ...     assert in_meta_inference()
    """

    def __enter__(self):
        self._previous = in_meta_inference()
        _thread_state.meta_inference = True
        return self

    def __exit__(self, *exc_info):
        _thread_state.meta_inference = self._previous
        return False


def in_probe() -> bool:
    """Whether this thread runs a shape probe, on meta tensors or on real zeros.

    A probe's values are stand-ins: sizes 83 and 167 for unknown dimensions, zeros for data. A
    check on values (token ids in range) has nothing to check there.

    Example:
        >>> in_probe()
        False
    """
    return getattr(_thread_state, "probing", False)


def unprobed_shape(shape) -> tuple:
    """`shape` with the probe sizes read back as unknown (`None`) while this thread runs a probe.

    A layer that builds itself from the first tensor it sees (a `Sequential` with no declared
    input) may first see a probe tensor, when the layer holding it is called on a `KerasTensor`:
    a probe size there stands for a dimension the symbolic input left unknown, and pinning it
    would reject the next probe and every real size. Outside shape inference, `shape` as given.

    Args:
        shape: a tensor's shape (a `torch.Size` or a tuple of ints).

    Example:
        >>> unprobed_shape((83, 83, 32))  # outside a probe: as given
        (83, 83, 32)
    """
    if not in_probe():
        return tuple(shape)
    return tuple(None if d in _PROBE_SIZES or d in _LARGE_PROBE_SIZES else d for d in shape)


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """What shape inference learns about one output tensor: its shape (None where unknown) and
    its torch dtype. A leaf to `lamina.tree`, unlike a (shape, dtype) tuple."""

    shape: tuple
    dtype: torch.dtype
    # The output's Keras mask: its shape (None where unknown) when the layer gives the output one,
    # True for a mask whose shape was not inferred, None for no mask.
    mask: tuple | bool | None = None


def _map_specs(fn, spec):
    return tree.map_structure(lambda x: fn(x) if isinstance(x, OutputSpec) else x, spec)


def _probe_shape(shape, probe: int):
    return tuple(probe if d is None else d for d in shape)


def _meta_tensor(symbolic: KerasTensor, probe: int, device="meta") -> torch.Tensor:
    if symbolic.dtype == "string":
        # torch has no strings: only host layers (StringLookup, TextVectorization, Hashing...)
        # take text, and they skip this probe.
        raise TypeError(
            "it computes on numbers and received a string tensor. Hint: map text to ids first "
            "(StringLookup, Hashing); ops.expand_dims, ops.reshape and ops.squeeze take text."
        )
    dtype = backend.to_torch_dtype(symbolic.dtype)
    shape = _probe_shape(symbolic.shape, probe)
    if device == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    return torch.zeros(shape, dtype=dtype, device=device)


def meta_call(layer, args, kwargs):
    """Run `layer` with meta copies of its parameters and buffers (real ones stay untouched).

    The copies are weights of the same class as the originals, so a `call` that uses Keras's
    variable API on its weights (`self.conv.kernel.assign(...)`, `v.path`) runs on them too.
    """
    state = {name: _meta_copy(t) for name, t in layer.named_parameters()}
    state.update({name: _meta_copy(t) for name, t in layer.named_buffers()})
    with _real_state_kept(layer):
        return torch.func.functional_call(layer, state, args, kwargs, strict=False)


def _state_count(layer) -> int:
    """How many parameters and buffers `layer` holds, its sub-layers' included."""
    return sum(1 for _ in layer.parameters()) + sum(1 for _ in layer.buffers())


def _meta_copy(weight: torch.Tensor) -> torch.Tensor:
    """An uninitialised meta tensor like `weight`, of its weight class and attributes."""
    copy = torch.empty_like(weight, device="meta").requires_grad_(weight.requires_grad)
    return keep_weight_class(copy, weight)


@contextlib.contextmanager
def _real_state_kept(layer):
    """Puts every parameter and buffer of `layer` back after the block.

    functional_call alone does not when a sub-layer is reachable by two paths (a model that
    holds a built model and a feature model sharing its layers, as Distiller does): the second
    path's "original" is the meta copy the first path swapped in, and restoring in order leaves
    that copy in the real model.
    """
    slots = [
        (store, name, tensor)
        for module in layer.modules()
        for store in (module._parameters, module._buffers)
        for name, tensor in store.items()
    ]
    try:
        yield
    finally:
        for store, name, tensor in slots:
            if store.get(name) is not tensor:
                store[name] = tensor


def _concrete(symbolic: KerasTensor, probe: int, device) -> torch.Tensor:
    """A probe tensor for `symbolic`, carrying a probe mask where `symbolic` has a mask of known
    shape: a layer that consumes masks (`call(..., mask=None)`) sees one, as it will at run time."""
    tensor = _meta_tensor(symbolic, probe, device)
    mask = symbolic._keras_mask
    if isinstance(mask, KerasTensor):
        tensor._keras_mask = _meta_tensor(mask, probe, device)
    return tensor


@contextlib.contextmanager
def _probing():
    """Marks this thread as running a probe (on meta or on real zeros) while the block runs."""
    previous = getattr(_thread_state, "probing", False)
    _thread_state.probing = True
    try:
        yield
    finally:
        _thread_state.probing = previous


def _run_probe(layer, args, kwargs, probe: int, device):
    with _probing():
        return _run_one_probe(layer, args, kwargs, probe, device)


def _run_one_probe(layer, args, kwargs, probe: int, device):
    concrete_args = map_tensors(lambda t: _concrete(t, probe, device), args)
    concrete_kwargs = map_tensors(lambda t: _concrete(t, probe, device), kwargs)
    holds_tensor = any(isinstance(x, torch.Tensor) for x in tree.flatten(concrete_args))
    if holds_tensor and not layer.built:
        with torch.device(backend.default_device()):
            if not layer._build_from_arguments(args, kwargs):
                layer.build_from_shape(map_tensors(lambda t: t.shape, args[0]) if args else None)
    if device == "meta":
        with meta_inference(), torch.device("meta"):
            weights_before = _state_count(layer)
            try:
                return meta_call(layer, concrete_args, concrete_kwargs)
            except RuntimeError:
                if _state_count(layer) == weights_before:
                    raise
                # A sub-layer built during this call and then called again (a residual block
                # applied four times) holds real weights the meta swap, made before it existed,
                # left out; now that every sub-layer is built, one more run swaps them all.
                return meta_call(layer, concrete_args, concrete_kwargs)
    # A probe on real zeros: its activity penalties are no loss of the model's.
    losses = {m: m._activity_losses for m in layer.modules() if hasattr(m, "_activity_losses")}
    try:
        with torch.no_grad():
            return layer(*concrete_args, **concrete_kwargs)
    finally:
        for module, kept in losses.items():
            module._activity_losses = kept


def infer_outputs(layer, args, kwargs, large=False):
    """Output structure of `layer(*args, **kwargs)` as (shape-with-None, dtype) leaves; `large`
    probes unknown dimensions with `_LARGE_PROBE_SIZES`, on the meta device only."""
    runs = []
    on_meta = True
    sizes = _LARGE_PROBE_SIZES if large else _PROBE_SIZES
    unknown_axes = _unknown_axes(args, kwargs)
    if not unknown_axes:  # (a mask's sizes follow its tensor's)
        sizes = sizes[:1]  # each probe would be the same call: one tells all
    for probe in sizes:
        try:
            runs.append(_run_probe(layer, args, kwargs, probe, "meta"))
        except (NotImplementedError, RuntimeError) as failure:
            if large or (
                "meta" not in str(failure).lower() and not isinstance(failure, NotImplementedError)
            ):
                raise
            # An op without a meta kernel: probe on real (small) zero tensors instead.
            runs.append(_run_probe(layer, args, kwargs, probe, backend.default_device()))
            on_meta = False
    if not large and on_meta and len(runs) == 2 and _collapsed_to_one(runs, unknown_axes - {0}):
        # A stride longer than the probes' gap maps both to one frame (STFTSpectrogram with
        # frame_step=240, MaxPooling1D(200)): a large probe tells such a 1 from a fixed one.
        # A check, never a new failure: if the large probe fails, the small probes' answer stands.
        with contextlib.suppress(Exception):
            check = _run_probe(layer, args, kwargs, _LARGE_PROBE_SIZES[0], "meta")
            if _same_ranks(runs[0], check):
                runs.append(check)

    def merged_shape(*tensors):
        return tuple(
            dims[0] if len(set(dims)) == 1 else None
            for dims in zip(*(t.shape for t in tensors), strict=True)
        )

    def merge(a, *others):
        if isinstance(a, torch.Tensor):
            masks = [getattr(t, "_keras_mask", None) for t in (a, *others)]
            mask = None
            if all(isinstance(m, torch.Tensor) for m in masks):
                same_rank = len({m.dim() for m in masks}) == 1
                mask = merged_shape(*masks) if same_rank else True
            return OutputSpec(merged_shape(a, *others), a.dtype, mask)
        return a

    return tree.map_structure(merge, *runs)


def _same_ranks(run, other) -> bool:
    """Whether two probe runs give the same structure of tensors of the same ranks."""
    leaves, other_leaves = tree.flatten(run), tree.flatten(other)
    return len(leaves) == len(other_leaves) and all(
        isinstance(a, torch.Tensor) == isinstance(b, torch.Tensor)
        and (not isinstance(a, torch.Tensor) or a.dim() == b.dim())
        for a, b in zip(leaves, other_leaves, strict=True)
    )


def _unknown_axes(args, kwargs) -> set[int]:
    """The axes (0: the batch) at which some symbolic argument has an unknown size."""
    return {
        axis
        for t in flatten_symbolic([args, kwargs])
        for axis, size in enumerate(tuple(t.shape))
        if size is None
    }


def _collapsed_to_one(runs, axes: set[int]) -> bool:
    """Whether the two small probes gave size 1 at one of `axes` (where an input's size is
    unknown): the one size a strided layer maps both probe sizes to, when its stride is longer
    than the gap between them."""
    first, second = (tree.flatten(run) for run in runs)
    return any(
        isinstance(a, torch.Tensor)
        and isinstance(b, torch.Tensor)
        and a.dim() == b.dim()
        and any(axis < a.dim() and a.shape[axis] == b.shape[axis] == 1 for axis in axes)
        for a, b in zip(first, second, strict=False)
    )


def infer_output_shape(layer, input_shape):
    """compute_output_shape's default: a symbolic call on a shape."""
    if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (tuple, list)):
        symbolic_input = [KerasTensor(s) for s in input_shape]
    else:
        symbolic_input = KerasTensor(input_shape)
    spec = infer_outputs(layer, (symbolic_input,), {})
    return _map_specs(lambda s: s.shape, spec)


def _shape_preserved(layer, args, kwargs):
    """The output spec of a shape-preserving layer on one tensor, without running it."""
    if not layer.preserves_input_shape or len(args) != 1 or not isinstance(args[0], KerasTensor):
        return None
    if set(kwargs) - {"training", "mask"} or layer._computes_mask:
        return None  # a layer making its own mask is probed: the mask's shape is learnt there
    if not layer.built:
        with torch.device(backend.default_device()):
            if not layer._build_from_arguments(args, kwargs):
                layer.build_from_shape(args[0].shape)
    mask = args[0]._keras_mask if layer.supports_masking else None
    if isinstance(mask, KerasTensor):
        mask = mask.shape
    dtype = backend.to_torch_dtype(args[0].dtype)
    casts = layer.casts_float_inputs and layer.autocast and layer.gives_compute_dtype
    if casts and dtype.is_floating_point:
        # Its call casts a float input to its compute dtype (a mixed layer's: 16 bits), and a
        # shape-preserving layer gives its input's dtype back.
        dtype = layer._compute_torch_dtype
    return OutputSpec(args[0].shape, dtype, mask)


def _stated_shape(layer, args, kwargs, dtype=None):
    """The output spec from the layer's own `compute_output_shape`, or None if it has none.

    A probe size stands for every unknown size, so it fails where an unknown size must equal a known
    one (`Add` on `(None, None, 3)` and `(None, 5, 1)`: 83 meets 5). A layer that states its shape
    rule on symbolic shapes, as Keras's layers do, is then taken at its word; the dtype is `dtype`,
    by default its first input's.
    """
    # Layer's own compute_output_shape probes (it calls infer_output_shape); a class below it that
    # defines one states its rule.
    defining = [c for c in type(layer).__mro__ if "compute_output_shape" in vars(c)]
    stated = len(defining) > 1
    if not stated or len(args) != 1 or set(kwargs) - {"training", "mask"}:
        return None
    shapes = map_tensors(lambda t: t.shape, args[0])
    if not layer.built:
        with torch.device(backend.default_device()):
            if not layer._build_from_arguments(args, kwargs):
                layer.build_from_shape(shapes)
    first = flatten_symbolic(args[0])[0]
    if dtype is None:
        dtype = backend.to_torch_dtype(first.dtype)
    masked = layer.supports_masking and (layer._computes_mask or first._keras_mask is not None)
    mask = True if masked else None
    # One shape, or a structure of them for several outputs (Lambda(output_shape=[...])).
    return tree.map_shape_structure(
        lambda shape: OutputSpec(tuple(shape), dtype, mask), layer.compute_output_shape(shapes)
    )


@functools.cache
def _user_states_shape(cls) -> bool:
    """Whether `compute_output_shape` comes from a class written outside lamina. Keras builds a
    graph from such a layer's stated shape and never traces its `call` (which may do host work,
    or count its calls); lamina's own layers are traced on meta tensors, which also gives their
    dtypes and masks."""
    for klass in cls.__mro__:
        if "compute_output_shape" in vars(klass):
            return not klass.__module__.startswith("lamina.")
    return False


# The layers whose own compute_output_spec is running: one that calls the inherited rule
# (`super().compute_output_spec(...)`) gets the inference, not itself again.
_declaring = threading.local()


def _declared_spec(layer, args, kwargs):
    """The outputs a layer's own `compute_output_spec` states, or None if its class defines none.

    Keras takes that method's word for a call on symbolic tensors and never runs `call` on them
    (a call may need real values, or assert that it is training); the layer is built first.
    """
    defining = next(c for c in type(layer).__mro__ if "compute_output_spec" in vars(c))
    active = _declaring.__dict__.setdefault("ids", set())
    if defining.__module__.startswith("lamina.") or id(layer) in active:
        return None
    if not layer.built:
        with torch.device(backend.default_device()):
            if not layer._build_from_arguments(args, kwargs):
                layer.build_from_shape(map_tensors(lambda t: t.shape, args[0]) if args else None)
    active.add(id(layer))
    try:
        declared = layer.compute_output_spec(*args, **kwargs)
    except NotImplementedError:  # no rule stated after all: infer it, as for any layer
        return None
    finally:
        active.discard(id(layer))
    return tree.map_structure(
        lambda leaf: (
            OutputSpec(tuple(leaf.shape), backend.to_torch_dtype(leaf.dtype))
            if isinstance(leaf, KerasTensor)
            else leaf
        ),
        declared,
    )


def _infer_spec(layer, args, kwargs):
    spec = _declared_spec(layer, args, kwargs)
    if spec is not None:
        return spec
    spec = _shape_preserved(layer, args, kwargs)
    if spec is None:
        spec = _text_spec(layer, args, kwargs)
    if spec is None and getattr(layer, "_declares_output_shape", False):
        spec = _stated_shape(layer, args, kwargs)  # stated (Lambda's output_shape): never run
    if spec is None and _user_states_shape(type(layer)):
        # as Keras: never run, the output in the layer's compute dtype
        spec = _stated_shape(layer, args, kwargs, backend.to_torch_dtype(layer.compute_dtype))
    if spec is not None:
        return spec
    try:
        return infer_outputs(layer, args, kwargs)
    except (ValueError, RuntimeError):
        spec = _broadcast_spec(layer, args, kwargs)
        if spec is None:
            spec = _unified_spec(layer, args, kwargs)
        if spec is None:
            spec = _stated_shape(layer, args, kwargs)
        if spec is None:
            spec = _graph_spec(layer, args, kwargs)
        if spec is None and _unknown_axes(args, kwargs) - {0}:  # besides the batch
            try:
                spec = infer_outputs(layer, args, kwargs, large=True)
            except (ValueError, RuntimeError, NotImplementedError):
                spec = None  # the small probes' error says what went wrong
        if spec is None:
            raise
        return spec


# The Python operators a graph records directly (`x + y`): they broadcast, as the ops marked
# `broadcasts` do.
_BROADCASTING_OPERATORS = (operator.add, operator.sub, operator.mul, operator.truediv)


def _broadcast_spec(layer, args, kwargs):
    """The outputs of a broadcasting op whose probe failed, or None for any other layer.

    A probe size stands for every unknown size, so `(None, 3) + (2, None)` fails (83 meets 2)
    where Keras's static rule gives `(2, 3)`: an unknown size broadcast against a known size
    other than 1 is that size. The inputs are probed again with those sizes filled in; sizes
    the rule leaves unknown are still probed. Only runs after a failed probe: no cost otherwise.
    """
    fn = getattr(layer, "fn", None)
    if not (getattr(fn, "broadcasts", False) or fn in _BROADCASTING_OPERATORS):
        return None
    leaves = [x for x in tree.flatten((args, kwargs)) if isinstance(x, (KerasTensor, torch.Tensor))]
    target = ()
    try:
        for leaf in leaves:
            target = broadcast_shapes(target, tuple(leaf.shape))
    except ValueError as failure:
        shapes = [tuple(leaf.shape) for leaf in leaves]
        raise ValueError(
            f"{errors.describe(layer)} got inputs of shapes {shapes}: {failure}"
        ) from None

    def resolved(tensor):
        shape = [
            size if size is not None else target[len(target) - tensor.ndim + axis]
            for axis, size in enumerate(tensor.shape)
        ]
        return KerasTensor(tuple(shape), tensor.dtype)

    resolved_args, resolved_kwargs = map_tensors(resolved, (args, kwargs))
    return infer_outputs(layer, resolved_args, resolved_kwargs)


def _unified_spec(layer, args, kwargs):
    """The outputs of an op marked `unifies` (`matmul`, `einsum`, `take_along_axis`) whose probe
    failed, or None for any other layer.

    An unknown size contracted against a known one must equal it (`(None,) . (3,)`), which no
    probe size does: the probe is retried with one unknown size set to one of the known sizes,
    each in turn, and the first that works gives the outputs. Only runs after a failed probe.
    """
    if not getattr(getattr(layer, "fn", None), "unifies", False):
        return None
    tensors = flatten_symbolic((args, kwargs))
    known = sorted({size for t in tensors for size in t.shape if size is not None and size > 1})
    unknown = [(i, axis) for i, t in enumerate(tensors) for axis, size in enumerate(t.shape)
               if size is None]  # fmt: skip
    for i, axis in unknown:
        for size in known:
            shape = list(tensors[i].shape)
            shape[axis] = size
            filled = KerasTensor(tuple(shape), tensors[i].dtype)
            retried = map_tensors(lambda t, i=i, filled=filled: filled if t is tensors[i] else t,
                                  (args, kwargs))  # fmt: skip
            try:
                return infer_outputs(layer, *retried)
            except (ValueError, RuntimeError, TypeError, IndexError):
                continue
    return None


def broadcast_shapes(shape1, shape2) -> tuple:
    """The shape two shapes broadcast to, `None` for unknown sizes (Keras's static rule).

    An unknown size against a known size other than 1 is that size; against 1 or unknown, it
    stays unknown.

    Args:
        shape1: a shape, ints or None.
        shape2: another shape.

    Returns:
        The broadcast shape, as a tuple.

    Raises:
        ValueError: where two known sizes differ and neither is 1.

    Example:
        >>> broadcast_shapes((None, 3), (2, None))
        (2, 3)
        >>> broadcast_shapes((None, 1), (4,))
        (None, 4)
    """
    rank = max(len(shape1), len(shape2))
    shape1 = (1,) * (rank - len(shape1)) + tuple(shape1)
    shape2 = (1,) * (rank - len(shape2)) + tuple(shape2)
    out = []
    for a, b in zip(shape1, shape2, strict=True):
        if a == 1 or a == b:
            out.append(b)
        elif b == 1:
            out.append(a)
        elif a is None or b is None:
            out.append(b if a is None else a)
        else:
            raise ValueError(
                f"Shapes {shape1} and {shape2} cannot be broadcast together: sizes {a} and {b} "
                "differ and neither is 1. Expand or reshape one input so the sizes agree."
            )
    return tuple(out)


def _text_spec(layer, args, kwargs):
    """The outputs of a call on text, which no probe can carry (torch has no strings): an op that
    only moves elements (`ops.expand_dims` on a string Input) is probed with bytes standing in
    for the text; a Sequential whose first layer takes text (StringLookup, Hashing...) traces its
    layers on a string input of that shape, as Keras builds it, and gives that trace's outputs;
    a functional model gives the outputs its graph recorded. None for anything else."""
    if getattr(getattr(layer, "fn", None), "moves_text", False) and args:
        first = flatten_symbolic(args[:1])
        if first and first[0].dtype == "string":
            stand_in = map_tensors(lambda t: KerasTensor(t.shape, "uint8"), args[0])
            spec = infer_outputs(layer, (stand_in, *args[1:]), kwargs)
            return _map_specs(lambda leaf: OutputSpec(leaf.shape, "string"), spec)
    trace = getattr(layer, "_trace_symbolic", None)
    graph = getattr(layer, "_graph", None)
    if (trace is None and graph is None) or len(args) != 1 or set(kwargs) - {"training", "mask"}:
        return None
    if not any(t.dtype == "string" for t in flatten_symbolic(args[0])):
        return None
    if trace is None:  # a functional model (a preprocessing head) on its own string Inputs
        return _graph_spec(layer, args, kwargs)
    outputs = trace(args[0])
    return None if outputs is None else tree.map_structure(_output_spec, outputs)


def _output_spec(output: KerasTensor) -> OutputSpec:
    mask = output._keras_mask
    mask = mask.shape if isinstance(mask, KerasTensor) else None
    return OutputSpec(tuple(output.shape), backend.to_torch_dtype(output.dtype), mask)


def _graph_spec(layer, args, kwargs):
    """A functional model's outputs as its graph recorded them, when it is called on inputs of
    its own inputs' shapes: a probe size cannot stand for the batch inside it when one of its
    layers reshapes by groups of the batch (a minibatch-std layer), where that layer's own
    `compute_output_shape` gave the graph its shapes. None for anything else."""
    graph = getattr(layer, "_graph", None)
    if graph is None or len(args) != 1 or set(kwargs) - {"training", "mask"}:
        return None
    given = flatten_symbolic(args[0])
    if len(given) != len(graph.flat_inputs):
        return None
    for tensor, expected in zip(given, graph.flat_inputs, strict=True):
        if len(tensor.shape) != len(expected.shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(tensor.shape, expected.shape, strict=True)
        ):
            return None

    return tree.map_structure(_output_spec, graph.outputs)


def call_host_layer_on_symbolic(layer, inputs, dtype):
    """`layer(keras_tensor)` for a layer that computes on host values (strings, Python ints:
    StringLookup, Hashing, TextVectorization) rather than on tensors.

    Meta tensors cannot hold strings, so such a layer cannot be probed: its output shape is the
    one its own `compute_output_shape` states for the input's, and `dtype` (a torch dtype, or
    "string") is what its call returns. The node records the call, and the functional model
    replays it on the real values, which it hands over untouched where the `Input` is a string.

    Args:
        layer: the host-value layer, whose `__call__` met a `KerasTensor`.
        inputs: that `KerasTensor`, or a tuple or list of them (HashedCrossing's features).
        dtype: the dtype of the layer's output.

    Example:
        >>> lookup = lamina.layers.StringLookup(vocabulary=["a", "b"])
        >>> ids = call_host_layer_on_symbolic(lookup, lamina.Input((1,), dtype="string"), "int64")
        >>> ids.shape, ids.dtype
        ((None, 1), 'int64')
    """
    shape = tuple(layer.compute_output_shape(map_tensors(lambda t: t.shape, inputs)))
    return call_on_symbolic(layer, (inputs,), {}, spec=OutputSpec(shape, dtype))


def _constants_detached(structure):
    """Concrete tensors computed eagerly (with autograd history, e.g. `embedding(ops.arange(3))`)
    that a graph captures are constants, as in Keras on TensorFlow: replaying them with their
    history would backpropagate into a graph freed after the first step. Weights (leaves) stay."""
    return tree.map_structure(
        lambda x: x.detach() if isinstance(x, torch.Tensor) and x.grad_fn is not None else x,
        structure,
    )


def _inferred_spec(layer, args, kwargs):
    """The output spec of `layer(*args, **kwargs)` on symbolic arguments, or the house
    ValueError naming the layer and the input's shape."""
    try:
        with scopes.SymbolicScope():
            return _infer_spec(layer, args, kwargs)
    except ValueError:
        raise
    except (RuntimeError, TypeError, IndexError) as failure:
        shapes = map_tensors(lambda t: t.shape, args[0] if len(args) == 1 else list(args))
        raise ValueError(
            f"{errors.describe(layer)} could not be applied to an input of shape {shapes}: "
            f"{failure}"
        ) from failure


def output_spec(layer, args, kwargs):
    """Keras's `layer.compute_output_spec(*args, **kwargs)`: the outputs as `KerasTensor`s
    (shape with None for unknown sizes, dtype), inferred as a symbolic call infers them, with no
    node recorded and no real computation. Real tensors among the arguments stand for their
    shape and dtype.

    Args:
        layer: the layer (built on the way if it is not yet).
        args: the positional arguments of the call.
        kwargs: its keyword arguments.

    Example:
        >>> spec = output_spec(lamina.layers.Dense(3), (KerasTensor((None, 4)),), {})
        >>> spec.shape, spec.dtype
        ((None, 3), 'float32')
    """

    def symbolic(value):
        if isinstance(value, torch.Tensor):
            return KerasTensor(tuple(value.shape), backend.dtype_name(value.dtype))
        return value

    args, kwargs = tree.map_structure(symbolic, (tuple(args), dict(kwargs)))
    spec = _inferred_spec(layer, args, kwargs)
    return _map_specs(lambda leaf: KerasTensor(leaf.shape, leaf.dtype), spec)


def call_on_symbolic(layer, args, kwargs, spec=None):
    """`layer(keras_tensor)`: build, infer the output, record a Node, return symbolic outputs.

    `spec` (a structure of `OutputSpec`s), when the caller knows the output already, skips the
    inference (an `Operation` with its own `compute_output_spec`).
    """
    given_spec = spec is not None
    if (
        getattr(layer, "warns_of_dropped_masks", False)
        and not layer.supports_masking
        and any(t._keras_mask is not None for t in flatten_symbolic(args[:1]))
    ):
        errors.warn_mask_dropped(layer)  # as Keras, at a symbolic call too
    if spec is None:
        spec = _inferred_spec(layer, args, kwargs)
    outputs = _map_specs(lambda leaf: KerasTensor(leaf.shape, leaf.dtype), spec)
    node = Node(layer, _constants_detached(args), _constants_detached(kwargs), outputs)
    # Numbered in flatten_symbolic's order, which serialization reads them back by.
    for index, tensor in enumerate(flatten_symbolic(outputs)):
        tensor.node, tensor.index, tensor.name = node, index, f"{layer.name}/out{index}"
    # The masks the outputs will carry at run time (recomputed then): symbolic boolean tensors of
    # the shape the probe gave them, as Keras's `_keras_mask`; True where the shape is unknown.
    leaves = [leaf for leaf in tree.flatten(spec) if isinstance(leaf, OutputSpec)]
    for leaf, tensor in zip(leaves, flatten_symbolic(outputs), strict=False):
        if leaf.mask is True:
            tensor._keras_mask = True
        elif leaf.mask is not None:
            mask = KerasTensor(leaf.mask, "bool", name=f"{tensor.name}/mask")
            # Read back from `tensor` when a graph uses the mask itself (a model output, as in
            # Keras, where the mask is the output of the ops compute_mask ran): symbolic.py.
            mask._mask_of = tensor
            tensor._keras_mask = mask
    if given_spec:
        first_input = flatten_symbolic(args[:1])
        input_mask = first_input[0]._keras_mask if first_input else None
        if layer.supports_masking and (layer._computes_mask or input_mask is not None):
            for tensor in flatten_symbolic(outputs):
                tensor._keras_mask = True
    layer._inbound_nodes.append(node)
    # The caller gets its own containers: `x = backbone(inputs); x[-1] = head(x[-1])` rebinds an
    # item of the caller's list and must leave the node's outputs (the graph) as they were.
    return tree.map_structure(lambda tensor: tensor, outputs)
