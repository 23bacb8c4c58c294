"""MultiHeadAttention over chosen inner axes: folding inputs of rank > 3 into (batch, T, dim).

Keras's MultiHeadAttention attends over `attention_axes` (default: every axis between batch and
features); the other inner axes act as more batch axes. lamina's attention kernel works on
(batch, T, dim): the inner axes that are not attended join the batch, the attended ones are
flattened into T, and the results are unfolded into Keras's layouts afterwards: the output as the
query's shape with the output projection's axes last, the scores as
(batch, *other_axes, heads, *query_attended_axes, *key_attended_axes).
"""

from __future__ import annotations

import math

import torch

from lamina.engine import errors


def normalized_axes(attention_axes, rank: int, layer) -> tuple[int, ...]:
    """The attended axes of rank-`rank` inputs as sorted positive ints (None: every inner axis);
    a batch, feature or repeated axis is refused, naming the layer."""
    inner = tuple(range(1, rank - 1))
    if attention_axes is None:
        return inner
    given = (attention_axes,) if isinstance(attention_axes, int) else tuple(attention_axes)
    axes = tuple(sorted(axis % rank if -rank <= axis < rank else axis for axis in given))
    if not axes or len(set(axes)) != len(axes) or any(axis not in inner for axis in axes):
        raise errors.value_error(
            layer,
            f"attention_axes among the inner axes {inner} of rank-{rank} inputs (None: all)",
            f"attention_axes={attention_axes!r}",
            "the batch axis (0) and the feature axis (-1) cannot be attended over.",
        )
    return axes


class Folding:
    """How rank > 3 inputs fold into (batch * other axes, attended steps, dim) and back."""

    def __init__(self, rank: int, attended: tuple[int, ...]):
        self.attended = attended
        self.other = tuple(axis for axis in range(1, rank - 1) if axis not in attended)
        self.order = (0, *self.other, *attended)  # inner axes first, features stay last
        self.inverse = tuple(self.order.index(axis) for axis in range(rank - 1))

    def fold(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, *inner, dim) -> (batch * other, attended steps, dim)."""
        moved = x.permute(*self.order, x.dim() - 1)
        return moved.reshape(-1, self._steps(x.shape), x.shape[-1])

    def fold_mask(self, mask: torch.Tensor | None) -> torch.Tensor | None:
        """A Keras mask (batch, *inner) -> (batch * other, attended steps)."""
        if mask is None:
            return None
        return mask.permute(*self.order).reshape(-1, self._steps(mask.shape))

    def fold_attention_mask(self, mask, query_shape, key_shape, num_heads, layer):
        """Keras's (batch, *other, [heads,] *query_attended, *key_attended) mask, missing
        leading axes broadcast as Keras's are, -> (batch * other, heads or 1, Tq, Tk)."""
        mask = torch.as_tensor(mask)
        attended = len(self.attended)
        queries = tuple(query_shape[axis] for axis in self.attended)
        keys = tuple(key_shape[axis] for axis in self.attended)
        batch = (query_shape[0], *(query_shape[axis] for axis in self.other))
        while mask.dim() < len(batch) + 1 + 2 * attended:  # Keras adds the heads axis first
            mask = mask.unsqueeze(-2 * attended - 1)
        heads_axis = len(batch)
        heads = mask.shape[heads_axis] if mask.dim() == len(batch) + 1 + 2 * attended else 0
        fits = heads in (1, num_heads)
        if fits:
            try:
                mask = mask.broadcast_to((*batch, heads, *queries, *keys))
            except RuntimeError:
                fits = False
        if not fits:
            raise errors.value_error(
                layer,
                "an attention_mask shaped (batch, *other axes, [heads,] *query attended axes, "
                "*key attended axes), i.e. broadcastable to "
                f"{errors.format_shape((*batch, num_heads, *queries, *keys))}",
                f"shape {errors.format_shape(tuple(mask.shape))}",
            )
        return mask.reshape(-1, heads, math.prod(queries), math.prod(keys))

    def unfold(self, output: torch.Tensor, query_shape, output_axes: int) -> torch.Tensor:
        """(batch * other, Tq, *out) -> the query's layout with the output's axes last."""
        moved = tuple(query_shape[axis] for axis in self.order)
        output = output.reshape(*moved, *output.shape[2:])
        trailing = tuple(range(len(moved), len(moved) + output_axes))
        return output.permute(*self.inverse, *trailing)

    def unfold_scores(self, scores: torch.Tensor, query_shape, key_shape) -> torch.Tensor:
        """(batch * other, heads, Tq, Tk) -> (batch, *other, heads, *query_att, *key_att)."""
        batch = (query_shape[0], *(query_shape[axis] for axis in self.other))
        queries = tuple(query_shape[axis] for axis in self.attended)
        keys = tuple(key_shape[axis] for axis in self.attended)
        return scores.reshape(*batch, scores.shape[1], *queries, *keys)

    def _steps(self, shape) -> int:
        return math.prod(shape[axis] for axis in self.attended)
