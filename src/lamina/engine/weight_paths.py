"""Keras's `variable.path` written into lamina's weights (`encoder/dense/kernel`).

Keras names a variable by the name scopes open when it is made: `dense/kernel`, for a Sequential
model `sequential/dense/kernel`, for a layer built inside another's call `model/block/dense/kernel`.
Layers open those scopes as they build and call (`Layer._open_name_scope`); `assign(model)` names
from the layer tree only a weight made outside any scope. The `path` attribute is what the
optimizers that select weights by name (`Muon`, `MultiOptimizer`; see
`lamina.optimizers.variable_paths`) read; `assign` also writes each weight's layout converters
`(to_keras, from_keras)` into `keras_layout`, which the optimizers whose statistics depend on the
axes' order (`Adafactor` factors Keras's last two) read.
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
    # Sequential sets `_builds_layers_in_own_scope` (read, not imported: the trainer calls this).
    in_scope = getattr(model, "_builds_layers_in_own_scope", False)
    _walk(model, f"{model.name}/" if in_scope else "", set())


def _walk(layer, prefix: str, seen: set) -> None:
    if id(layer) in seen:
        return
    seen.add(id(layer))
    keras_names = getattr(layer, "_keras_weight_paths", {})  # MultiHeadAttention's `query/kernel`
    for spec in getattr(layer, "_weight_specs", ()):
        tensor = getattr(layer, spec.name, None)
        if tensor is not None:
            # A weight keeps the path its layer's name scopes gave it when it was made (Keras's
            # variables never change path); only one made outside any scope is named here.
            if not getattr(tensor, "path", ""):
                tensor.path = prefix + keras_names.get(spec.name, spec.name)
            tensor.keras_layout = (spec.to_keras, spec.from_keras)
    sublayers = layer._sublayers() if hasattr(layer, "_sublayers") else []
    for child in sublayers:
        _walk(child, f"{prefix}{child.name}/", seen)
