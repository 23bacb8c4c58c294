"""A model's weights on a ModelParallel mesh, and its inputs and outputs converted at its edge.

`place(model, parallel)` replaces every weight registered on the model's layers by a DTensor laid
out as the layout map says (replicated where it says nothing); rank 0's values are scattered, so
every process starts from the same model. The weight's Keras attributes (`path`, `trainable`,
constraints) are carried over. The model's forward then converts at its edge: plain input
tensors become DTensors, and output DTensors come back as plain tensors, so the loss, the
metrics and the loops never see a DTensor.

Outside the training step an input is taken as replicated: each process computes the rows it was
given, which is right whether they are its share of a batch (`evaluate`, `predict`) or the whole
batch (`model(x)`). The training step (`train_forward`, or any call with `training=True` under
autograd: a custom `train_step`'s) splits the batch over the batch axis instead, so DTensor sums
the weights' gradients over it; each process's loss gradient is scaled by its share of the
global batch, so the sum is the gradient of the global batch's mean.
"""

from __future__ import annotations

import contextlib
import os
import re

import torch
from torch import nn
from torch.distributed.tensor import DTensor, Replicate, distribute_tensor

from lamina import tree
from lamina.distribution import process_group
from lamina.distribution.model_parallel import TensorLayout
from lamina.engine.layer import Layer, current_training
from lamina.layers.convolutional import _ConvBase
from lamina.layers.embedding import Embedding
from lamina.layers.normalization import BatchNormalization
from lamina.layers.regularization import Dropout, GaussianDropout, GaussianNoise, _SpatialDropout

# Layers DTensor runs with replicated weights and inputs split on the batch only: its
# convolution keeps the input's channels whole (a kernel or input split by channels would
# compute wrong values), so such a layer's inputs are gathered but for the batch split.
_BATCH_SPLIT_ONLY = (_ConvBase,)

# Layers that draw random noise the shape of their input: run on a plain tensor gathered over
# the model axes, so every process draws the noise one process would from the same seed and a
# plain noise tensor never meets a DTensor; their output is laid out back as their input was.
# Trained on a batch axis of several processes they are refused (_refuse_split_batch_noise).
_LOCAL_NOISE = (Dropout, _SpatialDropout, GaussianNoise, GaussianDropout)

# Keras attributes a weight carries besides its value.
_WEIGHT_ATTRIBUTES = ("path", "constraint", "regularizer", "overwrite_with_gradient")


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the gradient times `factor` (this process's share of the batch)."""

    @staticmethod
    def forward(ctx, tensor, factor):
        ctx.factor = factor
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, gradient):
        return gradient * ctx.factor, None


class Placement:
    """What `place` did to one model: the DTensors registered in place of its weights (the
    full ones are let go: a model too big for one device must not stay whole on each)."""

    def __init__(self, model, parallel):
        self.model = model
        self.parallel = parallel
        self.slots = []  # (module, "_parameters" or "_buffers", name, DTensor)
        self.training_call = False  # the train step's call: inputs split over the batch axis
        self.model_forward = model.forward  # the class's, bound
        self.hooks = []

    # ----------------------------------------------------------------------------------------------
    def _inputs(self, args, kwargs, training_call):
        mesh = self.parallel.device_mesh.torch_mesh
        if training_call:
            placements = self.parallel.input_placements()
        else:
            placements = [Replicate()] * mesh.ndim

        def to_dtensor(value):
            if isinstance(value, torch.Tensor) and not isinstance(value, DTensor):
                if value.is_meta:
                    return value
                return DTensor.from_local(value, mesh, placements, run_check=False)
            return value

        return tree.map_structure(to_dtensor, (args, kwargs))

    def _outputs(self, outputs, training_call):
        mesh = self.parallel.device_mesh.torch_mesh
        replicated = [Replicate()] * mesh.ndim
        if training_call:
            placements = self.parallel.input_placements()
            scale = self.parallel.world_size > 1 and torch.is_grad_enabled()
        else:
            placements, scale = replicated, False
        factor = self.parallel.batch_fraction

        def to_local(value):
            if isinstance(value, DTensor):
                target = placements if value.ndim else replicated
                local = value.redistribute(mesh, target).to_local()
                return _ScaleGradient.apply(local, factor) if scale else local
            return value

        return tree.map_structure(to_local, outputs)

    def forward(self, *args, **kwargs):
        """The model's forward on the mesh: plain tensors in, plain tensors out.

        Out of inference mode (with no gradient instead): DTensor's views of a weight cannot
        be taken on inference tensors.
        """
        with contextlib.ExitStack() as stack:
            if torch.is_inference_mode_enabled():
                stack.enter_context(torch.inference_mode(False))
                stack.enter_context(torch.no_grad())
            # A custom train_step's `self(x, training=True)` (with gradients) is a training call
            # too: taken as replicated, the processes' different rows gave each its own
            # gradients, and the weights drifted apart between processes.
            training_call = self.training_call or (
                kwargs.get("training") is True and torch.is_grad_enabled()
            )
            args, kwargs = self._inputs(args, kwargs, training_call)
            try:
                outputs = self.model_forward(*args, **kwargs)
            except (NotImplementedError, RuntimeError) as error:
                unsupported = unsupported_op_error(error)
                if unsupported is None:
                    raise
                raise unsupported from error
            return self._outputs(outputs, training_call)

    def train_forward(self, *args, **kwargs):
        """The training step's call: inputs split over the batch axis."""
        self.training_call = True
        try:
            return self.model(*args, **kwargs)
        finally:
            self.training_call = False

    @staticmethod
    def local_penalties(penalties) -> list:
        """See `local_penalties` (a method: the loss reaches it through the model, with no
        import of DTensor in one process)."""
        return local_penalties(penalties)

    def _register(self) -> None:
        for module, kind, name, distributed in self.slots:
            getattr(module, kind)[name] = distributed


_OP_PATTERN = re.compile(r"(aten\.[\w.]+)")
_DTENSOR_MESSAGES = ("dtensor", "sharding strategy", "sharding propagation")
_DTENSOR_SOURCE = os.path.join("torch", "distributed", "tensor", "")


def unsupported_op_error(error: BaseException):
    """A ValueError naming the layer and the op DTensor could not run, or None when `error`
    is not DTensor's."""
    message = str(error)
    said = any(marker in message.lower() for marker in _DTENSOR_MESSAGES)
    if not said and not _raised_by_dtensor(error.__traceback__):
        return None
    found = _OP_PATTERN.search(message)
    op = found.group(1) if found else "an operation"
    layer = _innermost_layer(error.__traceback__)
    where = f"Layer '{layer.name}' ({type(layer).__name__})" if layer is not None else "A layer"
    hint = (
        "replicate that layer's weights in the layout map (leave its paths unmatched), or give "
        "it a layout DTensor supports."
    )
    if "mixed torch.Tensor and DTensor" in message and layer is not None and not layer.weights:
        # A layer with no weights to replicate (Dropout's random mask, a constant): the hint
        # above would send its user to the layout map for nothing.
        hint = (
            "its call makes a plain tensor (a random mask, a constant) to combine with its "
            "input, a DTensor under ModelParallel: leave the layer out of the model, or make "
            "that tensor from the input (torch.ones_like(inputs), ...)."
        )
    return ValueError(
        f"{where} under ModelParallel expected operations DTensor can run on its sharded "
        f"weights; received {op}, which DTensor cannot run with these placements "
        f"({message.splitlines()[0][:200]}). Hint: {hint}"
    )


def _raised_by_dtensor(traceback) -> bool:
    """Whether the error came out of DTensor's dispatch (its local op refused what DTensor
    asked: "view size is not compatible" from a MultiHeadAttention with its heads split)."""
    while traceback is not None:
        if _DTENSOR_SOURCE in traceback.tb_frame.f_code.co_filename:
            return True
        traceback = traceback.tb_next
    return False


def _innermost_layer(traceback):
    """The layer whose frame is deepest in the traceback: the one whose call failed."""
    found = None
    while traceback is not None:
        owner = traceback.tb_frame.f_locals.get("self")
        if isinstance(owner, Layer):
            found = owner
        traceback = traceback.tb_next
    return found


# --------------------------------------------------------------------------------------------------
def place(model, parallel) -> Placement:
    """Put `model`'s weights on `parallel`'s mesh (once) and hook its inputs and outputs."""
    placement = model.__dict__.get("_model_parallel_placement")
    if placement is not None:
        if placement.parallel is not parallel:
            raise ValueError(
                f"Model '{model.name}' was placed on another ModelParallel's mesh already. "
                "Hint: build the model again under the distribution you train it with."
            )
        return placement
    placement = Placement(model, parallel)
    batch_split_only = _batch_split_only_layers(model, parallel)  # checked before any change
    _check_embedding_tables(model, parallel)
    mesh = parallel.device_mesh
    entries = model._weight_entries()
    registered = _registrations(model)
    replaced = {}
    with process_group.collective("distribute the weights over the device mesh"):
        for entry in entries:
            weight = entry.tensor
            if id(weight) in replaced:
                continue
            path = getattr(weight, "path", "") or ""
            layout = parallel.layout_for(path) or TensorLayout(
                (None,) * weight.ndim, device_mesh=mesh
            )
            layout.check(weight.shape, f"Layer '{entry.owner.name}' weight '{path}'")
            distributed = _distributed_weight(weight, layout)
            replaced[id(weight)] = distributed
            for module, kind, name in registered.get(id(weight), ()):
                placement.slots.append((module, kind, name, distributed))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "hand_over_state"):
            # The slots follow their weights onto the mesh (a run resumed from a backup, a
            # loaded model): laid out as the weight, from rank 0's values as the weights are.
            optimizer.hand_over_state(replaced, _distributed_like)
    placement._register()
    placement.hooks = [
        module.register_forward_pre_hook(_batch_split_only_inputs) for module in batch_split_only
    ]
    for module in model.modules():
        if isinstance(module, _LOCAL_NOISE):
            placement.hooks += [
                module.register_forward_pre_hook(_noise_inputs),
                module.register_forward_hook(_noise_outputs),
            ]
    if parallel.world_size > 1:
        placement.hooks += [
            module.register_forward_pre_hook(_refuse_split_batch_statistics, with_kwargs=True)
            for module in model.modules()
            if isinstance(module, BatchNormalization)
        ] + [
            module.register_forward_pre_hook(_refuse_split_batch_noise, with_kwargs=True)
            for module in model.modules()
            if isinstance(module, _LOCAL_NOISE)
        ]
    placement.hooks += [
        weight.register_post_accumulate_grad_hook(_reduce_gradient)
        for weight in replaced.values()
        if weight.requires_grad
    ]
    # Every call of the model through the forward above (never the plain path, which skips it).
    model.__dict__["forward"] = placement.forward
    model.__dict__["_plain_forward"] = False
    model.__dict__["_model_parallel_placement"] = placement
    return placement


def _batch_split_only_layers(model, parallel) -> list:
    """The layers of `_BATCH_SPLIT_ONLY` kinds; an error for one whose weights the layout map
    splits."""
    found = []
    for module in model.modules():
        if not isinstance(module, _BATCH_SPLIT_ONLY):
            continue
        for weight in module.weights:
            layout = parallel.layout_for(getattr(weight, "path", "") or "")
            if layout is not None and any(axis is not None for axis in layout.axes):
                raise ValueError(
                    f"Layer '{module.name}' ({type(module).__name__}) under ModelParallel "
                    f"expected replicated weights: DTensor runs aten.convolution only with a "
                    f"whole kernel and whole input channels; received TensorLayout"
                    f"{layout.axes} for '{weight.path}'. Hint: replicate its weights in the "
                    "layout map (leave its paths unmatched)."
                )
        found.append(module)
    return found


def _check_embedding_tables(model, parallel) -> None:
    """An error for an Embedding table split by rows: DTensor's lookup then leaves a masked
    partial sum, which it can neither reshape (a Flatten after it: IndexError) nor, reduced
    by hand, differentiate (its backward asserts)."""
    for module in model.modules():
        if not isinstance(module, Embedding):
            continue
        for weight in module.weights:
            layout = parallel.layout_for(getattr(weight, "path", "") or "")
            if layout is not None and weight.ndim == 2 and layout.axes[:1] != (None,):
                raise ValueError(
                    f"Layer '{module.name}' ({type(module).__name__}) under ModelParallel "
                    f"expected its table whole or split by columns: DTensor's aten.embedding "
                    f"on a table split by rows leaves a masked partial sum it cannot reshape "
                    f"or differentiate; received TensorLayout{layout.axes} for "
                    f"'{weight.path}'. Hint: (None, 'model') splits it by columns; or "
                    "replicate its weights in the layout map."
                )


def _batch_split_only_inputs(module, args):
    """A DTensor input kept split on the batch only (every other split gathered)."""

    def gather(value):
        if not isinstance(value, DTensor):
            return value
        placements = [p if p.is_shard(0) else Replicate() for p in value.placements]
        if list(value.placements) == placements:
            return value
        return value.redistribute(value.device_mesh, placements)

    return tuple(gather(a) for a in args)


def _noise_inputs(module, args):
    """A noise layer's DTensor input as a plain tensor, gathered over the model axes (see
    _LOCAL_NOISE); its layout waits in the layer for `_noise_outputs`."""
    value = args[0] if args else None
    if not isinstance(value, DTensor):
        return None
    module.__dict__["_model_parallel_noise_layout"] = (value.device_mesh, value.placements)
    whole = value.redistribute(value.device_mesh, [Replicate()] * value.device_mesh.ndim)
    return (whole.to_local(), *args[1:])


def _noise_outputs(module, args, output):
    """The noise layer's plain output back on the mesh, laid out as its input was."""
    layout = module.__dict__.pop("_model_parallel_noise_layout", None)
    if layout is None or not isinstance(output, torch.Tensor):
        return None
    mesh, placements = layout
    whole = DTensor.from_local(output, mesh, [Replicate()] * mesh.ndim, run_check=False)
    return whole.redistribute(mesh, placements)


def _trains(module, args, kwargs) -> bool:
    """Whether a forward pre-hook's call of `module` trains (its `training` argument, given by
    keyword or second, or the one the enclosing call set)."""
    training = kwargs.get("training", args[1] if len(args) > 1 else None)
    return current_training(module, training)


def _refuse_split_batch_noise(module, args, kwargs):
    """An error for a noise layer trained on a batch split over the batch axis: each process
    would draw its rows' noise from the same seed, the shards' masks repeating each other."""
    if _trains(module, args, kwargs):
        raise ValueError(
            f"Layer '{module.name}' ({type(module).__name__}) under ModelParallel expected a "
            "mesh whose batch axis has one process to train: every process draws its noise "
            "from the same seed, so the shards of a batch would get the same mask; received a "
            "batch axis of several processes. Hint: put every process on the model axis (mesh "
            "shape (1, n)), or leave the layer out."
        )


def _refuse_split_batch_statistics(module, args, kwargs):
    """An error for a BatchNormalization trained on a batch split over the batch axis: DTensor's
    batch norm takes each process's rows for the batch, so its statistics, outputs and moving
    averages were not the global batch's (losses 1e-3 off one process's, silently)."""
    if _trains(module, args, kwargs) and module.trainable:
        raise ValueError(
            f"Layer '{module.name}' ({type(module).__name__}) under ModelParallel expected a "
            "mesh whose batch axis has one process to train: DTensor computes batch "
            "statistics over each process's share of the batch only; received a batch axis "
            "of several processes. Hint: put every process on the model axis (mesh shape "
            "(1, n)), freeze the layer (trainable=False), or use LayerNormalization."
        )


def _reduce_gradient(weight) -> None:
    """A weight's gradient laid out as the weight: DTensor leaves it a partial sum over the
    batch axis, on which an in-place clamp (clipvalue) has no sharding rule. (Norms were
    global already: DTensor reduces a partial sum before taking its norm.)"""
    gradient = weight.grad
    if isinstance(gradient, DTensor) and gradient.placements != weight.placements:
        weight.grad = gradient.redistribute(weight.device_mesh, weight.placements)


def local_penalties(penalties) -> list:
    """Regularization penalties of sharded weights (DTensor scalars) as plain tensors, to add
    to the plain loss; each keeps its gradient, replicated (every process adds the whole
    penalty, while the loss's gradient is each process's share of the batch)."""
    return [p.full_tensor() if isinstance(p, DTensor) else p for p in penalties]


def _registrations(model) -> dict:
    """id(weight) -> every (module, "_parameters" or "_buffers", name) it is registered as."""
    found = {}
    for module in model.modules():
        for kind in ("_parameters", "_buffers"):
            for name, tensor in getattr(module, kind).items():
                if tensor is not None:
                    found.setdefault(id(tensor), []).append((module, kind, name))
    return found


def _distributed_weight(weight, layout):
    mesh = layout.device_mesh.torch_mesh
    value = distribute_tensor(weight.detach().contiguous(), mesh, layout.placements())
    if isinstance(weight, nn.Parameter):
        value = nn.Parameter(value, requires_grad=weight.requires_grad)
    for attribute in _WEIGHT_ATTRIBUTES:
        if attribute in getattr(weight, "__dict__", {}):
            setattr(value, attribute, weight.__dict__[attribute])
    return value


def _distributed_like(value, weight):
    """An optimizer slot laid out on the mesh as its (already distributed) weight is."""
    return distribute_tensor(value.detach().contiguous(), weight.device_mesh, weight.placements)
