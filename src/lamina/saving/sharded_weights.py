"""Sharded weights, Keras's `save_weights(..., max_shard_size=)`: `<name>.weights.json` beside
shard files `<name>_00000.weights.h5`, `<name>_00001.weights.h5`, ...

Each shard holds part of the `.weights.h5` tree; the JSON index maps each `/<path>/vars` group to
the shard files that hold it (`{"metadata": {"total_size": bytes}, "weight_map": {...}}`), as
Keras writes it, so either framework reads the other's shards. Writing builds the whole tree in
memory with `h5_weights.write`, then deals its groups out to shards; reading gathers the groups
back into one in-memory tree that `h5_weights.plan` checks as it checks a single file.
"""

from __future__ import annotations

import contextlib
import json
import os

from lamina.saving import atomic, h5_guard, h5_weights, limits, safe_json
from lamina.saving.errors import FileFormatError

_GIGABYTE = 1024**3


def index_path(filepath) -> str:
    """The JSON index for `filepath`: `.weights.h5` becomes `.weights.json`, as Keras renames."""
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        return path[: -len(".h5")] + ".json"
    return path


def write(model, filepath, max_shard_size, overwrite: bool = True) -> None:
    """Save `model`'s weights as shards of at most `max_shard_size` GB and their JSON index.

    A save never overwrites a shard the current index names: the new shards take the other of
    two name sets (`<name>_00000...` or `<name>.1_00000...`), the index is replaced last, and
    only then are the old shards removed. A crash at any point leaves the previous index with
    all of its shards, or the new one with all of its.

    Args:
        model: the model whose weights are saved.
        filepath: the index's path, ending in `.weights.json`.
        max_shard_size: the largest shard, in GB (a float: 0.25 is about 250 MB).
        overwrite: replace existing files (default True).
    """
    import h5py

    limit = float(max_shard_size) * _GIGABYTE
    path = index_path(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    base = os.path.basename(path)[: -len(".weights.json")]
    folder = os.path.dirname(os.path.abspath(path))
    previous = _current_shards(path)
    with h5py.File(f"{base}.in-memory", "w", driver="core", backing_store=False) as whole:
        h5_weights.write(whole, model)
        shards = _deal(_variable_groups(whole), limit)
        names = _shard_names(base, len(shards), taken=previous)
        weight_map, total = {}, 0
        for name, groups in zip(names, shards, strict=True):
            with (
                atomic.atomic_path(os.path.join(folder, name)) as temporary,
                h5py.File(temporary, "w") as shard,
            ):
                for key, group, size in groups:
                    _copy_group(group, shard.require_group(key))
                    weight_map[f"/{key}"] = [name]
                    total += size
    index = {"metadata": {"total_size": float(total)}, "weight_map": weight_map}
    with atomic.atomic_path(path) as temporary, open(temporary, "w") as file:
        json.dump(index, file, indent=4)
    for stale in previous - set(names):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder, stale))


def _shard_names(base, count, taken) -> list[str]:
    """Keras's shard names, or the second set where the current index holds Keras's."""
    for generation in ("", ".1"):
        names = [f"{base}{generation}_{number:05}.weights.h5" for number in range(count)]
        if not taken.intersection(names):
            return names
    raise AssertionError("the two name sets cannot both be taken")  # one index holds one set


def _current_shards(path) -> set[str]:
    """The shard file names the index at `path` holds now (none when it is absent or
    unreadable: nothing then depends on the files)."""
    try:
        weight_map = _weight_map(path)
    except (FileFormatError, OSError):
        return set()
    names = set()
    for listed in weight_map.values():
        for name in [listed] if isinstance(listed, str) else listed:
            if isinstance(name, str) and os.path.basename(name) == name:
                names.add(name)
    return names


def _variable_groups(file) -> list:
    """`(key, group, bytes)` for each `.../vars` group holding arrays, in the file's order."""
    found = []

    def visit(name, node):
        if name.rsplit("/", 1)[-1] == "vars" and len(node):
            found.append((name, node, sum(node[key].nbytes for key in node)))

    file.visititems(visit)
    return found


def _deal(groups, limit) -> list:
    """The groups in shards of at most `limit` bytes; a group larger than a shard gets its own
    shard (Keras splits it across shards, which lamina reads too)."""
    shards, current, size = [], [], 0
    for key, group, nbytes in groups:
        largest = max(group[name].nbytes for name in group)
        if largest > limit:
            raise ValueError(
                f"save_weights() expects max_shard_size to fit each weight; received "
                f"max_shard_size={limit / _GIGABYTE:g} GB ({limit:.0f} bytes) and a weight of "
                f"{largest} bytes at '{key}'. Hint: raise max_shard_size."
            )
        if current and size + nbytes > limit:
            shards.append(current)
            current, size = [], 0
        current.append((key, group, nbytes))
        size += nbytes
    if current:
        shards.append(current)
    return shards


def _copy_group(source, target) -> None:
    target.attrs.update(source.attrs)
    for name in source:  # HDF5's copy keeps the checksum filter and the bfloat16 marking
        source.copy(source[name], target, name=name)


@contextlib.contextmanager
def gathered(filepath):
    """The shards named by the JSON index at `filepath`, as one in-memory weights tree.

    Only shard files beside the index are opened, and only plain datasets are read (the checks
    of `h5_guard`), so an index cannot point the reader elsewhere.
    """
    import h5py

    source = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(source))
    weight_map = _weight_map(source)
    with h5py.File("gathered.in-memory", "w", driver="core", backing_store=False) as whole:
        for key, names in weight_map.items():
            for name in [names] if isinstance(names, str) else names:
                if not isinstance(name, str) or os.path.basename(name) != name:
                    raise FileFormatError(
                        f"{source}: the shard {name!r} for '{key}' is not a file name beside the "
                        "index; refusing to read it."
                    )
                _gather(os.path.join(folder, name), key.strip("/"), whole, source)
        yield whole


def _weight_map(source) -> dict:
    # The index is read under the load limits every JSON document gets (size, then nesting).
    limit = limits.get_load_limits().max_json_bytes
    try:
        with open(source, "rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise FileFormatError(
            f"{source} is not a readable sharded-weights index: {error}"
        ) from None
    index = safe_json.parse(data, source, "the sharded-weights index")
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise FileFormatError(
            f"{source} has no 'weight_map'; expected the JSON index Keras's "
            "save_weights(..., max_shard_size=) writes."
        )
    return weight_map


def _gather(shard_path, key, whole, source) -> None:
    with h5_guard.open_file(shard_path) as shard:
        group = h5_guard.group(shard, key, shard_path)
        if group is None:
            return
        target = whole.require_group(key)
        name = h5_guard.read_text_attribute(group, "name", shard_path)
        if name is not None:
            target.attrs["name"] = name
        for name in group:
            dataset = h5_guard.check_dataset(h5_guard.lookup(group, name, source), source)
            h5_weights.create_dataset(target, name, h5_guard.read_array(dataset, source))
