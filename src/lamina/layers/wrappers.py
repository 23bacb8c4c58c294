"""Layer wrappers: Bidirectional (an RNN both ways) and TimeDistributed (a layer per time step)."""

from __future__ import annotations

import copy

import torch

from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers import layer_serialization

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone_rnn(layer, *, name: str, go_backwards: bool):
    """A fresh, unbuilt copy of a recurrent layer under a new name and direction."""
    from lamina.layers.recurrent import RNN

    config = {**layer.get_config(), "name": name, "go_backwards": go_backwards}
    config.pop("batch_input_shape", None)
    if type(layer) is not RNN or type(layer.cell).__module__.startswith("lamina."):
        clone = type(layer).from_config(config)
        if hasattr(layer, "use_cudnn"):  # not in LSTM / GRU configs (as Keras's): kept as set
            clone.use_cudnn = layer.use_cudnn
        return clone
    clone = copy.deepcopy(layer)  # a custom cell: copied as it is
    clone.name, clone.go_backwards = name, go_backwards
    return clone


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges the two outputs.

    Args:
        layer: an RNN layer (LSTM, GRU, SimpleRNN, RNN(cell)); Bidirectional uses a fresh copy
            named `forward_<name>`.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list of both outputs).
        backward_layer: optional recurrent layer for the backward direction (with
            go_backwards=True); by default a copy of `layer` going backwards, named
            `backward_<name>`.

    The backward output sequence is reversed back into time order before merging, and with a
    mask both directions output zeros at masked steps (Keras's rule).

    Input shape: `(batch, timesteps, features)`. Output shape: the RNN's, with the last axis
    doubled for 'concat'. With return_state: `(output, *forward_states, *backward_states)`.

    Example:
        >>> from lamina.layers import LSTM
        >>> tuple(Bidirectional(LSTM(4, return_sequences=True))(torch.zeros(2, 5, 3)).shape)
        (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not hasattr(layer, "return_sequences") or not hasattr(layer, "go_backwards"):
            raise errors.value_error(
                self,
                "a recurrent layer (LSTM, GRU, SimpleRNN, RNN)",
                f"{type(layer).__name__}",
                "wrap the recurrent layer itself: Bidirectional(LSTM(64)).",
            )
        if merge_mode not in _MERGE_MODES:
            raise errors.value_error(
                self, f"merge_mode in {list(_MERGE_MODES)}", f"merge_mode={merge_mode!r}"
            )
        self.merge_mode = merge_mode
        base_name = layer.name.removeprefix("forward_")
        self.forward_layer = _clone_rnn(
            layer, name=f"forward_{base_name}", go_backwards=layer.go_backwards
        )
        if backward_layer is None:
            backward_layer = _clone_rnn(
                layer, name=f"backward_{base_name}", go_backwards=not layer.go_backwards
            )
        elif backward_layer.go_backwards == layer.go_backwards:
            raise errors.value_error(
                self,
                "backward_layer to run the other way (go_backwards differing from layer's)",
                f"go_backwards={backward_layer.go_backwards} for both",
            )
        elif (backward_layer.return_sequences, backward_layer.return_state) != (
            layer.return_sequences,
            layer.return_state,
        ):
            raise errors.value_error(
                self,
                "backward_layer with the same return_sequences and return_state as layer",
                f"({backward_layer.return_sequences}, {backward_layer.return_state}) vs "
                f"({layer.return_sequences}, {layer.return_state})",
            )
        self.backward_layer = backward_layer
        for direction in (self.forward_layer, self.backward_layer):
            # Keras: padded steps output zeros both ways, so the merged sequence is zero there.
            direction.zero_output_for_mask = direction.return_sequences
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        if self._declared_input_shape is None:
            self._declared_input_shape = layer._declared_input_shape
        self._initial_weights = weights

    def build(self, input_shape):
        self.forward_layer.build_from_shape(input_shape)
        self.backward_layer.build_from_shape(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state)
            if len(states) % 2:
                raise errors.value_error(
                    self,
                    "initial_state with the forward states followed by the backward ones "
                    "(an even count)",
                    f"{len(states)} tensor(s)",
                )
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        forward = self.forward_layer(
            inputs, initial_state=forward_state, mask=mask, training=training
        )
        backward = self.backward_layer(
            inputs, initial_state=backward_state, mask=mask, training=training
        )
        states = []
        if self.return_state:
            forward, *forward_states = forward
            backward, *backward_states = backward
            states = forward_states + backward_states
        if self.return_sequences:
            backward = backward.flip(1)
        merged = self._merge(forward, backward)
        if self.return_state:
            return (*merged, *states) if self.merge_mode is None else (merged, *states)
        return merged

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return torch.cat([forward, backward], dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) / 2
        return [forward, backward]

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences or mask is None or self.return_state:
            return None
        return None if self.merge_mode is None else mask

    @property
    def stateful(self) -> bool:
        """Whether the wrapped layers carry their states from batch to batch."""
        return self.forward_layer.stateful

    @property
    def states(self):
        """The forward layer's carried states followed by the backward one's, as a tuple; None
        before a stateful call."""
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward and backward:
            return tuple(forward + backward)
        return None

    def reset_states(self, states=None) -> None:
        """Zero the carried states of both directions (stateful layers only)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def get_config(self):
        # Keras's entries (with their module, which Keras needs to find the class) for both
        # directions: a backward layer of the user's own is saved, not rebuilt from the forward.
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": layer_serialization.serialize(self.forward_layer),
            "backward_layer": layer_serialization.serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = layer_serialization.deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = layer_serialization.deserialize(
                config["backward_layer"], custom_objects
            )
        return super().from_config(config)


class TimeDistributed(Layer):
    """Applies `layer` to every time step: (batch, timesteps, ...) -> (batch, timesteps, ...).

    The time axis is folded into the batch (a reshape, no copy for contiguous inputs), so the
    wrapped layer runs once on all steps.

    Args:
        layer: the layer to apply to each step.

    Input shape: `(batch, timesteps, *step_shape)`. Output shape: `(batch, timesteps,
    *layer_output_shape)`.

    Example:
        >>> from lamina.layers import Dense
        >>> tuple(TimeDistributed(Dense(4))(torch.zeros(2, 5, 3)).shape)
        (2, 5, 4)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise errors.value_error(self, "a lamina Layer to wrap", f"{type(layer).__name__}")
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise errors.value_error(
                self,
                "input of rank >= 3 (batch, timesteps, ...)",
                f"a {len(input_shape)}-D input of shape {errors.format_shape(input_shape)}",
                "TimeDistributed applies a layer to each step of a sequence; "
                "give it (batch, timesteps, features) input.",
            )
        self.layer.build_from_shape((None, *input_shape[2:]))

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])
        if mask is None:
            outputs = self.layer(folded, training=training)
        else:  # as Keras: each step's mask goes to the wrapped layer with its step
            mask = self._checked_mask(mask, inputs)
            folded_mask = mask.reshape(batch * steps, *mask.shape[2:])
            outputs = self.layer(folded, training=training, mask=folded_mask)
        return outputs.reshape(batch, steps, *outputs.shape[1:])

    def _checked_mask(self, mask, inputs) -> torch.Tensor:
        mask = torch.as_tensor(mask, device=inputs.device)
        if mask.dim() < 2 or tuple(mask.shape[:2]) != tuple(inputs.shape[:2]):
            raise errors.value_error(
                self,
                f"a mask whose first two axes (batch, timesteps) are the input's "
                f"{errors.format_shape(inputs.shape[:2])}",
                f"mask of shape {errors.format_shape(mask.shape)}",
            )
        return mask

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        # Keras's entry, with the module Keras needs to find the class.
        return {**super().get_config(), "layer": layer_serialization.serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = layer_serialization.deserialize(config["layer"], custom_objects)
        return super().from_config(config)
