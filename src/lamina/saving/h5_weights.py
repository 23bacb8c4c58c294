"""A model's weights (and optimizer state) to and from Keras 3's HDF5 weights tree.

Reading is two-phase: every array is read and checked against the model first, and only when all
fit are they copied in, so a bad file never leaves a half-loaded model.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.saving import optimizer_state
from lamina.saving.errors import FileFormatError
from lamina.saving.weight_paths import model_tree


def write(file, model, include_optimizer: bool = True) -> None:
    """Write `model`'s tree into an open `h5py.File` (Keras's `.weights.h5` layout)."""
    for node in model_tree(model):
        group = file.require_group(f"{node.path}/vars" if node.path else "vars")
        group.attrs["name"] = getattr(node.layer, "name", "")
        for index, (tensor, to_keras, _) in enumerate(node.weights):
            create_dataset(group, str(index), backend.as_numpy(to_keras(tensor.detach())))
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and optimizer.built:
        group = file.require_group("optimizer/vars")
        group.attrs["name"] = optimizer.name
        for index, value in enumerate(optimizer_state.to_keras(optimizer, model)):
            create_dataset(group, str(index), value)


def create_dataset(group, name, array) -> None:
    """A dataset with HDF5's Fletcher-32 checksum (a standard filter Keras reads), so flipped
    bytes are caught on load instead of loading silently wrong weights. Scalars cannot carry it."""
    array = np.asarray(array)
    if array.ndim == 0 or array.size == 0:
        group.create_dataset(name, data=array)
    else:
        group.create_dataset(name, data=array, fletcher32=True)


def plan(file, model, skip_mismatch: bool = False, source: str = "") -> list:
    """Read and check every weight; return `(tensor, array)` pairs ready to copy."""
    assignments = []
    for node in model_tree(model):
        if not node.weights:
            continue
        key = f"{node.path}/vars"
        if key not in file:
            if skip_mismatch:
                continue
            raise FileFormatError(
                f"{source} has no weights for layer '{node.layer.name}' (looked for '{key}'). "
                "Hint: the file was saved from a different architecture; build the same model, or "
                "pass skip_mismatch=True to load the layers that match."
            )
        group = file[key]
        if len(group) != len(node.weights):
            if skip_mismatch:
                continue
            raise FileFormatError(
                f"Layer '{node.layer.name}' expects {len(node.weights)} weights; {source} has "
                f"{len(group)} at '{key}'."
            )
        staged = []
        for index, (tensor, to_keras, from_keras) in enumerate(node.weights):
            array = _read(group, str(index), source)
            expected = tuple(to_keras(tensor.detach()).shape)
            if tuple(array.shape) != expected:
                if skip_mismatch:
                    staged = None
                    break
                raise FileFormatError(
                    f"Layer '{node.layer.name}' weight {index} has shape {expected}; {source} "
                    f"holds shape {tuple(array.shape)} at '{key}/{index}'."
                )
            staged.append((tensor, from_keras(array)))
        if staged:
            assignments.extend(staged)
    return assignments


def _read(group, name, source):
    try:
        return np.asarray(group[name][()])
    except Exception as error:  # h5py raises OSError/KeyError/RuntimeError on damaged data
        raise FileFormatError(
            f"{source} is damaged: could not read '{group.name}/{name}' ({error})."
        ) from None


def apply(assignments) -> None:
    with torch.no_grad():
        for tensor, array in assignments:
            source = torch.as_tensor(np.ascontiguousarray(array))
            tensor.copy_(source.to(device=tensor.device, dtype=tensor.dtype))


def read_optimizer(file, source: str = "") -> list | None:
    """The optimizer's variables in file order, or None when the file has none."""
    if "optimizer/vars" not in file:
        return None
    group = file["optimizer/vars"]
    return [_read(group, str(i), source) for i in range(len(group))]
