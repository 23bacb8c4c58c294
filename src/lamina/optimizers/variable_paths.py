"""Keras's `variable.path` for lamina's weights, which `Muon` and `MultiOptimizer` match names on.

Keras names a variable by the layers that hold it: `dense/kernel`, and for a Sequential model
`sequential/dense/kernel` (its layers are built inside the model's name scope). lamina's weights
are torch tensors; `lamina.engine.weight_paths.assign(model)` (run when `compile`/`fit` build the
optimizer) writes the same path into each one's `path` attribute, so a selector written for Keras
(`"encoder" in variable.path`) reads the same string in lamina. This module only reads it, so the
optimizers never import the engine.
"""

from __future__ import annotations


def path_of(tensor) -> str:
    """The tensor's Keras path (written by `weight_paths.assign`, or by hand), or `""`.

    Args:
        tensor: a weight.

    Example:
        >>> import torch
        >>> w = torch.zeros(2)
        >>> w.path = "encoder/bias"
        >>> path_of(w)
        'encoder/bias'
    """
    return getattr(tensor, "path", "") or ""
