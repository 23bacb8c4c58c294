"""`Input` and the layers of a functional graph that are not the user's: `InputLayer`, and the
`OpLayer` that records an operation on symbolic tensors (`x + y`, `ops.mean(x)`).

The symbolic tensors themselves live in `keras_tensor.py` and the shape inference of a symbolic
call in `shape_inference.py`; their names are re-exported here, where lamina has always kept them.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import operator
import warnings

import numpy as np
import torch

from lamina import backend, tree
from lamina.engine import errors, keras_tensor, naming
from lamina.engine import layer as layer_module
from lamina.engine.keras_tensor import KerasTensor, Node, any_symbolic, flatten_symbolic
from lamina.engine.shape_inference import (
    OutputSpec,
    call_on_symbolic,
    infer_output_shape,
    infer_outputs,
    meta_call,
)

__all__ = [
    "Input",
    "InputLayer",
    "KerasTensor",
    "Node",
    "OpLayer",
    "OutputSpec",
    "any_symbolic",
    "apply_op",
    "call_on_symbolic",
    "flatten_symbolic",
    "infer_output_shape",
    "infer_outputs",
    "meta_call",
    "operation_layer_from_entry",
    "register_operation",
]

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
        dtype: the input's dtype (default None: `backend.floatx()`, "float32" unless set).
        name: the layer's name (default `input_layer` plus a counter).
        batch_shape: the full shape with the batch axis first, instead of `shape` and
            `batch_size`.
        sparse, ragged: Keras's flags for sparse and ragged inputs (default False); lamina's
            inputs are dense tensors, so True raises, as Keras on torch does.
        optional: whether the input may be None, as Keras's (default False).
        input_tensor: an existing `KerasTensor` to make this layer's output (Keras's
            argument): its shape and dtype are the input's, and a graph traced from it now
            starts here. `shape`, `batch_size`, `batch_shape` and `dtype`, when also given,
            must agree with it.
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
        optional=False,
        input_tensor=None,
        **kwargs,
    ):
        for flag, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise errors.value_error(
                    f"InputLayer '{name or 'input_layer'}'",
                    f"{flag}=False (lamina's tensors are dense torch tensors)",
                    f"{flag}=True",
                    "feed dense tensors; Keras on the torch backend refuses it too.",
                )
        if name is None:
            name = naming.unique_name("input_layer")
        if "input_shape" in kwargs:  # Keras 2's name, which Keras 3 still takes, warning
            warnings.warn(
                "Argument `input_shape` is deprecated. Use `shape` instead.", stacklevel=2
            )
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, **kwargs)
        for argument, value in (("shape", shape), ("batch_size", batch_size)):
            if batch_shape is not None and value is not None:
                raise errors.value_error(
                    f"InputLayer '{name}'",
                    "either batch_shape= or shape= (with batch_size=), not both",
                    f"batch_shape={tuple(batch_shape)!r} and {argument}={value!r}",
                    "batch_shape holds the batch size and the sample's shape together.",
                )
        if input_tensor is not None:
            batch_shape, dtype = _adopted_shape(
                input_tensor, shape, batch_size, batch_shape, dtype, name
            )
            shape = None
        if batch_shape is None:
            if shape is None:
                raise errors.value_error(
                    f"InputLayer '{name}'",
                    "shape= (one sample's shape, without the batch axis) or batch_shape=",
                    "neither",
                    "write Input(shape=(28, 28, 1)) or InputLayer(shape=(28, 28, 1)).",
                )
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        self.batch_shape = _checked_batch_shape(
            batch_shape, "shape" if shape is not None else "batch_shape"
        )
        self._declared_dtype = (
            backend.floatx()  # Keras's default, which set_floatx changes
            if dtype is None
            else (
                dtype
                if isinstance(dtype, str)
                else backend.dtype_name(backend.to_torch_dtype(dtype))
            )
        )
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.optional = optional
        self.built = True
        self._build_input_shape = self.batch_shape
        if input_tensor is None:
            input_tensor = KerasTensor(self.batch_shape, self._declared_dtype, name=self.name)
        self.output_tensor = input_tensor
        self.output_tensor.node = Node(self, (), {}, self.output_tensor)
        self._inbound_nodes.append(self.output_tensor.node)

    def call(self, inputs):
        return inputs

    @property
    def output_shape(self) -> list[tuple]:
        """tf.keras's answer, a one-item list (`[(None, 64, 64, 3)]`), as the summary prints it:
        Keras 3 dropped `output_shape`, and code that still reads it was written against
        tf.keras (course graders compare these rows as they were)."""
        return [tuple(self.batch_shape)]

    def get_config(self):
        return {
            "batch_shape": self.batch_shape,
            "dtype": self._declared_dtype,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "name": self.name,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config):
        # Layer.from_config drops batch_shape (a Keras 2 key for other layers); here it is the
        # shape.
        return cls(**config)


def _adopted_shape(tensor, shape, batch_size, batch_shape, dtype, name):
    """The batch shape and dtype of the KerasTensor an InputLayer adopts, after checking that
    the arguments also given agree with it (as Keras checks them)."""
    where = f"InputLayer '{name}'"
    if not isinstance(tensor, KerasTensor):
        raise errors.value_error(
            where,
            "input_tensor as a KerasTensor (a symbolic tensor, e.g. from Input())",
            f"{type(tensor).__name__}",
            "pass a concrete array to the model's call instead, or wrap Input(shape=...).",
        )
    own = tuple(tensor.shape)
    if shape is not None:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
    mismatches = [
        f"{argument}={value!r}"
        for argument, value, fits in (
            ("shape", shape, shape is None or shape == own[1:]),
            ("batch_size", batch_size, batch_size is None or batch_size == own[0]),
            ("batch_shape", batch_shape, batch_shape is None or tuple(batch_shape) == own),
            ("dtype", dtype, dtype is None or backend.standardize_dtype(dtype) == tensor.dtype),
        )
        if not fits
    ]
    if mismatches:
        raise errors.value_error(
            where,
            f"arguments that agree with input_tensor (batch shape {own}, dtype {tensor.dtype})",
            ", ".join(mismatches),
            "leave them out: the tensor gives the shape and dtype.",
        )
    return own, tensor.dtype


def Input(
    shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, tensor=None, **kwargs
) -> KerasTensor:
    """A symbolic input: `Input(shape=(28, 28, 1))` stands for a batch of (28, 28, 1) samples.

    Args:
        shape: shape of one sample, without the batch axis (an int for rank 1); needed unless
            `batch_shape` is given.
        batch_size: the fixed batch size (default None: any).
        dtype: the input's dtype (default None: `backend.floatx()`, "float32" unless set).
        name: the input's name (default `input_layer` plus a counter); a functional model's
            dict inputs are keyed by it.
        batch_shape: the full shape with the batch axis first, instead of `shape` and
            `batch_size`.
        tensor: an existing `KerasTensor` to wrap (Keras's argument): returned itself, made
            the output of the new `InputLayer`.
        **kwargs: passed to `InputLayer` (`optional`; `sparse` and `ragged`, which raise if True).

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
        input_tensor=tensor,
        **kwargs,
    ).output_tensor


# --------------------------------------------------------------------------------------------------
# Operations on symbolic tensors (x + y, ops.* on KerasTensors)


# The public ops by name (`lamina.ops.multiply` under "multiply"), as lamina.ops registers them.
_PUBLIC_OPS: dict[str, object] = {}


def _arithmetic(python_operator, name: str):
    """`python_operator` (`x * y`, as a graph records it), except where an operand is a NumPy
    constant (`x * np.array([...])`, as Keras saves it too): torch leaves `tensor * array` to
    NumPy, which cannot read a meta tensor (shape inference) or one that needs grad (training),
    so that call is the public op `lamina.ops.<name>`, which takes arrays with Keras's dtype
    rules."""

    def apply(*operands):
        if any(isinstance(o, (np.ndarray, np.generic)) for o in operands):
            return _PUBLIC_OPS[name](*operands)
        return python_operator(*operands)

    apply.__name__ = apply.__qualname__ = name
    return apply


# The operations a functional graph can record, by name (`add`, `mean`, ...): lamina.ops registers
# each public op here, so a saved graph's operation nodes are rebuilt by name, never from code.
_OPERATIONS: dict[str, object] = {
    "add": _arithmetic(operator.add, "add"),
    "subtract": _arithmetic(operator.sub, "subtract"),
    "multiply": _arithmetic(operator.mul, "multiply"),
    "divide": _arithmetic(operator.truediv, "divide"),
    "true_divide": _arithmetic(operator.truediv, "divide"),  # lamina.ops.true_divide is divide
    "negative": operator.neg,
    "get_item": keras_tensor.get_item,
}
_OPERATION_ARGUMENTS = ("name", "trainable", "dtype")


def _keras_mask(x):
    """The mask `x` carries at run time (all True where it carries none): the computation of a
    symbolic mask (`x._keras_mask`) that a graph uses as a tensor of its own."""
    mask = getattr(x, "_keras_mask", None)
    if mask is None:
        return torch.ones(x.shape[:-1], dtype=torch.bool, device=x.device)
    return mask


_OPERATIONS["keras_mask"] = _keras_mask


def record_mask_node(mask: KerasTensor) -> bool:
    """Give a layer output's symbolic mask (`x._keras_mask`) a node that reads it from `x`, so
    that a graph may use it (`Model(inputs, [x, x._keras_mask])`); False for a tensor that is no
    such mask. Done when a graph first meets the mask, so the masks no graph uses cost nothing."""
    owner = getattr(mask, "_mask_of", None)
    if owner is None or mask.node is not None:
        return False
    op = OpLayer(_keras_mask, name="keras_mask", operation="keras_mask")
    node = Node(op, (owner,), {}, mask)
    mask.node, mask.index = node, 0
    op._inbound_nodes.append(node)
    return True


def register_operation(name: str, fn) -> None:
    """Make `fn` the operation a saved graph's `name` node (Keras class `Name`) is rebuilt with.

    The first registration of a name stands: the graph's own operations (`x + y`, `x[key]`,
    whose saved list key is a tuple of indices, as in Keras) come before lamina.ops's.

    Args:
        name: the operation's snake-case name, as `lamina.ops` spells it (`add`, `mean`).
        fn: the function that computes it on tensors and KerasTensors.

    Example:
        >>> register_operation("add", operator.add)
    """
    _OPERATIONS.setdefault(name, fn)
    _PUBLIC_OPS.setdefault(name, fn)


def operation_layer_from_entry(entry: dict):
    """The `OpLayer` for a saved operation node (`{"class_name": "Add", "config": {...}}`, as
    Keras writes `x + y`), or None when no operation has that name. Keras keeps an operation's
    static arguments (`Mean`'s `axis`) in its config: they are bound as keyword arguments."""
    operation = naming.to_snake_case(str(entry.get("class_name", "")))
    fn = _OPERATIONS.get(operation)
    if fn is None:
        return None
    config = dict(entry.get("config") or {})
    static = {k: v for k, v in config.items() if k not in _OPERATION_ARGUMENTS}
    bound = functools.partial(fn, **static) if static else fn
    layer = OpLayer(bound, name=operation, operation=operation)
    layer.name = config.get("name") or layer.name  # the saved name, as Keras keeps it
    return layer


class OpLayer(layer_module.Layer):
    """A torch function applied inside a functional graph (`x + y`, `ops.mean(x)`).

    Saved as Keras saves the operation (`class_name` "Add", "Mean"), and rebuilt by its name
    (`operation`) from the operations lamina.ops registers."""

    takes_non_tensor_positional_args = True  # ops.reshape(x, (-1, 3)): shapes and axes
    casts_float_inputs = False  # Keras's ops keep their inputs' dtypes (float16 + 2 is float16)
    warns_of_dropped_masks = False  # Keras's operations are no layers: they never warn

    def __init__(self, fn, name="op", operation=None, **kwargs):
        super().__init__(name=naming.unique_name(name), **kwargs)
        self.op_name = name
        self.fn = fn
        self.operation = operation or name
        self.built = True

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    @property
    def keras_class_name(self) -> str:
        """Keras's class for the operation (`add` -> `Add`), in saved configs and summary()."""
        return "".join(part.title() for part in self.operation.split("_"))

    def get_config(self):
        return {"name": self.name}


def _first_argument_positional(fn, kwargs):
    """`((kwargs[first],), rest)` where `fn`'s first parameter was passed by keyword."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return (), kwargs
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not parameters or parameters[0].kind not in positional or parameters[0].name not in kwargs:
        return (), kwargs
    rest = dict(kwargs)
    return (rest.pop(parameters[0].name),), rest


def apply_op(fn, *args, name="op", shape_rule=None, **kwargs):
    """Apply `fn` to arguments that may include KerasTensors: record a node, or compute directly.

    `shape_rule(*args, **kwargs)`, when given, states the output shape from the symbolic inputs
    (None: probe as usual), for an op whose shape a probe size cannot stand in for (a reshape
    with -1 over an unknown batch); the output keeps the first input's dtype. A rule may instead
    give the whole output spec, a structure of `OutputSpec`s (several outputs, or sizes that
    depend on the data, as `nonzero`'s)."""
    if not any_symbolic(args, kwargs):
        return fn(*args, **kwargs)
    if not args:  # `ops.add(x1=a, x2=b)`: the node takes its first input positionally
        args, kwargs = _first_argument_positional(fn, kwargs)
    op = OpLayer(fn, name=name, operation=name)
    shape = None if shape_rule is None else shape_rule(*args, **kwargs)
    if shape is None:
        return call_on_symbolic(op, args, kwargs)
    if any(isinstance(leaf, OutputSpec) for leaf in tree.flatten(shape)):
        return call_on_symbolic(op, args, kwargs, spec=shape)
    dtype = flatten_symbolic((args, kwargs))[0].dtype
    dtype = dtype if dtype == "string" else backend.to_torch_dtype(dtype)
    return call_on_symbolic(op, args, kwargs, spec=OutputSpec(tuple(shape), dtype))


keras_tensor.record_operations_with(apply_op, _OPERATIONS)
