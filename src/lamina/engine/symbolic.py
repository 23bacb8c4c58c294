"""`Input` and the layers of a functional graph that are not the user's: `InputLayer`, and the
`OpLayer` that records an operation on symbolic tensors (`x + y`, `ops.mean(x)`).

The symbolic tensors themselves live in `keras_tensor.py` and the shape inference of a symbolic
call in `shape_inference.py`; their names are re-exported here, where lamina has always kept them.
"""

from __future__ import annotations

import numbers

from lamina import backend
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
# Operations on symbolic tensors (x + y, ops.* on KerasTensors)


class OpLayer(layer_module.Layer):
    """A torch function applied inside a functional graph (`x + y`, `ops.mean(x)`)."""

    takes_non_tensor_positional_args = True  # ops.reshape(x, (-1, 3)): shapes and axes

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


keras_tensor.record_operations_with(apply_op)
