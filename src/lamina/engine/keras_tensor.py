"""Symbolic tensors and the graph nodes that link them: `KerasTensor`, `Node`.

A `KerasTensor` stands for a batch of data by its shape (`None` for unknown sizes) and dtype; the
`Node` it came from records which layer was called on which symbolic inputs. Arithmetic on symbolic
tensors (`x + y`, `x[0]`) records an operation node whose layer (an `OpLayer`) is a `Layer`, built
above this module: `engine/symbolic.py` registers how operations are recorded
(`record_operations_with`) as it is imported, as the modules above the backend register their
resets with `backend.on_clear_session`.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from lamina import tree
from lamina.dtypes import dtype_name
from lamina.engine import errors

# How an operation on KerasTensors is recorded: `symbolic.apply_op`, registered by symbolic.py
# (which `import lamina` always loads, and with it `Input`, the only way to a first KerasTensor).
_operation_recorder = None
# The public ops by name (`less`, `logical_and`, ...), filled as lamina.ops registers them: the
# operators whose meaning is an op's dtype rule (`x < 3` is bool, `x & y` is logical) call it.
_operations: dict = {}


def record_operations_with(apply_op, operations=None) -> None:
    """Have arithmetic on KerasTensors call `apply_op(fn, *args, name=...)` to record a node.

    Args:
        apply_op: a callable taking the torch function, its arguments and `name=`.
        operations: optional mapping of op names to the public ops (`"less"` ->
            `lamina.ops.less`), read when an operator such as `<` is applied.

    Example:
        >>> record_operations_with(symbolic.apply_op, symbolic._OPERATIONS)  # doctest: +SKIP
    """
    global _operation_recorder, _operations
    _operation_recorder = apply_op
    if operations is not None:
        _operations = operations


def _public_op(name: str, *args, **kwargs):
    """`lamina.ops.<name>(*args)`: registered by name, since this module sits below `ops`."""
    return _operations[name](*args, **kwargs)


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


def _arithmetic(python_operator, a, b, name: str):
    """Record `a <op> b`: the Python operator, or the public op for a NumPy operand (`x * array`:
    torch leaves that call to NumPy, which cannot read the tensors a graph runs on)."""
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return _public_op(name, a, b)
    return record_operation(python_operator, a, b, name=name)


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
        sparse, ragged: keyword-only, Keras's flags (default False); lamina's tensors are dense,
            so True raises a ValueError, as `Input(sparse=True)` does.

    Example:
        >>> x = lamina.Input(shape=(4,))
        >>> x.shape, x.dtype, x.ndim
        ((None, 4), 'float32', 2)
        >>> y = lamina.layers.Dense(3)(x * 2.0)
        >>> isinstance(y, KerasTensor), y.shape
        (True, (None, 3))
    """

    # NumPy defers to the reflected operators (`array + x` is `x.__radd__(array)`) instead of
    # building an object array of KerasTensors.
    __array_ufunc__ = None

    # lamina's tensors are dense: Keras's flags, always False (`ops` results read them).
    sparse = False
    ragged = False

    def __init__(
        self, shape, dtype="float32", *, node=None, index=0, name=None, sparse=False, ragged=False
    ):
        for flag, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise ValueError(
                    f"KerasTensor expects {flag}=False (lamina's tensors are dense torch "
                    f"tensors), received {flag}=True. Describe the dense tensor instead."
                )
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
        return _arithmetic(operator.add, self, other, "add")

    def __radd__(self, other):
        return _arithmetic(operator.add, other, self, "add")

    def __sub__(self, other):
        return _arithmetic(operator.sub, self, other, "subtract")

    def __rsub__(self, other):
        return _arithmetic(operator.sub, other, self, "subtract")

    def __mul__(self, other):
        return _arithmetic(operator.mul, self, other, "multiply")

    def __rmul__(self, other):
        return _arithmetic(operator.mul, other, self, "multiply")

    # Keras's `/` is `ops.true_divide`: its node is "true_divide" (TrueDivide), not "divide".
    def __truediv__(self, other):
        return _arithmetic(operator.truediv, self, other, "true_divide")

    def __rtruediv__(self, other):
        return _arithmetic(operator.truediv, other, self, "true_divide")

    def __neg__(self):
        return record_operation(operator.neg, self, name="negative")

    def __pow__(self, other):
        return _public_op("power", self, other)

    def __matmul__(self, other):
        return _public_op("matmul", self, other)

    def __rmatmul__(self, other):
        return _public_op("matmul", other, self)

    def __rpow__(self, other):
        return _public_op("power", other, self)

    def __abs__(self):
        return _public_op("abs", self)

    def __floordiv__(self, other):
        return _public_op("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return _public_op("floor_divide", other, self)

    def __mod__(self, other):
        return _public_op("mod", self, other)

    def __rmod__(self, other):
        return _public_op("mod", other, self)

    # Comparisons give bool tensors, as Keras's; `==` stays identity (Keras defines no `__eq__`,
    # so KerasTensors remain hashable and `x in outputs` means "is one of").
    def __lt__(self, other):
        return _public_op("less", self, other)

    def __le__(self, other):
        return _public_op("less_equal", self, other)

    def __gt__(self, other):
        return _public_op("greater", self, other)

    def __ge__(self, other):
        return _public_op("greater_equal", self, other)

    def __ne__(self, other):
        return _public_op("not_equal", self, other)

    # Keras's `&`, `|`, `^`, `~` on KerasTensors are the logical ops (bool results), not bitwise.
    def __and__(self, other):
        return _public_op("logical_and", self, other)

    def __rand__(self, other):
        return _public_op("logical_and", other, self)

    def __or__(self, other):
        return _public_op("logical_or", self, other)

    def __ror__(self, other):
        return _public_op("logical_or", other, self)

    def __xor__(self, other):
        return _public_op("logical_xor", self, other)

    def __rxor__(self, other):
        return _public_op("logical_xor", other, self)

    def __invert__(self):
        return _public_op("logical_not", self)

    def __round__(self, ndigits=None):
        return _public_op("round", self, decimals=ndigits or 0)

    def __getitem__(self, key):
        return record_operation(get_item, self, key, name="get_item", shape_rule=_item_shape)

    def reshape(self, newshape):
        """`ops.reshape(self, newshape)`.

        Args:
            newshape: the new shape (one entry may be -1).

        Returns:
            The reshaped KerasTensor.

        Example:
            >>> lamina.Input((2, 3)).reshape((-1, 6)).shape
            (None, 6)
        """
        return _public_op("reshape", self, newshape)

    def squeeze(self, axis=None):
        """`ops.squeeze(self, axis)`.

        Args:
            axis: the axis (or axes) of size 1 to remove (default None: all of them).

        Returns:
            The squeezed KerasTensor.

        Example:
            >>> lamina.Input((1, 3)).squeeze(1).shape
            (None, 3)
        """
        return _public_op("squeeze", self, axis)

    # No data flows through a KerasTensor: refuse what would need its values, as Keras does.
    def __iter__(self):
        raise NotImplementedError(
            f"Iterating over a symbolic KerasTensor {self.shape} is not supported: it holds no "
            "values. Index it (x[0]) or use ops.unstack(x) to split it into symbolic tensors."
        )

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor cannot be used as a boolean: it holds no values. Use "
            "ops.cond / ops.where for a choice inside the graph, or `x is None` to test presence."
        )

    def __int__(self):
        raise ValueError(_no_value_message("an int"))

    def __float__(self):
        raise ValueError(_no_value_message("a float"))

    def __array__(self, dtype=None, copy=None):
        raise ValueError(_no_value_message("a NumPy array"))


def _no_value_message(target: str) -> str:
    return (
        f"A KerasTensor is symbolic: a shape and a dtype, no values, so it cannot be converted "
        f"to {target}. Compute on it with lamina.ops or layers inside a model, and convert the "
        "model's outputs (model.predict) instead."
    )


def get_item(x, key):
    """`x[key]`; a list key is a tuple of indices, as a saved graph's JSON gives it back."""
    return x[tuple(key) if isinstance(key, list) else key]


def _item_shape(x, key):
    return basic_index_shape(x, tuple(key) if isinstance(key, list) else key)


def basic_index_shape(x, key):
    """The static shape of `x[key]` for a basic key (ints, slices, None, Ellipsis), as Keras
    states it: a slice of an unknown size is unknown, where a probe size would give the slice's
    bound (`x[:5]` over a batch of 2 has 2 rows, not 5). None for other keys, and for keys the
    probe should reject (an int out of range), so the probe decides.

    Args:
        x: the KerasTensor indexed.
        key: the index, as `x[key]` takes it.

    Returns:
        The shape tuple, or None.

    Example:
        >>> basic_index_shape(KerasTensor((None, 5, 16)), (slice(None, 5), slice(3, None), 1))
        (None, 2)
    """
    items = key if isinstance(key, tuple) else (key,)

    def basic(item):
        integer = isinstance(item, numbers.Integral) and not isinstance(item, bool)
        return integer or isinstance(item, slice) or item is None or item is Ellipsis

    if not isinstance(x, KerasTensor) or not all(basic(item) for item in items):
        return None
    shape = tuple(x.shape)
    consumed = sum(1 for item in items if item is not None and item is not Ellipsis)
    ellipses = sum(1 for item in items if item is Ellipsis)
    if ellipses > 1:  # torch reads `x[..., 5, ...]` somehow; NumPy and Keras refuse it
        raise errors.value_error(
            "get_item", "at most one Ellipsis (...) in the index", f"{ellipses} in {key!r}",
            "write a single `...` for the axes the index skips",
        )  # fmt: skip
    if consumed > len(shape):
        return None
    fill = (slice(None),) * (len(shape) - consumed)
    if ellipses:
        at = items.index(Ellipsis)
        items = items[:at] + fill + items[at + 1 :]
    else:
        items = items + fill
    out, axis = [], 0
    for item in items:
        if item is None:
            out.append(1)
            continue
        size = shape[axis]
        axis += 1
        if isinstance(item, slice):
            try:
                out.append(None if size is None else len(range(*item.indices(size))))
            except (TypeError, ValueError):  # a tensor bound, a zero step: the probe decides
                return None
        elif size is not None and not -size <= item < size:
            return None
    return tuple(out)


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
        """tf.keras's `layer.input_shape`: the shape of each tensor the call took (an RNN's
        initial states, an attention's value too), a list when there are several; None for an
        InputLayer's node, which takes nothing."""
        return _one_shape_or_list(self.parent_tensors)

    @property
    def output_shapes(self):
        """tf.keras's `layer.output_shape`: a list for several outputs (an LSTM's states)."""
        return _one_shape_or_list(flatten_symbolic(self.output_tensors))


def _one_shape_or_list(tensors: list):
    shapes = [tensor.shape for tensor in tensors]
    if not shapes:
        return None
    return shapes[0] if len(shapes) == 1 else shapes


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
