"""A saved state matched to a model whose layers have other auto-generated names.

torch keys a model's state by attribute path, and a lamina model's paths hold its layers' names
(`stack_layers.dense.kernel`), which Keras numbers per session: the same model built again in
the same process (a notebook cell run twice) is `dense_2`. Keras restores weights by the model's
structure; lamina does the same for a state whose keys, in the model's order, differ from the
model's only in layer names (the same depth, the same weight name at the end), so
`model.load_state_dict(torch.load(...))` and `BackupAndRestore` work across such rebuilds.
Every array's shape is still checked by whoever copies it.
"""

from __future__ import annotations


def by_structure(saved_keys, model_keys) -> dict | None:
    """`{model key: saved key}` pairing keys by position when only layer names differ; None
    when the keys do not pair so (another model), and the identity when they are equal.

    Args:
        saved_keys: the saved state's keys, in the order they were saved (the model's order).
        model_keys: the model's own state-dict keys, in its order.

    Example:
        >>> by_structure(["s.dense.kernel", "s.dense.bias"], ["s.dense_2.kernel", "s.dense_2.bias"])
        {'s.dense_2.kernel': 's.dense.kernel', 's.dense_2.bias': 's.dense.bias'}
        >>> by_structure(["s.dense.kernel"], ["s.conv2d.kernel", "s.conv2d.bias"]) is None
        True
    """
    saved_keys, model_keys = list(saved_keys), list(model_keys)
    if set(saved_keys) == set(model_keys):
        return {key: key for key in model_keys}
    if len(saved_keys) != len(model_keys) or len(set(saved_keys)) != len(saved_keys):
        return None
    pairs = list(zip(model_keys, saved_keys, strict=True))
    if all(_same_but_names(saved, own) for own, saved in pairs):
        return dict(pairs)
    return None


def _same_but_names(saved: str, own: str) -> bool:
    saved_parts, own_parts = saved.split("."), own.split(".")
    return len(saved_parts) == len(own_parts) and saved_parts[-1] == own_parts[-1]
