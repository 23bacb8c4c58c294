"""Layer: a torch Module with Keras's build/call life cycle.

Subclasses write three things: ``__init__`` (hyperparameters only), ``build(input_shape)`` (every
weight, through ``add_weight``) and ``call(inputs, training=None)`` (the math). They never override
``forward``. See ``engine/README.md`` for the life of a layer.
"""

from __future__ import annotations

import collections
import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.modules import module as _torch_module

from lamina import backend, constraints, initializers, regularizers, tree
from lamina.dtype_policies import policy as dtype_policies
from lamina.engine import (
    build_shapes,
    errors,
    naming,
    remat,
    scopes,
    shape_inference,
    stateless,
    tracking,
    weight,
)
from lamina.engine.input_spec import InputSpec, InputSpecs
from lamina.engine.keras_tensor import any_symbolic, flatten_symbolic
from lamina.engine.shape_inference import in_meta_inference
from lamina.engine.shape_inference import meta_inference as meta_inference  # re-exported
from lamina.engine.variable_base import VariableBase
from lamina.engine.weight import (
    NonTrainableWeight,
    TrainableWeight,
    WeightSlot,
    as_weight,
    keep_weight_class,
    stored_weight,
)
from lamina.mixed_precision import autocast as mixed_precision_autocast

# The training value an enclosing call received explicitly (`base_model(x, training=False)`), so
# nested layers follow it. One list per thread: a Dataset.map worker calling
# `augment(x, training=True)` must not leak its value into the training thread. (A ContextVar
# costs a graph break under torch.compile; a thread-local list does not.)


def _training_stack() -> list[bool]:
    return scopes.thread_stack("layer_training")


# Keras 3 warns so on `Dense(2, input_shape=(3,))`; the layer still declares the shape (Keras 2's
# way, which the seeds use), so a Sequential builds at definition time.
INPUT_SHAPE_ARGUMENT = (
    "Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential "
    "models, prefer using an `Input(shape)` object as the first layer in the model instead."
)


def _in_name_scope(layer, call):
    """`call` run inside `layer`'s name scope; afterwards the layer notes whether all its
    sub-layers are built (then its later calls need no scope)."""

    def scoped(*args, **kwargs):
        with layer._name_scope():
            outputs = call(*args, **kwargs)
        if not in_meta_inference():
            built = all(getattr(module, "built", True) for module in layer.modules())
            layer.__dict__["_sublayers_built"] = built
        return outputs

    return scoped


def _defining_class(cls: type, attribute: str) -> type:
    """The class in `cls`'s MRO whose own body defines `attribute`."""
    return next(klass for klass in cls.__mro__ if attribute in vars(klass))


def _callers() -> list:
    """The layers whose calls are running on this thread, outermost first."""
    return scopes.thread_stack("layer_callers")


# Whether any layer has added a loss (add_loss, an activity regularizer) in this process. Until one
# has, no call needs to know whether it is the outermost one (where Keras clears the losses of
# the previous call), and the plain call path stays open.
_losses_added = [False]

_UNKNOWN = object()  # a weights' device not looked up yet
_NOT_PLAIN = object()  # Layer._plain_call's "take the general path"


def _module_call_needed(module: nn.Module) -> bool:
    """Whether torch's `Module.__call__` has work to do for `module`: hooks (its own or global
    ones) to run, or a `torch.jit.trace` in progress to record scopes for."""
    return _has_own_hooks(module) or module_calls_observed()


def _has_own_hooks(module: nn.Module) -> bool:
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def module_calls_observed() -> bool:
    """Whether torch's `Module.__call__` has work for every module now: global module hooks to
    run, or a `torch.jit.trace` in progress that records each module's scope.

    Example:
    >>> module_calls_observed()
    False
    """
    return bool(
        _torch_module._global_forward_hooks
        or _torch_module._global_forward_pre_hooks
        or _torch_module._global_backward_hooks
        or _torch_module._global_backward_pre_hooks
        or torch._C._get_tracing_state()
    )


class WeightSpec(NamedTuple):
    """How a layer registered one of its own weights (see `Layer.add_weight`).

    `trainable` is the flag it was made with, which fixes its place in `weights` (trainable
    first); `frozen` is Keras's `variable.trainable = False` set later (LoRA's kernel): the
    weight keeps its place but leaves `trainable_weights`.
    """

    name: str
    trainable: bool
    frozen: bool = False


class WeightEntry(NamedTuple):
    """One weight as `Layer.weights` lists it: the layer owning it and the tensor.

    `trainable` says whether it is a trainable weight of its owner (Keras's `trainable_weights`
    also needs the owner's own `trainable` flag). `file_value`, where set, computes what a
    weights file holds in the weight's place (a LoRA layer files its kernel with the update
    merged in); `saved()` reads it.
    """

    owner: nn.Module
    tensor: torch.Tensor
    trainable: bool
    file_value: Callable | None = None

    def saved(self) -> torch.Tensor:
        """The value a weights file holds for this weight, detached."""
        if self.file_value is None:
            return self.tensor.detach()
        return self.file_value(self.tensor)


def current_training(layer: nn.Module, training) -> bool:
    """Explicit argument > value an enclosing call received > torch's train() mode (outside
    fit's steps) > the default of the layer's `call` signature, Keras's last resort: an
    augmentation (`call(inputs, training=True)`) called by hand or in a data pipeline augments,
    where predict and evaluate, which run under `inference_calls`, pass False."""
    if training is not None:
        return bool(training)
    stack = _training_stack()
    if stack and stack[-1] is not None:
        return stack[-1]
    if layer.training and not stack:
        return True
    return layer.__dict__.get("_call_training_default", False) and not in_meta_inference()


class train_step_calls:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Layers called in the block follow Keras's rule alone: one given no `training`, inside no
    call that received one, takes its `call` signature's default, whatever torch's train() mode.

    fit() turns torch's mode on (for plain torch modules inside the model) and runs its train
    steps and batch callbacks in this block: the default step calls the model with
    `training=True`, and a custom `train_step` that calls `self.encoder(x)` without it runs the
    encoder in inference mode, as Keras 2 and 3 do (BatchNormalization on its moving statistics,
    no dropout).

    Example:
        >>> drop = lamina.layers.Dropout(0.5).train()
        >>> with train_step_calls():
        ...     bool((drop(torch.ones(1, 8)) == 1).all())
        True
    """

    def __enter__(self):
        _training_stack().append(None)
        return self

    def __exit__(self, *exc_info):
        _training_stack().pop()
        return False


class inference_calls:  # noqa: N801 - used as a context manager, like torch.no_grad
    """Layers called in the block run as if given `training=False`, whatever their own default:
    what Keras's predict and evaluate steps pass (`self(x, training=False)`).

    Example:
        >>> flip = lamina.layers.RandomFlip(seed=1)
        >>> with inference_calls():
        ...     bool((flip(torch.ones(1, 2, 2, 1)) == 1).all())
        True
    """

    def __enter__(self):
        _training_stack().append(False)
        return self

    def __exit__(self, *exc_info):
        _training_stack().pop()
        return False


def shape_of(inputs):
    """The shape of a tensor, or the nested shapes of a list/tuple/dict of tensors."""
    if isinstance(inputs, (torch.Tensor, np.ndarray)) or hasattr(inputs, "shape"):
        return tuple(inputs.shape)
    if isinstance(inputs, (list, tuple)):
        return [shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: shape_of(v) for k, v in inputs.items()}
    return None


def first_tensor(inputs):
    """The first torch tensor of a nested structure (None if it holds none)."""
    if isinstance(inputs, torch.Tensor):
        return inputs
    return next((x for x in tree.flatten(inputs) if isinstance(x, torch.Tensor)), None)


# lamina's own layer classes by name, filled as their modules are imported: what a saved config's
# "class_name" is looked up in, so the loader needs no import of lamina.layers (an import cycle).
_LAMINA_CLASSES: dict[str, type] = {}


def lamina_class(name: str) -> type | None:
    """The lamina Layer (or Model) class a saved config names, None when lamina has none."""
    return _LAMINA_CLASSES.get("Model" if name == "Functional" else name)


def _marking_built(build):
    """`build` that leaves the layer built, as Keras's: a parent's `build` calling
    `self.inner.build(shape)` builds the sub-layer once, not again on its first call."""

    signature = inspect.signature(build)
    parameters = list(signature.parameters.values())[1:]

    @functools.wraps(build)
    def build_and_mark(self, *args, **kwargs):
        depth = self.__dict__.get("_build_depth", 0)
        self.__dict__["_build_depth"] = depth + 1
        try:
            # In the layer's own name scope, as Keras's build wrapper: a direct `layer.build(shape)`
            # (a parent's build calling its sub-layer's) names weights `parent/layer/kernel`.
            with self._name_scope():
                result = build(self, *args, **kwargs)
        finally:
            self.__dict__["_build_depth"] = depth
        if depth == 0:
            shapes = None
            if _takes_shapes_by_name(type(self)):  # build(self, foo_shape, bar_shape)
                shapes = signature.bind(self, *args, **kwargs).arguments
                shapes = {name: shapes[name] for name in list(shapes)[1:]}
                self.__dict__["_build_shapes"] = _with_none_batch(shapes)
            if not self.built:
                if shapes is not None:
                    shape = next(iter(shapes.values()), None)
                else:
                    shape = args[0] if args else next(iter(kwargs.values()), None)
                self._finish_build(shape)
        return result

    # Keras calls a `build(self)` that takes no shape with nothing (its layers then build their
    # sub-layers themselves, on their first call); build_from_shape reads this.
    build_and_mark.takes_shape = bool(parameters)
    # Several: Keras 3 passes each its call() argument's shape by name (engine/build_shapes.py).
    build_and_mark.shape_parameters = build_shapes.shape_parameters(build)
    return build_and_mark


def _takes_shapes_by_name(cls) -> bool:
    """Whether `cls.build` takes one shape per call() argument (`build(self, foo_shape,
    bar_shape)`), which the first call builds by name. lamina's layers that build from several
    shapes their own way (MultiHeadAttention) override `build_from_shape` and are left to it."""
    return (
        len(getattr(cls.build, "shape_parameters", ())) > 1
        and cls.build_from_shape is Layer.build_from_shape
    )


def _name_may_come_first(add_weight):
    """tf.keras 2's `self.add_weight("kernel", shape=[...])` (its signature put the name first;
    TF's custom-layer tutorial and guides call it so): the lone positional string, with the
    shape given by keyword, can only be the name. Keras 3 refuses the call; Python's own error
    ("got multiple values for argument 'shape'") said nothing of why."""

    @functools.wraps(add_weight)
    def add_weight_named_first(self, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], str) and "shape" in kwargs:
            if "name" in kwargs:
                raise TypeError(
                    f"Layer '{self.name}': add_weight got the name twice, {args[0]!r} first and "
                    f"name={kwargs['name']!r}. Hint: pass it once, as name=..."
                )
            return add_weight(self, name=args[0], **kwargs)
        return add_weight(self, *args, **kwargs)

    return add_weight_named_first


class Layer(nn.Module):
    """Base of every lamina layer.

    A subclass creates its weights in `build(input_shape)` (called once, on the first call, with
    the input's shape) and computes in `call(inputs, ...)`; `layer(x)` runs both, on real tensors
    or on symbolic ones from `Input()`. Being a `torch.nn.Module`, a layer's weights are also its
    parameters (trainable) and buffers (non-trainable).

    Args:
        name: unique name; defaults to the class name in snake_case plus a counter.
        trainable: whether the layer's weights are updated by training (default True).
        dtype: dtype policy or dtype of the weights and computation (default None: the global
            policy, float32 unless changed).
        input_shape: shape of one sample (no batch axis); lets Sequential build at definition time.
        input_dim: Keras 2's shorthand for `input_shape=(input_dim,)`.
        batch_input_shape: Keras 2's form of `input_shape` with the batch axis first.
        batch_size: the batch size that goes with `input_shape` (default None: any).
        autocast: accepted for Keras compatibility (default True); under mixed precision each
            layer casts as its dtype policy says.
        activity_regularizer: a regularizer applied to every output tensor of each call; its
            penalty, divided by the output's batch size, joins `layer.losses` (as Keras's).

    Example:
        >>> class Scale(Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight(
        ...             name="scale", shape=(input_shape[-1],), initializer="ones"
        ...         )
        ...     def call(self, inputs):
        ...         return inputs * self.scale
        >>> layer = Scale()
        >>> layer(torch.full((2, 3), 2.0)).tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
        >>> [tuple(w.shape) for w in layer.trainable_weights]
        [(3,)]
    """

    def __new__(cls, *args, **kwargs):
        # Keras's automatic config: a subclass that writes no get_config() still saves and loads
        # when its constructor took plain values (`Downscale(channels=8, scale=(2, 2))`), so the
        # arguments are kept as given. Set in the instance's dict: torch's Module is not set up.
        instance = super().__new__(cls)
        # A layer made inside a compiled call (a Reshape built in call()) is transient, and
        # Dynamo cannot trace the binding: it keeps nothing there.
        if not torch.compiler.is_compiling():
            instance.__dict__["_auto_config"] = _constructor_arguments(cls, args, kwargs)
        return instance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Public lamina classes only: a user's class loads through custom_objects or
        # register_keras_serializable, as in Keras.
        if cls.__module__.startswith("lamina.") and not cls.__name__.startswith("_"):
            _LAMINA_CLASSES.setdefault(cls.__name__, cls)
        if "build" in cls.__dict__:
            cls.build = _marking_built(cls.__dict__["build"])
        elif inspect.isfunction(cls.build) and not hasattr(cls.build, "takes_shape"):
            # A build from a mixin that is no Layer (`class L(Body, Layer)`): wrapped the same.
            cls.build = _marking_built(cls.build)
        # A class whose forward adds work of its own may do that work in its `_plain_call` and
        # name that forward `_forward_checked_by_plain_call` (Sequential's rank check).
        cls._plain_forward = cls.forward is Layer.forward or cls.forward is getattr(
            cls, "_forward_checked_by_plain_call", None
        )

    # Keras's masking protocol: a layer that passes masks through unchanged sets this.
    supports_masking = False
    # Whether a masked input to a layer without masking support warns, as Keras's layers do.
    warns_of_dropped_masks = True
    # Keras's flag for whether the layer may run inside a compiled function; read by programs,
    # never by lamina (torch.compile decides per op).
    supports_jit = True
    # What `__call__` checks the input against (engine/input_spec.py); set per instance.
    input_spec: InputSpec | None = None
    # Whether the class keeps Layer.forward, so that `_plain_call` may stand in for it.
    _plain_forward = True
    # Whether a call on a list of tensors without masks may skip the general path
    # (`_plain_list_call`): set by classes whose `compute_mask` gives None for such inputs.
    _plain_list_inputs = False
    # Whether the class's own `compute_mask` gives None for inputs without masks, so that a
    # channels-first call (`_channels_first_ready`) may skip it: merges, global pooling.
    _no_mask_from_unmasked_inputs = False
    # True once `quantize()` (or a build under a quantized dtype policy) swapped the float kernel
    # for integer variables (lamina/quantizers/model_quantization.py).
    _is_quantized = False
    # Whether subclasses quantize without `type_check=False`: MultiHeadAttention's do, as in
    # Keras, where the quantized layers are its EinsumDense sub-layers, whatever the subclass.
    _subclasses_quantize = False
    # Which kernels GPTQ / AWQ calibrate (lamina/quantizers/calibration.py): "own" (Dense,
    # EinsumDense), "projections" (MultiHeadAttention's), or None for none.
    _calibrated_kernels = None
    # A layer whose output always has its input's shape and dtype (activations, normalization,
    # dropout) sets this: symbolic calls then skip the meta-device probe.
    preserves_input_shape = False
    # Keras's rule: after the inputs, only tensors go by position (flags such as `training` go by
    # keyword). The graph's op nodes take their arguments (shapes, axes) by position.
    takes_non_tensor_positional_args = False
    # Keras casts floating inputs to the layer's compute dtype before `call` (a float64 array
    # into a float32 layer); the layers Keras exempts (lookups, hashing, ...) set this False.
    casts_float_inputs = True
    # Layers that take NumPy text (lookups, hashing, TextVectorization, models) set this: on
    # any other, an error raised on a text input is reworded as the dtype mistake it is.
    reads_text = False
    # Under a mixed policy, such a layer takes its float inputs and gives its float32 outputs in
    # its compute dtype, as Keras's layers do (mixed_precision/autocast.py). A model sets this
    # False: its layers cast, each its own, so a dtype="float32" layer sees the input as given
    # and the final float32 softmax of Keras's guide gives the model's outputs in float32.
    gives_compute_dtype = True
    # Under a mixed policy, whether such a layer casts its float inputs to its compute dtype.
    # A subclassed model does, as Keras's `Layer.__call__` (its layers then see 16-bit inputs);
    # a Sequential leaves them to its first layer (Keras casts only where no Input is declared).
    takes_compute_dtype = True
    # Own weights that Keras keeps in a sub-layer instead: weight name -> the sub-layer's key in
    # Keras's weights file (MultiHeadAttention's `query_kernel` lives in `query_dense`). Saving
    # files them there, so files move between the two unchanged.
    _keras_weight_groups: dict[str, str] = {}
    # And the `variable.path` suffix Keras gives them there (`query_kernel` -> `query/kernel`).
    _keras_weight_paths: dict[str, str] = {}

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype=None,
        input_shape=None,
        input_dim: int | None = None,
        batch_input_shape=None,
        batch_size: int | None = None,
        autocast: bool = True,
        activity_regularizer=None,
        **kwargs,
    ):
        super().__init__()
        if kwargs:
            raise errors.unexpected_arguments(
                f"{type(self).__name__}()",
                kwargs,
                "Check the spelling against the layer's documented arguments.",
            )
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.built = False
        self.training = False  # Keras semantics: a layer called outside fit() is in inference mode
        if not isinstance(trainable, bool):  # Keras refuses "yes", 1, None alike
            raise errors.value_error(
                f"{type(self).__name__}()",
                "`trainable` to be a boolean",
                f"trainable={trainable!r} (of type {type(trainable).__name__})",
                "pass True or False.",
            )
        self._trainable = trainable
        self.dtype_policy = dtype  # a policy, its name, a dtype or None (the global policy)
        self.input_spec: InputSpec | None = None
        if input_shape is not None or input_dim is not None:
            warnings.warn(INPUT_SHAPE_ARGUMENT, stacklevel=2)  # Keras 3's words, category, level
        self._declared_input_shape = _declared_shape(input_shape, input_dim, batch_input_shape)
        self._declared_batch_size = batch_size
        self._weight_specs: list[WeightSpec] = []
        self._regularizers: list[tuple[str, object]] = []
        self._activity_losses: list[torch.Tensor] = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._build_input_shape = None
        self._inbound_nodes: list = []
        signature = inspect.signature(self.call).parameters
        self._call_takes_training = "training" in signature
        # Keras's augmentations declare call(..., training=True): active unless told otherwise.
        self._call_training_default = (
            self._call_takes_training and signature["training"].default is True
        )
        self._call_takes_mask = "mask" in signature
        # `call(self, x, training, mask)`, no default: only a caller's position can fill it.
        self._call_training_required = (
            self._call_takes_training and signature["training"].default is inspect.Parameter.empty
        )
        # Keras's `<argument>_mask` parameters (`call(self, query, context, context_mask=None)`):
        # argument name -> its mask parameter, filled from the argument's `_keras_mask`.
        self._call_argument_masks = {
            name[: -len("_mask")]: name
            for name in signature
            if name.endswith("_mask") and name[: -len("_mask")] in signature
        }
        # call()'s positional parameters; the first, which Keras lets a caller pass by name
        # (`layer(inputs=x)`), is the inputs.
        self._call_positional = tuple(
            name
            for name, param in signature.items()
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        )
        self._computes_mask = type(self).compute_mask is not Layer.compute_mask
        if (
            self._computes_mask
            and "supports_masking" not in self.__dict__
            and not any("supports_masking" in vars(c) for c in type(self).__mro__ if c is not Layer)
        ):
            # Keras's default: a layer with its own compute_mask supports masking unless its
            # class (or its instance, later) says otherwise; one that does not is not asked.
            self.supports_masking = True
        self._remat_mode = remat.current_mode()  # a RematScope open at creation (remat.py)
        self.autocast = autocast
        for attribute in self.__dict__.pop("_set_before_init", ()):
            setattr(self, attribute, self.__dict__.pop(attribute))  # now torch registers it

    # ----------------------------------------------------------------------------------------------
    # The life cycle

    @_marking_built  # as Keras's: `layer.build(shape)` leaves even a weightless layer built
    def build(self, input_shape) -> None:
        """Create the weights. `input_shape` is Keras's: batch first, channels last."""

    def _build_at_init(self, owner: type | None = None) -> None:
        """Mark a weightless layer built at construction (as Keras does), unless a subclass
        overrides the build of `owner` (the class calling it; None: Layer, as Keras's own
        `_build_at_init()`): that build makes weights, so it must run on the first call."""
        if type(self).build is (owner or Layer).build:
            self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not have a `call` method implemented: a subclass "
            "writes `def call(self, inputs)`, the layer's computation."
        )

    def compute_mask(self, inputs, mask=None):
        return mask if self.supports_masking else None

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and not _losses_added[0]:
            if type(args[0]) is torch.Tensor:
                outputs = self._plain_call(args[0])
                if outputs is not _NOT_PLAIN:
                    return outputs
            elif type(args[0]) is list and self._plain_list_inputs:
                outputs = self._plain_list_call(args[0])
                if outputs is not _NOT_PLAIN:
                    return outputs
        if not args and kwargs:
            args, kwargs = self._inputs_by_name(kwargs)
        if len(args) > 1 and not self.takes_non_tensor_positional_args:
            args, kwargs = self._check_positional_tensors(args, kwargs)
        if args:
            inputs = args[0]
            if isinstance(inputs, torch.Tensor):  # the usual call first: a step makes dozens
                if not inputs.is_meta:
                    # Keras moves what it is given to the weights' device (a CPU tensor into a
                    # model on CUDA); a layer without weights computes where its input is.
                    device = self._weights_device()
                    if device is not None and inputs.device != device:
                        args = (inputs.to(device), *args[1:])
            elif _tensor_list_alone(inputs, args, kwargs):
                # A merge layer's [x, y] (the hot case in a ResNet's step): no tree walks.
                device = self._weights_device()
                if device is not None and any(t.device != device for t in inputs):
                    args = (type(inputs)(t if t.is_meta else t.to(device) for t in inputs),)
            else:
                if any_symbolic(args, kwargs):
                    return shape_inference.call_on_symbolic(self, args, kwargs)
                device = self._weights_device()
                if isinstance(inputs, (list, tuple)):
                    # `layer([[1.0, 2.0]])`: one input's values, as Keras's preprocessing layers
                    # read them (its other layers refuse them; torch's would fail on the list).
                    inputs = _numbers_array(inputs)
                inputs = _as_tensor_tree(inputs, device or backend.default_device(), device)
                args = (inputs, *args[1:])
            if kwargs and any(
                isinstance(v, (torch.Tensor, np.ndarray, list, tuple)) for v in kwargs.values()
            ):
                # mask=, initial_state=, ...: on the device the inputs compute on. A symbolic
                # call's shape inference (meta inputs) converts NumPy too, as a positional NumPy
                # argument: `attention(x, x, attention_mask=array)` builds as it runs eagerly.
                inputs = first_tensor(args[0])
                if inputs is not None:
                    on_meta = inputs.is_meta
                    device = backend.default_device() if on_meta else inputs.device
                    weights_device = None if on_meta else device
                    kwargs = {
                        k: _as_tensor_tree(v, device, weights_device) for k, v in kwargs.items()
                    }
            if (
                len(args) > 1
                and not self.takes_non_tensor_positional_args
                and any(isinstance(a, np.ndarray) for a in args[1:])
            ):
                # A second input or a mask given by position as NumPy: a tensor, as Keras.
                inputs = first_tensor(args[0])
                on_meta = inputs is None or inputs.is_meta
                device = backend.default_device() if on_meta else inputs.device
                args = (args[0], *(_as_tensor_tree(a, device, device) for a in args[1:]))
        if self.casts_float_inputs and self.autocast and not dtype_policies.mixed_in_use[0]:
            args, kwargs = _cast_float_inputs(args, kwargs, self._compute_torch_dtype)
        try:
            if _losses_added[0]:
                return self._outermost_call_clears_losses(args, kwargs)
            return self._module_call(args, kwargs)
        except (AttributeError, TypeError) as error:
            # Text stays NumPy on its way in (the string layers read it so); a layer that
            # computes on numbers then fails deep in torch. Keras says it is the dtype.
            if self.reads_text or not (
                args and isinstance(args[0], np.ndarray) and args[0].dtype.kind in "US"
            ):
                raise
            raise errors.value_error(
                self,
                "numbers",
                f"an array of strings (dtype {args[0].dtype}, shape {args[0].shape}), on which "
                f"call() raised {type(error).__name__}: {error}",
                "turn text into numbers first, with a TextVectorization, StringLookup or "
                "Hashing layer before this one.",
            ) from error

    def _check_positional_tensors(self, args, kwargs) -> tuple[tuple, dict]:
        """Keras refuses a non-tensor given by position (`dropout(x, True)`, a Keras 2 habit)
        rather than let it land on whichever parameter comes next. One case is unambiguous and
        taken: a bool at the position of a `training` parameter that call() declares with no
        default (tf.keras's `def call(self, x, training, mask)`, called `layer(x, True, mask)`);
        it and the arguments after it pass by name."""
        for position, argument in enumerate(args[1:], start=1):
            for value in tree.flatten([argument]):
                if value is None or isinstance(value, (torch.Tensor, np.ndarray, VariableBase)):
                    continue
                if any_symbolic((value,), {}):
                    continue
                by_name = self._training_by_position(args, kwargs, position)
                if by_name is not None:
                    return by_name
                raise errors.value_error(
                    self,
                    "only tensors as positional arguments after the inputs",
                    f"{value!r} ({type(value).__name__})",
                    "pass it by keyword, e.g. layer(x, training=False).",
                )
        return args, kwargs

    def _training_by_position(self, args, kwargs, index: int) -> tuple[tuple, dict] | None:
        """`args` with call()'s `training` (a bool at `index`, its own position) and every
        argument after it moved into `kwargs` by name; None where that is not what it says."""
        names = self._call_positional
        if not self._call_training_required or len(args) > len(names):
            return None
        if names[index] != "training":
            return None
        if not isinstance(args[index], bool):
            return None
        moved = dict(zip(names[index:], args[index:], strict=False))
        if any(name in kwargs for name in moved):
            return None
        return args[:index], {**kwargs, **moved}

    def _inputs_by_name(self, kwargs):
        """`layer(logits=x, targets=y)`: Keras takes call()'s first parameter by name as the
        inputs; lamina's forward() takes them first, so they move to the front here."""
        positional = self.__dict__.get("_call_positional", ())
        name = positional[0] if positional else None
        if name is None or name not in kwargs:
            raise TypeError(
                f"{errors.describe(self)} was called with keyword arguments only "
                f"({', '.join(sorted(kwargs))}) and none of them is call()'s first argument "
                f"{name!r}, the inputs. Hint: pass the inputs first, "
                f"`layer(x, ...)`, or by that name."
            )
        kwargs = dict(kwargs)
        return (kwargs.pop(name),), kwargs

    def _module_call(self, args, kwargs):
        if dtype_policies.mixed_in_use[0]:  # mixed precision: autocast as this layer's policy says
            return mixed_precision_autocast.call_with_policy(self, super().__call__, args, kwargs)
        return super().__call__(*args, **kwargs)

    def _outermost_call_clears_losses(self, args, kwargs):
        """Keras's rule for `layer.losses`: the losses of the latest outermost call only. A call
        from no other layer's call clears this layer's and its sub-layers' losses first, so a
        training loop that adds `sum(model.losses)` each step adds this step's penalties, not
        every step's so far (which also kept every step's graph alive)."""
        callers = _callers()
        if not callers and not (in_meta_inference() or torch.compiler.is_compiling()):
            first = first_tensor(args[0]) if args else None
            if first is None or not first.is_meta:
                self._clear_activity_losses()
        callers.append(self)
        try:
            return self._module_call(args, kwargs)
        finally:
            callers.pop()

    def _plain_call(self, inputs: torch.Tensor):
        """`call(inputs)` without the general path's work, or `_NOT_PLAIN` where that work is
        needed. The usual call in a training step (a built layer, one unmasked tensor on the
        weights' device, no hooks, remat or activity regularizer, no loss added by any layer so
        far, see `_losses_added`, and under mixed precision no autocast state to switch, see
        `autocast.calls_as_given`) spent about
        2 us in `__call__`, torch's `Module.__call__` and `forward` around the call itself: host
        time every layer pays every step, which is what bounds a GPU step (ResNet in
        bench/bench_host_overhead.py: 1.46x the hand-written loop before, 1.37x after)."""
        if not (self.built and self._plain_forward) or inputs.is_meta:
            return _NOT_PLAIN
        if (
            self._remat_mode is not None
            or self.activity_regularizer is not None
            or self._computes_mask
            or _module_call_needed(self)
            or getattr(inputs, "_keras_mask", None) is not None
        ):
            return _NOT_PLAIN
        mixed = dtype_policies.mixed_in_use[0]
        if mixed:
            # Plain only where the policy's autocast region is the one the call is in.
            if not mixed_precision_autocast.calls_as_given(self, inputs):
                return _NOT_PLAIN
        elif inputs.dtype is not self._compute_torch_dtype and inputs.is_floating_point():
            return _NOT_PLAIN  # another float dtype: cast on the general path, as Keras
        device = self.__dict__.get("_cached_weights_device", _UNKNOWN)
        if device is _UNKNOWN or (device is not None and device != inputs.device):
            return _NOT_PLAIN
        if self.input_spec is not None:
            self.input_spec.check(inputs.shape, self, inputs)
        if not mixed or self._autocast_torch_dtype is None:
            if self._call_takes_training:
                return self.call(inputs, training=current_training(self, None))
            return self.call(inputs)
        # A mixed layer casts as `autocast.call_with_policy` does (inline: every layer of a
        # mixed step comes here; the casts are the exceptions, a model's first layer's input
        # and the outputs autocast computed in float32).
        if inputs.dtype is torch.float32:
            inputs = self._mixed_input(inputs)
        if self._call_takes_training:
            outputs = self.call(inputs, training=current_training(self, None))
        else:
            outputs = self.call(inputs)
        if type(outputs) is torch.Tensor and outputs.dtype is not torch.float32:
            return outputs
        return self._mixed_outputs(outputs)

    def _mixed_input(self, tensor: torch.Tensor) -> torch.Tensor:
        """A fast path's input as `autocast.call_with_policy` gives it to `call`: a float
        tensor in a mixed layer's compute dtype, where the layer casts its inputs (Keras's
        `Layer.__call__` does); torch's autocast would cast it at the layer's first matmul or
        convolution anyway, so a mixed model pays no extra cast there."""
        target = self._autocast_torch_dtype
        if (
            target is None
            or tensor.dtype is target
            or not tensor.is_floating_point()
            or not (self.takes_compute_dtype and self.casts_float_inputs and self.autocast)
        ):
            return tensor
        return tensor.to(target)

    def _mixed_outputs(self, outputs):
        """A fast path's outputs as `autocast.call_with_policy` gives them: a mixed layer that
        casts its inputs gives its float32 outputs in its compute dtype."""
        target = self._autocast_torch_dtype
        if target is None or not (
            self.gives_compute_dtype and self.casts_float_inputs and self.autocast
        ):
            return outputs
        return mixed_precision_autocast.in_compute_dtype(outputs, target)

    def _call_in_run(self, inputs, training):
        """`self(inputs)` from a model's run over its layers, which checked once for the whole
        run what is the same for each layer: no global module hooks and no `torch.jit.trace`
        (`channels_first.active()`); `training` is the flag the model's call passed down
        (`channels_first.enclosing_training()`). The rest of `_plain_call`'s conditions are
        checked here, inline: a host-bound predict batch paid about ten Python calls per layer
        for them on `__call__`'s way, which a hand-written torch loop does not. Any call that
        needs the general path (mixed precision in use included) takes `__call__`."""
        if (
            type(inputs) is torch.Tensor
            and not _losses_added[0]
            and not dtype_policies.mixed_in_use[0]
            and self.built
            and self._plain_forward
            and self._remat_mode is None
            and self.activity_regularizer is None
            and not self._computes_mask
            and not (
                self._forward_hooks
                or self._forward_pre_hooks
                or self._backward_hooks
                or self._backward_pre_hooks
            )
            and not inputs.is_meta
            and getattr(inputs, "_keras_mask", None) is None
            and (inputs.dtype is self._compute_torch_dtype or not inputs.is_floating_point())
        ):
            device = self.__dict__.get("_cached_weights_device", _UNKNOWN)
            if device is None or (device is not _UNKNOWN and device == inputs.device):
                if self.input_spec is not None:
                    self.input_spec.check(inputs.shape, self, inputs)
                if not self._call_takes_training:
                    return self.call(inputs)
                if training is None:  # nothing passed down: the layer's own rule
                    training = current_training(self, None)
                return self.call(inputs, training=training)
        return self(inputs)

    def _plain_list_call(self, inputs: list):
        """`call([x, y, ...])` without the general path's work, for the layers that declare
        `_plain_list_inputs` (the merges), or `_NOT_PLAIN` where that work is needed. The same
        conditions as `_plain_call`, for each tensor of the list; the mask such a layer computes
        from inputs without masks is None, so skipping `compute_mask` changes nothing. A ResNet
        step makes one such call per residual block (`Add()([body, shortcut])`), which spent
        about 11 us in the general path's mask and tree work."""
        if not (self.built and self._plain_forward) or not inputs:
            return _NOT_PLAIN
        if (
            self._remat_mode is not None
            or self.activity_regularizer is not None
            or self.input_spec is not None
            or self._call_takes_mask
            or self._call_takes_training
            or self._call_argument_masks
            or _module_call_needed(self)
        ):
            return _NOT_PLAIN
        if not self._takes_as_they_are(inputs):
            return _NOT_PLAIN
        if not dtype_policies.mixed_in_use[0] or self._autocast_torch_dtype is None:
            return self.call(inputs)
        for tensor in inputs:
            if tensor.dtype is torch.float32:
                inputs = [self._mixed_input(tensor) for tensor in inputs]
                break
        outputs = self.call(inputs)
        if type(outputs) is torch.Tensor and outputs.dtype is not torch.float32:
            return outputs
        return self._mixed_outputs(outputs)

    def _channels_first_role(self) -> str | None:
        """How this layer takes part in a model's channels-first hand-off
        (engine/channels_first.py), read once when the model plans its edges: None (it does
        not), "spatial" (a channels-last spatial layer: takes and gives (N, C, *spatial)),
        "elementwise" (gives that layout where it is given it) or "reduces" (takes it and
        gives an output with no channel axis to move, as global pooling does)."""
        return None

    def _channels_first_call(self, inputs, training):
        """`call` on the (N, C, *spatial) view of its channels-last input (a list of them for
        a merge), giving the view of its output in that layout; None, before any work, where
        this call cannot (the model then calls the layer as usual). `training` is the resolved
        flag for layers whose `call` takes one."""

    def _channels_first_ready(self, inputs: list) -> bool:
        """Whether a call on these tensors may skip `__call__` for `_channels_first_call`: the
        conditions of `_plain_call` (no hooks, masks, casts, remat, device moves or autocast
        switches), for every tensor given; the model checks global hooks and tracing once a run
        (`channels_first.active`). Unlike `_plain_call`, a loss added somewhere does not
        matter: the layers that take part add none in `call`, and inside a model's call they
        are never the outermost call, the one that clears losses."""
        if not (self.built and self._plain_forward) or "call" in self.__dict__:
            return False  # (a `call` set on the instance must run: tests and debugging do it)
        if (
            self._remat_mode is not None
            or self.activity_regularizer is not None
            or (self._computes_mask and not self._no_mask_from_unmasked_inputs)
            or _has_own_hooks(self)
        ):
            return False
        return self._takes_as_they_are(inputs)

    def _takes_as_they_are(self, inputs) -> bool:
        """Whether `call` may take these tensors as given: plain, unmasked tensors of the compute
        dtype on the weights' device (what `__call__` would otherwise cast or move), and under
        mixed precision, in the autocast state the layer's policy asks (then a mixed layer
        takes any float dtype: its caller casts them, `_mixed_input`, as `__call__` would)."""
        device = self.__dict__.get("_cached_weights_device", _UNKNOWN)
        if device is _UNKNOWN:
            return False
        mixed = dtype_policies.mixed_in_use[0]
        dtype = (
            None if mixed and self._autocast_torch_dtype is not None else self._compute_torch_dtype
        )
        for tensor in inputs:
            if (
                type(tensor) is not torch.Tensor
                or tensor.is_meta
                or getattr(tensor, "_keras_mask", None) is not None
                or (dtype is not None and tensor.dtype is not dtype and tensor.is_floating_point())
                or (device is not None and tensor.device != device)
            ):
                return False
        return not mixed or mixed_precision_autocast.calls_as_given(self, inputs[0])

    def _fill_argument_masks(self, inputs, args, kwargs) -> None:
        """As Keras does for a call with several tensor arguments: each `<argument>_mask`
        parameter left None gets that argument's mask."""
        given = {**dict(zip(self._call_positional, (inputs, *args), strict=False)), **kwargs}
        for argument, mask_parameter in self._call_argument_masks.items():
            if kwargs.get(mask_parameter) is None and argument in given:
                mask = _masks_in(given[argument])
                if mask is not None:
                    kwargs[mask_parameter] = mask

    def _weights_device(self) -> torch.device | None:
        """Where this layer's weights (its sub-layers' included) live; None without weights.
        Cached: found again after build and after `.to()` / `.cuda()` (`_apply`)."""
        device = self.__dict__.get("_cached_weights_device", _UNKNOWN)
        if device is _UNKNOWN:
            tensor = next(iter(self.parameters()), None)
            if tensor is None:
                tensor = next(iter(self.buffers()), None)
            device = None if tensor is None or tensor.is_meta else tensor.device
            if self.built:
                self.__dict__["_cached_weights_device"] = device
        return device

    def _forget_weights_device(self) -> None:
        for module in self.modules():
            module.__dict__.pop("_cached_weights_device", None)

    def _apply(self, fn, recurse=True):
        before = {spec.name: stored_weight(self, spec.name) for spec in self._weight_specs}
        result = super()._apply(fn, recurse)
        weight.note_new_storage()
        for name, old in before.items():  # `.to()` of a buffer returns a plain tensor
            new = stored_weight(self, name)
            if old is not None and new is not None and new is not old:
                kept = keep_weight_class(new, old)
                if kept is not new:
                    self._registry_of(name)[name] = kept
        self._forget_weights_device()
        self._follow_float_conversion(fn)
        return result

    def _follow_float_conversion(self, fn) -> None:
        """After torch's `.double()`, `.half()` or `.to(torch.float64)` the layer computes in the
        new float dtype, as one built with `dtype="float64"` does (its policy says so), so the
        inputs it casts match its weights; weightless layers between them follow too. A
        quantized layer keeps its policy."""
        if self._dtype_policy.quantization_mode is not None or not self._dtype.is_floating_point:
            return
        converted = _float_dtype_after(fn, self._dtype)
        if converted is not None and converted is not self._dtype:
            self.dtype_policy = str(converted).removeprefix("torch.")

    def _registry_of(self, name: str) -> dict:
        """The dict torch registered weight `name` in: `_parameters` or `_buffers`."""
        return self._parameters if name in self._parameters else self._buffers

    def forward(self, inputs, *args, **kwargs):
        if not self.built:
            self._build_for(inputs, args, kwargs)
            if in_meta_inference() and _has_real_state(self):
                return shape_inference.meta_call(self, (inputs, *args), kwargs)
        elif self.input_spec is not None and isinstance(inputs, torch.Tensor):
            self.input_spec.check(inputs.shape, self, inputs)

        if self._call_takes_mask and kwargs.get("mask") is None:
            mask = _masks_in(inputs)
            # Keras fills `mask` only for a call with one tensor argument: with several
            # (`call(self, inputs, encoder_outputs, mask=None)`), whose mask it would be is
            # ambiguous, and `mask` stays None.
            if mask is not None and not _more_tensor_arguments(args, kwargs):
                kwargs["mask"] = mask
        elif not self._call_takes_mask:
            kwargs.pop("mask", None)
        if self._call_argument_masks and _more_tensor_arguments(args, kwargs):
            self._fill_argument_masks(inputs, args, kwargs)
        # The mask the outputs inherit is read before the call, as Keras does: a call may take
        # the masks off its inputs (MultiHeadAttention does).
        previous_mask = None
        if self.supports_masking:
            previous_mask = kwargs.get("mask")
            if previous_mask is None:
                previous_mask = _masks_in(inputs)
        elif (
            self.warns_of_dropped_masks
            and _has_mask(_masks_in(inputs))
            and not getattr(first_tensor(inputs), "is_meta", False)
        ):
            errors.warn_mask_dropped(self)

        training = kwargs.get("training")
        if self._call_takes_training:
            kwargs["training"] = current_training(self, training)
        elif "training" in kwargs:
            del kwargs["training"]
        call = self.call
        if self._remat_mode is not None and not in_meta_inference():
            call = remat.rematerialized_call(self, call, inputs)
        if (
            self._modules
            and not self.__dict__.get("_sublayers_built")
            and not torch.compiler.is_compiling()
        ):
            # Keras calls a layer inside its name scope, so the sub-layers this call builds take
            # paths under it (`block/dense/kernel`). A leaf layer's call builds nothing, nor does
            # a call once every sub-layer is built: those skip the scope's cost.
            call = _in_name_scope(self, call)
        if training is not None:
            stack = _training_stack()
            stack.append(bool(training))
            try:
                outputs = call(inputs, *args, **kwargs)
            finally:
                stack.pop()
        else:
            outputs = call(inputs, *args, **kwargs)

        if self.activity_regularizer is not None:
            self._add_activity_penalties(outputs)
        if self.supports_masking and (self._computes_mask or _has_mask(previous_mask)):
            out_mask = self.compute_mask(inputs, previous_mask)
            if out_mask is not None:
                _attach_masks(outputs, out_mask)
        return outputs

    def _add_activity_penalties(self, outputs) -> None:
        """Keras's activity regularization: each output tensor's penalty over its batch size."""
        for output in tree.flatten(outputs):
            if not isinstance(output, torch.Tensor) or output.is_meta:
                continue  # a shape-inference pass adds no loss
            penalty = self.activity_regularizer(output)
            if output.dim() > 0:
                batch_size = output.shape[0]
                penalty = penalty / batch_size if batch_size else torch.zeros_like(penalty)
            self.add_loss(penalty)

    def _build_for(self, inputs, args=(), kwargs=None) -> None:
        input_shape = shape_of(inputs)
        if self.input_spec is not None and isinstance(inputs, torch.Tensor):
            self.input_spec.check(input_shape, self, inputs)
        tensor = first_tensor(inputs)
        device = backend.default_device() if tensor is None or tensor.is_meta else tensor.device
        with torch.device(device):
            if not self._build_from_arguments((inputs, *args), kwargs or {}):
                self.build_from_shape(input_shape)

    def _build_from_arguments(self, args, kwargs) -> bool:
        """Build for the call `layer(*args, **kwargs)` from each argument's shape when `build`
        takes one per call() argument (`build(self, foo_shape, bar_shape)`, Keras 3's rule);
        False, doing nothing, for a build of one shape (or none)."""
        if self.built or not _takes_shapes_by_name(type(self)):
            return False
        names = type(self).build.shape_parameters
        self._build_with_shapes(build_shapes.shapes_for_build(self, names, args, kwargs))
        return True

    def _build_with_shapes(self, shapes: dict) -> None:
        """`build(**shapes)` once, in the layer's scope; records the shapes for get_build_config."""
        if self.built:
            return
        with self._name_scope():
            self._resolve_policy_map()
            self.build(**shapes)
        self.__dict__["_build_shapes"] = _with_none_batch(dict(shapes))
        self._finish_build(next(iter(shapes.values()), None))

    def _resolve_policy_map(self) -> None:
        if isinstance(self._dtype_policy, Mapping):
            # A DTypePolicyMap (Keras's policies by layer path, for a quantized block's
            # sublayers): this layer's own entry decides its weights; the path is known now.
            self.dtype_policy = self._dtype_policy[self._own_path()]

    def build_from_shape(self, input_shape) -> None:
        """Build once from a Keras shape (batch axis may be None); records the shape."""
        if self.built:
            return
        with self._name_scope():  # Variables made here: "layer/name"
            self._resolve_policy_map()
            if getattr(type(self).build, "takes_shape", True):
                self.build(input_shape)
            else:
                self.build()
        self._finish_build(input_shape)

    def _name_scope(self) -> scopes.name_scope:
        """Keras's scope for this layer's variables: its name under the path where the layer was
        first built or called (kept, so a later call elsewhere names nothing differently)."""
        parent = self.__dict__.get("_parent_path")
        if parent is None:
            parent = self.__dict__["_parent_path"] = scopes.current_path()
        return scopes.name_scope(self.name, caller=self, override_parent=parent)

    def get_build_config(self) -> dict | None:
        """What `build_from_config` needs to build this layer again: `{"input_shape": shape}`
        once built, None before. Saving writes it beside the layer's config.

        Override it with `build_from_config` when `build` takes more than the input shape.

        Example:
            >>> layer = lamina.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> layer.get_build_config()
            {'input_shape': (None, 3)}
        """
        shapes = self.__dict__.get("_build_shapes")
        if self.built and shapes and _takes_shapes_by_name(type(self)):
            # Keras's form for a build of one shape per call() argument.
            if len(shapes) == 1:
                return {"input_shape": next(iter(shapes.values()))}
            return {"shapes_dict": dict(shapes)}
        if not self.built or self._build_input_shape is None:
            return None
        return {"input_shape": self._build_input_shape}

    def build_from_config(self, config) -> None:
        """Build from `get_build_config()`'s dict; loading calls it before weights are set.

        Args:
            config: the dict (`{"input_shape": shape}`), or None for nothing to build.

        Example:
            >>> layer = lamina.layers.Dense(2)
            >>> layer.build_from_config({"input_shape": [None, 3]})
            >>> tuple(layer.kernel.shape)
            (3, 2)
        """
        if config and config.get("input_shape") is not None:
            shape = config["input_shape"]
            nested = isinstance(shape, (list, tuple)) and any(
                isinstance(s, (list, tuple)) for s in shape
            )
            self.build_from_shape([tuple(s) for s in shape] if nested else tuple(shape))
        elif config and isinstance(config.get("shapes_dict"), dict):
            # Keras's form for `build(self, foo_shape, bar_shape)`: each shape by its name.
            shapes = {name: _shape_from_json(s) for name, s in config["shapes_dict"].items()}
            if _takes_shapes_by_name(type(self)):
                self._build_with_shapes(shapes)
            elif not self.built:
                self.build(**shapes)

    def _finish_build(self, input_shape) -> None:
        self._build_input_shape = _with_none_batch(input_shape)
        self.built = True
        self._forget_weights_device()
        self._apply_trainable()

    # ----------------------------------------------------------------------------------------------
    # Weights

    @_name_may_come_first
    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer=None,
        constraint=None,
        aggregation="none",
        overwrite_with_gradient: bool = False,
        name: str | None = None,
        *,
        layout=None,
    ) -> torch.Tensor:
        """Creates a weight of Keras's `shape` and registers it on this layer (Keras 3's signature).

        Trainable weights are Parameters, the others buffers (so `state_dict` has both). A weight
        made without a `name` is registered as `variable`, `variable_1`, ... until it is assigned
        to an attribute (`self.w = self.add_weight(...)`), whose name it then takes.

        Args:
            shape: the weight's shape, as Keras lays it out (default `()`).
            initializer: initializer or its name (default `"glorot_uniform"` for floating
                weights, `"zeros"` for the others, as Keras).
            dtype: the weight's dtype (default: the layer's variable dtype).
            trainable: whether training updates it (default True).
            autocast: accepted for Keras compatibility; mixed precision casts per dtype policy.
            regularizer: regularizer or its name, whose penalty joins `layer.losses`.
            constraint: constraint or its name, applied after each optimizer step.
            aggregation: accepted for Keras compatibility (distributed aggregation mode).
            overwrite_with_gradient: the optimizer replaces the weight by its gradient instead of
                taking a step (Keras's float8 scales, whose "gradient" is their next value).
            name: the attribute name to register it under (default: the attribute it is
                assigned to).
            layout: lamina's `(to_keras, from_keras)` pair of axis permutations, for a weight
                whose torch kernel wants another axis order than Keras's shape: the memory is
                laid out as `from_keras` orders it, and the weight is the Keras-shaped view
                `to_keras` gives of it. `layer.kernel` reads, assigns and saves as in Keras,
                and the layer's call takes `from_keras(weight)`, a contiguous view, for free.
                None (the default): a plain contiguous tensor of Keras's shape.

        Returns:
            The new weight: an `nn.Parameter` when trainable, else a buffer tensor.

        Example:
            >>> layer = Layer()
            >>> w = layer.add_weight(shape=(2, 3), initializer="ones", name="w")
            >>> tuple(w.shape), layer.trainable_weights[0] is w
            ((2, 3), True)
        """
        if isinstance(shape, str):
            raise TypeError(
                errors.message(
                    f"Layer '{self.name}': add_weight's first argument `shape`",
                    "a tuple of ints",
                    f"the string {shape!r}",
                    f"Keras 3's add_weight takes the shape first; pass the name as name={shape!r}.",
                )
            )
        shape = () if shape is None else shape
        if isinstance(shape, (int, np.integer)):
            # tf.keras 2 took a bare size for a vector (`shape=self.dense.input_shape[-1]` in
            # tied-weights autoencoders); Keras 3 refuses it; its one meaning is (size,).
            shape = (int(shape),)
        if dtype is not None and not backend.to_torch_dtype(dtype).is_floating_point:
            initializer = "zeros" if initializer is None else initializer
        initializer = "glorot_uniform" if initializer is None else initializer
        if name is None:
            name = self._unused_weight_name()
        init = initializers.get(initializer)
        torch_dtype = backend.to_torch_dtype(dtype) if dtype is not None else self._dtype
        device = torch.get_default_device()  # the build's device (its torch.device context)
        if device.type == "meta":
            value = init(tuple(int(d) for d in shape), dtype=torch_dtype)
        else:
            # Drawn on the CPU, then moved: a seed gives the same initial weights on every
            # device (CUDA's generator draws other numbers), as Keras's seeded initializers do.
            with torch.device("cpu"):
                value = init(tuple(int(d) for d in shape), dtype=torch_dtype)
        if layout is None:
            value = value.contiguous().to(device)  # a user initializer may give any strides
        else:  # Keras's shape over the memory order torch's kernel reads (see `layout`)
            to_keras, from_keras = layout
            value = to_keras(from_keras(value).contiguous().to(device))
        if self.__dict__.get(name, 0) is None:  # a placeholder such as `self.bias = None`
            delattr(self, name)
        with self._name_scope():  # as in build, also from __init__
            path = f"{scopes.current_path()}/{self._keras_weight_paths.get(name, name)}"
        name = self._free_weight_key(name)
        if trainable:
            self.register_parameter(name, as_weight(value, TrainableWeight, path))
        else:
            self.register_buffer(name, as_weight(value, NonTrainableWeight, path))
        self._weight_specs.append(WeightSpec(name, trainable))
        weight = stored_weight(self, name)  # a WeightSlot attribute may read another value
        if overwrite_with_gradient:
            weight.overwrite_with_gradient = True
        if regularizer is not None:
            weight.regularizer = regularizers.get(regularizer)
            self._regularizers.append((name, weight.regularizer))
        if constraint is not None:
            weight.constraint = constraints.get(constraint)
            self._constraints = getattr(self, "_constraints", [])
            self._constraints.append((name, weight.constraint))
        return weight

    def add_variable(
        self,
        shape,
        initializer,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        name=None,
    ) -> torch.Tensor:
        """Keras 3's alias of `add_weight` (shape and initializer first).

        Args:
            shape: the weight's shape, as Keras lays it out.
            initializer: initializer or its name.
            dtype: the weight's dtype (default: the layer's variable dtype).
            trainable: whether training updates it.
            autocast: accepted for Keras compatibility.
            regularizer: regularizer or its name.
            constraint: constraint or its name.
            name: the attribute name to register it under.

        Returns:
            The new weight, as `add_weight` returns it.

        Example:
            >>> layer = Layer()
            >>> layer.add_variable((2,), "ones", name="scale").tolist()
            [1.0, 1.0]
        """
        return self.add_weight(
            shape=shape,
            initializer=initializer,
            dtype=dtype,
            trainable=trainable,
            autocast=autocast,
            regularizer=regularizer,
            constraint=constraint,
            name=name,
        )

    def _free_weight_key(self, name: str) -> str:
        """The key to register a weight named `name` under: `name` itself, unless the layer holds
        something else there (`self.kernel = 3`, a kernel size, as keras-io's equalized
        convolution keeps it): in Keras a weight's name is not an attribute, so the layer's own
        value stays and the weight is registered as `name_1` (its path keeps `name`)."""
        key, index = name, 0
        while (
            key in self.__dict__
            or key in self._modules
            or (hasattr(type(self), key) and not isinstance(getattr(type(self), key), WeightSlot))
        ):
            index += 1
            key = f"{name}_{index}"
        return key

    def _free_weight_attribute(self, name: str) -> None:
        """Before `self.<name> = value` (a layer, a number) where a weight is registered as
        `name`: in Keras a weight's name is no attribute (`self.var = self.add_weight(name=
        "inner")`, then `self.inner = InnerLayer()`), so the weight moves to a free key and
        keeps its name and path; torch would refuse the assignment."""
        if not any(spec.name == name for spec in self._weight_specs):
            return
        index = 1
        while self._key_taken(f"{name}_{index}"):
            index += 1
        self._rename_weight(name, f"{name}_{index}")

    def _key_taken(self, key: str) -> bool:
        return (
            key in self.__dict__
            or key in self._parameters
            or key in self._buffers
            or key in self._modules
            or hasattr(type(self), key)
        )

    def _rename_weight(self, old: str, new: str) -> None:
        """Register the weight `old` under the key `new`, with its regularizer and constraint."""
        if old in self._parameters:
            self.register_parameter(new, self._parameters.pop(old))
        else:
            self.register_buffer(new, self._buffers.pop(old))
        self._weight_specs = [
            spec._replace(name=new) if spec.name == old else spec for spec in self._weight_specs
        ]
        self._regularizers = [(new if n == old else n, r) for n, r in self._regularizers]
        if hasattr(self, "_constraints"):
            self._constraints = [(new if n == old else n, c) for n, c in self._constraints]

    def _unused_weight_name(self) -> str:
        """`variable`, `variable_1`, ...: the first name no attribute of this layer holds; the
        weight is renamed after the attribute it is then assigned to (see `__setattr__`)."""
        taken = {spec.name for spec in self._weight_specs} | set(self.__dict__)
        taken |= set(self._parameters) | set(self._buffers) | set(self._modules)
        name, index = "variable", 0
        while name in taken:
            index += 1
            name = f"variable_{index}"
        self.__dict__.setdefault("_auto_named_weights", set()).add(name)
        return name

    def _adopt_auto_named_weight(self, attribute: str, value) -> bool:
        """Rename an unnamed `add_weight` weight after the attribute it is assigned to."""
        auto_names = self.__dict__.get("_auto_named_weights")
        if not auto_names or attribute.startswith("_") or attribute in auto_names:
            return False
        old = next(
            (
                n
                for n in auto_names
                if (self._parameters.get(n) is value or self._buffers.get(n) is value)
            ),
            None,
        )
        if old is None or attribute in self._parameters or attribute in self._buffers:
            return False
        auto_names.discard(old)
        if attribute in self.__dict__:  # a placeholder such as `self.w = None`
            delattr(self, attribute)
        if isinstance(getattr(value, "path", None), str):  # "dense/variable" -> "dense/w"
            value.path = "/".join(filter(None, (value.path.rpartition("/")[0], attribute)))
        self._rename_weight(old, attribute)
        return True

    def _own_weights(self) -> list[WeightEntry]:
        """This layer's own weights, in Keras's order (trainable ones first)."""
        made_trainable = [spec for spec in self._weight_specs if spec.trainable]
        made_frozen = [spec for spec in self._weight_specs if not spec.trainable]
        return [
            WeightEntry(self, stored_weight(self, spec.name), spec.trainable and not spec.frozen)
            for spec in made_trainable + made_frozen
        ]

    def _file_weights(self) -> list[WeightEntry]:
        """Own weights in the order Keras's weights file holds them: `_own_weights()`'s, unless
        the layer names another (a quantized Dense files `kernel, bias, kernel_scale`)."""
        entries = self._own_weights()
        order = self.__dict__.get("_file_weight_order")
        if not order:
            return entries
        rank = {name: index for index, name in enumerate(order)}
        names = {id(stored_weight(self, spec.name)): spec.name for spec in self._weight_specs}
        # A stable sort: weights the order does not name keep their place after those it does.
        return sorted(entries, key=lambda e: rank.get(names.get(id(e.tensor)), len(order)))

    def _sublayers(self):
        """Direct sub-layers (lists of layers included), in the order Keras tracks them."""
        found = []
        for module in self.children():
            if isinstance(module, Layer):
                found.append(module)
            elif isinstance(module, (nn.ModuleList, nn.Sequential)):
                found.extend(m for m in module if isinstance(m, Layer))
            elif isinstance(module, nn.ModuleDict):
                found.extend(m for m in module.values() if isinstance(m, Layer))
        return tracking.ordered(self, found)

    def _weight_entries(self) -> list[WeightEntry]:
        """Every weight of this layer and its sub-layers, deduplicated, in Keras's order."""
        entries, seen = [], set()
        for entry in [
            *self._own_weights(),
            *(e for s in self._sublayers() for e in s._weight_entries()),
        ]:
            if id(entry.tensor) not in seen:
                seen.add(id(entry.tensor))
                entries.append(entry)
        return entries

    @property
    def weights(self) -> list[torch.Tensor]:
        return [e.tensor for e in self._weight_entries()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        if not self.trainable:
            return []
        return [e.tensor for e in self._weight_entries() if e.trainable and e.owner.trainable]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        trainable_ids = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable_ids]

    def _seed_states(self) -> list[torch.Tensor]:
        """The states of the SeedGenerators this layer keeps as attributes (Keras tracks them)."""
        from lamina.random import SeedGenerator

        return [v.state for v in vars(self).values() if isinstance(v, SeedGenerator)]

    def _variables(self, seen: set) -> list[torch.Tensor]:
        """Own weights, own seed states, then each sub-layer's: Keras's `variables` order."""
        found = []
        for tensor in [*(e.tensor for e in self._own_weights()), *self._seed_states()]:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                found.append(tensor)
        for sublayer in self._sublayers():
            found.extend(sublayer._variables(seen))
        return found

    @property
    def variables(self):
        """All the layer's state: its weights and the state of each `SeedGenerator` it or its
        sub-layers keep (a `[seed, counter]` int64 tensor, never trained), as in Keras.

        Example:
            >>> class Noisy(lamina.layers.Layer):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.seed_generator = lamina.random.SeedGenerator(1337)
            >>> [v.name for v in Noisy().variables]
            ['seed_generator_state']
        """
        return self._variables(set())

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        """`variables` less the trainable weights: also the seed generators' states."""
        trainable_ids = {id(w) for w in self.trainable_weights}
        return [v for v in self.variables if id(v) not in trainable_ids]

    def count_params(self) -> int:
        if not self.built and not self.weights:
            raise ValueError(
                f"{errors.describe(self)} is not built yet, so it has no weights to count. "
                "Hint: call it on an input, or give the model an input_shape=."
            )
        return int(sum(w.numel() for w in self.weights))

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras's layouts and order."""
        return [backend.as_numpy(e.tensor.detach()).copy() for e in self._weight_entries()]

    def set_weights(self, weights) -> None:
        """Set the weights from NumPy arrays in Keras's layouts and order (as get_weights gives)."""
        entries = self._weight_entries()
        weights = list(weights)
        if len(weights) != len(entries):
            raise errors.value_error(
                self,
                f"a list of {len(entries)} weight arrays (in get_weights() order: "
                f"{[f'{e.owner.name}/{_weight_name(e)}' for e in entries]})",
                f"{len(weights)} arrays",
            )
        with torch.no_grad():
            for entry, value in zip(entries, weights, strict=True):
                expected = tuple(entry.tensor.shape)
                value = np.asarray(backend.as_numpy(value))
                if tuple(value.shape) != expected:
                    raise errors.value_error(
                        entry.owner,
                        f"weight '{_weight_name(entry)}' of shape {expected}",
                        f"an array of shape {tuple(value.shape)}",
                    )
                if value.dtype == np.float64:
                    value = value.astype(np.float32, copy=False)
                elif value.dtype.name == "bfloat16":  # as get_weights gives it (ml_dtypes)
                    value = backend.from_numpy(value)
                source = torch.as_tensor(value)
                entry.tensor.copy_(source.to(entry.tensor.dtype))

    def save_own_variables(self, store) -> None:
        """Write this layer's own weights (not its sub-layers') into `store`, as saving does.

        Saving (`model.save`, `save_weights`) calls it for every layer of the model with the
        layer's group of the weights file; override it (with `load_own_variables`) to save other
        state. The default writes the weights in Keras's layouts, trainable first, under the
        keys `"0"`, `"1"`, ...

        Args:
            store: a dict-like that takes `store[key] = array`.

        Example:
            >>> layer = lamina.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> store = {}
            >>> layer.save_own_variables(store)
            >>> {key: value.shape for key, value in store.items()}
            {'0': (3, 2), '1': (2,)}
        """
        for index, entry in enumerate(self._file_weights()):
            store[str(index)] = backend.as_numpy(entry.saved()).copy()

    def load_own_variables(self, store) -> None:
        """Set this layer's own weights from `store`, as `save_own_variables` wrote them.

        Loading calls it for every layer of the model with the arrays of the layer's group.

        Args:
            store: a dict-like of arrays under the keys `"0"`, `"1"`, ...

        Example:
            >>> source, target = lamina.layers.Dense(2), lamina.layers.Dense(2)
            >>> source.build((None, 3)); target.build((None, 3))
            >>> store = {}
            >>> source.save_own_variables(store)
            >>> target.load_own_variables(store)
            >>> bool((target.kernel == source.kernel).all())
            True
        """
        entries = self._file_weights()
        keys = sorted(str(key) for key in store)
        expected = [str(i) for i in range(len(entries))]
        if keys and not entries and not self.built:
            raise ValueError(
                f"{errors.describe(self)} was never built, so it has no variables, but the store "
                f"holds {len(keys)}. Hint: the layer is usually a sub-layer whose parent's build() "
                "does not build it (a build() must create all the state, its sub-layers' "
                "included), or a layer that needs build_from_config() to say how it is built on "
                "loading."
            )
        if keys != sorted(expected):
            raise errors.value_error(
                self,
                f"{len(entries)} variables under the keys {expected} "
                f"({[_weight_name(e) for e in entries]})",
                f"the keys {keys}",
                "the store was saved from a layer with other weights; build the same layer, or "
                "override load_own_variables() to read what it holds.",
            )
        with torch.no_grad():
            for key, entry in zip(expected, entries, strict=True):
                value = np.asarray(backend.as_numpy(store[key]))
                shape = tuple(entry.tensor.shape)
                if tuple(value.shape) != shape:
                    raise errors.value_error(
                        self,
                        f"variable {key} ('{_weight_name(entry)}') of shape {shape}",
                        f"an array of shape {tuple(value.shape)}",
                    )
                source = torch.as_tensor(backend.from_numpy(value))
                entry.tensor.copy_(source.to(device=entry.tensor.device, dtype=entry.tensor.dtype))
        self._own_variables_loaded()

    def _own_variables_loaded(self) -> None:
        """Called after a file's arrays were copied into this layer's own weights (by
        `load_own_variables` or by the weights-file loader); LoRA layers zero their factors."""

    # ----------------------------------------------------------------------------------------------
    # Trainable flag (Keras: setting it on a layer sets it on every sub-layer)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = value
        for module in self.modules():
            if isinstance(module, Layer):
                module._apply_trainable()

    def _apply_trainable(self) -> None:
        """requires_grad follows the flag, so frozen weights get no gradient."""
        for spec in self._weight_specs:
            tensor = stored_weight(self, spec.name)
            if isinstance(tensor, nn.Parameter):
                tensor.requires_grad_(self._trainable and not spec.frozen)

    def _freeze_weight(self, name: str) -> None:
        """Keras's `variable.trainable = False` on the own weight `name`: it keeps its place in
        `weights` and its file slot, leaves `trainable_weights` and gets no gradient."""
        self._weight_specs = [
            spec._replace(frozen=True) if spec.name == name else spec for spec in self._weight_specs
        ]
        self._regularizers = [(n, r) for n, r in self._regularizers if n != name]
        stored_weight(self, name).requires_grad_(False)

    # ----------------------------------------------------------------------------------------------
    # Losses added by regularizers

    @property
    def losses(self) -> list[torch.Tensor]:
        """Keras's `layer.losses`: the losses of the latest outermost call (activity
        regularizers, `add_loss`) of this layer and its sub-layers, then the weight
        regularization penalties, computed now from the current weights. After `fit` and
        `evaluate` the call is the last batch's, as in Keras.

        Example:
            >>> layer = lamina.layers.Dense(1, activity_regularizer="l1", kernel_regularizer="l2")
            >>> _ = layer(torch.ones(2, 3))
            >>> len(layer.losses)  # the call's activity penalty, then the kernel's
            2
        """
        layers = [module for module in self.modules() if isinstance(module, Layer)]
        penalties = [loss for layer in layers for loss in layer._activity_losses]
        for layer in layers:
            if layer.trainable:
                for name, regularizer in layer._regularizers:
                    penalties.append(regularizer(stored_weight(layer, name)))
                for variable in layer.__dict__.get("_tracked_variables", {}).values():
                    if variable.regularizer is not None and variable.trainable:
                        penalties.append(variable.regularizer(variable.value))
        return penalties

    @property
    def metrics(self) -> list:
        """Keras's `layer.metrics`: the metrics this layer and its sub-layers hold as attributes
        (alone or in a list), each once, in the order the layers are walked: an endpoint layer's
        accuracy, a custom model's loss tracker. `fit()` logs and resets them with the compiled
        metrics, as Keras does."""
        from lamina.metrics.metric import Metric

        found: list = []
        for module in self.modules():
            attributes = module.__dict__
            # Only the attributes `__setattr__` saw holding a metric or a list (a walk of every
            # attribute of every module cost 35 us for a 3-layer model, twice a train_on_batch
            # call), in the order they first did: Keras lists a layer's metrics in the order
            # they were assigned.
            for name in attributes.get("_metric_attributes", ()):
                value = attributes.get(name)
                for item in value if isinstance(value, (list, tuple)) else (value,):
                    if isinstance(item, Metric) and not any(item is m for m in found):
                        found.append(item)
        return found

    def add_loss(self, loss) -> None:
        symbolic = flatten_symbolic(loss)
        if symbolic:
            # Keras 2 replayed a graph loss on every call; Keras 3 refuses it, and a symbolic
            # tensor kept here would be dropped at the next forward without a word.
            raise errors.value_error(
                self,
                "add_loss() of a tensor computed in call()",
                f"a symbolic {symbolic[0]!r}, built outside any call",
                "Keras 3 takes no graph losses (Keras 2's model.add_loss(kl) on Input-derived "
                "tensors): add it from a layer's call(), e.g. a layer taking "
                "[z_mean, z_log_var] that calls self.add_loss(kl) and returns its input, or in a "
                "custom train_step.",
            )
        scope = scopes.get_stateless_scope()
        if scope is not None and scope.collect_losses:
            scope.add_loss(loss)
            return
        _losses_added[0] = True
        # Remembered for the compiled loss (`note_penalties`): this layer's calls add losses,
        # even when the only call so far was a shape-inference pass.
        self.__dict__["_adds_losses"] = True
        if isinstance(loss, torch.Tensor) and loss.is_meta:
            return  # a shape-inference pass (a functional model's definition) keeps no loss
        # A new list, not an append: inside a captured train step the list is cleared (a new
        # empty one) once the loss has read it, so the graph leaves nothing behind, where an
        # appended-to list would have to hold the traced tensor after it (which fails).
        self._activity_losses = [*self._activity_losses, loss]

    def _clear_activity_losses(self) -> None:
        for module in self.modules():
            if isinstance(module, Layer) and module._activity_losses:
                module._activity_losses = []

    # ----------------------------------------------------------------------------------------------
    # Shapes

    def compute_output_shape(self, input_shape):
        """Default: run `call` on the meta device (no memory, no compute) and read the shape.

        A layer with no `call` of its own, or asked with `input_shape=None`, has nothing to run:
        that raises NotImplementedError, as Keras's base method does."""
        if input_shape is None or type(self).call is Layer.call:
            # Keras's words ("does not have a `compute_output_shape` method implemented") kept.
            received = (
                f"input_shape={input_shape!r}, and the layer does not have a "
                "`compute_output_shape` method implemented nor a call() of its own"
                if type(self).call is Layer.call
                else "input_shape=None"
            )
            raise NotImplementedError(
                errors.message(
                    self,
                    "an input shape and a call() to infer its output shape from (lamina runs "
                    "call on the meta device)",
                    received,
                    "pass the input's shape, or implement "
                    "`def compute_output_shape(self, input_shape)`.",
                )
            )
        return shape_inference.infer_output_shape(self, input_shape)

    @property
    def input_shape(self):
        if self._inbound_nodes:
            return self._inbound_nodes[0].input_shapes
        if self._build_input_shape is None:
            raise AttributeError(f"{errors.describe(self)} is not built, so it has no input_shape.")
        return self._build_input_shape

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return self._inbound_nodes[0].output_shapes
        input_shape = self.input_shape
        try:
            return self.compute_output_shape(input_shape)
        except (TypeError, ValueError, RuntimeError) as error:
            # A property fails with AttributeError, so `hasattr` and tools walking a module's
            # attributes read it as absent: a recurrent cell needs its states too.
            # (torch's __getattr__ then answers with its own "has no attribute" message.)
            raise AttributeError("output_shape") from error

    @property
    def input(self):
        """The symbolic tensor(s) of the layer's first call, as in Keras: every KerasTensor among
        its arguments (a list for `Concatenate()([a, b])` or `attention(query, value)`, dicts by
        sorted key), or the one tensor if there is one."""
        if not self._inbound_nodes:
            raise AttributeError(
                f"{errors.describe(self)} has no input: it was never called on a symbolic Input."
            )
        return _one_or_list(self._inbound_nodes[0].parent_tensors)

    @property
    def output(self):
        """The symbolic output(s) of the layer's first call: a tensor, or a flat list of them."""
        if not self._inbound_nodes:
            raise AttributeError(
                f"{errors.describe(self)} has no output: it was never called on a symbolic Input. "
                "Hint: build the model with an Input or input_shape= first."
            )
        return _one_or_list(flatten_symbolic(self._inbound_nodes[0].output_tensors))

    # ----------------------------------------------------------------------------------------------
    # Keras's functional and introspection API (read by programs; nothing here runs in a call)

    def compute_output_spec(self, *args, **kwargs):
        """The outputs of `self(*args, **kwargs)` as `KerasTensor`s (shape and dtype), inferred
        as a call on `Input`s infers them, without recording a node or computing anything.

        Example:
            >>> spec = lamina.layers.Dense(3).compute_output_spec(lamina.KerasTensor((None, 4)))
            >>> spec.shape, spec.dtype
            ((None, 3), 'float32')
        """
        return shape_inference.output_spec(self, args, kwargs)

    def symbolic_call(self, *args, **kwargs):
        """The call on symbolic tensors: the outputs' `KerasTensor`s, recorded as a node of the
        graph (what `layer(lamina.Input(...))` does).

        Example:
            >>> x = lamina.Input((4,))
            >>> lamina.layers.Dense(3).symbolic_call(x).shape
            (None, 3)
        """
        return shape_inference.call_on_symbolic(self, args, kwargs)

    def stateless_call(
        self, trainable_variables, non_trainable_variables, *args, return_losses=False, **kwargs
    ):
        """Call the layer on the given weight values, with no side effect on the layer.

        Args:
            trainable_variables: one value per `layer.trainable_variables`, same order.
            non_trainable_variables: one value per `layer.non_trainable_variables`.
            *args: the call's positional arguments.
            return_losses: also return the losses of the call (activity penalties, `add_loss`,
                weight regularization computed from the given values).
            **kwargs: the call's keyword arguments (`training=True`, ...).

        Returns:
            `(outputs, non_trainable_variables)`: the new values of the non-trainable state
            (moving statistics, seed counters), which the layer itself keeps unchanged; with
            `return_losses=True`, `(outputs, non_trainable_variables, losses)`.

        Example:
            >>> layer = lamina.layers.Dense(1, kernel_initializer="ones")
            >>> _ = layer(torch.ones(1, 2))
            >>> kernel, bias = torch.full((2, 1), 3.0), torch.zeros(1)
            >>> outputs, state = layer.stateless_call([kernel, bias], [], torch.ones(1, 2))
            >>> outputs.tolist(), layer.kernel.tolist()
            ([[6.0]], [[1.0], [1.0]])
        """
        return stateless.stateless_call(
            self, trainable_variables, non_trainable_variables, args, kwargs, return_losses
        )

    def rematerialized_call(self, layer_call, *args, **kwargs):
        """`layer_call` as this layer's remat mode (a `RematScope` open at its creation) runs it
        on these arguments: checkpointed, or unchanged where the mode does not apply.

        Example:
            >>> layer = lamina.layers.Dense(2)
            >>> layer.rematerialized_call(layer.call, torch.ones(1, 3)) == layer.call
            True
        """
        if self._remat_mode is None:
            return layer_call
        return remat.rematerialized_call(self, layer_call, args[0] if args else None)

    def quantized_build(self, input_shape, mode, config=None) -> None:
        """Build the layer already quantized (`mode` "int8", "int4", "float8", ...): its
        weights are made, then quantized as `quantize(mode)` does. The integer weights are
        what loading a quantized file fills.

        Example:
            >>> layer = lamina.layers.Dense(4)
            >>> layer.quantized_build((None, 8), mode="int8")
            >>> layer.kernel.dtype
            torch.int8
        """
        self.build_from_shape(input_shape)
        if not self._is_quantized:
            self.quantize(mode, config=config)

    def quantized_call(self, *args, **kwargs):
        """The call of a quantized layer (its `call` reads the integer weights); Keras's name.

        Example:
            >>> layer = lamina.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> layer.quantize("int8")
            >>> tuple(layer.quantized_call(torch.ones(1, 3)).shape)
            (1, 2)
        """
        if self.quantization_mode is None:
            raise errors.value_error(
                self,
                "to be quantized before quantized_call()",
                "a float layer (quantization_mode None)",
                "call layer.quantize('int8') first, or call the layer itself.",
            )
        return self(*args, **kwargs)

    def add_metric(self, *args, **kwargs):
        """Removed in Keras 3, as there: it raises, saying what replaces it."""
        raise NotImplementedError(
            f"{errors.describe(self)}: add_metric() was removed in Keras 3. Hint: pass the metric "
            "to Model.compile(metrics=[...]), or create a metric in __init__() or build() and "
            "call metric.update_state() in call()."
        )

    @property
    def metrics_variables(self) -> list:
        """The state variables of every metric in `layer.metrics`, in that order.

        Example:
            >>> lamina.layers.Dense(1).metrics_variables
            []
        """
        return [variable for metric in self.metrics for variable in metric.variables]

    @property
    def path(self) -> str | None:
        """Keras's path of the layer: its name under the name scopes open where it was first
        built (`sequential/dense`; a layer of a functional model: its name). None before that.

        Example:
            >>> model = lamina.Sequential(
            ...     [lamina.Input((2,)), lamina.layers.Dense(1, name="d")], name="stack"
            ... )
            >>> model.layers[0].path
            'stack/d'
        """
        if self.__dict__.get("_parent_path") is None or not self.built:
            return None
        return self._own_path()

    def _own_path(self) -> str:
        parent = self.__dict__["_parent_path"]
        return f"{parent}/{self.name}" if parent else self.name

    @property
    def input_dtype(self) -> str:
        """The dtype the layer's inputs are converted to: its compute dtype, as in Keras."""
        return self.compute_dtype

    @property
    def call_signature_parameters(self) -> list[str]:
        """The names of `call()`'s parameters, in order.

        Example:
            >>> lamina.layers.Dropout(0.5).call_signature_parameters
            ['inputs', 'training']
        """
        return list(inspect.signature(self.call).parameters)

    @property
    def torch_params(self) -> nn.ParameterDict:
        """Keras's torch-backend view of the layer's variables: a `ParameterDict` keyed by each
        variable's path, whose entries share memory with the variables (non-trainable ones as
        Parameters without gradient). A lamina layer is itself the torch module, so
        `layer.parameters()` is the usual way; this is the Keras spelling.

        Example:
            >>> layer = lamina.layers.Dense(2, name="d")
            >>> layer.build((None, 3))
            >>> list(layer.torch_params)
            ['d/kernel', 'd/bias']
        """
        params = nn.ParameterDict()
        for variable in self.variables:
            key = getattr(variable, "path", None) or getattr(variable, "name", "variable")
            if not isinstance(variable, nn.Parameter):
                variable = nn.Parameter(variable.detach(), requires_grad=False)
            params[key] = variable
        return params

    def _flatten_layers(self, include_self: bool = True, recursive: bool = True) -> list:
        """This layer (when `include_self`) and its sub-layers, each once, in Keras's order: the
        direct sub-layers in the order they were tracked, and, when `recursive`, each one's own
        sub-layers walked before the next sibling's, latest tracked first (keras-io's float8
        example iterates this).

        Example:
            >>> x = lamina.Input((2,), name="x")
            >>> model = lamina.Model(x, lamina.layers.Dense(1, name="d")(x))
            >>> [layer.name for layer in model._flatten_layers(include_self=False)]
            ['x', 'd']
        """
        found = [self] if include_self else []
        seen: set[int] = set()
        pending = collections.deque(self._keras_layers())
        while pending:
            layer = pending.popleft()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            found.append(layer)
            if recursive:
                # Keras prepends a layer's sub-layers one by one, so they come out reversed.
                pending.extendleft(layer._keras_layers())
        return found

    def _keras_layers(self) -> list:
        """The direct sub-layers Keras tracks (its `_layers`): `_sublayers()`, and a
        Sequential's InputLayer besides."""
        return self._sublayers()

    # ----------------------------------------------------------------------------------------------
    # Dtype policy (mixed precision: lamina/dtype_policies, lamina/mixed_precision)

    @property
    def dtype_policy(self):
        """The layer's `DTypePolicy`: its compute dtype and its weights' dtype."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        policy = dtype_policies.get(value)
        self._dtype_policy = policy
        self._dtype = backend.to_torch_dtype(policy.variable_dtype)
        self._compute_torch_dtype = backend.to_torch_dtype(policy.compute_dtype)
        # Read by every call under mixed precision (autocast.calls_as_given): kept, not derived.
        self._autocast_torch_dtype = policy.autocast_dtype
        mode = policy.quantization_mode
        if mode is not None and self.built and not self._is_quantized:
            # Keras's rule: a quantized policy given to a built float layer quantizes it.
            from lamina.quantizers import quantization_config

            config = None  # the mode's default (a bare "int4" policy: groups of 128, as Keras)
            if mode == "int4" and hasattr(policy, "block_size"):
                config = quantization_config.Int4QuantizationConfig(block_size=policy.block_size)
            self.quantize(mode, config=config)

    @property
    def quantization_mode(self):
        """The layer's quantization mode ("int8", "int4"), None while it is a float layer."""
        return self._dtype_policy.quantization_mode

    def quantize(self, mode=None, type_check=True, config=None) -> None:
        """Quantize the layer's weights (Keras's `Layer.quantize`): Dense, EinsumDense,
        Embedding, ReversibleEmbedding and MultiHeadAttention know how; other layers raise
        NotImplementedError.

        Args:
            mode: "int8", "int4" or "float8" (not the embeddings); optional when `config`
                names it.
            type_check: refuse subclasses of the quantizable layers (their `call` may not
                read the quantized variables), as Keras does (default True).
            config: a `lamina.quantizers.QuantizationConfig`; None takes the mode's default.

        Example:
            >>> layer = lamina.layers.Dense(4)
            >>> layer.build((None, 8))
            >>> layer.quantize("int8")
            >>> layer.dtype_policy.name, layer.kernel.dtype
            ('int8_from_float32', torch.int8)
        """
        from lamina.quantizers import model_quantization  # the room above the engine

        config = model_quantization.resolve_config(mode, config)
        model_quantization.check_layer(self, config.mode)
        if (
            type_check
            and not self._subclasses_quantize
            and _defining_class(type(self), "_quantize_weights") is not type(self)
        ):
            # Refused, as Keras does: a subclass of a quantizable layer may have a call that
            # does not read the integer variables. Only the class that quantizes itself passes.
            Layer._quantize_weights(self, config.mode, config)
        self._quantize_weights(config.mode, config)

    def _quantize_weights(self, mode, config) -> None:
        """The layer's own quantization; layers that have one override this."""
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not have a `quantize` method implemented."
        )

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in ("bfloat16" under "mixed_bfloat16")."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights."""
        return self._dtype_policy.variable_dtype

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (Keras: an alias of `variable_dtype`)."""
        return backend.dtype_name(self._dtype)

    # ----------------------------------------------------------------------------------------------
    # Config

    def get_config(self) -> dict:
        config = {"name": self.name}
        arguments = self.__dict__.get("_auto_config")
        if arguments is not None and type(self).get_config is Layer.get_config:
            # A subclass without its own get_config: its constructor's arguments, as Keras's
            # automatic config; `name` only where the constructor takes it.
            parameters = inspect.signature(type(self).__init__).parameters.values()
            if not any(p.name == "name" or p.kind is p.VAR_KEYWORD for p in parameters):
                del config["name"]
            config.update(arguments)
        config["trainable"] = self.trainable
        config["dtype"] = dtype_policies.serialize(self._dtype_policy)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        # No batch_input_shape, as Keras 3 writes none: a model keeps its input shape in its
        # InputLayer, and Keras's layers refuse the argument when they read the config.
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        batch_input_shape = config.pop("batch_input_shape", None)
        config.pop("batch_shape", None)
        layer = cls(**config)
        if batch_input_shape is not None:
            layer._declared_input_shape = tuple(batch_input_shape[1:])
        return layer

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    def __setattr__(self, name, value):
        if name == "training" and type(value) is bool:
            # torch's train() / eval() set this on every module: a plain flag, never a weight
            # or module, so none of the bookkeeping below (fit, evaluate and every *_on_batch
            # call flip it on the whole model).
            self.__dict__[name] = value
            return
        if (
            getattr(type(value), "_is_metric", False)
            or isinstance(value, list)
            or (type(value) is tuple and any(getattr(type(v), "_is_metric", False) for v in value))
        ):
            # The attributes `metrics` visits: a metric, a list (it may get one later) or a
            # tuple holding one.
            self.__dict__.setdefault("_metric_attributes", {})[name] = None  # an ordered set
        if "_modules" not in self.__dict__ and _holds_state(value):
            # Keras lets a subclass make its sublayers before calling super().__init__(); torch
            # cannot register a module before Module.__init__: keep it as a plain attribute
            # (readable at once) until Layer.__init__ registers it.
            self.__dict__[name] = value
            self.__dict__.setdefault("_set_before_init", []).append(name)
            return
        if (
            value is not None
            and not isinstance(value, torch.Tensor)
            and (
                name in self.__dict__.get("_parameters", ())
                or name in self.__dict__.get("_buffers", ())
            )
        ):
            self._free_weight_attribute(name)
        # Keras tracks lists of layers assigned as attributes; torch only tracks ModuleLists.
        if isinstance(value, tracking.Tracked):  # `self.blocks += [...]` assigns it back
            value = tracking.track(self, name, value)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, nn.Module) for v in value)
            and not name.startswith("_")
        ):
            value = nn.ModuleList(value)
            tracking.note_tracked(self, value)
        elif name == "input_spec" and isinstance(value, (list, tuple)):
            value = InputSpecs(value)  # Keras's one spec per input: checked as one
        elif type(value) in (list, dict, tuple) and not name.startswith("_"):
            # Keras also follows layers put in a list or dict later (`self.blocks = []`, then
            # `self.blocks.append(...)`) and in dicts and tuples: see tracking.py.
            self._modules.pop(tracking.PREFIX + name, None)
            value = tracking.track(self, name, value)
        elif isinstance(value, VariableBase):
            self._track_variable(name, value)
        elif isinstance(value, torch.Tensor) and self._adopt_auto_named_weight(name, value):
            return
        elif isinstance(value, nn.Module) and "_modules" in self.__dict__:
            if _plain_torch_module(self, name, value):
                # Keras's torch backend wraps a plain torch module set on a layer, so fit()
                # trains its parameters and get_weights() and the files hold its state. (The
                # class, a Layer, is found by name: lamina.layers.core imports this module.)
                value = _LAMINA_CLASSES["TorchModuleWrapper"](value)
            tracking.note_tracked(self, value if isinstance(value, nn.ModuleList) else [value])
        super().__setattr__(name, value)

    def _track_variable(self, attribute: str, variable) -> None:
        """A Variable assigned as an attribute becomes one of this layer's weights: its tensor is
        registered as `<attribute>_variable` (a Parameter when trainable, else a buffer)."""
        key = f"{attribute}_variable"
        tensor = variable._stored()
        self._parameters.pop(key, None)
        self._buffers.pop(key, None)
        self._weight_specs = [spec for spec in self._weight_specs if spec.name != key]
        if variable.trainable:
            if not isinstance(tensor, nn.Parameter):
                grad = variable._grad_wanted(tensor)
                tensor = as_weight(tensor, TrainableWeight, variable.path, grad)
            self.register_parameter(key, tensor)
        else:
            self.register_buffer(key, as_weight(tensor, NonTrainableWeight, variable.path))
        self._weight_specs.append(WeightSpec(key, variable.trainable))
        self.__dict__.setdefault("_tracked_variables", {})[key] = variable
        variable._holder = (self, key)
        if variable.constraint is not None:
            self._constraints = getattr(self, "_constraints", [])
            self._constraints.append((key, variable.constraint))


# --------------------------------------------------------------------------------------------------
# helpers


def _float_dtype_after(fn, dtype: torch.dtype) -> torch.dtype | None:
    """The float dtype that `fn`, the conversion `Module._apply` was given, turns a `dtype`
    tensor into; None when it gives no float tensor. Tried on an empty meta tensor, then on an
    empty CPU one for conversions that also move to a device (a meta tensor cannot move)."""
    for device in ("meta", "cpu"):
        try:
            converted = fn(torch.empty(0, dtype=dtype, device=device))
        except (RuntimeError, NotImplementedError, TypeError, ValueError):
            continue
        if isinstance(converted, torch.Tensor) and converted.is_floating_point():
            return converted.dtype
        return None
    return None


def _cast_float_inputs(args, kwargs, dtype: torch.dtype):
    """Keras's input conversion: floating tensors among the call's arguments in another float
    dtype become `dtype` (`cast_floats`, which keeps their masks); integer and bool ones stay
    as they are. Whether any needs it is checked first, in plain loops over the arguments, the
    items of a list or tuple argument and keyword values: this runs on every general-path call
    (a merge layer's in each ResNet block), and the usual answer is no, so nothing is copied."""
    for value in args:
        if _float_cast_needed(value, dtype):
            break
    else:
        if not kwargs:
            return args, kwargs
        for value in kwargs.values():
            if _float_cast_needed(value, dtype):
                break
        else:
            return args, kwargs

    cast = mixed_precision_autocast.cast_floats  # the mixed-precision path's cast (keeps masks)
    return tuple(cast(a, dtype) for a in args), {key: cast(v, dtype) for key, v in kwargs.items()}


def _float_cast_needed(value, dtype: torch.dtype) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dtype is not dtype and value.is_floating_point()
    if type(value) in (list, tuple):
        for item in value:
            if (
                isinstance(item, torch.Tensor)
                and item.dtype is not dtype
                and item.is_floating_point()
            ):
                return True
    return False


def _holds_state(value) -> bool:
    """A value torch must register or lamina must track: a module, a tensor or variable, or a
    list, dict or tuple (tracked like Keras's containers, so waiting for Layer.__init__ too, even
    when it holds only plain values such as a padding tuple)."""
    if isinstance(value, (nn.Module, torch.Tensor, VariableBase)):
        return True
    if type(value) in (list, dict, tuple):
        return True
    return isinstance(value, list) and any(isinstance(v, nn.Module) for v in value)


def _declared_shape(input_shape, input_dim, batch_input_shape):
    if input_shape is not None:
        return tuple(input_shape) if isinstance(input_shape, (list, tuple)) else (input_shape,)
    if batch_input_shape is not None:
        return tuple(batch_input_shape[1:])
    if input_dim is not None:
        return (int(input_dim),)
    return None


def _one_or_list(tensors: list):
    """Keras's unpacking of a node's tensors: the tensor itself when there is exactly one."""
    return tensors[0] if len(tensors) == 1 else tensors


def _shape_from_json(shape):
    """A shape read back from JSON (lists) as build() got it: a tuple, or a structure of them."""
    if isinstance(shape, dict):
        return {k: _shape_from_json(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(d is None or isinstance(d, int) for d in shape):
            return tuple(shape)
        return [_shape_from_json(s) for s in shape]
    return shape


def _with_none_batch(shape):
    if isinstance(shape, tuple):
        return (None, *shape[1:]) if shape else shape
    if isinstance(shape, list):
        return [_with_none_batch(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _with_none_batch(v) for k, v in shape.items()}
    return shape


def _tensor_list_alone(inputs, args, kwargs) -> bool:
    """Whether a call is `layer([tensor, ...])`: one list or tuple of tensors, nothing else."""
    return (
        type(inputs) in (list, tuple)
        and len(args) == 1
        and not kwargs
        and all(type(t) is torch.Tensor or isinstance(t, torch.Tensor) for t in inputs)
    )


def overrides(layer, method: str, base: type | None = None) -> bool:
    """Whether `layer`'s class defines its own `method` rather than inheriting `base`'s (Keras's
    hooks that saving and loading call only when a layer or model overrides them:
    `get_build_config`, `save_own_variables`, `get_compile_config`, ...).

    Args:
        layer: a layer or model.
        method: the name of a method of `base`.
        base: the class whose method counts as not overridden (default: `Layer`).

    Example:
        >>> class Custom(Layer):
        ...     def get_build_config(self):
        ...         return {}
        >>> overrides(Custom(), "get_build_config"), overrides(Layer(), "get_build_config")
        (True, False)
    """
    own = getattr(type(layer), method, None)
    return own is not None and own is not getattr(base or Layer, method, None)


def _attach_masks(outputs, masks) -> None:
    """Give each output tensor its mask, as Keras does: `compute_mask` answers in the outputs'
    structure (one mask per tensor a layer returns, a list of them for a list of outputs, such as
    a layer splitting its input along time), and the two are matched leaf by leaf. An output that
    already carries a mask (set by `call` itself) keeps it."""
    flat_outputs = tree.flatten(outputs)
    flat_masks = [masks] if isinstance(masks, torch.Tensor) else tree.flatten(masks)
    for output, mask in zip(flat_outputs, flat_masks, strict=False):
        if (
            isinstance(output, torch.Tensor)
            and mask is not None
            and getattr(output, "_keras_mask", None) is None
        ):
            output._keras_mask = mask


def _is_tensor_argument(value) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (list, tuple)) and value:
        flat = tree.flatten(value)
        return all(x is None or isinstance(x, torch.Tensor) for x in flat) and any(
            isinstance(x, torch.Tensor) for x in flat
        )
    return False


def _more_tensor_arguments(args, kwargs) -> bool:
    """Whether a call passes tensors beyond its first argument (`mask=` and `training=` aside)."""
    return any(_is_tensor_argument(a) for a in args) or any(
        _is_tensor_argument(v) for k, v in kwargs.items() if k not in ("mask", "training")
    )


def _masks_in(inputs):
    """The masks a call's first argument carries, in its structure, as Keras reads them
    (`tree.map_structure(get_keras_mask, inputs)`): a tensor's mask, and for a list, tuple or
    dict of tensors one mask (or None) per tensor, so that `call(self, inputs, mask=None)` on
    `[x, encoder_outputs]` gets `[x_mask, encoder_mask]`. None for anything else."""
    if isinstance(inputs, torch.Tensor):
        return getattr(inputs, "_keras_mask", None)
    if isinstance(inputs, dict):
        if not inputs or not all(isinstance(v, torch.Tensor) for v in tree.flatten(inputs)):
            return None
    elif not (isinstance(inputs, (list, tuple)) and _is_tensor_argument(inputs)):
        return None
    return tree.map_structure(lambda x: getattr(x, "_keras_mask", None), inputs)


def _has_mask(masks) -> bool:
    if masks is None or isinstance(masks, torch.Tensor):
        return masks is not None
    return any(m is not None for m in tree.flatten(masks))


_PLAIN_VALUES = (str, int, float, bool, type(None))
_BASE_ARGUMENTS = frozenset(inspect.signature(Layer.__init__).parameters) - {"self", "kwargs"}


def _constructor_arguments(cls, args, kwargs) -> dict | None:
    """The arguments `cls(*args, **kwargs)` binds, defaults included, when a layer of a class
    without its own get_config() was built from plain values only (strings, numbers, booleans,
    None, nested in lists, tuples or dicts), as Keras keeps them; None otherwise."""
    if cls.get_config is not Layer.get_config:
        return None  # the class states its config: nothing to keep
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())[1:]
    if any(p.kind is p.POSITIONAL_ONLY for p in parameters):
        return None  # cls(**config) could not pass them back
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(signature.parameters)))  # self
    for parameter in parameters:
        if parameter.kind is parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(parameter.name, {}))
        elif parameter.kind is parameter.VAR_POSITIONAL and arguments.pop(parameter.name, ()):
            return None
    # Layer's own arguments (name, trainable, dtype, input_shape, ...) are the base config's.
    for name in _BASE_ARGUMENTS.intersection(arguments):
        del arguments[name]
    try:
        plain = all(isinstance(v, _PLAIN_VALUES) for v in tree.flatten(arguments))
    except TypeError:
        return None
    return arguments if plain else None


def _plain_torch_module(owner: Layer, name: str, value: nn.Module) -> bool:
    """Whether `owner.name = value` is a plain torch module to wrap as Keras does: not a layer,
    not a container of them (torch's ModuleList / ModuleDict, lamina's tracked lists), not an
    internal attribute, and not the module a TorchModuleWrapper holds."""
    if name.startswith("_") or isinstance(value, (Layer, nn.ModuleList, nn.ModuleDict)):
        return False
    if getattr(type(owner), "wraps_a_torch_module", False):
        return False
    return not any(isinstance(module, Layer) for module in value.modules())


def _has_real_state(layer: nn.Module) -> bool:
    for tensor in layer.parameters():
        if not tensor.is_meta:
            return True
    return any(not b.is_meta for b in layer.buffers())


def _weight_name(entry: WeightEntry) -> str:
    for spec in getattr(entry.owner, "_weight_specs", ()):
        if stored_weight(entry.owner, spec.name) is entry.tensor:
            return spec.name
    return "?"


def _numbers_array(structure):
    """A (nested) list or tuple of Python numbers, rectangular, as a NumPy array; any other
    structure as it is (a ragged one too: its layer says what it expects)."""
    leaves = tree.flatten(structure)
    if not leaves or not all(isinstance(leaf, (int, float)) for leaf in leaves):
        return structure
    try:
        array = np.asarray(structure)
    except ValueError:  # ragged: NumPy refuses to make an array of it
        return structure
    return structure if array.dtype == object else array


def _as_tensor_tree(x, device, weights_device=None):
    """NumPy arrays and Python numbers passed to a layer become tensors on `device` (float32 for
    floats), Variables their values; tensors in a list or dict move to the weights' device, as a
    lone tensor does."""

    def convert(leaf):
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "USO":
            return leaf  # strings stay NumPy: the string preprocessing layers read them so
        if isinstance(leaf, VariableBase):  # a Variable passed as an input: its current value
            leaf = leaf.value
        if isinstance(leaf, np.ndarray):
            tensor = backend.from_numpy(leaf)  # bfloat16 and read-only arrays included
            if tensor.is_floating_point() and tensor.dtype != torch.float32:
                tensor = tensor.float()
            return tensor.to(device)
        if isinstance(leaf, torch.Tensor):
            moves = (
                weights_device is not None and not leaf.is_meta and leaf.device != weights_device
            )
            return leaf.to(weights_device) if moves else leaf
        return leaf

    return tree.map_structure(convert, x)
