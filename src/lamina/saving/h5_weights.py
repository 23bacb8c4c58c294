"""A model's weights (and optimizer state) to and from Keras 3's HDF5 weights tree.

Reading is two-phase: every array is read and checked against the model first, and only when all
fit are they copied in, so a bad file never leaves a half-loaded model.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from lamina import backend
from lamina.engine.layer import overrides
from lamina.saving import h5_guard, optimizer_state
from lamina.saving.errors import FileFormatError
from lamina.saving.weight_paths import model_tree, model_tree_in


def write(file, model, include_optimizer: bool = True) -> None:
    """Write `model`'s tree into an open `h5py.File` (Keras's `.weights.h5` layout)."""
    for node in model_tree(model):
        group = file.require_group(f"{node.path}/vars" if node.path else "vars")
        group.attrs["name"] = getattr(node.layer, "name", "")
        if overrides(node.layer, "save_own_variables"):
            if not node.primary:  # the hook writes all of the layer's own variables
                continue
            store = {}
            node.layer.save_own_variables(store)
            for key, value in store.items():
                create_dataset(group, str(key), backend.as_numpy(value))
            continue
        for index, entry in enumerate(node.weights):
            create_dataset(group, str(index), backend.as_numpy(entry.saved()))

    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and optimizer.built:
        group = file.require_group("optimizer/vars")
        group.attrs["name"] = optimizer.name
        for index, value in enumerate(optimizer_state.to_keras(optimizer)):
            create_dataset(group, str(index), value)
        # Keras also files a MultiOptimizer's sub-optimizers under their snake-case class names
        # (its list `optimizers`), and reads them back from there.
        for key, values in optimizer_state.member_groups(optimizer):
            member = file.require_group(f"optimizer/optimizers/{key}/vars")
            for index, value in enumerate(values):
                create_dataset(member, str(index), value)


def create_dataset(group, name, array) -> None:
    """A dataset with HDF5's Fletcher-32 checksum (a standard filter Keras reads), so flipped
    bytes are caught on load instead of loading silently wrong weights. Scalars cannot carry it.

    A bfloat16 array (`ml_dtypes.bfloat16`, as `backend.as_numpy` gives it) is stored as HDF5
    opaque 2-byte values marked `dtype="bfloat16"`, as Keras stores it."""
    array = backend.as_numpy(array)
    if array.ndim == 0 or array.size == 0:
        dataset = group.create_dataset(name, data=array)
    else:
        dataset = group.create_dataset(name, data=array, fletcher32=True)
    if array.dtype.name == "bfloat16":
        h5_guard.mark_bfloat16(dataset)


def plan(file, model, skip_mismatch: bool = False, source: str = "") -> list:
    """Check and read every weight; return `(tensor, source tensor)` pairs ready to copy.

    Every dataset is checked (hard links only, plain storage, numeric dtype, the expected shape)
    before any is read, and converted to a tensor here, so `apply` cannot fail half-way. A layer
    that defines its own `load_own_variables` (Keras's hook) is a callable in the list instead:
    its arrays are read and checked here, its hook runs in `apply`.

    With `skip_mismatch`, a layer whose weights do not fit the file keeps its own (as does one
    whose hook raises, in `apply`), and a warning lists them, as Keras's does."""
    checked = []
    skipped = []
    for node in model_tree_in(file, model):
        key = f"{node.path}/vars" if node.path else "vars"
        if overrides(node.layer, "load_own_variables"):
            if not node.primary:  # the hook reads all of the layer's own variables
                continue
            hook = _own_variables_hook(file, node, key, source, skip_mismatch)
            if hook is not None:
                checked.append(hook)
            elif skip_mismatch and node.weights:
                skipped.append(f"'{node.layer.name}' (the file has no '{key}')")
            continue
        if not node.weights:
            if not getattr(node.layer, "built", True) and node.primary:
                _refuse_unbuilt(file, node, key, source, skip_mismatch, skipped)
            continue
        group = h5_guard.group(file, key, source)
        if group is None:
            if skip_mismatch:
                skipped.append(f"'{node.layer.name}' (the file has no '{key}')")
                continue
            raise FileFormatError(
                f"{source} has no weights for layer '{node.layer.name}' (looked for '{key}'). "
                "Hint: the file was saved from a different architecture; build the same model, or "
                "pass skip_mismatch=True to load the layers that match."
            )
        if len(group) != len(node.weights):
            if skip_mismatch:
                skipped.append(
                    f"'{node.layer.name}' ({len(node.weights)} weights, the file has {len(group)})"
                )
                continue
            raise FileFormatError(
                f"Layer '{node.layer.name}' expects {len(node.weights)} weights; {source} has "
                f"{len(group)} at '{key}'. Hint: the file was saved from a layer that made other "
                "weights; build the same layer, or pass skip_mismatch=True to load the layers "
                "that match."
            )
        staged = []
        for index, entry in enumerate(node.weights):
            dataset = h5_guard.lookup(group, str(index), source)
            if dataset is None:
                raise FileFormatError(
                    f"{source} has no weight '{key}/{index}' for layer '{node.layer.name}'; the "
                    f"group holds {sorted(group)}."
                )
            expected = tuple(entry.tensor.shape)
            h5_guard.check_dataset(dataset, source)
            if dataset.shape != expected:
                if skip_mismatch:
                    skipped.append(
                        f"'{node.layer.name}' (weight {index} of shape {expected}, the file "
                        f"holds {dataset.shape})"
                    )
                    staged = None
                    break
                raise FileFormatError(
                    f"Layer '{node.layer.name}' weight {index} has shape {expected}; {source} "
                    f"holds shape {dataset.shape} at '{key}/{index}'."
                )
            staged.append((entry.tensor, dataset))
        if staged:
            checked.extend(staged)
            if overrides(node.layer, "_own_variables_loaded"):
                checked.append(node.layer._own_variables_loaded)  # after its copies, in apply
    if skipped:
        _warn_skipped(skipped, source)
    return [
        item
        if callable(item)
        else (item[0], h5_guard.as_tensor(h5_guard.read_array(item[1], source), item[0]))
        for item in checked
    ]


def _unbuilt_message(layer, count: int, where: str) -> str:
    """Keras's explanation for weights saved for a layer that loading left unbuilt."""
    return (
        f"Layer '{layer.name}' was never built, so it has no weights, but {where} holds "
        f"{count} for it. Hint: the layer is usually a sub-layer whose parent's build() does not "
        "build it (a build() must create all the state, its sub-layers' included: call "
        f"`self.{layer.name}.build(shape)` there), or a layer that needs `build_from_config()` "
        "(with `get_build_config()`) to say how it is built on loading."
    )


def _refuse_unbuilt(file, node, key, source, skip_mismatch, skipped) -> None:
    """A layer left unbuilt whose group in the file holds arrays: its weights had no home."""
    group = h5_guard.group(file, key, source)
    if group is None or len(group) == 0:
        return
    if skip_mismatch:
        skipped.append(f"'{node.layer.name}' (never built)")
        return
    raise FileFormatError(_unbuilt_message(node.layer, len(group), f"{source} at '{key}'"))


def _warn_skipped(skipped: list[str], source: str) -> None:
    warnings.warn(
        f"load_weights(skip_mismatch=True) left {len(skipped)} layer(s) with their own weights, "
        f"which do not match {source}: {', '.join(skipped)}.",
        UserWarning,
        stacklevel=4,
    )


def _own_variables_hook(file, node, key, source, skip_mismatch=False):
    """A layer that loads its own variables (Keras's `load_own_variables`) gets its group's
    arrays, read and checked now, as a dict; the call itself waits for `apply`. None where the
    file has no group for a layer without weights (nothing was saved for it), or for any layer
    with `skip_mismatch`; with it, a hook that raises leaves the layer as it was, with a warning."""
    group = h5_guard.group(file, key, source)
    if group is None:
        if not node.weights or skip_mismatch:
            return None
        raise FileFormatError(
            f"{source} has no variables for layer '{node.layer.name}' (looked for '{key}'). "
            "Hint: the file was saved from a different architecture."
        )
    store = {}
    for name in group:
        dataset = h5_guard.lookup(group, name, source)
        if dataset is None:
            continue
        h5_guard.check_dataset(dataset, source)
        store[name] = h5_guard.read_array(dataset, source)
    layer = node.layer

    def load():
        try:
            layer.load_own_variables(store)
        except Exception as error:
            if skip_mismatch:
                _warn_skipped([f"'{layer.name}' (load_own_variables() raised {error!r})"], source)
                return
            if hasattr(error, "add_note"):  # Python 3.11+: the failing layer in the traceback
                error.add_note(
                    f"While loading {source}: load_own_variables() of layer '{layer.name}' on "
                    f"the variables saved at '{key}' (keys {sorted(store)})."
                )
            raise

    return load


def apply(assignments) -> None:
    """Copy the pairs from `plan` into the model (shapes and dtypes already fit), and run the
    `load_own_variables` of the layers that load themselves, in the model's order."""
    with torch.no_grad():
        for item in assignments:
            if callable(item):
                item()
                continue
            tensor, source = item
            tensor.copy_(source.to(device=tensor.device, dtype=tensor.dtype))


def read_optimizer(file, model, source: str = "") -> list | None:
    """The optimizer's variables in file order, checked against the compiled model's optimizer;
    None when the file has none or they do not fit it (with the optimizer's own warning)."""
    group = h5_guard.group(file, "optimizer/vars", source)
    if group is None:
        return None
    names = [str(i) for i in range(len(group))]
    return read_optimizer_values(group, names, model, source)


def read_optimizer_values(group, names, model, source: str) -> list | None:
    """The datasets `names` of `group` as the model's optimizer variables (see `read_optimizer`)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not optimizer.built:
        return None
    expected = [np.shape(value) for value in optimizer_state.to_keras(optimizer)]
    datasets = []
    for name in names:
        dataset = h5_guard.lookup(group, name, source)
        if dataset is None:
            raise FileFormatError(
                f"{source} lists optimizer variable '{name}' under '{group.name}', but it is "
                "missing."
            )
        datasets.append(h5_guard.check_dataset(dataset, source))
    shapes = [dataset.shape for dataset in datasets]
    if shapes != expected:
        optimizer_state.warn_skipped(optimizer, source, f"variables of shapes {shapes}", expected)
        return None
    return [h5_guard.read_array(dataset, source) for dataset in datasets]
