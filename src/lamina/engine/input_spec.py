"""InputSpec: what a layer accepts (rank, fixed axes), and the one function that checks it."""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.engine import errors


@dataclass
class InputSpec:
    """Expected rank (`ndim`, or at least `min_ndim`) and fixed sizes on some axes (`axes`).

    A layer sets `self.input_spec`, and every call checks its input against it, raising a
    ValueError that names the layer. Unlike Keras's, lamina's spec does not check dtypes and
    has no `shape`/`max_ndim`; it carries a `hint` for the error message instead.

    Args:
        ndim: the exact rank the input must have (default None: any).
        min_ndim: the smallest rank allowed (default None: any).
        axes: `{axis: size}` of axes whose size is fixed, e.g. `{-1: 4}` (default none).
        hint: the text after "Hint:" in a rank error (default None).

    Example:
        >>> layer = lamina.layers.Dense(3, name="proj")
        >>> _ = layer(torch.zeros(2, 4))
        >>> layer.input_spec
        InputSpec(ndim=None, min_ndim=2, axes={-1: 4}, hint=None)
        >>> layer.input_spec.check((8, 4), layer)  # fits: returns None
        >>> layer.input_spec.check((8, 5), layer)
        Traceback (most recent call last):
        ...
        ValueError: Layer 'proj' (Dense) expects axis -1 ... to be 4 ... shape (8, 5)...Hint...
    """

    ndim: int | None = None
    min_ndim: int | None = None
    axes: dict[int, int] = field(default_factory=dict)
    hint: str | None = None

    def check(self, shape, layer) -> None:
        """Raise the house ValueError if `shape` does not fit. Integers only: no host sync."""
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            raise errors.value_error(
                layer,
                f"{self.ndim}-D input {_layout_name(layer, self.ndim)}",
                f"a {rank}-D input of shape {errors.format_shape(shape)}",
                # A hint computed from the actual shape beats the layer's general one.
                _rank_hint(layer, self.ndim, shape) or self.hint,
            )
        if self.min_ndim is not None and rank < self.min_ndim:
            raise errors.value_error(
                layer,
                f"input of rank >= {self.min_ndim}",
                f"a {rank}-D input of shape {errors.format_shape(shape)}",
                self.hint,
            )
        for axis, size in self.axes.items():
            actual = shape[axis]
            if actual is not None and actual != size:
                raise errors.value_error(
                    layer,
                    f"axis {axis} of its input to be {size} (the size it was built with)",
                    f"shape {errors.format_shape(shape)}",
                    "feed inputs of the shape the model was built for, or build a new layer.",
                )


def _layout_name(layer, ndim: int) -> str:
    layouts = getattr(layer, "expected_layout", None)
    return f"{layouts}" if layouts else ""


def _rank_hint(layer, ndim: int, shape) -> str | None:
    rank = len(shape)
    if rank == ndim - 1 and ndim >= 3 and shape:
        batch = shape[0]
        return (
            f"add the missing channel/feature axis, e.g. x.reshape({batch}, *x.shape[1:], 1), "
            "or put a Reshape layer first."
        )
    if rank == 2 and ndim == 4:
        side = int(round((shape[1] or 0) ** 0.5))
        if side * side == shape[1]:
            return (
                f"reshape to ({shape[0]}, {side}, {side}, 1) or put "
                f"Reshape(({side}, {side}, 1)) first."
            )
        return "reshape the input to (batch, height, width, channels) or put a Reshape layer first."
    return None
