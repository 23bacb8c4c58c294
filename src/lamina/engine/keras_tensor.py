"""Symbolic tensors and the graph nodes that link them: `KerasTensor`, `Node`.

A `KerasTensor` stands for a batch of data by its shape (`None` for unknown sizes) and dtype; the
`Node` it came from records which layer was called on which symbolic inputs. Arithmetic on symbolic
tensors (`x + y`, `x[0]`) records an operation node whose layer (an `OpLayer`) is a `Layer`, built
above this module: `engine/symbolic.py` registers how operations are recorded
(`record_operations_with`) as it is imported, as the modules above the backend register their
resets with `backend.on_clear_session`.
"""

from __future__ import annotations

import operator

from lamina import tree
from lamina.dtypes import dtype_name

# How an operation on KerasTensors is recorded: `symbolic.apply_op`, registered by symbolic.py
# (which `import lamina` always loads, and with it `Input`, the only way to a first KerasTensor).
_operation_recorder = None


def record_operations_with(apply_op) -> None:
    """Have arithmetic on KerasTensors call `apply_op(fn, *args, name=...)` to record a node.

    Args:
        apply_op: a callable taking the torch function, its arguments and `name=`.

    Example:
        >>> record_operations_with(symbolic.apply_op)  # doctest: +SKIP
    """
    global _operation_recorder
    _operation_recorder = apply_op


def record_operation(fn, *args, name, **kwargs):
    """Record `fn(*args, **kwargs)` as a node of the functional graph (for modules below `ops`
    whose functions Keras lets a user apply to KerasTensors, such as `activations`).

    Args:
        fn: the torch function the node computes.
        *args: its arguments, some of them KerasTensors.
        name: the node's name.
        **kwargs: its keyword arguments.

    Returns:
        The KerasTensor (or structure of them) `fn` returns, shapes inferred on the meta device.

    Example:
        >>> record_operation(torch.relu, keras_input, name="relu")  # doctest: +SKIP
    """
    return _operation_recorder(fn, *args, name=name, **kwargs)


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
        self.dtype = dtype if isinstance(dtype, str) else dtype_name(dtype)
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
        return record_operation(operator.add, self, other, name="add")

    def __radd__(self, other):
        return record_operation(operator.add, other, self, name="add")

    def __sub__(self, other):
        return record_operation(operator.sub, self, other, name="subtract")

    def __rsub__(self, other):
        return record_operation(operator.sub, other, self, name="subtract")

    def __mul__(self, other):
        return record_operation(operator.mul, self, other, name="multiply")

    def __rmul__(self, other):
        return record_operation(operator.mul, other, self, name="multiply")

    # Keras's `/` is `ops.true_divide`: its node is "true_divide" (TrueDivide), not "divide".
    def __truediv__(self, other):
        return record_operation(operator.truediv, self, other, name="true_divide")

    def __rtruediv__(self, other):
        return record_operation(operator.truediv, other, self, name="true_divide")

    def __neg__(self):
        return record_operation(operator.neg, self, name="negative")

    def __pow__(self, other):
        return record_operation(operator.pow, self, other, name="power")

    def __matmul__(self, other):
        return record_operation(operator.matmul, self, other, name="matmul")

    def __getitem__(self, key):
        return record_operation(get_item, self, key, name="get_item")


def get_item(x, key):
    """`x[key]`; a list key is a tuple of indices, as a saved graph's JSON gives it back."""
    return x[tuple(key) if isinstance(key, list) else key]


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
        return map_tensors(lambda t: t.shape, self.input_tensors)

    @property
    def output_shapes(self):
        return map_tensors(lambda t: t.shape, self.outputs)


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


def map_tensors(fn, structure):
    """Apply fn to every KerasTensor in a structure, keep other leaves."""
    return tree.map_structure(lambda x: fn(x) if isinstance(x, KerasTensor) else x, structure)
