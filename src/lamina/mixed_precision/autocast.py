"""Each layer computes in its policy's precision, on torch's autocast.

Keras casts every layer's floating inputs to its compute dtype and reads its weights in that dtype,
so under "mixed_bfloat16" every floating output of a layer is bfloat16. lamina keeps the weights
float32 and leaves the per-op casts to `torch.autocast`, which knows per op which precision is
safe (matmuls and convolutions in 16 bits; layer norm, softmax and reductions in float32), and
casts at the layer's edges where Keras does:

- a mixed layer ("mixed_bfloat16") casts its floating inputs to its compute dtype (as Keras's
  `Layer.__call__`), runs inside an autocast region of that dtype (opened on its inputs' device
  if the call is not in one already) and gives float32 outputs (an op autocast ran in float32,
  an add with a float32 weight) back in the compute dtype, as Keras's layers return them: the
  inner computation keeps float32 where autocast chose it, the activations between layers are
  16-bit. A mixed layer built with `autocast=False` (Keras: neither inputs nor weights cast)
  is left to autocast as given;
- a layer of a plain policy (dtype="float32", "float64", ...) runs with autocast off and its float
  inputs cast to its compute dtype, so the final softmax of a mixed model computes and returns
  float32, as Keras's guide advises.

The output cast is the layer's, whatever its `call` did: a custom mixed layer that casts its
result to float32 itself gets it back in 16 bits (where Keras keeps its cast); give such a layer
`dtype="float32"` instead, Keras's own advice for a float32 output.

A layer that leaves its inputs as given (`casts_float_inputs = False`: a functional model, whose
layers each cast their own, an op in a functional graph, lookups) leaves its outputs too. A
subclassed model casts its float inputs, as Keras's does, but not its outputs
(`gives_compute_dtype = False`): its layers do, each by its own policy. A Sequential casts neither
(`takes_compute_dtype = False`): its first layer casts as it would (Keras casts a Sequential's
inputs only when no Input is declared, and to the Input's dtype otherwise).

Until some policy other than float32 exists (`policy.mixed_in_use`), `Layer.__call__` never comes
here: a float32 model pays nothing. After, a call with no autocast state to switch
(`calls_as_given`: each mixed layer of a mixed model, inside the region the model's call opened)
still takes the fast paths a float32 call takes (`Layer._plain_call`, the model's channels-first
plan), which cast as here: a float32 input (`Layer._mixed_input`, a model's first layer; autocast
would have cast it at its first matmul anyway) and float32 outputs (`in_compute_dtype`).
"""

from __future__ import annotations

import torch

from lamina import tree
from lamina.engine import saved_logits

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def call_with_policy(layer, call, args, kwargs):
    """`call(*args, **kwargs)` (the layer's torch call) under the autocast state its policy asks."""
    tensor = _first_tensor(args[0]) if args else None
    if tensor is None:
        return call(*args, **kwargs)
    casts = layer.casts_float_inputs and layer.autocast  # an op in a graph keeps its dtypes
    if tensor.is_meta:  # symbolic shape inference: no autocast there, but a plain policy's cast
        compute = layer._compute_torch_dtype
        target = layer._dtype_policy.autocast_dtype
        if casts and target is None and compute.is_floating_point:
            args, kwargs = _cast_arguments(args, kwargs, compute)
        if not (casts and target is not None):
            return call(*args, **kwargs)
        if not layer.gives_compute_dtype:
            # A model: it sees its inputs as its real call does; its layers cast, each its own.
            if layer.takes_compute_dtype:
                args, kwargs = _cast_arguments(args, kwargs, target)
            return call(*args, **kwargs)
        # A mixed layer: its meta call in its weights' float32 (no autocast to mix 16-bit
        # inputs with them there), its symbolic outputs in the dtype its real call gives.
        args, kwargs = _cast_arguments(args, kwargs, torch.float32)
        outputs = call(*args, **kwargs)
        return in_compute_dtype(outputs, target)
    device_type = tensor.device.type
    if not torch.amp.is_autocast_available(device_type):
        return call(*args, **kwargs)
    enabled = torch.is_autocast_enabled(device_type)
    target = layer._dtype_policy.autocast_dtype
    if target is not None:
        if casts and layer.takes_compute_dtype:  # as Keras: floating inputs in compute dtype
            args, kwargs = _cast_arguments(args, kwargs, target)
        if enabled and torch.get_autocast_dtype(device_type) == target:
            outputs = call(*args, **kwargs)
        else:
            with torch.autocast(device_type, dtype=target):
                outputs = call(*args, **kwargs)
        # and so the outputs; a model's are its layers', each cast by its own policy
        return in_compute_dtype(outputs, target) if casts and layer.gives_compute_dtype else outputs
    compute = layer._compute_torch_dtype
    if not compute.is_floating_point:
        return call(*args, **kwargs)
    if casts:
        args, kwargs = _cast_arguments(args, kwargs, compute)
    if not enabled:
        return call(*args, **kwargs)
    with torch.autocast(device_type, enabled=False):
        return call(*args, **kwargs)


def calls_as_given(layer, tensor: torch.Tensor) -> bool:
    """Whether `call_with_policy` would call `layer` on `tensor` (its first input, a real
    tensor) with nothing to do: no autocast region to enter or leave, no input to cast. Then the
    layer's fast paths (`Layer._plain_call`, a model's channels-first run) may call it directly,
    under the autocast state the enclosing call set: a mixed layer inside a region of its dtype
    (every layer of a mixed model inside the model's region; the fast path casts its float
    inputs and outputs as `call_with_policy` does, `Layer._mixed_input`), or a plain one outside
    any region given its compute dtype. Devices other than CPU and CUDA take the general path."""
    if tensor.is_cuda:
        device_type = "cuda"
    elif tensor.is_cpu:
        device_type = "cpu"
    else:
        return False
    target = layer._autocast_torch_dtype
    if target is not None:  # a mixed layer: the fast path casts a float32 input as Keras
        return (
            torch.is_autocast_enabled(device_type)
            and torch.get_autocast_dtype(device_type) == target
        )
    if torch.is_autocast_enabled(device_type):
        return False  # a plain layer leaves the region
    return tensor.dtype is layer._compute_torch_dtype or not tensor.is_floating_point()


def _cast_arguments(args, kwargs, dtype):
    """Every float tensor among the call's arguments in `dtype`, as Keras converts them all (an
    attention layer's value and key, an RNN's initial state), not only the inputs."""
    if len(args) == 1 and not kwargs:  # the usual call: no walk over the other arguments
        return (cast_floats(args[0], dtype),), kwargs
    if len(args) == 1 and not any(_holds_tensors(value) for value in kwargs.values()):
        return (cast_floats(args[0], dtype),), kwargs  # `training=True`: nothing to walk
    return (
        tuple(cast_floats(a, dtype) for a in args),
        {key: cast_floats(value, dtype) for key, value in kwargs.items()},
    )


def in_compute_dtype(outputs, dtype):
    """A mixed layer's outputs (a tensor or any structure of them) with their float32 tensors
    in `dtype`, its compute dtype: Keras's layers return 16-bit activations where torch's
    autocast ran an op in float32 (layer norm, softmax, a reduction) or an op met a float32
    weight. Integer outputs, and float64 ones a layer chose, stay as they are.

    Args:
        outputs: what the layer's `call` returned.
        dtype: the layer's compute dtype (torch.bfloat16 or torch.float16).

    Returns:
        `outputs` with float32 tensors cast to `dtype`, each keeping its Keras mask (and the
        logits of a softmax or sigmoid output).

    Example:
        >>> in_compute_dtype((torch.ones(1), torch.ones(1, dtype=torch.int64)), torch.bfloat16)
        (tensor([1.], dtype=torch.bfloat16), tensor([1]))
    """
    if type(outputs) is torch.Tensor:  # the usual single output: no tree walk
        if outputs.dtype is not torch.float32:
            return outputs
        return _cast_keeping_mask(outputs, dtype)
    if outputs is None:
        return outputs
    return tree.map_structure(
        lambda leaf: (
            _cast_keeping_mask(leaf, dtype)
            if isinstance(leaf, torch.Tensor) and leaf.dtype is torch.float32
            else leaf
        ),
        outputs,
    )


def _cast_keeping_mask(tensor: torch.Tensor, dtype) -> torch.Tensor:
    """`tensor` in `dtype` with its Keras mask, and a softmax's or sigmoid's logits (CUDA's
    autocast runs softmax in float32: the loss still finds them, `engine/saved_logits.py`)."""
    return saved_logits.carry(tensor, tensor.to(dtype))


def _holds_tensors(value) -> bool:
    return isinstance(value, (torch.Tensor, list, tuple, dict))


def outputs_to_float32(outputs):
    """Float16/bfloat16 outputs of a mixed model as float32 (any structure of them, namedtuples
    too), so losses and metrics compute in full precision, as Keras's losses cast their inputs.
    A softmax's or sigmoid's output keeps its logits (`engine/saved_logits.py`)."""

    def widen(leaf):
        low = isinstance(leaf, torch.Tensor) and leaf.dtype in _LOW_PRECISION
        return saved_logits.carry(leaf, leaf.float()) if low else leaf

    if isinstance(outputs, torch.Tensor):  # the usual single output: no tree walk per step
        return widen(outputs)
    return tree.map_structure(widen, outputs)


def cast_floats(x, dtype):
    """Float tensors of another dtype in `x` (a tensor or any structure of them) cast to `dtype`,
    each keeping its Keras mask: Keras casts a layer's float inputs to its compute dtype.
    Integer inputs (ids, masks) stay as they are. `Layer.__call__` uses it too, outside mixed
    precision.

    Args:
        x: a tensor, or a list / tuple / dict of them (other leaves pass through).
        dtype: the torch dtype to cast float tensors to.

    Returns:
        `x` with its float tensors in `dtype`.

    Example:
        >>> cast_floats([torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.int64)],
        ...             torch.float32)
        [tensor([1.]), tensor([1])]
    """

    def cast(leaf):
        if not isinstance(leaf, torch.Tensor) or not leaf.is_floating_point():
            return leaf
        if leaf.dtype == dtype:
            return leaf
        return _cast_keeping_mask(leaf, dtype)

    if type(x) is torch.Tensor:  # one tensor, the usual inputs: no tree walk
        return cast(x)
    return tree.map_structure(cast, x)


def _first_tensor(x):
    return next((leaf for leaf in tree.flatten(x) if isinstance(leaf, torch.Tensor)), None)
