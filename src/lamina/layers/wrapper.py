"""Wrapper, the base of layers that wrap one other layer, and SpectralNormalization."""

from __future__ import annotations

import torch

from lamina import initializers
from lamina.engine import errors, func_transforms
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.engine.serialization import layer_entry
from lamina.layers import layer_serialization


class Wrapper(Layer):
    """Base class of a layer that wraps another: it holds `layer`, builds it, and saves it in its
    config. Subclasses write `call`.

    Args:
        layer: the lamina layer to wrap.

    Example:
        >>> class Twice(Wrapper):
        ...     def call(self, inputs):
        ...         return 2 * self.layer(inputs)
        >>> Twice(lamina.layers.Identity())(torch.ones(1, 2)).tolist()
        [[2.0, 2.0]]
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise errors.value_error(
                type(self).__name__,
                "a lamina layer to wrap",
                f"{type(layer).__name__}",
            )
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        self.layer.build_from_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": layer_entry(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = layer_serialization.deserialize(config["layer"], custom_objects)
        return super().from_config(config)


def _l2_normalized(v: torch.Tensor) -> torch.Tensor:
    # Keras's normalize(axis=None): v / sqrt(max(sum(v**2), 1e-12)).
    return v * torch.rsqrt(torch.clamp(v.square().sum(), min=1e-12))


class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's kernel by its largest singular value (Miyato et al., 2018),
    estimated by power iteration, in each training call; inference uses the kernel as it is.

    As in Keras, the normalized kernel is written back into the wrapped layer's weight, and the
    power iteration's vector `vector_u` is a non-trainable weight carried between calls.

    Args:
        layer: a layer with a `kernel` (Dense, Conv*) or `embeddings` (Embedding) weight.
        power_iterations: power-iteration steps per training call (at least 1).

    Input shape: the wrapped layer's. Output shape: the wrapped layer's.
    Weights (get_weights order, Keras's): the kernel, `vector_u` (1, kernel.shape[-1]), then the
    wrapped layer's other weights.

    Example:
        >>> layer = SpectralNormalization(lamina.layers.Dense(3))
        >>> tuple(layer(torch.zeros(2, 4), training=True).shape)
        (2, 3)
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise errors.value_error(
                self, "power_iterations > 0", f"power_iterations={power_iterations}"
            )
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        name = "kernel" if hasattr(self.layer, "kernel") else "embeddings"
        if not hasattr(self.layer, name):
            raise errors.value_error(
                self,
                "a wrapped layer with a `kernel` or `embeddings` weight",
                f"{type(self.layer).__name__}",
            )
        self._kernel_entry = next(
            e for e in self.layer._own_weights() if e.tensor is getattr(self.layer, name)
        )
        self.vector_u = self.add_weight(
            name="vector_u",
            shape=(1, self._kernel_entry.tensor.shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
            dtype=self._kernel_entry.tensor.dtype,  # the kernel's, as Keras (not the wrapper's)
        )
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})

    def _own_weights(self):
        # Keras's wrapper tracks the kernel as its own variable too, ahead of vector_u (so its
        # `.keras` group holds both), and get_weights() lists kernel, vector_u, then the rest.
        return [self._kernel_entry, *super()._own_weights()]

    def _weight_entries(self):
        # The kernel stays owned by the wrapped layer, whose name it carries in weight files.
        entries = super()._weight_entries()
        return [entries[0]._replace(owner=self.layer), *entries[1:]]

    def _spectral_norm(self, matrix):
        """(the next vector_u, sigma) of the (-1, units) kernel matrix: power iteration from
        vector_u, its vectors held constant (Keras stops their gradient), sigma ~ the largest
        singular value."""
        with torch.no_grad():
            u = self.vector_u
            for _ in range(self.power_iterations):
                v = _l2_normalized(u @ matrix.T)
                u = _l2_normalized(v @ matrix)
        return u, (v @ matrix @ u.T).squeeze()

    def normalized_weights(self):
        """`(vector_u, kernel)` as the next training call would set them, without setting
        them: the power iteration's vector and the kernel divided by its estimated spectral
        norm, in Keras's shapes (the kernel's gradient flows through)."""
        kernel = self._kernel_entry.tensor
        u, sigma = self._spectral_norm(kernel.reshape(-1, self.vector_u.shape[-1]))
        return u.to(self.vector_u.dtype), (kernel / sigma).to(kernel.dtype)

    @torch.no_grad()
    def _normalize_kernel(self):
        kernel = self._kernel_entry.tensor
        # A kernel of zeros is left as it is (Keras's rule), decided on the device: an `if` on
        # its value would make every training step wait for it.
        zero = torch.all(kernel == 0)
        u, sigma = self._spectral_norm(kernel.reshape(-1, self.vector_u.shape[-1]))
        func_transforms.assign(self.vector_u, torch.where(zero, self.vector_u, u), self, "vector_u")
        sigma = torch.where(zero, torch.ones_like(sigma), sigma)
        if func_transforms.active():  # the kernel may be captured by the transform
            func_transforms.assign(kernel, kernel / sigma, self, "kernel")
        else:
            kernel.div_(sigma)

    def call(self, inputs, training=None):
        if training:
            self._normalize_kernel()
        outputs = self.layer(inputs)
        return outputs.to(inputs.dtype) if inputs.is_floating_point() else outputs

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
