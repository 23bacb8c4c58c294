"""`layer.backend` (and `convert_weight`) of the preprocessing layers: lamina's op namespaces
under the names Keras's backend modules use, so custom augmentations written against Keras
(`self.backend.numpy.where`, `self.backend.random.uniform(..., seed=self.generator)`,
`self.backend.cast`) run unchanged.

Keras switches this object between backends inside `tf.data` pipelines; lamina has one engine,
so `set_backend` and `reset` accept Keras's calls and change nothing.
"""

from __future__ import annotations

from lamina import ops, random


class OpsBackend:
    """lamina's ops as a Keras backend module: `numpy`, `image`, `nn`, `linalg`, `math`,
    `core`, `random`, and every top-level op (`cast`, `convert_to_tensor`, `shape`, ...).

    Example:
        >>> OPS_BACKEND.numpy.where(torch.tensor([True, False]), 1.0, 0.0).tolist()
        [1.0, 0.0]
    """

    name = "torch"
    _backend = "torch"
    numpy = ops.numpy
    image = ops.image
    nn = ops.nn
    linalg = ops.linalg
    core = ops.core
    math = ops
    random = random

    def set_backend(self, backend):
        """Keras's switch to another backend's ops: lamina has only its own, so a no-op.

        Args:
            backend: the backend's name (ignored).

        Example:
            >>> OPS_BACKEND.set_backend("tensorflow")
        """
        del backend

    def reset(self):
        """Back to the default backend: a no-op, as `set_backend`.

        Example:
            >>> OPS_BACKEND.reset()
        """

    def __getattr__(self, name):
        return getattr(ops, name)

    def __repr__(self):
        return "<OpsBackend: lamina.ops>"


OPS_BACKEND = OpsBackend()


class DataLayer:
    """What Keras's preprocessing layers share (its `DataLayer` base): `backend`, lamina's ops
    under Keras's names, and `convert_weight`. Mixed in ahead of `Layer`.

    Example:
        >>> from lamina import layers
        >>> layers.Rescaling(0.5).backend is OPS_BACKEND
        True
    """

    backend = OPS_BACKEND

    def convert_weight(self, weight):
        """The weight as this layer's backend takes it. Keras converts a weight made under
        another backend (inside a `tf.data` pipeline); lamina has one engine, so it comes back
        as it came.

        Args:
            weight: a tensor or array.

        Returns:
            `weight`, unchanged.

        Example:
            >>> from lamina import layers
            >>> layers.Rescaling(0.5).convert_weight(torch.ones(2)).tolist()
            [1.0, 1.0]
        """
        return weight
