"""Symbolic tensors (`Input`), graph nodes, and output-shape inference on the meta device.

Calling a layer on a `KerasTensor` builds the layer from the symbolic shape, runs its `call` on meta
tensors (shapes only: no memory, no compute) to learn the output shape, and records a `Node` that
the functional model later replays on real data. Unknown (`None`) dimensions are probed with two
different sizes; the output dimensions that differ between the two runs are unknown too. Where a
probe size cannot stand for an unknown size (it must equal a known one), a layer that defines its
own `compute_output_shape` (the merges) gives its shape by that rule instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import operator

import torch

from lamina import backend, tree
from lamina.engine import errors, naming, scopes
from lamina.engine import layer as layer_module

# Two sizes for unknown dimensions: output dims that differ between the two runs are `None`.
_PROBE_SIZES = (83, 89)


class KerasTensor:
    """A symbolic tensor: a shape (`None` for unknown sizes), a dtype and where it came from.

    `Input()` and layer calls on symbolic tensors return these; no data flows, only shapes and
    the graph, which `Model(inputs, outputs)` turns into a model. Arithmetic (`+`, `*`, ...)
    on them records an operation too.

    Args:
        shape: tuple of ints or None, the batch axis first.
        dtype: the dtype's name (default "float32"); a torch dtype is converted to its name.
        node: keyword-only, the graph node that produced the tensor (default None: none yet).
        index: keyword-only, which output of that node it is (default 0).
        name: keyword-only, a name for messages and summaries (default None).

    Example:
        >>> x = lamina.Input(shape=(4,))
        >>> x.shape, x.dtype, x.ndim
        ((None, 4), 'float32', 2)
        >>> y = lamina.layers.Dense(3)(x * 2.0)
        >>> isinstance(y, KerasTensor), y.shape
        (True, (None, 3))
    """

    def __init__(self, shape, dtype="float32", *, node=None, index=0, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype if isinstance(dtype, str) else backend.dtype_name(dtype)
        self.node = node
        self.index = index
        self.name = name
        self._keras_mask = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no len(); use .shape instead.")

    # Arithmetic on symbolic tensors records an operation node, as in Keras's functional API.
    def __add__(self, other):
        return apply_op(operator.add, self, other, name="add")

    def __radd__(self, other):
        return apply_op(operator.add, other, self, name="add")

    def __sub__(self, other):
        return apply_op(operator.sub, self, other, name="subtract")

    def __rsub__(self, other):
        return apply_op(operator.sub, other, self, name="subtract")

    def __mul__(self, other):
        return apply_op(operator.mul, self, other, name="multiply")

    def __rmul__(self, other):
        return apply_op(operator.mul, other, self, name="multiply")

    def __truediv__(self, other):
        return apply_op(operator.truediv, self, other, name="divide")

    def __rtruediv__(self, other):
        return apply_op(operator.truediv, other, self, name="divide")

    def __neg__(self):
        return apply_op(operator.neg, self, name="negative")

    def __pow__(self, other):
        return apply_op(operator.pow, self, other, name="power")

    def __matmul__(self, other):
        return apply_op(operator.matmul, self, other, name="matmul")

    def __getitem__(self, key):
        return apply_op(_getitem, self, key, name="get_item")


def _getitem(x, key):
    return x[key]


class Node:
    """One call of a layer on symbolic inputs: its arguments and its symbolic outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = args[0] if args else None
        self.output_tensors = outputs

    @property
    def parent_tensors(self) -> list[KerasTensor]:
        return flatten_symbolic((self.args, self.kwargs))

    @property
    def input_shapes(self):
        return _map_tensors(lambda t: t.shape, self.input_tensors)

    @property
    def output_shapes(self):
        return _map_tensors(lambda t: t.shape, self.outputs)


# --------------------------------------------------------------------------------------------------
# Input


def _checked_batch_shape(batch_shape, argument: str) -> tuple:
    """Sizes are positive integers or None (unknown); -1 is NumPy's spelling, not Keras's."""
    batch_shape = tuple(batch_shape)
    for size in batch_shape:
        integral = isinstance(size, numbers.Integral) and not isinstance(size, bool)
        if size is not None and (not integral or size < 1):
            raise errors.value_error(
                "Input()",
                f"`{argument}` sizes that are positive integers or None",
                f"{argument}={batch_shape if argument == 'batch_shape' else batch_shape[1:]}",
                "use None, not -1 or 0, for a size that varies from batch to batch.",
            )
    return tuple(None if size is None else int(size) for size in batch_shape)


class InputLayer(layer_module.Layer):
    """The layer behind `Input()`: it holds the shape and passes data through.

    Usually made by `Input()`; a Sequential may also start with one.

    Args:
        shape: shape of one sample, without the batch axis (an int for rank 1); needed unless
            `batch_shape` is given.
        batch_size: the fixed batch size (default None: any).
        dtype: the input's dtype (default None: "float32").
        name: the layer's name (default `input_layer` plus a counter).
        batch_shape: the full shape with the batch axis first, instead of `shape` and
            `batch_size`.
        sparse, ragged: accepted for Keras compatibility (default False); lamina's inputs are
            dense tensors.
        **kwargs: base layer arguments, see `Layer`.

    Example:
        >>> layer = InputLayer(shape=(28, 28, 1))
        >>> layer.batch_shape, layer.output_tensor.shape
        ((None, 28, 28, 1), (None, 28, 28, 1))
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        name=None,
        batch_shape=None,
        sparse=False,
        ragged=False,
        **kwargs,
    ):
        if name is None:
            name = naming.unique_name("input_layer")
        super().__init__(name=name, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    "Input() needs shape= (one sample's shape, without the batch axis)."
                )
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        self.batch_shape = _checked_batch_shape(
            batch_shape, "shape" if shape is not None else "batch_shape"
        )
        self.input_dtype = (
            "float32"
            if dtype is None
            else (
                dtype
                if isinstance(dtype, str)
                else backend.dtype_name(backend.to_torch_dtype(dtype))
            )
        )
        self.built = True
        self._build_input_shape = self.batch_shape
        self.output_tensor = KerasTensor(self.batch_shape, self.input_dtype, name=self.name)
        self.output_tensor.node = Node(self, (), {}, self.output_tensor)
        self._inbound_nodes.append(self.output_tensor.node)

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.input_dtype, "name": self.name}

    @classmethod
    def from_config(cls, config):
        # Layer.from_config drops batch_shape (a Keras 2 key for other layers); here it is the
        # shape.
        return cls(**config)


def Input(
    shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs
) -> KerasTensor:
    """A symbolic input: `Input(shape=(28, 28, 1))` stands for a batch of (28, 28, 1) samples.

    Args:
        shape: shape of one sample, without the batch axis (an int for rank 1); needed unless
            `batch_shape` is given.
        batch_size: the fixed batch size (default None: any).
        dtype: the input's dtype (default None: "float32").
        name: the input's name (default `input_layer` plus a counter); a functional model's
            dict inputs are keyed by it.
        batch_shape: the full shape with the batch axis first, instead of `shape` and
            `batch_size`.
        **kwargs: passed to `InputLayer` (`sparse`, `ragged`, accepted for Keras compatibility).

    Returns:
        The `KerasTensor` output of a new `InputLayer`.

    Example:
        >>> Input(shape=(28, 28, 1)).shape
        (None, 28, 28, 1)
        >>> x = Input(batch_shape=(8, 3), dtype="int32")
        >>> x.shape, x.dtype
        ((8, 3), 'int32')
    """
    return InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        name=name,
        batch_shape=batch_shape,
        **kwargs,
    ).output_tensor


# --------------------------------------------------------------------------------------------------
# Calling layers on symbolic tensors


def flatten_symbolic(structure) -> list[KerasTensor]:
    """The KerasTensors of a nested structure, a dict's values by sorted key as in Keras.

    So `model.inputs` of `Model({"b": ..., "a": ...}, ...)` is `[a, b]`, and the trainer pairs a
    dict of outputs with a list of losses in that order too (`data_adapter.flatten` is the same).
    """
    if isinstance(structure, KerasTensor):
        return [structure]
    return [leaf for leaf in tree.flatten(structure) if isinstance(leaf, KerasTensor)]


def any_symbolic(args, kwargs) -> bool:
    return bool(flatten_symbolic(args)) or bool(flatten_symbolic(kwargs))


def _map_tensors(fn, structure):
    """Apply fn to every KerasTensor in a structure, keep other leaves."""
    return tree.map_structure(lambda x: fn(x) if isinstance(x, KerasTensor) else x, structure)


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """What shape inference learns about one output tensor: its shape (None where unknown) and
    its torch dtype. A leaf to `lamina.tree`, unlike a (shape, dtype) tuple."""

    shape: tuple
    dtype: torch.dtype


def _map_specs(fn, spec):
    return tree.map_structure(lambda x: fn(x) if isinstance(x, OutputSpec) else x, spec)


def _probe_shape(shape, probe: int):
    return tuple(probe if d is None else d for d in shape)


def _meta_tensor(symbolic: KerasTensor, probe: int, device="meta") -> torch.Tensor:
    dtype = backend.to_torch_dtype(symbolic.dtype)
    shape = _probe_shape(symbolic.shape, probe)
    if device == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    return torch.zeros(shape, dtype=dtype, device=device)


def meta_call(layer, args, kwargs):
    """Run `layer` with meta copies of its parameters and buffers (real ones stay untouched)."""
    state = {name: torch.empty_like(t, device="meta") for name, t in layer.named_parameters()}
    state.update({name: torch.empty_like(t, device="meta") for name, t in layer.named_buffers()})
    with _real_state_kept(layer):
        return torch.func.functional_call(layer, state, args, kwargs, strict=False)


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


def _run_probe(layer, args, kwargs, probe: int, device):
    concrete_args = _map_tensors(lambda t: _meta_tensor(t, probe, device), args)
    concrete_kwargs = _map_tensors(lambda t: _meta_tensor(t, probe, device), kwargs)
    first = layer_module.first_tensor(concrete_args)
    if first is not None and not layer.built:
        with torch.device(backend.default_device()):
            layer.build_from_shape(_map_tensors(lambda t: t.shape, args[0]) if args else None)
    if device == "meta":
        with layer_module.meta_inference(), torch.device("meta"):
            return meta_call(layer, concrete_args, concrete_kwargs)
    # A probe on real zeros: its activity penalties are no loss of the model's.
    losses = {m: m._activity_losses for m in layer.modules() if isinstance(m, layer_module.Layer)}
    try:
        with torch.no_grad():
            return layer(*concrete_args, **concrete_kwargs)
    finally:
        for module, kept in losses.items():
            module._activity_losses = kept


def infer_outputs(layer, args, kwargs):
    """Output structure of `layer(*args, **kwargs)` as (shape-with-None, dtype) leaves."""
    runs = []
    for probe in _PROBE_SIZES:
        try:
            runs.append(_run_probe(layer, args, kwargs, probe, "meta"))
        except (NotImplementedError, RuntimeError) as failure:
            if "meta" not in str(failure).lower() and not isinstance(failure, NotImplementedError):
                raise
            # An op without a meta kernel: probe on real (small) zero tensors instead.
            runs.append(_run_probe(layer, args, kwargs, probe, backend.default_device()))

    def merge(a, b):
        if isinstance(a, torch.Tensor):
            return OutputSpec(
                tuple(x if x == y else None for x, y in zip(a.shape, b.shape, strict=True)), a.dtype
            )
        return a

    return tree.map_structure(merge, *runs)


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
    if set(kwargs) - {"training", "mask"}:
        return None
    if not layer.built:
        with torch.device(backend.default_device()):
            layer.build_from_shape(args[0].shape)
    return OutputSpec(args[0].shape, backend.to_torch_dtype(args[0].dtype))


def _stated_shape(layer, args, kwargs):
    """The output spec from the layer's own `compute_output_shape`, or None if it has none.

    A probe size stands for every unknown size, so it fails where an unknown size must equal a known
    one (`Add` on `(None, None, 3)` and `(None, 5, 1)`: 83 meets 5). A layer that states its shape
    rule on symbolic shapes, as Keras's layers do, is then taken at its word; the dtype is its first
    input's.
    """
    stated = type(layer).compute_output_shape is not layer_module.Layer.compute_output_shape
    if not stated or len(args) != 1 or set(kwargs) - {"training", "mask"}:
        return None
    shapes = _map_tensors(lambda t: t.shape, args[0])
    if not layer.built:
        with torch.device(backend.default_device()):
            layer.build_from_shape(shapes)
    dtype = backend.to_torch_dtype(flatten_symbolic(args[0])[0].dtype)
    return OutputSpec(tuple(layer.compute_output_shape(shapes)), dtype)


def _infer_spec(layer, args, kwargs):
    spec = _shape_preserved(layer, args, kwargs)
    if spec is not None:
        return spec
    try:
        return infer_outputs(layer, args, kwargs)
    except (ValueError, RuntimeError):
        spec = _stated_shape(layer, args, kwargs)
        if spec is None:
            raise
        return spec


def call_on_symbolic(layer, args, kwargs, spec=None):
    """`layer(keras_tensor)`: build, infer the output, record a Node, return symbolic outputs.

    `spec` (a structure of `OutputSpec`s), when the caller knows the output already, skips the
    inference (an `Operation` with its own `compute_output_spec`).
    """
    try:
        if spec is None:
            with scopes.SymbolicScope():
                spec = _infer_spec(layer, args, kwargs)
    except ValueError:
        raise
    except (RuntimeError, TypeError, IndexError) as failure:
        shapes = _map_tensors(lambda t: t.shape, args[0] if len(args) == 1 else list(args))
        raise ValueError(
            f"{errors.describe(layer)} could not be applied to an input of shape {shapes}: "
            f"{failure}"
        ) from failure

    outputs = _map_specs(lambda leaf: KerasTensor(leaf.shape, leaf.dtype), spec)
    node = Node(layer, args, kwargs, outputs)
    # Numbered in flatten_symbolic's order, which serialization reads them back by.
    for index, tensor in enumerate(flatten_symbolic(outputs)):
        tensor.node, tensor.index, tensor.name = node, index, f"{layer.name}/out{index}"
    first_input = flatten_symbolic(args[:1])
    input_mask = first_input[0]._keras_mask if first_input else None
    if layer._computes_mask or (layer.supports_masking and input_mask is not None):
        # A mask is tracked symbolically as a flag: the real mask is recomputed at run time.
        for tensor in flatten_symbolic(outputs):
            tensor._keras_mask = True
    layer._inbound_nodes.append(node)
    return outputs


# --------------------------------------------------------------------------------------------------
# Operations on symbolic tensors (x + y, ops.* on KerasTensors)


class OpLayer(layer_module.Layer):
    """A torch function applied inside a functional graph (`x + y`, `ops.mean(x)`)."""

    def __init__(self, fn, name="op", **kwargs):
        super().__init__(name=naming.unique_name(name), **kwargs)
        self.fn = fn
        self.built = True

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def apply_op(fn, *args, name="op", **kwargs):
    """Apply `fn` to arguments that may include KerasTensors: record a node, or compute directly."""
    if not any_symbolic(args, kwargs):
        return fn(*args, **kwargs)
    op = OpLayer(fn, name=name)
    return call_on_symbolic(op, args, kwargs)
