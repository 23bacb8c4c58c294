"""Sequential: a plain stack of layers, built as soon as its input shape is known.

With `input_shape=` on the first layer (or an `Input` first, or a built model such as a
pretrained base), the stack is traced symbolically at
definition time, so `summary()` works before `fit()` and every layer has `.output` for feature
extraction. On real data it runs the layers in a plain loop: no graph bookkeeping per batch.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from lamina.engine import (
    channels_first,
    errors,
    functional,
    naming,
    shape_inference,
    weight_paths,
)
from lamina.engine.layer import _NOT_PLAIN, Layer
from lamina.engine.model import Model, _module_key
from lamina.engine.symbolic import Input, InputLayer, KerasTensor


class Sequential(Model):
    """`Sequential([Conv2D(32, 3, input_shape=(28, 28, 1)), Flatten(), Dense(10)])`.

    A linear stack: each layer's output is the next one's input. It builds as soon as its input
    shape is known (an `Input` first, or `input_shape=` on the first layer), else on the first
    call. A plain `torch.nn.Module` in the list is wrapped in a `TorchModuleWrapper`.

    Args:
        layers: list of layers (an `Input(...)` may come first); more can be appended with
            `add()`. Default None: an empty model.
        name: model name (default `sequential`, `sequential_1`, ...).
        trainable: whether the model's weights are updated by training (default True).
        **kwargs: base layer arguments (`dtype`, ...), see `Layer`.

    Example:
        >>> model = Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3)])
        >>> model.add(lamina.layers.Dense(1))
        >>> model.output_shape, model.count_params()
        ((None, 1), 19)
        >>> tuple(model(torch.zeros(2, 4)).shape)
        (2, 1)
    """

    # Keras builds a Sequential's layers inside its name scope: `sequential/dense/kernel`.
    _builds_layers_in_own_scope = True
    # Keras's Sequential has no input spec of its own: an input of the built rank whose other
    # sizes differ (a longer sequence) runs, and the layers judge it (Dense checks its last axis).
    # A functional Model checks every size. Read by `fit_arguments.conform_inputs` too.
    _checks_input_sizes = False
    # Under a mixed policy its first layer casts the inputs (mixed_precision/autocast.py).
    takes_compute_dtype = False
    _layers_hint = "use `add()` and `pop()` to change the layers of a Sequential model."

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(
            name=name or naming.unique_name("sequential"), trainable=trainable, **kwargs
        )
        self._stack: list[Layer] = []
        # Which layers hand the next one a channels-first tensor (engine/channels_first.py):
        # planned at the first call on data once every layer is built; `add` / `pop` drop it.
        self._channels_first_plan: list | None = None
        self._input_tensor: KerasTensor | None = None
        self._output_tensor: KerasTensor | None = None
        self.stack_layers = nn.ModuleDict()
        self.built = False
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build()

    # ----------------------------------------------------------------------------------------------
    def add(self, layer, rebuild=True) -> None:
        """Append a layer (or set the input with an `Input(...)` tensor)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_tensor is not None:
                raise ValueError(
                    f"Sequential '{self.name}': an Input can only be the first element "
                    "of the model."
                )
            self._input_tensor = layer.output_tensor
            if rebuild:
                self._maybe_build()
            return
        if not isinstance(layer, nn.Module):  # a ValueError, as Keras raises it
            raise ValueError(
                f"Sequential '{self.name}' expects layers; received "
                f"{type(layer).__name__} ({layer!r})."
            )
        if not isinstance(layer, Layer):
            from lamina.layers.core import TorchModuleWrapper

            layer = TorchModuleWrapper(layer)
        # The same instance twice is a shared layer (Keras allows it); only a second,
        # different layer under a taken name is an error.
        if any(
            existing.name == getattr(layer, "name", None) and existing is not layer
            for existing in self._stack
        ):
            raise ValueError(
                f"Sequential '{self.name}' already has a layer named '{layer.name}'. "
                "Hint: layer names must be unique within a model."
            )
        self._stack.append(layer)
        self._channels_first_plan = None
        self.stack_layers[_module_key(getattr(layer, "name", f"module_{len(self._stack)}"))] = layer
        if rebuild:
            if self._output_tensor is not None and isinstance(layer, Layer):
                self._output_tensor = layer(self._output_tensor)
                naming.take_names_of("Functional")  # Keras rebuilds its inner graph: see _trace
            else:
                self._maybe_build()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        self._channels_first_plan = None
        if not any(remaining is layer for remaining in self._stack):
            del self.stack_layers[_module_key(layer.name)]
        self._output_tensor = None
        self.built = False
        for remaining in self._stack:
            if isinstance(remaining, Layer):
                remaining._inbound_nodes = []
        self._maybe_build()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _keras_layers(self) -> list:
        # Keras tracks a built Sequential's InputLayer first, though `layers` leaves it out.
        if self._input_tensor is None:
            return self._sublayers()
        return [self._input_tensor.node.layer, *self._sublayers()]

    # ----------------------------------------------------------------------------------------------
    def _declared_shape(self):
        if self._input_tensor is not None:
            return self._input_tensor.shape, self._input_tensor.dtype
        if self._stack and isinstance(self._stack[0], Layer):
            first = self._stack[0]
            # A built model first (a pretrained base for transfer learning): its input, as Keras.
            model_inputs = getattr(first, "inputs", None) if isinstance(first, Model) else None
            if model_inputs and len(model_inputs) == 1:
                return model_inputs[0].shape, model_inputs[0].dtype
            if first._declared_input_shape is not None:
                dtype = getattr(first, "declared_input_dtype", "float32")
                return (first._declared_batch_size, *first._declared_input_shape), dtype
        return None

    def _maybe_build(self) -> None:
        declared = self._declared_shape()
        if declared is not None:
            self._trace(*declared)

    def _trace(self, batch_shape, dtype="float32") -> None:
        """Call every layer on a symbolic input: builds the weights and records output shapes."""
        if self._input_tensor is None or tuple(self._input_tensor.shape) != tuple(batch_shape):
            self._input_tensor = Input(batch_shape=tuple(batch_shape), dtype=dtype)
        x = self._input_tensor
        with self._name_scope():  # Keras builds the layers here: "sequential/dense/kernel"
            for layer in self._stack:
                if not isinstance(layer, Layer):
                    raise TypeError(
                        f"Sequential '{self.name}' can only trace lamina layers; "
                        f"{type(layer).__name__} is a plain torch module. "
                        "Hint: call the model on data to build it."
                    )
                x = layer(x)
        self._output_tensor = x
        # Keras keeps the traced stack as an inner Functional model, which takes an auto-name:
        # a Model made after a built Sequential is `functional_1` there, and so here. An Input
        # alone makes no graph.
        if self._stack:
            naming.take_names_of("Functional")
        self.built = True
        self._build_input_shape = (None, *tuple(batch_shape)[1:])
        weight_paths.assign(self)  # the layout converters that Adafactor reads

    def build(self, input_shape=None) -> None:
        """`model.build((None, 200))`: trace the stack for this input shape."""
        if input_shape is None:
            self._maybe_build()
            if not self.built:
                raise ValueError(
                    f"Sequential '{self.name}' cannot build without an input shape. "
                    "Hint: pass input_shape= to the first layer or call build((None, ...))."
                )
            return
        input_shape = tuple(input_shape)
        declared = self._declared_shape() if self.built else None
        if declared is not None and tuple(declared[0])[1:] != input_shape[1:]:
            # tf.keras built a model whose Input fixed its shape once and ignored a later
            # build((None, ...)); Keras 3 raises. Programs of that era (a GAN critic declared
            # with Input((28, 28, 1)), then built with (None, 784)) keep the declared shape.
            warnings.warn(
                f"Sequential '{self.name}' was declared with input shape "
                f"{errors.format_shape(declared[0])}; build({errors.format_shape(input_shape)}) "
                "leaves it so, as tf.keras did (Keras 3 raises). Hint: remove the build() call "
                "or declare the shape you mean in Input().",
                stacklevel=3,  # through Layer's build wrapper, to the caller
            )
            return
        self._trace(input_shape)

    def _trace_symbolic(self, inputs):
        """The traced output for a symbolic input (shape inference's way in for text, which no
        probe carries): traced for it first if unbuilt; None if traced for another shape."""
        if not isinstance(inputs, KerasTensor):
            return None
        if not self.built:
            self._trace(tuple(inputs.shape), inputs.dtype)
        traced = self._input_tensor
        if traced is None:
            return None
        shape = functional.rank_adjusted_shape(tuple(inputs.shape), tuple(traced.shape))
        if len(traced.shape) != len(shape):
            return None
        if any(a is not None and a != b for a, b in zip(traced.shape, shape, strict=True)):
            return None
        return self._output_tensor

    def build_from_shape(self, input_shape) -> None:
        if not self.built:
            self._trace((None, *tuple(input_shape)[1:]))

    def call(self, inputs, training=None, mask=None):
        plan = self._channels_first_plan
        if plan is None:
            plan = self._plan_channels_first()
        if plan is None or type(inputs) is not torch.Tensor or not channels_first.active():
            x = inputs
            for layer in self._stack:
                x = layer(x)
            return x
        x = inputs
        training = channels_first.enclosing_training()
        for layer, step in zip(self._stack, plan, strict=True):
            if step is None:
                x = layer._call_in_run(x, training)
            else:
                x = channels_first.run(layer, [x], step, None, training)
        return x

    def _plan_channels_first(self) -> list | None:
        """Each layer's `channels_first.Step` (None where it takes no part); None while a layer
        is still unbuilt (a deferred build: its part is not known yet)."""
        if not all(getattr(layer, "built", True) for layer in self._stack):
            return None
        calls = [(channels_first.role(layer), [i], i + 1) for i, layer in enumerate(self._stack)]
        self._channels_first_plan = channels_first.plan(calls, {len(self._stack)})
        return self._channels_first_plan

    def _build_for(self, inputs, args=(), kwargs=None) -> None:
        """Built on first real data when no input shape was declared (Keras's deferred build)."""
        if isinstance(inputs, (dict, list, tuple)):
            # Several inputs (a dict or list the first layer takes whole): as in Keras, no graph
            # is traced; the layers build as the data goes through them.
            self.built = True
            return
        shape = tuple(inputs.shape)
        if not isinstance(inputs, torch.Tensor):  # text first: a NumPy array of str
            dtype = "string" if inputs.dtype.kind in "US" else str(inputs.dtype)
        elif inputs.is_floating_point():
            dtype = "float32"
        else:
            dtype = str(inputs.dtype).replace("torch.", "")
        # First called inside a layer that is itself called on a KerasTensor: the probe sizes
        # stand for unknown dimensions, so the stack is built for those as unknown, as Keras does.
        try:
            self._trace((None, *shape_inference.unprobed_shape(shape)[1:]), dtype)
        except ValueError as failure:
            if len(shape) != 1 or dtype == "string":
                raise
            # tf.keras 2 read one number per sample, `np.array([-1.0, 0.0, ...])`, as shape
            # (N, 1) (the TF courses fit such models); Keras 3 builds for shape (N,) and fails.
            raise ValueError(
                f"{failure} Hint: Sequential '{self.name}' was built from data of shape "
                f"{shape}, one value per sample; give it shape ({shape[0]}, 1) "
                "(`x.reshape(-1, 1)`) or begin the model with `keras.Input(shape=(1,))`."
            ) from failure
        self._check_input(shape)

    def forward(self, inputs, *args, **kwargs):
        if self.built and self._input_tensor is not None:
            if hasattr(inputs, "shape"):
                inputs = self._conformed(inputs)
            elif isinstance(inputs, dict) or functional.several_inputs(inputs):
                self._refuse_structure(inputs)
        return super().forward(inputs, *args, **kwargs)

    # `_plain_call` below does what this forward adds to Layer.forward for one tensor, so the
    # usual call (predict's and evaluate's every batch) may skip the general path.
    _forward_checked_by_plain_call = forward

    def _plain_call(self, inputs: torch.Tensor):
        """Layer's plain call, once the stack is planned (every layer built, no `add` / `pop`
        since) and the input has the traced rank; otherwise the general path, whose `forward`
        builds, scopes or refuses. The general path cost a Sequential's every call about 35
        Python calls (`Module.__call__`, the rank check, `Layer.forward`'s mask and training
        work) that a hand-written torch loop does not pay."""
        traced = self._input_tensor
        if (
            self._channels_first_plan is None
            or not self.__dict__.get("_sublayers_built")
            or (traced is not None and inputs.dim() != len(traced.shape))
        ):
            return _NOT_PLAIN
        return super()._plain_call(inputs)

    def _refuse_structure(self, inputs) -> None:
        """A dict, or a list of several arrays, given to a model with one declared Input: the
        first layer would fail on it in torch's words ('dict' object has no attribute ...)."""
        given = (
            f"a dict with the keys {sorted(map(str, inputs))}"
            if isinstance(inputs, dict)
            else f"a {type(inputs).__name__} of {len(inputs)} arrays"
        )
        raise errors.value_error(
            f"Sequential model '{self.name}'",
            f"one input array of shape {errors.format_shape(self._input_tensor.shape)}",
            given,
            "a Sequential model takes a single array; for several or named inputs build a "
            "functional Model on several Inputs.",
        )

    def _conformed(self, inputs):
        """`inputs` of the traced rank: Keras's rank rule for a model input, as a functional
        model follows (a batch of (32, 56) windows feeds Input((None, 1))), or the rank error.
        The rule runs only on another rank: the usual batch pays one call here, as before."""
        expected = self._input_tensor.shape
        if len(inputs.shape) != len(expected):
            inputs = functional.adjust_input_rank(inputs, tuple(expected))
            self._check_input(tuple(inputs.shape))
        return inputs

    def _check_input(self, shape) -> None:
        expected = self._input_tensor.shape
        if len(shape) != len(expected):
            raise errors.value_error(
                f"Sequential model '{self.name}'",
                f"a {len(expected)}-D input like {errors.format_shape(expected)}",
                # Under shape inference the batch is a probe size; show it unknown, as given.
                f"an input of shape {shape_inference.unprobed_shape(shape)}",
                "the model was built for that rank; reshape the data (batch axis first) "
                "or build a new model.",
            )

    # ----------------------------------------------------------------------------------------------
    @property
    def inputs(self):
        # Unbuilt, Keras has no such attribute: hasattr(model, "inputs") is False.
        if self._input_tensor is None:
            raise AttributeError(f"Sequential '{self.name}' is not built, so it has no inputs yet.")
        return [self._input_tensor]

    @property
    def outputs(self):
        if self._output_tensor is None:
            raise AttributeError(
                f"Sequential '{self.name}' is not built, so it has no outputs yet."
            )
        return [self._output_tensor]

    @property
    def input(self):
        if self._input_tensor is None:
            raise AttributeError(f"Sequential '{self.name}' is not built, so it has no input yet.")
        return self._input_tensor

    @property
    def output(self):
        if self._output_tensor is None:
            raise AttributeError(f"Sequential '{self.name}' is not built, so it has no output yet.")
        return self._output_tensor

    @property
    def input_shape(self):
        if self._input_tensor is None:
            raise AttributeError(
                f"Sequential '{self.name}' is not built, so it has no input_shape."
            )
        return self._input_tensor.shape

    @property
    def output_shape(self):
        if self._output_tensor is None:
            raise AttributeError(
                f"Sequential '{self.name}' is not built, so it has no output_shape."
            )
        return self._output_tensor.shape

    def get_config(self) -> dict:
        from lamina.engine import serialization

        return serialization.sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.engine import serialization

        return serialization.sequential_from_config(cls, config, custom_objects)
