"""Channels-first hand-off: inside a model, spatial layers pass each other torch's layout.

lamina's spatial layers speak Keras's channels-last layout and compute on its (N, C, *spatial)
view, which is torch's channels_last memory: each views its input channels-first and its output
back. Between two such layers of one model the pair of views is pure host work, two permutes
forward and two backward (149 of the 363 aten ops of bench_host_overhead.py's ResNet step).

A functional or Sequential model plans, once, which of its edges may carry the channels-first
tensor instead (`plan`): an edge whose producer gives that layout (a convolution, pooling or
BatchNormalization: "spatial"; an elementwise Activation, Dropout or merge that is given it:
"elementwise") and whose every consumer takes it, and that no one else can see: not a model
output, not an argument the plan does not handle. The channels-last tensor of such an edge is
never made, so there is nothing to ask a gradient of or to hook. What can change after the
plan is checked on every call (`run`): a layer with hooks (a forward hook's
`output.register_hook`, Grad-CAM's way), a mask, a dtype or device to convert, or an added
loss is called as usual (`Layer.__call__`) on the channels-last view of its input, and the next
layer computes from a view of what that call returned, so the tensors a hook sees are the ones
the gradient flows through. Under mixed precision the same holds for a layer whose policy asks
another autocast state than the one it is called in (a dtype="float32" layer of a mixed model,
which leaves the model's region): the mixed layers of a mixed model, inside the model's region,
follow the plan, and autocast casts per op as it does on the usual path. Numbers are the same
to the bit: the kernels see the same memory with the same strides.
"""

from __future__ import annotations

import torch

from lamina.engine.layer import _training_stack, current_training, module_calls_observed

SPATIAL, ELEMENTWISE, REDUCES = "spatial", "elementwise", "reduces"


class Step:
    """How one layer call of a plan meets its inputs and output."""

    __slots__ = ("inputs_first", "output_first", "reduces")

    def __init__(self, inputs_first: tuple[bool, ...], output_first: bool, reduces: bool):
        self.inputs_first = inputs_first  # per input: whether it arrives channels-first
        self.output_first = output_first  # whether the output leaves channels-first
        self.reduces = reduces  # the output has no channel axis to move back


def active() -> bool:
    """Whether a model's run may follow its plan now: not under global module hooks or a
    `torch.jit.trace` (which sees modules through `Module.__call__`). Checked once a run;
    each layer's own hooks, and under mixed precision whether its policy's autocast region is
    the one it is called in, are checked at its call (`Layer._channels_first_ready`)."""
    return not module_calls_observed()


def role(layer) -> str | None:
    """The layer's part in the hand-off (`Layer._channels_first_role`); None for any other
    module."""
    read = getattr(layer, "_channels_first_role", None)
    return None if read is None else read()


def plan(calls, kept) -> list[Step | None]:
    """Each call's `Step`, or None where it takes no part (the call runs as usual).

    Args:
        calls: per layer call, in run order, `(role, input_ids, output_id)`: the ids of the
            tensors it takes (None where its arguments are of a form the plan does not handle,
            e.g. keyword tensors: then it consumes them as a layer that takes no part does) and
            of its one output (None where it has several).
        kept: ids of the tensors anyone else sees (the model's outputs).
    """
    seen_elsewhere = set(kept)
    for call_role, input_ids, _ in calls:
        if call_role is None or input_ids is None:
            seen_elsewhere.update(input_ids or ())
    first = {
        output_id
        for call_role, _, output_id in calls
        if call_role in (SPATIAL, ELEMENTWISE)
        and output_id is not None
        and output_id not in seen_elsewhere
    }
    changed = True
    while changed:  # an elementwise layer gives channels-first only where it is given it
        changed = False
        for call_role, input_ids, output_id in calls:
            if (
                call_role == ELEMENTWISE
                and output_id in first
                and (input_ids is None or not any(i in first for i in input_ids))
            ):
                first.discard(output_id)
                changed = True
    steps: list[Step | None] = []
    for call_role, input_ids, output_id in calls:
        if call_role is None or input_ids is None:
            steps.append(None)
            continue
        inputs_first = tuple(i in first for i in input_ids)
        output_first = output_id in first
        if not (any(inputs_first) or output_first):
            steps.append(None)
            continue
        steps.append(Step(inputs_first, output_first, call_role == REDUCES))
    return steps


def enclosing_training() -> bool | None:
    """The training flag the model's call passed down (None if none): the same for every layer
    of a run, so a run reads it once."""
    stack = _training_stack()
    return stack[-1] if stack else None


def run(layer, inputs: list, step: Step, as_list=None, training=None):
    """One planned call: `inputs` are the values its input tensors hold (channels-first where
    `step` says so); returns the value its output holds. `as_list` is the type of a merge's
    list argument (None: the layer takes one tensor); `training` is `enclosing_training()`."""
    if layer._channels_first_ready(inputs):
        if as_list is None:  # the usual case: one tensor, no list to build
            views = inputs[0]
            if not step.inputs_first[0]:
                if layer.input_spec is not None:
                    layer.input_spec.check(views.shape, layer, views)
                views = views.movedim(-1, 1)
        else:
            views = [
                value if first else value.movedim(-1, 1)
                for value, first in zip(inputs, step.inputs_first, strict=True)
            ]
        if layer._autocast_torch_dtype is not None:  # a mixed layer casts as `__call__` would
            if as_list is None:
                if views.dtype is torch.float32:
                    views = layer._mixed_input(views)
            else:
                for view in views:
                    if view.dtype is torch.float32:
                        views = [layer._mixed_input(view) for view in views]
                        break
        if layer._call_takes_training:
            training = current_training(layer, training)
        output = layer._channels_first_call(views, training)
        if output is not None:
            if layer._autocast_torch_dtype is not None and output.dtype is torch.float32:
                output = layer._mixed_outputs(output)  # as `Layer._plain_call` gives it
            if step.output_first or step.reduces:
                return output
            return output.movedim(1, -1)
    # The usual call, on what a layer outside the plan would have been given.
    given = [
        channels_last(value) if first else value
        for value, first in zip(inputs, step.inputs_first, strict=True)
    ]
    output = layer(as_list(given)) if as_list else layer(given[0])
    return channels_first(output) if step.output_first else output


def channels_last(value: torch.Tensor) -> torch.Tensor:
    """The channels-last view of a channels-first value, with its mask (`_keras_mask`)."""
    view = value.movedim(1, -1)
    mask = getattr(value, "_keras_mask", None)
    if mask is not None:
        view._keras_mask = mask
    return view


def channels_first(value: torch.Tensor) -> torch.Tensor:
    """The channels-first view of a layer's channels-last output, with its mask."""
    view = value.movedim(-1, 1)
    mask = getattr(value, "_keras_mask", None)
    if mask is not None:
        view._keras_mask = mask
    return view
