"""A weights file's HDF5 tree as nested dicts of arrays (read without trusting the file), and a
model's weights tree as nested dicts of shapes: the two sides `KerasFileEditor` compares.

Examples:
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3)])
    >>> model_spec(model)
    {'layers': {'dense': {'0': (2, 3), '1': (3,)}}}
"""

from __future__ import annotations

import h5py
import numpy as np

from lamina.saving import h5_guard, limits
from lamina.saving.errors import FileFormatError
from lamina.saving.weight_paths import model_tree

_MAX_DEPTH = 64  # a real weights tree is a few levels deep


def natural_order(key: str):
    """Sort key putting weight indices in numeric order ("2" before "10"), names after them."""
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


class TreeReader:
    """Walks an HDF5 weights tree into nested dicts, refusing what loading refuses."""

    def __init__(self, source: str):
        self.source = source
        self.budget = limits.get_load_limits().max_member_bytes
        self.used = 0
        self.seen = set()
        self.names = []  # (object dict, the object's own name)

    def read(self, group, path: str, depth: int = 0) -> dict:
        if depth > _MAX_DEPTH:
            raise FileFormatError(
                f"{self.source}: the weights tree nests deeper than {_MAX_DEPTH} groups at "
                f"'{group.name}'. Refusing to read it."
            )
        if group.id in self.seen:
            raise FileFormatError(
                f"{self.source}: '{group.name}' is reached by more than one hard link (a loop or "
                "a shared group); Keras and lamina never write that. Refusing to read it."
            )
        self.seen.add(group.id)
        if len(group) > limits.get_load_limits().max_entries:
            raise FileFormatError(
                f"{self.source}: '{group.name}' holds {len(group)} members; the limit is "
                f"{limits.get_load_limits().max_entries}. "
                + limits.raise_hint(max_entries=len(group))
            )
        result = {}
        for key in sorted(group, key=natural_order):
            node = h5_guard.lookup(group, key, self.source)
            if isinstance(node, h5py.Group):
                if key == "vars":
                    own = self.read(node, path, depth + 1)
                    result.update(own)
                    name = node.attrs.get("name")
                    if name is not None:
                        self.names.append((result, str(np.asarray(name).astype(str))))
                    continue
                child = self.read(node, f"{path}/{key}", depth + 1)
                if child:
                    result[key] = child
            else:
                result[key] = self.array(node)
        return result

    def array(self, node) -> np.ndarray:
        h5_guard.check_dataset(node, self.source)
        self.used += int(np.prod(node.shape or (), dtype=np.int64)) * node.dtype.itemsize
        if self.used > self.budget:
            raise FileFormatError(
                f"{self.source}: its datasets declare more than {self.budget} bytes in all "
                f"(reaching '{node.name}'); the limit is max_member_bytes. "
                + limits.raise_hint(max_member_bytes=self.used)
            )
        return h5_guard.read_array(node, self.source)


def model_spec(model) -> dict:
    """The model's weights tree as the file would hold it: nested dicts of weight shapes."""
    spec: dict = {}
    for node in model_tree(model):
        if not node.weights:
            continue
        target = spec
        for part in [p for p in node.path.split("/") if p]:
            target = target.setdefault(part, {})
        for index, entry in enumerate(node.weights):
            target[str(index)] = tuple(entry.tensor.shape)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        from lamina.saving import optimizer_state

        values = optimizer_state.to_keras(optimizer)
        spec["optimizer"] = {str(i): np.shape(v) for i, v in enumerate(values)}
    return spec
