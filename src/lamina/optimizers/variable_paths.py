"""Keras's `variable.path` for lamina's weights, which `Muon` and `MultiOptimizer` match names on.

Keras names a variable by the layers that hold it: `dense/kernel`, and for a Sequential model
`sequential/dense/kernel` (its layers are built inside the model's name scope). lamina's weights
are torch tensors; `assign(model)` writes the same path into each one's `path` attribute, so a
selector written for Keras (`"encoder" in variable.path`) reads the same string in lamina.
"""

from __future__ import annotations


def assign(model) -> None:
    """Write Keras's path into the `path` attribute of every weight of `model`.

    Args:
        model: a lamina `Layer` or `Model`.

    Example:
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, name="out")])
        >>> assign(model)
        >>> model.layers[0].kernel.path
        'sequential/out/kernel'
    """
    from lamina.engine.sequential import Sequential

    _walk(model, f"{model.name}/" if isinstance(model, Sequential) else "", set())


def _walk(layer, prefix: str, seen: set) -> None:
    if id(layer) in seen:
        return
    seen.add(id(layer))
    for spec in getattr(layer, "_weight_specs", ()):
        tensor = getattr(layer, spec.name, None)
        if tensor is not None:
            tensor.path = f"{prefix}{spec.name}"
    sublayers = layer._sublayers() if hasattr(layer, "_sublayers") else []
    for child in sublayers:
        _walk(child, f"{prefix}{child.name}/", seen)


def path_of(tensor) -> str:
    """The tensor's Keras path (set by `assign`, or by hand), or `""` when it has none.

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
