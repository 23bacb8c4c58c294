"""Keras's `variable.path` on lamina's weights (`encoder/dense/kernel`).

Keras names a variable by the name scopes open when it is made: each layer builds (and calls) in a
scope of its own name under the path where it was first built, so `dense/kernel` for a layer of a
functional model (built as the graph is defined), `sequential/dense/kernel` for a Sequential's
(built in the model's scope), `model/block/dense/kernel` for a sub-layer built in a call. lamina
gives each weight that path when `add_weight` makes it (`Layer._name_scope`); the optimizers that
select weights by name (`Muon`, `MultiOptimizer`; see `lamina.optimizers.variable_paths`) read
it. `assign(model)` gives a path from the layer tree to a weight that has none.
"""

from __future__ import annotations

from lamina.engine.weight import stored_weight


def assign(model) -> None:
    """Give every weight of `model` that has no path one from the layer tree.

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
        tensor = stored_weight(layer, spec.name)
        if tensor is not None and not getattr(tensor, "path", None):
            tensor.path = prefix + keras_names.get(spec.name, spec.name)
    sublayers = layer._sublayers() if hasattr(layer, "_sublayers") else []
    for child in sublayers:
        _walk(child, f"{prefix}{child.name}/", seen)
