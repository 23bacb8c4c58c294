"""Pooling: Max/Average pooling 1-3D and global pooling, on torch's channels-last kernels.

`same` padding follows TensorFlow: max pooling ignores the padded positions (pads with -inf),
average pooling divides by the number of real positions in each window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import channels_first, errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check
from lamina.layers import padding_rules, spatial

# 1-D runs lifted to 2-D (spatial.py): channels-last all the way, and faster on this CPU.
_MAX = {1: F.max_pool2d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool2d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class _Pooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check.int_tuple(pool_size, self.rank, "pool_size", self)
        self.strides = check.int_tuple(
            self.pool_size if strides is None else strides, self.rank, "strides", self
        )
        self.padding = check.choice(padding, ("valid", "same"), "padding", self)
        self.data_format = backend.standardize_data_format(data_format)
        self.expected_layout = spatial.LAYOUTS[(self.data_format, self.rank)]
        self.input_spec = InputSpec(
            ndim=self.rank + 2, hint=spatial.family_hint(type(self).__name__, self.rank)
        )
        self._torch_pool = spatial.lift(self.pool_size, 1)
        self._torch_strides = spatial.lift(self.strides, 1)
        self._build_at_init(_Pooling)

    @property
    def pool_mode(self) -> str:
        """The reduction, as Keras names it: "max" or "average"."""
        return "max" if self.mode == "max" else "average"

    def build(self, input_shape):
        self._check_fits(input_shape)

    def _check_fits(self, input_shape):
        if self.padding != "valid" or input_shape == self.__dict__.get("_fitting_shape"):
            return
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        outputs = [
            padding_rules.output_length(n, k, s, "valid")
            for n, k, s in zip(sizes, self.pool_size, self.strides, strict=False)
        ]
        if any(o is not None and o <= 0 for o in outputs):
            raise errors.value_error(
                self,
                f"spatial sizes at least pool_size {self.pool_size} with padding='valid'",
                f"input shape {errors.format_shape(input_shape)}, which gives a zero or negative "
                f"output size {tuple(outputs)}",
                "use padding='same' or remove a pooling layer: the input is already too small.",
            )
        if not torch.compiler.is_compiling():
            # The latest shape that fits, kept on the layer: a training step's call asks again
            # with the same one (about 8 Python calls a layer, host time on a GPU).
            self.__dict__["_fitting_shape"] = input_shape

    def call(self, inputs):
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        y = self._pooled(x, tuple(inputs.shape))
        return spatial.from_torch(y, self.data_format, self.rank)

    def _pooled(self, x, input_shape):
        """The pooling of `x`, the (N, C, *spatial) view of an input of Keras shape
        `input_shape`."""
        if self.padding == "valid":
            self._check_fits(input_shape)  # integers only: no host sync
            return self._pool(x, 0)
        pads = padding_rules.paddings_for(
            x.shape[2:], self._torch_pool, self._torch_strides, (1,) * len(self._torch_pool)
        )
        return self._pool_same(x, pads, padding_rules.symmetric_or_none(pads))

    def _channels_first_role(self):
        if (
            self.rank > 1
            and self.data_format == "channels_last"
            and type(self).call is _Pooling.call
        ):
            return channels_first.SPATIAL
        return None

    def _channels_first_call(self, inputs, training):
        return self._pooled(inputs, (inputs.shape[0], *inputs.shape[2:], inputs.shape[1]))

    def _pool(self, x, padding):
        torch_rank = len(self._torch_pool)
        if self.mode == "max":
            return _MAX[torch_rank](x, self._torch_pool, self._torch_strides, padding)
        return _AVG[torch_rank](
            x, self._torch_pool, self._torch_strides, padding, count_include_pad=False
        )

    def _pool_same(self, x, pads, symmetric):
        # torch pads symmetrically by at most half the window inside the kernel; else pad first.
        # Not for averages on CUDA: there, on an H200 (torch 2.11), avg_pool's own padding with
        # count_include_pad=False gave values off by up to 0.95 on a channels_last view (the parity
        # test), while the explicit pad-and-divide path below matched Keras.
        inside = self.mode == "max" or not x.is_cuda
        if (
            inside
            and symmetric is not None
            and all(p <= k // 2 for p, k in zip(symmetric, self._torch_pool, strict=False))
        ):
            return self._pool(x, symmetric)
        if self.mode == "max":
            return self._pool(padding_rules.pad_channels_first(x, pads, value=float("-inf")), 0)
        # TensorFlow averages the real positions only (Keras's torch backend counts the padded
        # zeros): mean over the zero-padded window divided by the share of real positions in it.
        average = _AVG[len(self._torch_pool)]
        padded_mean = average(
            padding_rules.pad_channels_first(x, pads), self._torch_pool, self._torch_strides
        )
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        real_share = average(
            padding_rules.pad_channels_first(ones, pads), self._torch_pool, self._torch_strides
        )
        return padded_mean / real_share

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling):
    """Max over windows of `pool_size` steps of (batch, steps, channels); strides default to it.

    Args:
        pool_size: int, the window size (default 2).
        strides: int, the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions never win, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels) (channels_first: (batch, channels, steps)).
    Output shape: (batch, new_steps, channels), new_steps = floor((steps - pool_size) / strides)
    + 1 for 'valid' and ceil(steps / strides) for 'same'.

    Example:
        >>> x = torch.arange(6.0).reshape(1, 6, 1)
        >>> MaxPooling1D(2)(x).flatten().tolist()
        [1.0, 3.0, 5.0]
    """

    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    """Max over windows of `pool_size` (strides default to pool_size), e.g. (2, 2) halves H and W.

    Args:
        pool_size: int or (height, width), the window size (default (2, 2)).
        strides: int or (height, width), the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions never win, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, new_height, new_width, channels), new = floor((n - pool) / stride) + 1
    for 'valid' and ceil(n / stride) for 'same'.

    Example:
        >>> tuple(MaxPooling2D((2, 2))(torch.zeros(1, 29, 29, 4)).shape)
        (1, 14, 14, 4)
    """

    rank, mode = 2, "max"


class MaxPooling3D(_Pooling):
    """Max over (depth, height, width) windows of (batch, depth, height, width, channels).

    Args:
        pool_size: int or (depth, height, width), the window size (default (2, 2, 2)).
        strides: int or (depth, height, width), the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions never win, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, new_depth, new_height, new_width, channels), sizes as MaxPooling2D's.

    Example:
        >>> tuple(MaxPooling3D(2)(torch.zeros(1, 4, 6, 5, 3)).shape)
        (1, 2, 3, 2, 3)
    """

    rank, mode = 3, "max"


class AveragePooling1D(_Pooling):
    """Mean over windows of `pool_size` steps; with 'same', padded positions are not counted.

    Args:
        pool_size: int, the window size (default 2).
        strides: int, the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions not counted, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels) (channels_first: (batch, channels, steps)).
    Output shape: (batch, new_steps, channels), sizes as MaxPooling1D's.

    Example:
        >>> x = torch.arange(5.0).reshape(1, 5, 1)
        >>> AveragePooling1D(2, padding="same")(x).flatten().tolist()
        [0.5, 2.5, 4.0]
    """

    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    """Mean over windows of `pool_size`; with 'same', padded positions are not counted.

    Args:
        pool_size: int or (height, width), the window size (default (2, 2)).
        strides: int or (height, width), the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions not counted, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels) (channels_first: (batch, channels, h, w)).
    Output shape: (batch, new_height, new_width, channels), sizes as MaxPooling2D's.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> AveragePooling2D((2, 2))(x)[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    rank, mode = 2, "avg"


class AveragePooling3D(_Pooling):
    """Mean over (depth, height, width) windows; with 'same', padded positions are not counted.

    Args:
        pool_size: int or (depth, height, width), the window size (default (2, 2, 2)).
        strides: int or (depth, height, width), the window's step; None (default) means `pool_size`.
        padding: 'valid' (no padding, default) or 'same' (output = ceil(n / strides), the
            padded positions not counted, as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels).
    Output shape: (batch, new_depth, new_height, new_width, channels), sizes as MaxPooling2D's.

    Example:
        >>> tuple(AveragePooling3D(2, padding="same")(torch.zeros(1, 3, 4, 5, 2)).shape)
        (1, 2, 2, 3, 2)
    """

    rank, mode = 3, "avg"


class _GlobalPooling(Layer):
    rank = 2
    mode = "avg"
    _no_mask_from_unmasked_inputs = True  # its compute_mask gives None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(
            ndim=self.rank + 2, hint=spatial.family_hint(type(self).__name__, self.rank)
        )
        self.supports_masking = self.rank == 1 and self.mode == "avg"  # as Keras: avg only
        self._build_at_init(_GlobalPooling)

    def call(self, inputs, mask=None):
        if self.data_format == "channels_last":
            axes = tuple(range(1, self.rank + 1))
        else:
            axes = tuple(range(2, self.rank + 2))
        if self.mode == "max":
            return inputs.amax(dim=axes, keepdim=self.keepdims)
        if not inputs.is_floating_point():
            inputs = inputs.float()  # Keras averages integers (a NumPy int array) as float32
        if mask is not None and self.rank == 1:
            # Average only the unmasked steps (Keras's GlobalAveragePooling1D with a mask).
            weights = mask.to(inputs.dtype)
            weights = (
                weights.unsqueeze(-1)
                if self.data_format == "channels_last"
                else weights.unsqueeze(1)
            )
            total = (inputs * weights).sum(dim=axes, keepdim=self.keepdims)
            return total / weights.sum(dim=axes, keepdim=self.keepdims).clamp_min(1e-12)
        return inputs.mean(dim=axes, keepdim=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None

    def _channels_first_role(self):
        if (
            self.rank > 1
            and self.data_format == "channels_last"
            and not self.keepdims
            and type(self).call is _GlobalPooling.call
        ):
            return channels_first.REDUCES
        return None

    def _channels_first_call(self, inputs, training):
        # (N, C, *spatial) -> (N, C): the same reduction over the same memory as `call`'s.
        axes = tuple(range(2, self.rank + 2))
        if self.mode == "max":
            return inputs.amax(dim=axes)
        return inputs.mean(dim=axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (batch, steps, channels) -> (batch, channels); masked steps are skipped.

    With a mask (e.g. from Embedding(mask_zero=True)), the mean covers the unmasked steps only.

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-3 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels) (channels_first: (batch, channels, steps)).
    Output shape: (batch, channels); with keepdims, (batch, 1, channels) (channels_first:
    (batch, channels, 1)).

    Example:
        >>> x = torch.tensor([[[1.0], [2.0], [6.0]]])
        >>> GlobalAveragePooling1D()(x).tolist()
        [[3.0]]
        >>> GlobalAveragePooling1D()(x, mask=torch.tensor([[True, True, False]])).tolist()
        [[1.5]]
    """

    rank, mode = 1, "avg"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, h, w, c) -> (batch, c).

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-4 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels)
    (channels_first: (batch, channels, height, width)).
    Output shape: (batch, channels); with keepdims, (batch, 1, 1, channels) (channels_first:
    (batch, channels, 1, 1)).

    Example:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)
        >>> GlobalAveragePooling2D()(x).tolist()
        [[3.0, 4.0]]
        >>> tuple(GlobalAveragePooling2D(keepdims=True)(x).shape)
        (1, 1, 1, 2)
    """

    rank, mode = 2, "avg"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over depth, height and width: (batch, d, h, w, c) -> (batch, c).

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-5 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels)
    (channels_first: (batch, channels, depth, height, width)).
    Output shape: (batch, channels); with keepdims, (batch, 1, 1, 1, channels) (channels_first:
    (batch, channels, 1, 1, 1)).

    Example:
        >>> tuple(GlobalAveragePooling3D()(torch.zeros(2, 3, 4, 5, 6)).shape)
        (2, 6)
    """

    rank, mode = 3, "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, steps, channels) -> (batch, channels).

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-3 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, steps, channels) (channels_first: (batch, channels, steps)).
    Output shape: (batch, channels); with keepdims, (batch, 1, channels) (channels_first:
    (batch, channels, 1)).

    Example:
        >>> x = torch.tensor([[[1.0, -1.0], [4.0, -3.0], [2.0, -2.0]]])
        >>> GlobalMaxPooling1D()(x).tolist()
        [[4.0, -1.0]]
    """

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, h, w, c) -> (batch, c).

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-4 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, height, width, channels)
    (channels_first: (batch, channels, height, width)).
    Output shape: (batch, channels); with keepdims, (batch, 1, 1, channels) (channels_first:
    (batch, channels, 1, 1)).

    Example:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2)
        >>> GlobalMaxPooling2D()(x).tolist()
        [[6.0, 7.0]]
    """

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over depth, height and width: (batch, d, h, w, c) -> (batch, c).

    Args:
        data_format: 'channels_last' (default) or 'channels_first'.
        keepdims: keep the pooled axes with size 1, giving a rank-5 output (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: (batch, depth, height, width, channels)
    (channels_first: (batch, channels, depth, height, width)).
    Output shape: (batch, channels); with keepdims, (batch, 1, 1, 1, channels) (channels_first:
    (batch, channels, 1, 1, 1)).

    Example:
        >>> tuple(GlobalMaxPooling3D(keepdims=True)(torch.zeros(2, 3, 4, 5, 6)).shape)
        (2, 1, 1, 1, 6)
    """

    rank, mode = 3, "max"
