"""`get_source_inputs`: the `Input` tensors a symbolic tensor was computed from."""

from __future__ import annotations


def get_source_inputs(tensor):
    """The `lamina.Input` tensors `tensor` depends on, in first-seen order.

    Args:
        tensor: a symbolic tensor (a KerasTensor); anything else comes back unchanged, as in
            Keras.

    Examples:
        >>> x = lamina.Input((3,))
        >>> get_source_inputs(lamina.layers.Dense(2)(x))[0] is x   # doctest: +SKIP
        True
    """
    from lamina.engine.symbolic import InputLayer, KerasTensor

    if not isinstance(tensor, KerasTensor):
        return tensor  # not part of a graph: returned as it is, as Keras does
    found, seen, stack = [], set(), [tensor]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        node = current.node
        if node is None or isinstance(node.layer, InputLayer) or not node.parent_tensors:
            found.append(current)
            continue
        stack.extend(reversed(node.parent_tensors))
    return found
