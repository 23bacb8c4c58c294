"""Model: a Layer that trains. Functional (`Model(inputs, outputs)`) or subclassed (`call()`).

The training API (compile / fit / evaluate / predict / *_on_batch / the step methods) is inherited
from `engine/trainer.py`'s `Trainer`; saving delegates to `lamina.saving`. `Model.compile` shadows
`torch.nn.Module.compile` on purpose, with Keras's meaning; `jit_compile=True` is the door to
`torch.compile`.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from torch import nn

from lamina import tree
from lamina.engine import errors, naming, scopes, state_keys
from lamina.engine.functional import FunctionalGraph
from lamina.engine.keras_tensor import flatten_symbolic
from lamina.engine.layer import Layer, shape_of
from lamina.engine.removed_model_methods import REPLACEMENTS, RemovedKeras2Method
from lamina.engine.symbolic import Input, InputLayer, KerasTensor, OpLayer, call_on_symbolic
from lamina.engine.trainer import Trainer


def _symbolic_like(value):
    """A KerasTensor of a tensor's (or a NumPy array's: text) shape and dtype; other values as
    they are."""
    if isinstance(value, torch.Tensor):
        return KerasTensor(tuple(value.shape), value.dtype)
    if isinstance(value, np.ndarray):
        return KerasTensor(value.shape, "string" if value.dtype.kind in "USO" else value.dtype.name)
    return value


def _is_shape(value) -> bool:
    """One shape: a list or tuple of ints and Nones (not a structure of shapes)."""
    return isinstance(value, (list, tuple)) and all(
        entry is None or isinstance(entry, numbers.Integral) for entry in value
    )


def _map_shapes(model, fn, structure):
    """`fn` applied to each shape of `structure`: one shape, or a dict/list/tuple of them."""
    if _is_shape(structure):
        return fn(tuple(structure))
    if isinstance(structure, dict):
        return {key: _map_shapes(model, fn, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_shapes(model, fn, value) for value in structure)
    raise ValueError(
        f"Model '{model.name}'.build() expected a shape (a tuple of ints or None) or a "
        f"dict/list of shapes, and found {structure!r}. Hint: pass e.g. "
        "`{'features': (None, 8)}` for a model called on a dict of tensors."
    )


class Model(Trainer, Layer):
    """A model: `Model(inputs, outputs, name=...)` from symbolic tensors, or subclass it.

    Functional: the graph from `inputs` to `outputs` (symbolic tensors from `Input()` and layer
    calls) becomes the model. Subclassed: assign layers in `__init__` and write
    `call(inputs, training=None)`; override `train_step(data)` for custom training (see the
    README's "Custom training" section). Either way the model is a `torch.nn.Module` too.

    Args:
        *args: `inputs` and `outputs` may also be given positionally, in that order.
        inputs: a symbolic tensor from `Input()`, or a list / dict of them (functional models).
        outputs: the symbolic tensor(s) computed from `inputs` (a tensor, list or dict).
        name: the model's name (default `functional`, or the subclass's name in snake_case,
            plus a counter).
        **kwargs: base layer arguments (`trainable`, `dtype`, ...), see `Layer`.

    Example:
        >>> inputs = lamina.Input(shape=(4,))
        >>> outputs = lamina.layers.Dense(2)(inputs)
        >>> model = Model(inputs, outputs)
        >>> tuple(model(torch.zeros(3, 4)).shape), model.count_params()
        ((3, 2), 10)
        >>> class TwoLayers(Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = lamina.layers.Dense(8, activation="relu")
        ...         self.head = lamina.layers.Dense(1)
        ...     def call(self, inputs, training=None):
        ...         return self.head(self.hidden(inputs))
        >>> tuple(TwoLayers()(torch.zeros(5, 3)).shape)
        (5, 1)
    """

    reads_text = True  # text Inputs feed the layers that read it; they say what is wrong

    # Keras 2's generator and class-prediction methods: calling one names its Keras 3 spelling.
    fit_generator = RemovedKeras2Method(REPLACEMENTS["fit_generator"])
    evaluate_generator = RemovedKeras2Method(REPLACEMENTS["evaluate_generator"])
    predict_generator = RemovedKeras2Method(REPLACEMENTS["predict_generator"])
    predict_classes = RemovedKeras2Method(REPLACEMENTS["predict_classes"])
    predict_proba = RemovedKeras2Method(REPLACEMENTS["predict_proba"])
    to_yaml = RemovedKeras2Method(REPLACEMENTS["to_yaml"])
    compiled_loss = RemovedKeras2Method(REPLACEMENTS["compiled_loss"])
    compiled_metrics = RemovedKeras2Method(REPLACEMENTS["compiled_metrics"])

    def __new__(cls, *args, **kwargs):
        # As in Keras, `Model(inputs, outputs)` makes a `Functional`: the class name Keras and
        # tf.keras report (`type(model).__name__`, course graders' summary rows) is Functional.
        if cls is Model and (args or kwargs.get("inputs") is not None):
            cls = Functional
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, inputs=None, outputs=None, name=None, **kwargs):
        if args and args[0] is self:
            # tf.keras accepted `super().__init__(self)` (TF's text-generation tutorial writes
            # it); the model passed to itself means a plain subclassed model, nothing more.
            args = args[1:]
        if args:
            inputs = args[0] if inputs is None else inputs
            if len(args) > 1:
                outputs = args[1] if outputs is None else outputs
            if len(args) > 2:
                raise TypeError("Model() takes at most two positional arguments: inputs, outputs.")
        # Keras names a plain functional model "functional"; a subclass, whether it builds a graph
        # in its __init__ (the functional-subclassing pattern) or defines call(), after its class.
        functional = inputs is not None and type(self) is Functional  # see __new__
        default = "functional" if functional else naming.to_snake_case(type(self).__name__)
        super().__init__(name=name or naming.unique_name(default), **kwargs)
        self._graph: FunctionalGraph | None = None
        self._init_trainer()
        if inputs is not None:
            if outputs is None:
                raise ValueError("Model(inputs, outputs) needs outputs= as well as inputs=.")
            self._set_graph(inputs, outputs)

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        optimizer = self.__dict__.get("optimizer")
        if optimizer is not None and optimizer.built:  # model.to(device) carries its training
            optimizer.follow_parameters()
        return result

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """torch's `load_state_dict`, also for a state saved from the same model built under
        other auto-generated layer names (`dense` saved, `dense_2` now: a notebook cell run
        again), matched by position as Keras matches weights by structure (`state_keys`)."""
        own = self.state_dict(keep_vars=True)
        if strict and set(state_dict) != set(own):
            renamed = state_keys.by_structure(state_dict, own)
            if renamed is not None:
                state_dict = {key: state_dict[saved] for key, saved in renamed.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ----------------------------------------------------------------------------------------------
    # Graph

    def _set_graph(self, inputs, outputs) -> None:
        graph = FunctionalGraph(inputs, outputs)
        if any(_is_inner(t) for t in graph.flat_inputs):
            # A model sliced at an inner tensor (`Model(encoded, decoded)`) starts, as in Keras,
            # from a new InputLayer, the nodes between called again on it: it then saves,
            # loads and summarises like any functional model.
            inputs = _inputs_for_inner_tensors(inputs)
            graph = FunctionalGraph(inputs, graph.replay(inputs))
        seen: dict[str, Layer] = {}
        for layer in graph.layers:
            if layer.name in seen and seen[layer.name] is not layer:
                raise ValueError(
                    f"Model '{self.name}' has two different layers named '{layer.name}'. "
                    "Hint: layer names must be unique within a model; pass distinct name= values."
                )
            seen[layer.name] = layer
        self._graph = graph
        self.casts_float_inputs = False  # as Keras's Functional: its layers cast, each its own
        self.graph_layers = nn.ModuleDict(
            {_module_key(layer.name): layer for layer in graph.layers}
        )
        self.built = True
        # Keras builds a functional model where it is defined: its path is its name there.
        self.__dict__.setdefault("_parent_path", scopes.current_path())
        shapes = [t.shape for t in graph.flat_inputs]
        self._build_input_shape = shapes[0] if len(shapes) == 1 else shapes

    def call(self, inputs, training=None, mask=None):
        if self._graph is None:
            raise NotImplementedError(
                f"Model '{self.name}' ({type(self).__name__}) has no graph and no call(). "
                "Hint: build it as Model(inputs, outputs) or override call(self, inputs)."
            )
        outputs = self._graph.run(inputs, f"Model '{self.name}'")
        if type(outputs) in (list, tuple) and len(outputs) == 1:
            return outputs[0]  # Keras's functional call unpacks Model(x, [y]) to y
        return outputs

    def _has_call(self) -> bool:
        """Whether the model has a call(): a functional graph's, or a subclass's own.
        (The trainer asks the model rather than import Model, which is built on it.)"""
        return self._graph is not None or type(self).call is not Model.call

    @property
    def operations(self) -> list[Layer]:
        """Every node of a functional model's graph in call order: its layers and the ops
        recorded between them (`x + y`, `ops.reshape(x)`), which `summary()` shows, as Keras."""
        if self._graph is not None:
            return list(self._graph.layers)
        return self.layers

    # What to do instead of assigning `model.layers`, which Keras reserves.
    _layers_hint = "keep the layers under another attribute name."
    # Under a mixed policy a model neither casts its inputs nor its outputs: its layers do, each
    # by its own policy (a final dtype="float32" layer's outputs stay float32), as Keras's
    # Functional and a Sequential built on an Input (mixed_precision/autocast.py).
    gives_compute_dtype = False

    def __setattr__(self, name, value):
        if name == "layers":
            # Keras refuses it; torch would register a module that `model.layers` never shows.
            owner = f"{type(self).__name__} '{self.__dict__.get('name', '?')}'"
            raise AttributeError(
                errors.message(
                    owner,
                    "no assignment to `layers` (the `Model.layers` attribute is reserved)",
                    f"a {type(value).__name__}",
                    self._layers_hint,
                )
            )
        super().__setattr__(name, value)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers; as in Keras, a functional model's ops are not among them."""
        if self._graph is not None:
            return [layer for layer in self._graph.layers if not isinstance(layer, OpLayer)]
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` of `model.layers`."""
        if index is not None and name is not None:
            raise ValueError("get_layer() takes name= or index=, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Model '{self.name}' has {len(layers)} layers; received index={index}."
                )
            return layers[index]
        if name is None:
            raise ValueError("get_layer() needs name= or index=.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named '{name}' in model '{self.name}'. "
            f"Its layers are: {[layer.name for layer in layers]}."
        )

    def reset_states(self) -> None:
        """Zero the carried states of every stateful layer in the model (nested ones too).

        tf.keras 2's method, which Keras 3 dropped for the layers' own `reset_state()`; kept
        with that meaning, as stateful char-RNN programs call it from a callback at each
        epoch's start. Layers that are not stateful are left alone.

        Example:
            >>> model = lamina.Sequential([lamina.Input(batch_shape=(1, None, 2)),
            ...                            lamina.layers.GRU(3, stateful=True)])
            >>> model.reset_states()
        """
        for module in self.modules():
            if getattr(module, "stateful", False) and hasattr(module, "reset_states"):
                module.reset_states()

    @property
    def inputs(self) -> list[KerasTensor] | None:
        return None if self._graph is None else list(self._graph.flat_inputs)

    @property
    def outputs(self) -> list[KerasTensor] | None:
        return None if self._graph is None else list(self._graph.flat_outputs)

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that produce the outputs, in `model.outputs`' order.

        A functional model's attribute in Keras (`Model(x, {"b": .., "a": ..})` lists the layer
        behind "a" first); other models have it only once it is assigned.
        """
        if "_output_names" in self.__dict__:
            return self.__dict__["_output_names"]
        if self._graph is None:
            raise AttributeError(f"Model '{self.name}' has no graph, so no output_names.")
        return [tensor.node.layer.name for tensor in self._graph.flat_outputs]

    @output_names.setter
    def output_names(self, names) -> None:
        self.__dict__["_output_names"] = list(names)

    @property
    def input(self):
        if self._graph is None:
            return super().input
        return self._graph.inputs

    @property
    def output(self):
        if self._graph is None:
            return super().output
        return self._graph.outputs

    @property
    def input_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph.flat_inputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return super().input_shape

    @property
    def output_shape(self):
        if self._graph is not None:
            shapes = [t.shape for t in self._graph.flat_outputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return super().output_shape

    def build(self, input_shape) -> None:
        """Build the weights from a shape, e.g. `model.build((None, 200))`, as Keras does."""
        if self._graph is not None:
            return
        if not self.built and self._has_call():
            # One shape, or a dict/list of them for a model called on a structure of tensors
            # (e.g. `call(self, inputs)` reading `inputs["features"]`).
            symbolic = _map_shapes(self, KerasTensor, input_shape)
            if self._built_by_symbolic_call((symbolic,), {}, f"an input of shape {input_shape}"):
                self._build_input_shape = _map_shapes(
                    self, lambda shape: (None, *shape[1:]), input_shape
                )

    def _build_for(self, inputs, args=(), kwargs=None) -> None:
        """A subclassed model's first call on data builds as Keras's does: call() runs once on
        symbolic copies of this call's own arguments (each tensor's shape and dtype, the other
        arguments as given), so a call that takes two tensors, or integer ids, builds as it
        will run. A functional model, or one with a build() of its own, builds as any layer."""
        if self._graph is not None or type(self).build is not Model.build or not self._has_call():
            super()._build_for(inputs, args, kwargs)
            return
        symbolic_args = tree.map_structure(_symbolic_like, (inputs, *args))
        symbolic_kwargs = tree.map_structure(_symbolic_like, kwargs or {})
        leaves = flatten_symbolic((symbolic_args, symbolic_kwargs))
        if any(leaf.dtype == "string" for leaf in leaves):
            # Text cannot go through shape inference (torch has no strings): the layers build
            # as this first call runs them.
            self.built = True
        elif not self._built_by_symbolic_call(symbolic_args, symbolic_kwargs, "its first inputs"):
            return
        self._build_input_shape = _map_shapes(
            self, lambda shape: (None, *shape[1:]), shape_of(inputs)
        )

    def _built_by_symbolic_call(self, args, kwargs, described: str) -> bool:
        """Build the sub-layers by calling the model on KerasTensors; False, with a warning and
        the model marked built, where its call cannot run on them."""
        self.built = True  # the symbolic call below builds the sub-layers
        try:
            call_on_symbolic(self, args, kwargs)
        except Exception as error:
            # Keras builds a subclassed model without running call(), so a shape its call
            # cannot take (Keras's TorchModuleWrapper example) fails there only on a call.
            warnings.warn(
                f"Model '{self.name}' could not run call() on {described} to build its "
                f"layers ({error}); it is marked built, as Keras marks it, and its layers "
                "build on the first call.",
                stacklevel=3,
            )
            return False
        return True

    def get_quantization_layer_structure(self, mode=None):
        """The layers a calibrated quantization ("gptq", "awq") walks through, or None (the
        default).

        Override it in a model that `quantize("gptq")` should calibrate without the config
        naming the structure.

        Args:
            mode: the quantization mode asking ("gptq" or "awq").

        Returns:
            None, or `{"pre_block_layers": [...], "sequential_blocks": [...]}`: the layers that
            turn calibration token ids into the first block's inputs (an embedding), then the
            blocks, each fed the previous one's output.

        Example:
            >>> model = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(4)])
            >>> model.get_quantization_layer_structure("gptq") is None
            True
        """
        del mode  # the default has no structure for any mode

    def quantize(self, mode=None, config=None, filters=None, **kwargs) -> None:
        """Quantize the weights of the model's layers, as Keras's `Model.quantize`.

        Each leaf layer that `filters` selects and that knows how (Dense, EinsumDense,
        Embedding, ReversibleEmbedding) swaps its float kernel for integer variables and gets a
        quantized dtype policy ("int8_from_float32", "int4/128_from_float32"); other layers are
        skipped (with a warning where they hold weights). "gptq" and "awq" quantize instead the
        Dense and EinsumDense layers (and MultiHeadAttention's projections) of the blocks that
        `config.quantization_layer_structure` (or `get_quantization_layer_structure`) lists,
        block by block, from the config's calibration data ("gptq/4/128_from_float32"). The
        model must be built; a layer is quantized once.

        Args:
            mode: "int8", "int4", "float8" (Dense, EinsumDense and MultiHeadAttention train with
                delayed-scaling float8), "gptq" or "awq"; optional
                when `config` is given.
            config: a `lamina.quantizers.QuantizationConfig` (e.g.
                `Int4QuantizationConfig(block_size=64)`, or `GPTQConfig(dataset, tokenizer)` /
                `AWQConfig(...)` for "gptq" / "awq"); None takes the mode's default.
            filters: which layers: a regex searched in each layer's name, a list of them, or a
                callable taking the layer and returning True to quantize it (default: all).
            **kwargs: `type_check` (default True) refuses subclasses of the quantizable layers.

        Example:
            >>> model = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(4)])
            >>> model.quantize("int8")
            >>> model.layers[0].dtype_policy.name
            'int8_from_float32'
        """
        from lamina.quantizers import quantize_layers  # the room above the engine

        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise errors.unexpected_arguments(
                f"Model '{self.name}': quantize()",
                kwargs,
                "It takes mode, config, filters and type_check.",
            )
        quantize_layers.quantize_model(self, mode, config, filters, type_check)

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ) -> None:
        """Print the Keras-2-style table of layers, output shapes and parameter counts.

        Args:
            line_length: the table's width in characters.
            positions: the columns' right edges (fractions of line_length, or characters).
            print_fn: called with each line (default: `print`).
            expand_nested: also print the layers of each nested model under its row, marked
                `└ ` and indented three spaces a level, as Keras 3 does.
            show_trainable: add a "Trainable" column: "Y" or "N" for each layer.
            layer_range: `[first, last]` layer names (or `re.match` patterns): print only those
                layers, both included; the totals still count the whole model.

        Example:
        >>> model.summary(layer_range=["dense", "dense_1"])  # doctest: +SKIP
        """
        from lamina.engine import summary

        summary.print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            show_trainable=show_trainable,
            expand_nested=expand_nested,
            layer_range=layer_range,
        )

    # ----------------------------------------------------------------------------------------------
    # Saving (lamina.saving)

    def save(self, filepath, overwrite=True, **kwargs) -> None:
        from lamina import distribution, saving

        # One writer per job: rank 0 (under ModelParallel the others write scratch copies, making
        # the same collectives as it gathers the sharded weights).
        with distribution.save_target(self, filepath) as target:
            if target is not None:
                saving.save_model(self, target, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None) -> None:
        from lamina import distribution, saving

        with distribution.save_target(self, filepath) as target:  # rank 0's, as save's
            if target is not None:
                saving.save_weights(
                    self, target, overwrite=overwrite, max_shard_size=max_shard_size
                )

    def load_weights(self, filepath, skip_mismatch=False, **kwargs) -> None:
        from lamina import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(
        self,
        filepath,
        format="tf_saved_model",  # noqa: A002 - Keras's argument name
        verbose=None,
        input_signature=None,
        **kwargs,
    ):
        """Export the model as an inference artifact, as Keras does on the torch backend.

        Args:
            filepath: where to write (a `.pt2` path for "torch").
            format: "torch" (a `torch.export` ExportedProgram) or "onnx" (through
                `torch.onnx.export`, which needs `onnx` and `onnxscript`); Keras's
                "tf_saved_model", "litert" and "openvino" need TensorFlow or OpenVINO and raise.
            verbose: print where the artifact went (default True).
            input_signature: the inputs' shapes and dtypes (`KerasTensor`s, `InputSpec`s or
                tensors), one per positional argument; default: the model's inputs.
            **kwargs: passed to `torch.export.export` or `torch.onnx.export`.

        Example:
            >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
            >>> model.export("model.pt2", format="torch")  # doctest: +SKIP
            >>> torch.export.load("model.pt2").module()(torch.ones(1, 3)).shape  # doctest: +SKIP
            torch.Size([1, 2])
        """
        from lamina.saving import export

        return export.export(self, filepath, format, verbose, input_signature, **kwargs)

    # ----------------------------------------------------------------------------------------------
    # Config

    def get_config(self) -> dict:
        if self._graph is None:
            return {"name": self.name, "trainable": self.trainable}
        from lamina.engine import serialization

        return serialization.functional_config(self)

    def get_compile_config(self) -> dict | None:
        """How the model was compiled, as saving writes it; None if it is not compiled.

        Override it with `compile_from_config` when the model's `compile` takes other
        arguments; objects in the dict are serialized when saved.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.get_compile_config()["optimizer"]["class_name"]
            'SGD'
        """
        from lamina.saving import model_config

        return model_config.compile_settings(self)

    def compile_from_config(self, config) -> None:
        """Compile the model from `get_compile_config()`'s dict, as loading does.

        Args:
            config: the dict a saved file holds.

        Example:
            >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
            >>> model.compile_from_config({"optimizer": "adam", "loss": "mse"})
            >>> type(model.optimizer).__name__
            'Adam'
        """
        from lamina.saving import model_config

        model_config.compile_as_saved(self, config, source=f"model '{self.name}'")

    def to_json(self, **kwargs) -> str:
        """The model's architecture as a JSON string, the entry a `.keras` file's config.json holds.

        `lamina.models.model_from_json` (or Keras's) rebuilds the model from it, with fresh weights.

        Args:
            **kwargs: passed to `json.dumps` (`indent=2`, `sort_keys=True`, ...).

        Example:
            >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
            >>> lamina.models.model_from_json(model.to_json()).output_shape
            (None, 2)
        """
        import json

        from lamina.saving import model_config

        return json.dumps(model_config.model_entry(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            from lamina.engine import serialization

            return serialization.functional_from_config(cls, config, custom_objects)
        return cls(**config)


def _is_inner(tensor) -> bool:
    return tensor.node is not None and not isinstance(tensor.node.layer, InputLayer)


def _inputs_for_inner_tensors(inputs):
    """`inputs` with each inner tensor replaced by a new `Input` of its shape and dtype, named by
    its key in a dict of inputs, else after the tensor (`scale_out0` for the first output of
    the layer `scale`; Keras names it after its own tensor name, `keras_tensor_3CLONE`)."""

    def new_input(tensor, name=None):
        if not isinstance(tensor, KerasTensor) or not _is_inner(tensor):
            return tensor
        if name is None and tensor.name:
            name = tensor.name.replace("/", "_")  # a layer name holds no "/" (paths use it)
        return Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=name)

    if isinstance(inputs, dict):
        return {key: new_input(tensor, key) for key, tensor in inputs.items()}
    return tree.map_structure(new_input, inputs)


def _module_key(name: str) -> str:
    """torch module names cannot contain '.'."""
    return name.replace(".", "_")


class Functional(Model):
    """The class of a model made as `Model(inputs, outputs)`, named as Keras names it.

    Not constructed by name: `Model(inputs, outputs)` returns one (Keras's `Model.__new__` does
    the same), so `isinstance(model, Model)` holds and `type(model).__name__` is "Functional".

    Args:
        *args: `inputs` and `outputs`, as `Model` takes them.
        **kwargs: `Model`'s other arguments (`name`, ...).

    Example:
        >>> inputs = lamina.Input(shape=(4,))
        >>> model = Model(inputs, lamina.layers.Dense(2)(inputs))
        >>> type(model).__name__, isinstance(model, Model)
        ('Functional', True)
    """
