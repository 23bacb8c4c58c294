"""RNN: runs a cell over the time axis; the base of SimpleRNN, LSTM and GRU.

Two engines: torch's fused kernels (`fused.py`) when the cell's options allow it (standard
activations, no recurrent dropout while training, no mask or a contiguous one), otherwise a step
loop whose input projections run as one matrix product before the loop. Inside a captured step
(`jit_compile=True`) on the CPU the loop always runs: torch.compile cannot trace oneDNN's fused
kernel, and it unrolls and fuses the loop instead.
"""

from __future__ import annotations

import torch

from lamina import backend
from lamina.engine import errors, func_transforms
from lamina.engine.layer import Layer
from lamina.engine.serialization import layer_entry
from lamina.layers import layer_serialization
from lamina.layers.recurrent import fused
from lamina.layers.recurrent.cell_base import RecurrentCell
from lamina.layers.recurrent.lstm_sequence import LSTMSequence
from lamina.layers.recurrent.stacked_cells import StackedRNNCells


class RNN(Layer):
    """Base class for recurrent layers: `RNN(cell)` runs any Keras-style cell over time.

    Args:
        cell: an object with `call(inputs, states)` returning `(output, new_states)`, a `state_size`
            (int or list of ints) and optionally `output_size` (SimpleRNNCell, LSTMCell, GRUCell or
            your own Layer); a list of cells runs as `StackedRNNCells`, as in Keras. Your own
            cell may take steps of any rank, `(batch, timesteps, ...)` inputs as in Keras, and
            keep states of any shape: a state size given as a tuple, `state_size =
            [(chunk, features)]`, or states made by its `get_initial_state`.
        return_sequences: return the output of every step (batch, timesteps, units), or only the
            last (batch, units).
        return_state: also return the final states: a tuple `(output, *states)`.
        go_backwards: process the sequence in reverse; returned sequences stay in processing order.
        stateful: the final states of a batch are the initial states of the next (sample i of
            each batch continues sample i of the previous one); `reset_states()` zeroes them.
        unroll: accepted for compatibility; lamina's loop and fused kernels need no unrolling.
        zero_output_for_mask: masked steps output zeros instead of repeating the last output.

    Call arguments: `inputs` (batch, timesteps, features); `initial_state` (a list of (batch, units)
    tensors, one per state); `mask` (batch, timesteps) bool; `training`.

    Input shape: `(batch, timesteps, features)`; `(batch, timesteps, ...)` for your own cell.
    Output shape: `(batch, timesteps, units)` with return_sequences, else `(batch, units)`;
    with return_state, a tuple `(output, state_1, ...)`, each state `(batch, units)`.

    Example:
        >>> layer = RNN(lamina.layers.SimpleRNNCell(4), return_sequences=True)
        >>> tuple(layer(torch.zeros(2, 7, 3)).shape)
        (2, 7, 4)
    """

    supports_masking = True
    expected_layout = "(batch, timesteps, features)"

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        activity_regularizer=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)  # Keras: a list of cells runs as a stack
        if not hasattr(cell, "state_size") or not callable(cell):
            raise errors.value_error(
                self,
                "a cell with a `state_size` attribute and a call(inputs, states) method",
                f"{type(cell).__name__}",
            )
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._stateful_states: list[torch.Tensor] | None = None

    # ----------------------------------------------------------------------------------------------
    # Shapes and states

    @property
    def state_sizes(self) -> list[int]:
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    @property
    def state_size(self) -> list:
        """The cell's state sizes as a list, one entry per state (Keras's RNN.state_size)."""
        return self.state_sizes

    @property
    def single_state(self) -> bool:
        """Whether the cell keeps one state given as a bare int (SimpleRNN, GRU), not a list."""
        return not isinstance(self.cell.state_size, (list, tuple))

    def _check_rank(self, shape) -> None:
        """Integers only: the house message for the classic forgotten feature axis. Your own cell
        takes steps of any rank (Keras runs `(batch, timesteps, chunk, features)` through a
        custom cell's call), the built-in cells (batch, features) steps."""
        if any(isinstance(size, (tuple, list)) for size in shape):
            shapes = ", ".join(errors.format_shape(tuple(s)) for s in shape)
            raise errors.value_error(
                self,
                "one sequence tensor (batch, timesteps, features)",
                f"a nested input of {len(shape)} tensors of shapes {shapes}",
                "RNN runs its cell over a single tensor, as Keras 3's does (nested inputs of "
                "Keras 2's cells are not supported): concatenate the features into one "
                "(batch, timesteps, features) tensor, and pass states with initial_state=.",
            )
        if len(shape) == 3 or (len(shape) > 3 and not isinstance(self.cell, RecurrentCell)):
            return
        shape_text = errors.format_shape(shape)
        hint = None
        if len(shape) == 2:
            batch = "x.shape[0]" if shape[0] is None else shape[0]
            steps = "timesteps" if shape[1] is None else shape[1]
            hint = (
                f"add the feature axis: x = x.reshape({batch}, {steps}, 1) (or x[..., None]), "
                f"or declare input_shape=({steps}, 1)."
            )
        raise errors.value_error(
            self,
            "3-D input (batch, timesteps, features)",
            f"a {len(shape)}-D input of shape {shape_text}",
            hint,
        )

    def _check_features(self, shape) -> None:
        """A built-in cell's feature size against its kernel's. torch's CPU LSTM kernel (oneDNN)
        does not check it: 7 features into a kernel built for 6 return numbers, not an error."""
        kernel = (
            getattr(self.cell, "kernel", None) if isinstance(self.cell, RecurrentCell) else None
        )
        if kernel is not None and shape[-1] != kernel.shape[0]:
            raise errors.value_error(
                self,
                f"axis -1 of its input to be {kernel.shape[0]} (the size it was built with)",
                f"shape {errors.format_shape(shape)}",
                "feed inputs of the shape the model was built for, or build a new layer.",
            )

    def build(self, input_shape):
        self.__dict__.pop("_checked_input_shape", None)
        if isinstance(input_shape, list):  # [sequences, *initial_states]
            input_shape = input_shape[0]
        self._check_rank(input_shape)
        step_shape = (input_shape[0], *input_shape[2:])
        if isinstance(self.cell, Layer):
            self.cell.build_from_shape(step_shape)
        elif hasattr(self.cell, "build"):
            self.cell.build(step_shape)

    def get_initial_state(self, batch_size: int, like: torch.Tensor | None = None):
        """The zero states a call starts from, one (batch_size, ...) tensor per state (the
        cell's own `get_initial_state` where it has one), on `like`'s device and in its dtype
        (default: the layer's compute dtype on the default device), as Keras's
        `layer.get_initial_state(batch_size)`. tf.keras took the inputs instead of their batch
        size (`gru.get_initial_state(x)` in TF's text-generation tutorial): a tensor given
        stands for its batch."""
        if isinstance(batch_size, torch.Tensor) and batch_size.dim() > 0:
            batch_size = batch_size.shape[0]
        like = like if like is not None else empty_like_layer(self)
        cell = self.cell
        if getattr(type(cell), "get_initial_state", None) is _CELL_INITIAL_STATE:  # flat zeros
            return cell.get_initial_state(batch_size, like)
        if hasattr(cell, "get_initial_state"):
            states = (
                cell.get_initial_state(batch_size, like)
                if isinstance(cell, RecurrentCell)
                else cell.get_initial_state(batch_size=batch_size)
            )
            if not isinstance(states, (list, tuple)):
                return [states]
            # StackedRNNCells answers one list per cell, as Keras; the loop runs them flat.
            return [s for state in states for s in _flat(state)]
        return [like.new_zeros(batch_size, *_dims(size)) for size in self.state_sizes]

    def _checked_initial_state(self, initial_state, sequences):
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        states = list(states)
        if isinstance(self.cell, StackedRNNCells):  # Keras's nesting, one list per cell
            states = [
                s
                for group in states
                for s in (group if isinstance(group, (list, tuple)) else [group])
            ]
        sizes = self.state_sizes
        names = "[h, c]" if len(sizes) == 2 else "[h]"
        if len(states) != len(sizes):
            raise errors.value_error(
                self,
                f"initial_state as a list of {len(sizes)} tensor(s) {names}, each (batch, units)",
                f"{len(states)} tensor(s)",
                "pass the states an RNN with return_state=True returns after its output, e.g. "
                "`_, *states = encoder(x)`."
                if len(sizes) == 2
                else None,
            )
        batch = sequences.shape[0]
        checked = []
        for index, (state, size) in enumerate(zip(states, sizes, strict=True)):
            if not isinstance(state, torch.Tensor):
                state = torch.as_tensor(state, device=sequences.device)
            if tuple(state.shape) != (batch, *_dims(size)):
                expected = errors.format_shape((batch, *_dims(size)))
                raise errors.value_error(
                    self,
                    f"initial_state[{index}] of shape {expected} (batch, units)",
                    f"shape {errors.format_shape(tuple(state.shape))}",
                    "the states must come from a recurrent layer with the same number of units.",
                )
            checked.append(state.to(sequences.dtype))
        return checked

    def reset_states(self, states=None) -> None:
        """Stateful layers: zero the carried states, or set them to `states`."""
        if not self.stateful:
            raise errors.value_error(self, "stateful=True for reset_states()", "stateful=False")
        if states is None:
            # Zeros of the carried shapes, as Keras keeps them: the tf.keras RNN guide reads
            # `layer.states` (to seed another layer) after a reset. Before any call: None.
            if self._stateful_states is not None:
                self._stateful_states = [torch.zeros_like(s) for s in self._stateful_states]
            return
        states = states if isinstance(states, (list, tuple)) else [states]
        self._stateful_states = [torch.as_tensor(s).detach() for s in states]

    reset_state = reset_states

    @property
    def states(self):
        return self._stateful_states

    # ----------------------------------------------------------------------------------------------
    # Computing

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, *extra_states = inputs
            if extra_states:
                initial_state = extra_states
            mask = getattr(inputs, "_keras_mask", None) if mask is None else mask
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if inputs.shape != self.__dict__.get("_checked_input_shape"):
            self._check_rank(tuple(inputs.shape))
            self._check_features(tuple(inputs.shape))
            # Checked once per input shape (build forgets it), not at every step.
            self.__dict__["_checked_input_shape"] = inputs.shape
        sequences = inputs if inputs.is_floating_point() else inputs.float()
        batch = sequences.shape[0]

        if initial_state is not None:
            states = self._checked_initial_state(initial_state, sequences)
        elif self.stateful and self._stateful_states is not None:
            states = self._checked_initial_state(self._stateful_states, sequences)
        else:
            states = self.get_initial_state(batch, sequences)

        if mask is not None:
            mask = mask.to(torch.bool)
        if self.go_backwards:
            sequences = sequences.flip(1)
            mask = None if mask is None else mask.flip(1)

        outputs, last_output, final_states = self._run(sequences, states, mask, bool(training))

        if self.stateful and not sequences.is_meta:  # a shape-inference pass carries no state
            self._stateful_states = [s.detach() for s in final_states]
        output = outputs if self.return_sequences else last_output
        if not self.return_state:
            return output
        if self.return_sequences and mask is not None:
            output._keras_mask = mask.flip(1) if self.go_backwards else mask
        if isinstance(self.cell, StackedRNNCells):  # as Keras: one list of states per cell
            final_states = self.cell.grouped(final_states)
        return (output, *final_states)  # a tuple, as Keras returns it

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """Run the cell over `sequences` (batch, timesteps, ...) from `initial_state` (a list of
        states), as `call` does after its checks: `(last_output, outputs, final_states)`.

        `outputs` holds every step's output (batch, timesteps, units) with return_sequences,
        else the last one as (batch, 1, units); `go_backwards` reverses the time axis first.
        """
        if mask is not None:
            mask = mask.to(torch.bool)
        if self.go_backwards:
            sequences = sequences.flip(1)
            mask = None if mask is None else mask.flip(1)
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        outputs, last_output, final_states = self._run(
            sequences, list(states), mask, bool(training)
        )
        if not self.return_sequences:  # the fused kernels give every step's output anyway
            outputs = last_output[:, None]
        return last_output, outputs, final_states

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return mask if self.return_sequences else None

    def _run(self, sequences, states, mask, training):
        """(outputs or None, last output, final states)."""
        cell = self.cell
        builtin = isinstance(cell, RecurrentCell)
        recurrent_mask = None
        if builtin:
            input_mask, recurrent_mask = cell.dropout_masks(sequences, training)
            if input_mask is not None:
                sequences = sequences * input_mask[:, None, :]
            # Inside a captured step on the CPU the fused kernel cannot be traced (torch 2.13's
            # fake-tensor pass fails on oneDNN's RNN op); the step loop compiles instead, an
            # unmasked LSTM's as one function with a hand-written backward (lstm_sequence.py).
            # CUDA keeps cuDNN's kernel, as before (not yet measured there).
            # Under torch.func transforms the step loop runs too: the fused kernels have no
            # forward-mode derivative and no vmap rule (func_transforms.py).
            fusable = recurrent_mask is None and cell.fused_kind() is not None
            traced_on_cpu = torch.compiler.is_compiling() and not sequences.is_cuda
            if fusable and not traced_on_cpu and not func_transforms.active():
                result = self._run_fused(sequences, states, mask)
                if result is not None:
                    outputs, finals = result
                    return outputs, self._last_output(outputs, finals, mask), finals
            if (
                traced_on_cpu
                and fusable
                and mask is None
                and self._lstm_sequence_applies(sequences)
            ):
                return self._run_lstm_sequence(sequences, states)
        return self._run_loop(sequences, states, mask, recurrent_mask, training)

    def _run_fused(self, sequences, states, mask):
        if mask is None or mask.is_meta or sequences.is_meta:
            return fused.run_full(self.cell, sequences, states)
        return fused.run_masked(self.cell, sequences, states, mask, self.zero_output_for_mask)

    def _last_output(self, outputs, finals, mask):
        # The output of every built-in cell is its (first) state, carried over masked steps.
        if mask is not None and self.zero_output_for_mask:
            return outputs[:, -1]
        return finals[0]

    def _lstm_sequence_applies(self, sequences) -> bool:
        """An LSTM whose weights and inputs share a dtype, with no autocast around it."""
        return (
            self.cell.fused_kind() == "lstm"
            and sequences.dtype == self.cell.recurrent_kernel.dtype
            and not torch.is_autocast_enabled(sequences.device.type)
        )

    def _run_lstm_sequence(self, sequences, states):
        """The step loop of an LSTM as one function with its own backward (lstm_sequence.py)."""
        cell = self.cell
        # torch's layout, views over the kernels' memory. A view, not the kernel itself, matters:
        # inside torch.func's grad, Dynamo reads the weights it is handed as not requiring a
        # gradient and would inline the forward (and let autograd derive the backward); an op's
        # output tells it the truth.
        outputs, carry, *_ = LSTMSequence.apply(
            sequences,
            backend.rnn_kernel_from_keras(cell.kernel),
            cell.bias,
            backend.rnn_kernel_from_keras(cell.recurrent_kernel),
            *states,
            self.return_sequences,
        )
        if self.return_sequences:
            return outputs, outputs[:, -1], [outputs[:, -1], carry]
        return None, outputs, [outputs, carry]

    def _run_loop(self, sequences, states, mask, recurrent_mask, training):
        cell = self.cell
        builtin = isinstance(cell, RecurrentCell)
        projected = cell.project_inputs(sequences) if builtin else sequences
        # unbind, not projected[:, t]: the backward of T slices would allocate and fill T
        # full-size zero gradients (quadratic in T); unbind's backward stacks them once.
        step_inputs = projected.unbind(1)
        outputs = []
        previous_output = None
        for t, step_input in enumerate(step_inputs):
            if builtin:
                output, new_states = cell.step(step_input, states, recurrent_mask)
            else:
                output, new_states = cell(step_input, states, training=training)
                new_states = (
                    list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
                )
            if mask is not None:
                keep = mask[:, t]
                new_states = [
                    torch.where(_along(keep, new), new, old)
                    for new, old in zip(new_states, states, strict=True)
                ]
                if previous_output is None or self.zero_output_for_mask:
                    previous_output = torch.zeros_like(output)
                output = torch.where(_along(keep, output), output, previous_output)
            states = new_states
            previous_output = output
            if self.return_sequences:
                outputs.append(output)
        if not builtin:
            _reset_dropout_masks(cell)  # a custom cell's cached masks served this sequence only
        stacked = torch.stack(outputs, dim=1) if self.return_sequences else None
        return stacked, previous_output, states

    # ----------------------------------------------------------------------------------------------
    # Config

    def get_config(self):
        config = {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        if type(self) is RNN:
            config["cell"] = layer_entry(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if cls is RNN and isinstance(config.get("cell"), dict):
            config["cell"] = layer_serialization.deserialize(config["cell"], custom_objects)
        return super().from_config(config)


def _dims(size) -> tuple:
    """A state size as the dimensions after the batch axis: 8 -> (8,), (4, 16) -> (4, 16)."""
    return tuple(size) if isinstance(size, (list, tuple)) else (size,)


def empty_like_layer(layer) -> torch.Tensor:
    """An empty tensor in the layer's compute dtype on the default device: what zero states
    take their dtype and device from when no input is at hand."""
    return torch.empty(
        0, dtype=backend.to_torch_dtype(layer.compute_dtype), device=backend.default_device()
    )


_CELL_INITIAL_STATE = RecurrentCell.get_initial_state


def _flat(state) -> list:
    return list(state) if isinstance(state, (list, tuple)) else [state]


def _reset_dropout_masks(cell) -> None:
    """Clear the masks a cell cached for one sequence (Keras's cell API), in stacked cells too."""
    for each in getattr(cell, "cells", [cell]):
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(each, reset):
                getattr(each, reset)()


def cell_attribute(name: str) -> property:
    """A read-only property of a recurrent layer answering its cell's `name` (`lstm.units` is
    `lstm.cell.units`), as Keras's recurrent layers expose their cell's hyperparameters."""

    def read(self):
        return getattr(self.cell, name)

    return property(read, doc=f"The cell's `{name}`.")


def _along(keep: torch.Tensor, tensor: torch.Tensor) -> torch.Tensor:
    """A step's (batch,) mask shaped to broadcast over `tensor`: a custom cell's outputs and
    states may have any rank."""
    return keep.view(keep.shape[0], *([1] * (tensor.ndim - 1)))
