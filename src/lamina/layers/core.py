"""Core layers: Dense, Activation, Identity, Lambda."""

from __future__ import annotations

import warnings

import torch

from lamina import activations, backend, constraints, initializers, regularizers, tree
from lamina.dtype_policies.quantized import CALIBRATED_MODES
from lamina.engine import channels_first, errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer, WeightEntry
from lamina.engine.weight import NonTrainableWeight, TrainableWeight, stored_weight
from lamina.layers import argument_checks as check
from lamina.layers.lora import LoraLayer, lora_target_slot
from lamina.quantizers import calibrated_dense, quantized_dense
from lamina.quantizers import registry as quantizers_registry
from lamina.saving import code_entries
from lamina.saving.object_registration import CustomObjectScope


class Dense(LoraLayer, Layer):
    """`output = activation(inputs @ kernel + bias)`, on the last axis of any-rank input.

    Args:
        units: size of the last axis of the output.
        activation: name or callable (default: none, i.e. linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (Keras's defaults: glorot_uniform,
            zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections applied after each optimizer step.
        lora_rank: enable low-rank adaptation of this rank when the layer is built (see
            `enable_lora`): the kernel freezes, two small factors train.
        lora_alpha: scales the adaptation by `lora_alpha / lora_rank`. As in Keras, Dense
            enables it at build with `lora_alpha = lora_rank`; `enable_lora(rank, lora_alpha)`
            sets another.
        quantization_config: the `QuantizationConfig` a quantized layer was made with (Keras
            writes it into a quantized model's config); set by `quantize()`.

    Input shape: `(batch, ..., input_dim)`. Output shape: `(batch, ..., units)`.

    Example:
        >>> layer = Dense(3)
        >>> tuple(layer(torch.zeros(2, 5)).shape)
        (2, 3)
    """

    supports_masking = True  # a padded step's mask goes on to the next layer, as Keras's

    _calibrated_kernels = "own"  # GPTQ / AWQ calibrate the kernel
    _lora_alpha_from_config = False  # Keras's Dense enables at build with alpha = rank
    kernel = lora_target_slot("kernel")  # with LoRA on: the merged kernel, as Keras's property

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.quantization_config = quantizers_registry.deserialize_config(quantization_config)
        if isinstance(units, str) and units.strip().isdigit():
            # tf.keras 2's Dense ran int(units), so course code wrote units='4': it means only 4
            units = int(units)
        self.units = check.positive_int(units, "units", self)
        self._init_lora(lora_rank, lora_alpha)
        self.activation = activations.get(activation)
        if self.units == 1 and self.activation is activations.softmax:
            # Keras accepts it silently; it is the classic two-class mistake (the loss never moves).
            warnings.warn(
                errors.message(
                    self,
                    "more than one unit under activation='softmax'",
                    "units=1: softmax over one unit always outputs 1.0, so nothing can be learned",
                    "for two classes use Dense(1, activation='sigmoid') with "
                    "loss='binary_crossentropy', or Dense(2, activation='softmax').",
                ),
                UserWarning,
                stacklevel=2,
            )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise errors.value_error(
                self,
                "a known size for the last axis of its input",
                f"shape {errors.format_shape(input_shape)}",
            )
        # Keras's (input_dim, units), contiguous: `addmm` takes it as it is, and the kernel's
        # gradient comes out in the same layout, so neither direction copies it (nor does a
        # fused optimizer, which copies weights whose memory is not contiguous).
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        if self.quantization_mode in CALIBRATED_MODES:  # loaded quantized: the file fills them
            calibrated_dense.build_quantized(self)
        elif self.quantization_mode is not None:
            quantized_dense.build_quantized(self)
        self._build_lora()

    @property
    def variable_serialization_spec(self) -> dict:
        """Keras's table of the variables this layer writes to a weights file, in order, for
        each quantization mode (None: not quantized)."""
        return {mode: list(names) for mode, names in quantized_dense.SERIALIZATION_SPEC.items()}

    def _quantize_weights(self, mode, config):
        quantized_dense.quantize(self, mode, config)

    def _lora_project(self, inputs, factor_a):
        return torch.matmul(inputs.to(factor_a.dtype), factor_a)

    def _lora_dequantized(self):
        return quantized_dense.dequantized_kernel(self)

    def _lora_requantized(self, merged):
        mode, config = self.quantization_mode, self.quantization_config
        return quantized_dense.quantized_values(self, mode, config, merged)

    def call(self, inputs):
        if self._is_quantized:
            if self.quantization_mode in CALIBRATED_MODES:
                outputs = calibrated_dense.call(self, inputs)
            else:
                outputs = quantized_dense.dense_call(self, inputs)
            if self.lora_enabled:  # QLoRA: a float low-rank path beside the integer kernel
                outputs = (outputs + self._lora_outputs(inputs)).to(outputs.dtype)
            if self.bias is not None:  # read in the compute dtype, as Keras under mixed policies
                outputs = outputs + quantized_dense.bias(self).to(outputs.dtype)
            return outputs if self.activation is None else self.activation(outputs)
        if not inputs.is_floating_point():
            inputs = inputs.to(stored_weight(self, "kernel").dtype)
        kernel = self._lora_kernel() if self.lora_enabled else self.kernel
        # The registered weight, not through Module.__getattr__ (about 1 us a call, a step).
        outputs = _product(inputs, kernel, stored_weight(self, "bias"))
        # Keras skips an activation set to None after construction (`layer.activation = None`
        # drops a classifier's softmax), so lamina does too.
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantizers_registry.serialize(self.quantization_config),
            **self._lora_config(),
        }


def _product(inputs, kernel, bias):
    """`inputs @ kernel + bias` on the last axis, as one `addmm` (the bias added inside the
    product, as torch.nn.Linear does)."""
    if bias is None:
        return torch.matmul(inputs, kernel)
    if inputs.dim() == 2:
        return torch.addmm(bias, inputs, kernel)
    flat = inputs.reshape(-1, inputs.shape[-1])
    return torch.addmm(bias, flat, kernel).view(*inputs.shape[:-1], kernel.shape[-1])


class Activation(Layer):
    """Applies an activation function to its input: `Activation('relu')`.

    Args:
        activation: an activation's name (`"relu"`, `"tanh"`, ...) or any callable from tensor
            to tensor, as `lamina.activations.get` accepts.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> Activation("relu")(torch.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    supports_masking = True
    preserves_input_shape = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._build_at_init(Activation)

    def call(self, inputs):
        return self.activation(inputs)

    def _channels_first_role(self):
        if type(self).call is Activation.call and activations.is_elementwise(self.activation):
            return channels_first.ELEMENTWISE
        return None

    def _channels_first_call(self, inputs, training):
        # Value by value: the same numbers on any layout.
        kernel = activations.elementwise_kernel(self.activation)
        return None if kernel is None else kernel(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged (and passes its mask through).

    A placeholder where a model's structure wants a layer but no computation, e.g. an optional
    projection that is switched off.

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.

    Example:
        >>> Identity()(torch.tensor([1.0, 2.0])).tolist()
        [1.0, 2.0]
    """

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._build_at_init(Identity)

    def call(self, inputs):
        return inputs


class Lambda(Layer):
    """Wraps a Python function as a layer: `Lambda(lambda x: x * 2)`.

    A Lambda holds code, so a saved model containing one loads only with `safe_mode=False`.
    It has no weights: a function that needs trainable state belongs in a `Layer` subclass.

    Args:
        function: the callable applied to the inputs, `function(inputs, **arguments)`.
        output_shape: the output's shape without the batch axis (a tuple, a list or dict of
            them for several outputs), or a callable `output_shape(input_shape)` giving it with
            the batch axis; symbolic calls then take it as stated, as in Keras, and never run
            `function`. None (the default): inferred by running `function`.
        mask: the output's mask: a tensor, or a callable `mask(inputs, input_mask)`; None (the
            default) drops the input's mask, as Keras's Lambda does.
        arguments: optional dict of extra keyword arguments passed to `function`.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: whatever `function` takes. Output shape: whatever it returns.

    Example:
        >>> double = Lambda(lambda x, factor: x * factor, arguments={"factor": 2.0})
        >>> double(torch.tensor([1.0, 3.0])).tolist()
        [2.0, 6.0]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise errors.value_error(self, "a callable `function`", f"{function!r}")
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape
        self.mask = mask
        # As Keras's: a Lambda says it supports masking only when given a `mask` (compute_mask
        # gives the output's mask either way).
        self.supports_masking = mask is not None
        self._build_at_init(Lambda)

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    @property
    def _declares_output_shape(self) -> bool:
        """Whether `output_shape` states the output shape (shape inference then trusts it)."""
        return self._output_shape is not None

    def compute_output_shape(self, input_shape):
        """`output_shape` (the first input's batch size prepended to each shape), what a callable
        `output_shape` returns, or, without one, the shape of running `function`."""
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch_size = tree.flatten(input_shape)[0]
        return tree.map_shape_structure(lambda shape: (batch_size, *shape), self._output_shape)

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: `mask(inputs, input_mask)` when `mask` is callable, else `mask` itself
        (None by default: a Lambda does not pass its input's mask on)."""
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        """Keras's layout: each function as Keras writes it (a named function by its name, a
        lambda as Keras's `__lambda__` code entry, which lamina itself never loads: see
        `lamina.saving.code_entries`)."""
        config = {
            **super().get_config(),
            "function": code_entries.function_entry(self.function),
        }
        if self._output_shape is not None:
            shape = self._output_shape
            config["output_shape"] = (
                code_entries.function_entry(shape) if callable(shape) else shape
            )
        if callable(self.mask):
            config["mask"] = code_entries.function_entry(self.mask)
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config):
        """The layer from its config; every function is one the loader provides (in
        `custom_objects`, a `custom_object_scope` or the registry), never code from the file."""
        config = dict(config)
        name = config.get("name", "lambda")
        function_type = config.pop("function_type", None)  # Keras 2's .h5 configs
        shape_type = config.pop("output_shape_type", None)
        for written_by_keras2 in ("module", "output_shape_module"):
            config.pop(written_by_keras2, None)
        config["function"] = code_entries.resolve(
            config["function"], name, "function", function_type
        )
        shape = config.get("output_shape")
        if isinstance(shape, (dict, str)) or callable(shape) or shape_type == "lambda":
            config["output_shape"] = code_entries.resolve(shape, name, "output_shape", shape_type)
        elif isinstance(shape, list) and all(isinstance(d, (int, type(None))) for d in shape):
            config["output_shape"] = tuple(shape)
        if isinstance(config.get("mask"), dict) or callable(config.get("mask")):
            config["mask"] = code_entries.resolve(config["mask"], name, "mask")
        return super().from_config(config)


class TorchModuleWrapper(Layer):
    """A plain `torch.nn.Module` as a lamina layer, so it can sit in a Sequential or a graph.

    Its parameters count as the layer's trainable weights and its buffers as non-trainable ones
    (in the module's own order and layout), so fit(), summary() and get_weights() see them.
    Sequential wraps plain modules automatically, and so does a layer or model given one as an
    attribute, as Keras's torch backend does. The module moves to lamina's default device (where
    the layers make their weights), as Keras's does. Each call puts the module in the call's mode
    (torch's `train()` when training, `eval()` else), so its BatchNorm and Dropout follow
    `training` as lamina's own layers do.

    Args:
        module: the `torch.nn.Module` to wrap; it is called as `module(inputs)`.
        name: the layer's name (default: `torch_module_wrapper` plus a counter).
        output_shape: the output's shape (batch axis included), for `compute_output_shape`;
            None works it out by calling the module.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: whatever `module` takes. Output shape: whatever it returns.

    Example:
        >>> layer = TorchModuleWrapper(torch.nn.Linear(4, 2))
        >>> tuple(layer(torch.zeros(3, 4)).shape)
        (3, 2)
        >>> [tuple(w.shape) for w in layer.get_weights()]
        [(2, 4), (2,)]
    """

    wraps_a_torch_module = True  # its `module` attribute stays the plain module

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        super().__init__(name=name, **kwargs)
        # As Keras: the module joins the device lamina's layers make their weights on.
        self.module = module.to(backend.default_device())
        self._given_output_shape = output_shape
        self.built = True

    def __getattr__(self, name):
        # What the wrapper lacks, its module answers (`wrapper.weight`, `wrapper.running_mean`),
        # so code that used a plain module set on a layer, before it was wrapped, still runs.
        try:
            return super().__getattr__(name)
        except AttributeError:
            module = self.__dict__.get("_modules", {}).get("module")
            if module is None:
                raise
            return getattr(module, name)

    def call(self, inputs, training=None):
        if self.module.training != training:
            self.module.train(training)
        return self.module(inputs)

    def compute_output_shape(self, input_shape):
        if self._given_output_shape is None:
            return super().compute_output_shape(input_shape)
        return self._given_output_shape

    def _own_weights(self):
        trainable = [WeightEntry(self, p, True) for p in self.module.parameters()]
        frozen = [WeightEntry(self, b, False) for b in self.module.buffers()]
        self._name_module_tensors()
        return trainable + frozen

    def _name_module_tensors(self) -> None:
        """Give the module's parameters and buffers the `path` lamina's weights carry
        (`wrapper/0/weight` for the module's `0.weight`), so listings and state trees can name
        them. Worked out when the weights are listed: the wrapper's path is known then.

        Plain ones also take lamina's weight class in place, so `wrapper.weights[i].assign()`,
        `.numpy()` and `.name` work as on Keras's wrapper variables. In place keeps each tensor
        the module's own object: a torch optimizer or DDP made on the module still holds it."""
        prefix = self.path or self.name
        for tensors, plain, weight_class in (
            (self.module.named_parameters(), torch.nn.Parameter, TrainableWeight),
            (self.module.named_buffers(), torch.Tensor, NonTrainableWeight),
        ):
            for name, tensor in tensors:
                if type(tensor) is plain:
                    tensor.__class__ = weight_class
                path = f"{prefix}/{name.replace('.', '/')}"
                if getattr(tensor, "path", None) != path:
                    tensor.path = path

    def get_config(self):
        """The module is described (its class and printed form), not pickled as Keras does:
        loading takes a module from `custom_objects` (see `lamina.saving.code_entries`)."""
        config = {**super().get_config(), "module": code_entries.module_entry(self.module)}
        if self._given_output_shape is not None:
            config["output_shape"] = self._given_output_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """The wrapper around the module the loader gives under the layer's name.

        Args:
            config: the layer's config, as `get_config()` (or Keras) wrote it.
            custom_objects: where to find the module (or a function making it), under the
                layer's name, besides the active `custom_object_scope`.
            safe_mode: taken for Keras's signature; lamina never unpickles a module, whatever
                it says (Keras's pickled module is refused with a hint to give it instead).

        Example:
            >>> wrapper = TorchModuleWrapper(torch.nn.Linear(3, 2), name="head")
            >>> config = wrapper.get_config()
            >>> TorchModuleWrapper.from_config(config, {"head": torch.nn.Linear(3, 2)}).module
            Linear(in_features=3, out_features=2, bias=True)
        """
        config = dict(config)
        name = config.get("name", "torch_module_wrapper")
        with CustomObjectScope(custom_objects or {}):
            config["module"] = code_entries.resolve_module(config.get("module"), name)
        shape = config.get("output_shape")
        if isinstance(shape, list):
            config["output_shape"] = tuple(shape)
        return super().from_config(config)

    def _sublayers(self):
        return []

    def _apply_trainable(self):
        for parameter in self.module.parameters():
            parameter.requires_grad_(self._trainable)
