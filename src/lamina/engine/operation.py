"""`Operation` (a stateless computation that also works on symbolic tensors) and `Function` (a
callable graph of them, built from symbolic inputs and outputs).

In a functional graph lamina records layers; an `Operation` called on `KerasTensor`s is recorded
through a small layer that runs it (`_OperationLayer`), so models built on operations replay,
train and summarise like any other graph. Every lamina `Layer` counts as an `Operation`
(`isinstance(layer, Operation)`), as Keras's layers are operations.
"""

from __future__ import annotations

import abc

from torch import nn

from lamina import backend, tree
from lamina.engine import errors, naming, scopes, symbolic
from lamina.engine import layer as layer_module
from lamina.engine.functional import FunctionalGraph


class _OperationLayer(layer_module.Layer):
    """The graph's record of an `Operation`: calling it runs the operation's `call`."""

    def __init__(self, operation):
        super().__init__(name=operation.name)
        self.__dict__["operation"] = operation  # not a module: keep it out of torch's registries
        self.built = True
        inner = operation._layers()
        if inner:  # a Function's layers: their weights belong to the graph that records it
            self.inner_layers = nn.ModuleList(inner)

    def call(self, *args, **kwargs):
        return self.operation.call(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self.operation.call(*args, **kwargs)


def _as_output_spec(leaf):
    if isinstance(leaf, symbolic.KerasTensor):
        return symbolic.OutputSpec(leaf.shape, backend.to_torch_dtype(leaf.dtype))
    return leaf


def _as_keras_tensor(leaf):
    if isinstance(leaf, symbolic.OutputSpec):
        return symbolic.KerasTensor(leaf.shape, leaf.dtype)
    return leaf


class Operation(metaclass=abc.ABCMeta):  # noqa: B024 - ABCMeta for register(Layer)
    """A computation on tensors that also applies to symbolic tensors.

    Subclasses write `call(*args, **kwargs)` (the computation, on torch tensors) and may write
    `compute_output_spec(*args, **kwargs)`, returning `KerasTensor`s of the output shapes; without
    it, lamina learns the output by running `call` on the meta device. Called on tensors an
    operation computes; called on `KerasTensor`s it returns `KerasTensor`s and records itself in
    the graph, so a `Model` or `Function` built on its outputs runs it.

    Args:
        name: the operation's name; defaults to its class name in snake_case plus a counter.

    Example:
        >>> class Clip01(Operation):
        ...     def call(self, x):
        ...         return torch.clamp(x, 0.0, 1.0)
        >>> Clip01()(torch.tensor([-1.0, 0.5, 2.0])).tolist()
        [0.0, 0.5, 1.0]
        >>> Clip01()(lamina.Input((3,))).shape
        (None, 3)
    """

    def __init__(self, name=None):
        if name is None:
            name = naming.unique_name(naming.to_snake_case(type(self).__name__))
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                f"{type(self).__name__}(): expected `name` to be a string without `/`; "
                f"received name={name!r}."
            )
        self.name = name
        self._graph_layer = None

    def __call__(self, *args, **kwargs):
        if symbolic.any_symbolic(args, kwargs):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        """The computation on tensors; subclasses write it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def symbolic_call(self, *args, **kwargs):
        """Infer the outputs' shapes, record the call in the graph, return `KerasTensor`s."""
        spec = None
        if type(self).compute_output_spec is not Operation.compute_output_spec:
            spec = tree.map_structure(_as_output_spec, self.compute_output_spec(*args, **kwargs))
        return symbolic.call_on_symbolic(self._layer_for_graph(), args, kwargs, spec=spec)

    def compute_output_spec(self, *args, **kwargs):
        """The outputs as `KerasTensor`s (shape and dtype) for these (symbolic) arguments."""
        with scopes.SymbolicScope():
            spec = symbolic.infer_outputs(self._layer_for_graph(), args, kwargs)
        return tree.map_structure(_as_keras_tensor, spec)

    def _layer_for_graph(self) -> _OperationLayer:
        # One per operation: calling it twice shares it, as a layer called twice is shared.
        if self._graph_layer is None:
            self._graph_layer = _OperationLayer(self)
        return self._graph_layer

    def _layers(self) -> list:
        """Layers this operation runs, whose weights a model recording it must own."""
        return []

    def _nodes(self):
        return [] if self._graph_layer is None else self._graph_layer._inbound_nodes

    @property
    def input(self):
        """The symbolic input(s) of the operation's first call on symbolic tensors."""
        if not self._nodes():
            raise AttributeError(f"Operation '{self.name}' was never called on symbolic tensors.")
        return self._nodes()[0].input_tensors

    @property
    def output(self):
        """The symbolic output(s) of the operation's first call on symbolic tensors."""
        if not self._nodes():
            raise AttributeError(f"Operation '{self.name}' was never called on symbolic tensors.")
        return self._nodes()[0].output_tensors

    def get_config(self) -> dict:
        """The arguments that rebuild the operation (its name; subclasses add theirs)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        """A new operation from `get_config()`'s dict.

        Args:
            config: the dict `get_config()` returned.
        """
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


Operation.register(layer_module.Layer)


class Function(Operation):
    """A graph of layers and operations, from symbolic inputs to outputs, that runs as a function.

    Like a functional `Model` without the training API: `function(inputs)` computes the outputs
    for new inputs (given in the structure of `inputs`), and called on `KerasTensor`s it is itself
    an operation of a larger graph.

    Args:
        inputs: a `KerasTensor` (from `Input()` or `KerasTensor(shape)`) or a list/dict of them.
        outputs: `KerasTensor`(s) computed from `inputs` by layers and ops.
        name: the function's name.

    Example:
        >>> a = lamina.KerasTensor((None, 3))
        >>> b = lamina.KerasTensor((None, 3))
        >>> fn = Function([a, b], lamina.ops.sigmoid(a + b))
        >>> fn([np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")]).tolist()
        [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
    """

    def __init__(self, inputs, outputs, name=None):
        super().__init__(name=name)
        for argument, value in (("inputs", inputs), ("outputs", outputs)):
            if not symbolic.flatten_symbolic(value):
                raise errors.value_error(
                    f"Function '{self.name}' argument `{argument}`",
                    "at least one KerasTensor",
                    repr(value),
                )
        self._graph = FunctionalGraph(inputs, outputs)

    @property
    def inputs(self) -> list:
        """The symbolic inputs, as a flat list."""
        return list(self._graph.flat_inputs)

    @property
    def outputs(self) -> list:
        """The symbolic outputs, as a flat list."""
        return list(self._graph.flat_outputs)

    @property
    def operations(self) -> list:
        """The layers and operations the function runs (its `Input` layers included)."""
        return list(self._graph.layers)

    def _layers(self) -> list:
        return [layer for layer in self._graph.layers if not isinstance(layer, symbolic.InputLayer)]

    def call(self, inputs):
        """Compute the outputs for `inputs` (arrays or tensors, in the structure of `inputs`).

        Args:
            inputs: the values, as the symbolic inputs were given (one, a list or a dict).
        """
        return self._graph.run(inputs, f"Function '{self.name}'")

    def compute_output_spec(self, inputs):
        """The outputs as `KerasTensor`s for symbolic `inputs`.

        Args:
            inputs: `KerasTensor`(s) in the structure of the function's inputs.
        """
        given = symbolic.flatten_symbolic(inputs)
        if [t.shape for t in given] == [t.shape for t in self._graph.flat_inputs]:
            return tree.map_structure(
                lambda t: (
                    symbolic.KerasTensor(t.shape, t.dtype)
                    if isinstance(t, symbolic.KerasTensor)
                    else t
                ),
                self._graph.outputs,
            )
        return super().compute_output_spec(inputs)

    def compute_output_shape(self, input_shape):
        """The output shape(s) for input shape(s) given in the structure of the inputs.

        Args:
            input_shape: a shape tuple per input, in the structure the inputs were given.
        """
        dtypes = iter(t.dtype for t in self._graph.flat_inputs)
        specs = tree.map_shape_structure(
            lambda shape: symbolic.KerasTensor(shape, next(dtypes)), input_shape
        )
        outputs = self.compute_output_spec(specs)
        return tree.map_structure(lambda t: tuple(t.shape), outputs)
