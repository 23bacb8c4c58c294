"""Pooling: Max/Average pooling 1-3D and global pooling, on torch's channels-last kernels.

`same` padding follows TensorFlow: max pooling ignores the padded positions (pads with -inf),
average pooling divides by the number of real positions in each window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
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
        self.built = True

    def build(self, input_shape):
        self._check_fits(input_shape)

    def _check_fits(self, input_shape):
        if self.padding != "valid":
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

    def call(self, inputs):
        x = spatial.to_torch(inputs, self.data_format, self.rank)
        if self.padding == "valid":
            self._check_fits(tuple(inputs.shape))  # integers only: no host sync
            y = self._pool(x, 0)
        else:
            pads = padding_rules.paddings_for(
                x.shape[2:], self._torch_pool, self._torch_strides, (1,) * len(self._torch_pool)
            )
            y = self._pool_same(x, pads, padding_rules.symmetric_or_none(pads))
        return spatial.from_torch(y, self.data_format, self.rank)

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
    """Max over windows of `pool_size` steps of (batch, steps, channels); strides default to it."""

    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    """Max over windows of `pool_size` (strides default to pool_size), e.g. (2, 2) halves H and W.

    Example:
        >>> tuple(MaxPooling2D((2, 2))(torch.zeros(1, 29, 29, 4)).shape)
        (1, 14, 14, 4)
    """

    rank, mode = 2, "max"


class MaxPooling3D(_Pooling):
    """Max over (depth, height, width) windows of (batch, depth, height, width, channels)."""

    rank, mode = 3, "max"


class AveragePooling1D(_Pooling):
    """Mean over windows of `pool_size` steps; with 'same', padded positions are not counted."""

    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    """Mean over windows of `pool_size`; with 'same', padded positions are not counted."""

    rank, mode = 2, "avg"


class AveragePooling3D(_Pooling):
    """Mean over (depth, height, width) windows; with 'same', padded positions are not counted."""

    rank, mode = 3, "avg"


class _GlobalPooling(Layer):
    rank = 2
    mode = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(
            ndim=self.rank + 2, hint=spatial.family_hint(type(self).__name__, self.rank)
        )
        self.supports_masking = self.rank == 1
        self.built = True

    def call(self, inputs, mask=None):
        if self.data_format == "channels_last":
            axes = tuple(range(1, self.rank + 1))
        else:
            axes = tuple(range(2, self.rank + 2))
        if self.mode == "max":
            return inputs.amax(dim=axes, keepdim=self.keepdims)
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

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (batch, steps, channels) -> (batch, channels); masked steps are skipped."""

    rank, mode = 1, "avg"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, h, w, c) -> (batch, c)."""

    rank, mode = 2, "avg"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over depth, height and width: (batch, d, h, w, c) -> (batch, c)."""

    rank, mode = 3, "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, steps, channels) -> (batch, channels)."""

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, h, w, c) -> (batch, c)."""

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over depth, height and width: (batch, d, h, w, c) -> (batch, c)."""

    rank, mode = 3, "max"
