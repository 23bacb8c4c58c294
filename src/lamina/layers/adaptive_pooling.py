"""Adaptive pooling 1-3D: average or max over bins chosen so the output has a fixed size.

Bin `i` of an axis of length `n` pooled to `m` covers `[floor(i * n / m), ceil((i + 1) * n / m))`:
bins may overlap when `m` does not divide `n`. That is torch's rule and Keras's on every backend
(its JAX/NumPy versions compute the same starts and ends), so torch's kernels serve directly.
"""

from __future__ import annotations

import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers import argument_checks as check

_AVERAGE = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
_MAX = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}


class _AdaptivePooling(Layer):
    rank = 2
    kernels = _AVERAGE

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_size, int) or (
            isinstance(output_size, (list, tuple)) and len(output_size) == self.rank
        ):
            self.output_size = check.int_tuple(output_size, self.rank, "output_size", self)
        else:
            raise TypeError(
                errors.message(
                    self,
                    f"an integer or a tuple of {self.rank} integers for output_size",
                    f"output_size={output_size!r}",
                )
            )
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._build_at_init(_AdaptivePooling)

    def call(self, inputs):
        channels_last = self.data_format == "channels_last"
        x = backend.channels_first_view(inputs) if channels_last else inputs
        size = self.output_size[0] if self.rank == 1 else self.output_size
        outputs = self.kernels[self.rank](x, size)
        if channels_last:
            outputs = backend.channels_last_view(outputs)
        return outputs.contiguous()

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self):
        return {
            **super().get_config(),
            "output_size": self.output_size,
            "data_format": self.data_format,
        }


_DOC = """Adaptive {kind} pooling over {rank} spatial axis(es) to a fixed `output_size`.

    Args:
        output_size: an integer (every spatial axis) or a tuple of {rank} integers.
        data_format: "channels_last" (default) or "channels_first".

    Input shape: `(batch, *spatial, channels)` (channels_last) or `(batch, channels, *spatial)`.
    Output shape: the spatial axes replaced by `output_size`.

    Example:
        >>> tuple({name}(4)(torch.zeros({example})).shape)
        {result}
    """


def _pooling_class(name: str, rank: int, kernels: dict, kind: str):
    example = ", ".join(["1"] + ["9"] * rank + ["3"])
    result = "(" + ", ".join(["1"] + ["4"] * rank + ["3"]) + ")"
    doc = _DOC.format(kind=kind, rank=rank, name=name, example=f"({example})", result=result)
    return type(name, (_AdaptivePooling,), {"rank": rank, "kernels": kernels, "__doc__": doc})


AdaptiveAveragePooling1D = _pooling_class("AdaptiveAveragePooling1D", 1, _AVERAGE, "average")
AdaptiveAveragePooling2D = _pooling_class("AdaptiveAveragePooling2D", 2, _AVERAGE, "average")
AdaptiveAveragePooling3D = _pooling_class("AdaptiveAveragePooling3D", 3, _AVERAGE, "average")
AdaptiveMaxPooling1D = _pooling_class("AdaptiveMaxPooling1D", 1, _MAX, "max")
AdaptiveMaxPooling2D = _pooling_class("AdaptiveMaxPooling2D", 2, _MAX, "max")
AdaptiveMaxPooling3D = _pooling_class("AdaptiveMaxPooling3D", 3, _MAX, "max")
