"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, and the spatial ones: UpSampling,
ZeroPadding and Cropping in 1-D, 2-D and 3-D.

The spatial layers work on the same channels-first views as the convolutions (`spatial.py`), so a
channels-last input stays channels-last: nearest/bilinear upsampling and zero padding return
channels_last memory, and cropping is a view (no copy at all).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import spatial


class Flatten(Layer):
    """Flattens every axis but the batch axis: (batch, 4, 4, 8) -> (batch, 128).

    With `data_format="channels_first"`, the input is first seen channels-last, as Keras does, so
    the flattened order is the same for both formats.

    Args:
        data_format: 'channels_last' (default) or 'channels_first', the layout of the input.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, ...). Output shape: (batch, product of the other axes).

    Example:
        >>> tuple(Flatten()(torch.zeros(2, 4, 4, 8)).shape)
        (2, 128)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self._build_at_init(Flatten)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = backend.channels_last_view(inputs)
        # flatten, not reshape(batch, -1): -1 is ambiguous for a batch of 0 samples.
        return inputs.flatten(1) if inputs.dim() > 1 else inputs.reshape(-1, 1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape`; the batch axis is kept.

    Args:
        target_shape: tuple of ints, the shape of one sample; one entry may be -1, meaning
            whatever size makes the number of values match.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, ...). Output shape: (batch, *target_shape).

    Example:
        >>> tuple(Reshape((3, 4))(torch.zeros(2, 12)).shape)
        (2, 3, 4)
        >>> tuple(Reshape((-1, 2))(torch.zeros(2, 12)).shape)
        (2, 6, 2)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if any(d < -1 for d in self.target_shape):  # as Keras: -1 is the only negative size
            raise errors.value_error(
                self,
                "target_shape sizes that are non-negative integers or -1",
                f"{self.target_shape}",
            )
        if sum(d == -1 for d in self.target_shape) > 1:
            raise errors.value_error(self, "at most one -1 in target_shape", f"{self.target_shape}")
        # Worked out once: `call` runs inside the captured step too, where Dynamo cannot hand a
        # generator to math.prod (the whole step used to fall back to eager).
        self._known_size = math.prod([d for d in self.target_shape if d != -1])
        self._build_at_init(Reshape)

    def build(self, input_shape):
        self._check(input_shape)

    def _check(self, input_shape):
        sample = input_shape[1:]
        if None in sample:
            return
        size = math.prod(sample)
        known = self._known_size
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise errors.value_error(
                self,
                f"an input whose {size if size else ''} values per sample fit target_shape "
                f"{self.target_shape}",
                f"shape {errors.format_shape(input_shape)} ({size} values per sample)",
                "make the product of target_shape equal the number of values per sample.",
            )

    def call(self, inputs):
        self._check(tuple(inputs.shape))
        target = self.target_shape
        if inputs.shape[0] == 0 and -1 in target:  # -1 is ambiguous with no values: work it out
            target = self.compute_output_shape(tuple(inputs.shape))[1:]
        return inputs.reshape(inputs.shape[0], *target)

    def compute_output_shape(self, input_shape):
        """Keras's rule on symbolic shapes: `(batch, *target_shape)`, the -1 worked out when the
        sample's size is known. An unknown size (`Input((None, 4))`) is checked only at call
        time, as in Keras: the engine's probe sizes stand for it in no error.

        Args:
            input_shape: the input's shape, None for unknown sizes.

        Example:
            >>> Reshape((-1, 2)).compute_output_shape((None, 12))
            (None, 6, 2)
            >>> Reshape((2, 2)).compute_output_shape((None, None, 4))
            (None, 2, 2)
        """
        input_shape = tuple(input_shape)
        self._check(input_shape)
        target = list(self.target_shape)
        if -1 in target:
            sample = input_shape[1:]
            size = None if None in sample else math.prod(sample) // self._known_size
            target[target.index(-1)] = size
        return (input_shape[0], *target)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: `dims` is a permutation of 1..rank-1 (1-indexed, as Keras).

    Args:
        dims: tuple of ints, a permutation of 1..rank-1: output axis i is input axis dims[i-1].
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, ...). Output shape: the sample axes reordered by `dims`.

    Example:
        >>> tuple(Permute((2, 1))(torch.zeros(4, 10, 64)).shape)
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise errors.value_error(
                self,
                f"`dims` to be a permutation of 1..{len(self.dims)} (the batch axis 0 stays put)",
                f"dims={self.dims}",
            )
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self._build_at_init(Permute)

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a (batch, features) input `n` times: (batch, n, features).

    Args:
        n: int, the number of repeats.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Example:
        >>> tuple(RepeatVector(3)(torch.zeros(2, 5)).shape)
        (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check.positive_int(n, "n", self)
        self.expected_layout = "(batch, features)"
        self.input_spec = InputSpec(
            ndim=2, hint="RepeatVector repeats 2-D (batch, features) inputs; Flatten first."
        )
        self._build_at_init(RepeatVector)

    def call(self, inputs):
        # A real tensor, not an expand() view: a later in-place op must not alias the repeats.
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _pairs(value, rank: int, argument: str, layer) -> tuple[tuple[int, int], ...]:
    """Keras's padding/cropping argument -> ((before, after), ...) per spatial axis.

    An int pads every side alike; a tuple of `rank` ints is symmetric per axis (2-D and 3-D); a
    tuple of `rank` pairs is explicit. For 1-D, a single pair (before, after) is also accepted.
    """
    expected = f"`{argument}` as an int, a tuple of {rank} ints or a tuple of {rank} pairs"
    if isinstance(value, int) and not isinstance(value, bool):
        pairs = ((value, value),) * rank
    elif rank == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        pairs = (tuple(value),)
    elif rank > 1 and len(value) == rank and all(isinstance(v, int) for v in value):
        pairs = tuple((v, v) for v in value)  # (1-D takes an int or a pair only, as Keras)
    elif len(value) == rank and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):
        pairs = tuple((int(a), int(b)) for a, b in value)
    else:
        raise errors.value_error(layer, expected, f"{argument}={value!r}")
    if any(v < 0 for pair in pairs for v in pair):
        raise errors.value_error(layer, f"non-negative `{argument}`", f"{argument}={value!r}")
    return pairs


class _Spatial(Layer):
    """Base of the spatial reshaping layers: data_format, rank check, torch views."""

    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.expected_layout = spatial.LAYOUTS[(self.data_format, self.rank)]
        self.input_spec = InputSpec(
            ndim=self.rank + 2, hint=spatial.family_hint(type(self).__name__, self.rank)
        )
        self._build_at_init(_Spatial)

    def get_config(self):
        config = super().get_config()
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class _UpSampling(_Spatial):
    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = check.int_tuple(size, self.rank, "size", self)
        allowed = ("nearest", "bilinear", "bicubic") if self.rank == 2 else ("nearest",)
        self.interpolation = check.choice(interpolation, allowed, "interpolation", self)

    def call(self, inputs):
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        scale = spatial.lift(self.size, 1)
        target = [n * s for n, s in zip(x.shape[2:], scale, strict=False)]
        if self.interpolation == "nearest" and not x.is_floating_point():
            y = x  # torch interpolates floats only; nearest is a repeat, as Keras computes it
            for axis, times in enumerate(scale, start=2):
                y = y.repeat_interleave(times, dim=axis)
        elif self.interpolation == "nearest":
            y = F.interpolate(x, size=target, mode="nearest")
        else:  # TensorFlow's half-pixel centres are torch's align_corners=False
            floating = x if x.is_floating_point() else x.float()
            y = F.interpolate(floating, size=target, mode=self.interpolation, align_corners=False)
            if not x.is_floating_point():  # as Keras: integer images come back rounded
                y = y.round()
                y = (y.clamp(0, 255) if x.dtype == torch.uint8 else y).to(x.dtype)
        return spatial.from_torch(y, self.data_format, self.rank)

    def compute_output_shape(self, input_shape):
        # Keras's rule, not the engine's probe: torch's meta kernel for upsampling fails on an
        # empty batch (a size-0 shape), where the real kernel returns an empty result.
        shape = list(input_shape)
        first = 1 if self.data_format == "channels_last" else 2
        for axis, times in enumerate(self.size, start=first):
            shape[axis] = None if shape[axis] is None else shape[axis] * times
        return tuple(shape)

    def get_config(self):
        config = {**super().get_config(), "size": self.size[0] if self.rank == 1 else self.size}
        if self.rank == 2:
            config["interpolation"] = self.interpolation
        return config


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times: (batch, steps, features) -> (batch, steps * size, features).

    Args:
        size: int, the repeat factor (default 2).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Example:
        >>> tuple(UpSampling1D(3)(torch.zeros(2, 4, 5)).shape)
        (2, 12, 5)
    """

    rank = 1

    def __init__(self, size=2, **kwargs):
        # (batch, steps, features) whatever the global image data format, as Keras's (which
        # takes no data_format here).
        super().__init__(size, "channels_last", **kwargs)


class UpSampling2D(_UpSampling):
    """Scales height and width by `size` (int or (rows, cols)), 'nearest' or 'bilinear'.

    Args:
        size: int or (rows, cols), the upsampling factors (default 2).
        data_format: 'channels_last' (default) or 'channels_first'.
        interpolation: 'nearest' (default: each entry repeated), 'bilinear' or 'bicubic'
            (half-pixel centres, as Keras on torch); integer inputs come back rounded.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, height * rows, width * cols, channels).

    Example:
        >>> tuple(UpSampling2D((2, 2))(torch.zeros(1, 30, 30, 32)).shape)
        (1, 60, 60, 32)
    """

    rank = 2


class UpSampling3D(_UpSampling):
    """Repeats depth, height and width entries `size` times (nearest).

    Args:
        size: int or 3 ints, the upsampling factors (default (2, 2, 2)).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, depth * size[0], height * size[1], width * size[2], channels).

    Example:
        >>> tuple(UpSampling3D(2)(torch.zeros(1, 2, 3, 4, 1)).shape)
        (1, 4, 6, 8, 1)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


class _ZeroPadding(_Spatial):
    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding", self)
        self._torch_pads = list(self.padding) + ([(0, 0)] if self.rank == 1 else [])

    def call(self, inputs):
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        flat = [v for before, after in reversed(self._torch_pads) for v in (before, after)]
        return spatial.from_torch(F.pad(x, flat), self.data_format, self.rank)

    def get_config(self):
        return {
            **super().get_config(),
            "padding": self.padding[0] if self.rank == 1 else self.padding,
            "data_format": self.data_format,  # ZeroPadding1D's too, as Keras's
        }


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros at the start and end of the steps axis: `padding` int or (start, end).

    Args:
        padding: int (the same at both ends) or (start, end), default 1.
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, features) (channels_first: (batch, features, steps)).
    Output shape: (batch, start + steps + end, features).

    Example:
        >>> tuple(ZeroPadding1D((1, 2))(torch.zeros(2, 5, 3)).shape)
        (2, 8, 3)
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros: int, (rows, cols) or ((top, bottom), (left, right)).

    Args:
        padding: int (every side), (rows, cols) (symmetric per axis) or
            ((top, bottom), (left, right)); default 1.
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, padded_height, padded_width, channels).

    Example:
        >>> tuple(ZeroPadding2D(((1, 0), (2, 3)))(torch.zeros(1, 4, 4, 2)).shape)
        (1, 5, 9, 2)
    """

    rank = 2


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around depth, height and width: int, 3 ints or 3 (before, after) pairs.

    Args:
        padding: int (every side), 3 ints (symmetric per axis) or 3 (before, after) pairs;
            default 1.
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, padded_depth, padded_height, padded_width, channels).

    Example:
        >>> tuple(ZeroPadding3D(1)(torch.zeros(1, 2, 2, 2, 1)).shape)
        (1, 4, 4, 4, 1)
    """

    rank = 3


class _Cropping(_Spatial):
    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", self)

    def build(self, input_shape):
        self._check_fits(input_shape)

    def _check_fits(self, input_shape):
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        remaining = [
            None if n is None else n - a - b
            for n, (a, b) in zip(sizes, self.cropping, strict=False)
        ]
        if any(r is not None and r <= 0 for r in remaining):
            raise errors.value_error(
                self,
                f"cropping {self.cropping} to leave at least one position on every spatial axis",
                f"input shape {errors.format_shape(input_shape)}, which would give a zero or "
                f"negative output size {tuple(remaining)}",
                "crop less, or crop before the layers that shrink the input.",
            )

    def call(self, inputs):
        self._check_fits(tuple(inputs.shape))  # integers only: no host sync
        first = 1 if self.data_format == "channels_last" else 2
        index = [slice(None)] * inputs.dim()
        for axis, (before, after) in enumerate(self.cropping):
            size = inputs.shape[first + axis]
            index[first + axis] = slice(before, size - after)
        return inputs[tuple(index)]

    def get_config(self):
        return {
            **super().get_config(),
            "cropping": self.cropping[0] if self.rank == 1 else self.cropping,
        }


class Cropping1D(_Cropping):
    """Removes steps at the start and end: `cropping` int or (start, end).

    Args:
        cropping: int (the same at both ends) or (start, end), default (1, 1).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, features). Output shape: (batch, steps - start - end, features).

    Example:
        >>> tuple(Cropping1D((1, 2))(torch.zeros(2, 8, 3)).shape)
        (2, 5, 3)
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        # (batch, steps, features) whatever the global image data format, as Keras's.
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(_Cropping):
    """Removes rows and columns: int, (rows, cols) or ((top, bottom), (left, right)).

    Args:
        cropping: int (every side), (rows, cols) (symmetric per axis) or
            ((top, bottom), (left, right)); default ((0, 0), (0, 0)).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, cropped_height, cropped_width, channels).

    Example:
        >>> tuple(Cropping2D(((2, 2), (4, 4)))(torch.zeros(1, 28, 28, 3)).shape)
        (1, 24, 20, 3)
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes entries around depth, height and width: int, 3 ints or 3 (before, after) pairs.

    Args:
        cropping: int (every side), 3 ints (symmetric per axis) or 3 (before, after) pairs;
            default ((1, 1), (1, 1), (1, 1)).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, cropped_depth, cropped_height, cropped_width, channels).

    Example:
        >>> tuple(Cropping3D(1)(torch.zeros(1, 4, 4, 4, 2)).shape)
        (1, 2, 2, 2, 2)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
