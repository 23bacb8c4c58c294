"""RMSNormalization: divide by the root mean square over the given axes, then scale."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors, hyperparameters
from lamina.engine.layer import Layer
from lamina.layers.normalization import shape_with_axes_checked


class RMSNormalization(Layer):
    """`x * rsqrt(mean(x**2, axis) + epsilon) * scale` (Zhang and Sennrich, 2019): no centering,
    no bias, unlike LayerNormalization.

    Args:
        axis: axis or list of axes to normalize over (default the last).
        epsilon: added to the mean square before the square root.

    Input shape: any. Output shape: the same. Weights: `scale`, of the normalized axes' sizes.

    Example:
        >>> out = RMSNormalization()(torch.tensor([[3.0, 4.0]]))
        >>> [round(v, 4) for v in out[0].tolist()]
        [0.8485, 1.1314]
    """

    preserves_input_shape = True

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        hyperparameters.axis(axis, "axis", errors.describe(self))
        hyperparameters.number(epsilon, "epsilon", errors.describe(self), 0)
        self.axis = axis
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        for axis in axes:
            if not -rank <= axis < rank:
                raise errors.value_error(
                    self, f"axes in [{-rank}, {rank})", f"axis={self.axis} for rank {rank}"
                )
        self._axes = sorted(a % rank for a in axes)
        # As Keras, the built layer's config lists its axes, sorted as given.
        self.axis = sorted(axes)
        self.scale = self.add_weight(
            name="scale", shape=tuple(input_shape[a] for a in self._axes), initializer="ones"
        )
        # torch's fused kernel wants the trailing axes; other axes go through the plain formula.
        self._trailing = self._axes == list(range(rank - len(self._axes), rank))

    def call(self, inputs):
        x = inputs
        if x.dtype is torch.float16 or (
            x.dtype is torch.bfloat16 and self.scale.dtype is torch.float32
        ):
            # float16's range; a mixed policy's 16-bit input beside its float32 scale (torch's
            # fused kernel takes one dtype): the statistics in float32, the output in 16 bits.
            x = x.float()
        if self._trailing:
            outputs = F.rms_norm(x, tuple(self.scale.shape), self.scale, self.epsilon)
        else:
            shape = [1] * x.ndim
            for axis, size in zip(self._axes, self.scale.shape, strict=True):
                shape[axis] = size
            rrms = torch.rsqrt(x.square().mean(dim=self._axes, keepdim=True) + self.epsilon)
            outputs = x * rrms * self.scale.reshape(shape)
        return outputs.to(inputs.dtype)

    def compute_output_shape(self, input_shape):
        return shape_with_axes_checked(self, input_shape, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
