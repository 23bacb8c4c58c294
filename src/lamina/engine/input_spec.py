"""InputSpec: what a layer accepts (rank, fixed axes), and the one function that checks it."""

from __future__ import annotations

from lamina.dtypes import standardize_dtype
from lamina.engine import errors
from lamina.engine.shape_inference import unprobed_shape


class InputSpec:
    """What a layer accepts: rank, dtype, shape and fixed sizes on some axes.

    A layer sets `self.input_spec` (one spec, or a list of them, one per input), and every call
    checks its input against it, raising a ValueError that names the layer. The checks are on
    shapes and dtypes, which the host knows: no device sync.

    Args:
        dtype: the dtype the input must have (default None: any).
        shape: the full shape, batch axis first, None for any size (default None); sets `ndim`.
        ndim: the exact rank the input must have (default None: any).
        max_ndim: the largest rank allowed (default None: any).
        min_ndim: the smallest rank allowed (default None: any).
        axes: `{axis: size}` of axes whose size is fixed, e.g. `{-1: 4}` (default none).
        allow_last_axis_squeeze: accept a rank one higher whose last axis is 1, or one lower
            where the spec's last axis is 1 (default False).
        name: the key of this input when a layer's inputs come as a dict (default None).
        optional: whether the input may be None (default False).
        hint: lamina's: the text after "Hint:" in a rank error (default None).

    Example:
        >>> layer = lamina.layers.Dense(3, name="proj")
        >>> _ = layer(torch.zeros(2, 4))
        >>> layer.input_spec
        InputSpec(min_ndim=2, axes={-1: 4})
        >>> layer.input_spec.check((8, 4), layer)  # fits: returns None
        >>> layer.input_spec.check((8, 5), layer)
        Traceback (most recent call last):
        ...
        ValueError: Layer 'proj' (Dense) expects axis -1 ... to be 4 ... shape (8, 5)...Hint...
    """

    def __init__(
        self,
        dtype=None,
        shape=None,
        ndim=None,
        max_ndim=None,
        min_ndim=None,
        axes=None,
        allow_last_axis_squeeze=False,
        name=None,
        optional=False,
        *,
        hint=None,
    ):
        self.dtype = None if dtype is None else standardize_dtype(dtype)
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        try:
            self.axes = {int(axis): size for axis, size in (axes or {}).items()}
        except (AttributeError, TypeError, ValueError) as failure:
            raise TypeError(
                f"InputSpec() expects `axes` to be a dict with integer keys; received "
                f"axes={axes!r}. Hint: write axes={{-1: 4}}."
            ) from failure
        top = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and top is not None and max(self.axes) > top - 1:
            raise ValueError(
                f"InputSpec() expects its axes below the rank {top}; received axis "
                f"{max(self.axes)}. Hint: count axes from 0, batch axis included, or from -1."
            )
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional
        self.hint = hint

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        # Whether any check beyond lamina's usual rank and axes applies: the one test `check`
        # makes on every call for them.
        object.__setattr__(
            self,
            "_keras_checks",
            any(
                getattr(self, field, None) not in (None, False)
                for field in ("dtype", "shape", "max_ndim", "allow_last_axis_squeeze")
            ),
        )

    def __repr__(self) -> str:
        fields = ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
        shown = [f"{field}={getattr(self, field)}" for field in fields if getattr(self, field)]
        return f"InputSpec({', '.join(shown)})"

    def __eq__(self, other) -> bool:
        return isinstance(other, InputSpec) and self.get_config() == other.get_config()

    __hash__ = object.__hash__

    def get_config(self) -> dict:
        """The constructor's arguments as Keras saves them.

        Example:
            >>> InputSpec(ndim=2, axes={-1: 4}).get_config()["axes"]
            {-1: 4}
        """
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config: dict):
        """The spec `get_config()` described.

        Example:
            >>> InputSpec.from_config({"ndim": 3}).ndim
            3
        """
        return cls(**config)

    def check(self, shape, layer, tensor=None) -> None:
        """Raise the house ValueError if `shape` (and `tensor`'s dtype, when given) does not
        fit. Integers only: no host sync."""
        if self._keras_checks:
            self._check_keras_fields(shape, layer, tensor)
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim and not self.allow_last_axis_squeeze:
            # On a graph tensor, a probe's stand-in batch is the unknown size it is.
            shown = unprobed_shape(shape)
            raise errors.value_error(
                layer,
                f"{self.ndim}-D input{_layout_name(layer)}",
                f"a {rank}-D input of shape {errors.format_shape(shown)}",
                # A hint computed from the actual shape beats the layer's general one.
                _rank_hint(self.ndim, shown) or self.hint,
            )
        if self.min_ndim is not None and rank < self.min_ndim:
            raise errors.value_error(
                layer,
                f"input of rank >= {self.min_ndim}",
                f"a {rank}-D input of shape {errors.format_shape(unprobed_shape(shape))}",
                self.hint,
            )
        for axis, size in self.axes.items():
            actual = shape[axis]
            if actual is not None and actual != size and size is not None:
                raise errors.value_error(
                    layer,
                    f"axis {axis} of its input to be {size} (the size it was built with)",
                    # On a graph tensor, a probe's stand-in batch is the unknown size it is.
                    f"shape {errors.format_shape(unprobed_shape(shape))}",
                    "feed inputs of the shape the model was built for, or build a new layer.",
                )

    def _check_keras_fields(self, shape, layer, tensor) -> None:
        """The checks of Keras's fields that lamina's own layers do not set: max_ndim, dtype,
        the full shape (with `allow_last_axis_squeeze`)."""
        if self.max_ndim is not None and len(shape) > self.max_ndim:
            raise errors.value_error(
                layer,
                f"input of rank <= {self.max_ndim}",
                f"a {len(shape)}-D input of shape {errors.format_shape(unprobed_shape(shape))}",
                self.hint,
            )
        if self.dtype is not None and tensor is not None:
            dtype = standardize_dtype(tensor.dtype)
            if dtype != self.dtype:
                raise errors.value_error(
                    layer,
                    f"{self.dtype} input",
                    f"{dtype}",
                    f"cast it first, e.g. lamina.ops.cast(x, {self.dtype!r}).",
                )
        if self.shape is not None:
            expected, actual = self.shape, tuple(shape)
            if self.allow_last_axis_squeeze:
                expected = expected[:-1] if expected and expected[-1] == 1 else expected
                actual = actual[:-1] if actual and actual[-1] == 1 else actual
            if len(expected) != len(actual) or any(
                e is not None and a is not None and e != a
                for e, a in zip(expected, actual, strict=True)
            ):
                raise errors.value_error(
                    layer,
                    f"input of shape {errors.format_shape(self.shape)}",
                    f"shape {errors.format_shape(unprobed_shape(shape))}",
                    "None in the expected shape takes any size.",
                )


class InputSpecs(list):
    """A layer's `input_spec` given as a list of specs, one per input (Keras allows it): each
    input of a list checked against its spec; a single tensor against the only one."""

    def check(self, shape, layer, tensor=None) -> None:
        specs = [spec for spec in self if spec is not None]
        if len(self) != 1:
            raise errors.value_error(
                layer,
                f"{len(self)} inputs (its input_spec lists {len(self)})",
                f"one tensor of shape {errors.format_shape(shape)}",
                "pass the inputs as a list, one per spec.",
            )
        for spec in specs:
            spec.check(shape, layer, tensor)


def _layout_name(layer) -> str:
    """The layer's expected layout after a space (" (batch, height, width, channels)"), or ""."""
    layouts = getattr(layer, "expected_layout", None)
    return f" {layouts}" if layouts else ""


def _rank_hint(ndim: int, shape) -> str | None:
    rank = len(shape)
    if rank == ndim - 1 and ndim >= 3 and shape:
        return (
            "add the missing channel/feature axis, e.g. x = np.expand_dims(x, -1), "
            "or put a Reshape layer first."
        )
    if rank == 2 and ndim == 4:
        side = int(round((shape[1] or 0) ** 0.5))
        if side * side == shape[1]:
            batch = "batch" if shape[0] is None else shape[0]
            return (
                f"reshape to ({batch}, {side}, {side}, 1) or put "
                f"Reshape(({side}, {side}, 1)) first."
            )
        return "reshape the input to (batch, height, width, channels) or put a Reshape layer first."
    return None
