"""A training run's whole state in one HDF5 file, for exact resumes (`BackupAndRestore`).

Layout of the file:
    /model/<state_dict key>           every parameter and buffer, bit for bit; attr `order`:
                                      the keys in the model's order (JSON), for a model whose
                                      auto-generated layer names differ (rebuilt in the same
                                      process: `dense_2` for `dense`), matched by position
    /optimizer                        attrs: iterations, learning_rate, accumulated_calls
        /state/<parameter index>/<k>  torch's per-parameter state (Adam's moments, step, ...)
        /ema/<i>  /accumulators/<i>   EMA averages and gradient accumulators, when used
    /metrics/<metric index>/<name>    the running totals of the epoch's loss and metrics
    /rng/<which>/{python,numpy,torch,cuda_<i>}   generator states as integer arrays
    /seed_generators/<module path>    the `[seed, counter]` of each seeded layer's SeedGenerator
    /data/{train,validation}          the data pipelines' `get_state()` as the epoch began
    /callbacks                        `[class name, get_state()]` of each stateful callback
    attrs: format, epoch, step, batches_seen

The `get_state()` values (dicts, lists, None, numbers, strings, arrays) are stored as a tree: a
group per dict or list, a dataset per array or scalar, the kind in each node's `kind` attribute.

Nothing is converted on the way (Keras's optimizer layout multiplies SGD's momentum by -lr, which
is not exact in floating point), nothing is pickled, and the file is written atomically. Reading is
two-phase: `read` checks every array against the model before `apply` copies anything in.
"""

from __future__ import annotations

import json
import os
import re

import h5py
import numpy as np
import torch

from lamina.engine import state_keys
from lamina.saving import atomic, h5_guard, safe_json
from lamina.saving.errors import FileFormatError
from lamina.saving.h5_weights import create_dataset

FORMAT = "lamina-training-state-1"


# --------------------------------------------------------------------------------------------------
# Random generator states <-> arrays


def _write_rng(group, state: dict) -> None:
    version, internal, gauss_next = state["python"]
    python = group.create_group("python")
    create_dataset(python, "internal", np.asarray(internal, dtype=np.int64))
    python.attrs["version"] = version
    if gauss_next is not None:
        python.attrs["gauss_next"] = gauss_next
    kind, keys, position, has_gauss, cached_gaussian = state["numpy"]
    numpy_group = group.create_group("numpy")
    create_dataset(numpy_group, "keys", np.asarray(keys, dtype=np.uint32))
    numpy_group.attrs.update(
        kind=kind, position=position, has_gauss=has_gauss, cached_gaussian=cached_gaussian
    )
    create_dataset(group, "torch", state["torch"])
    for index, cuda_state in enumerate(state.get("cuda", [])):
        create_dataset(group, f"cuda_{index}", cuda_state)


def _read_rng(group, source) -> dict:
    python = _node(group, "python", source)
    gauss_next = python.attrs.get("gauss_next")
    numpy_group = _node(group, "numpy", source)
    attrs = numpy_group.attrs
    state = {
        "python": (
            int(python.attrs["version"]),
            tuple(int(v) for v in _array(python, "internal", source)),
            None if gauss_next is None else float(gauss_next),
        ),
        "numpy": (
            str(attrs["kind"]),
            np.asarray(_array(numpy_group, "keys", source), dtype=np.uint32),
            int(attrs["position"]),
            int(attrs["has_gauss"]),
            float(attrs["cached_gaussian"]),
        ),
        "torch": torch.from_numpy(np.asarray(_array(group, "torch", source), dtype=np.uint8)),
    }
    cuda = sorted((k for k in group if k.startswith("cuda_")), key=lambda k: int(k[5:]))
    if cuda:
        state["cuda"] = [h5_guard.to_tensor(_array(group, k, source).copy()) for k in cuda]
    return state


# --------------------------------------------------------------------------------------------------
# get_state() values <-> a tree of groups and datasets

_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}


def _write_tree(parent, name: str, value, where: str, item_names=None) -> None:
    """`value` as `parent[name]`; `where` (`item_names`: its items) names it in errors."""
    if isinstance(value, dict):
        group = parent.create_group(name)
        group.attrs["kind"] = "dict"
        for key, item in value.items():
            if not isinstance(key, str) or "/" in key or key in ("", ".", ".."):
                raise TypeError(
                    f"{where}: a state's dict keys must be plain strings (no '/'); received "
                    f"{key!r}."
                )
            _write_tree(group, key, item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        group = parent.create_group(name)
        group.attrs["kind"] = "list"
        group.attrs["length"] = len(value)
        for index, item in enumerate(value):
            if item_names is None:
                _write_tree(group, str(index), item, f"{where}[{index}]")
            else:  # a callback's [class name, state] pair
                pair = group.create_group(str(index))
                pair.attrs.update(kind="list", length=2)
                _write_tree(pair, "0", item[0], item_names[index])
                _write_tree(pair, "1", item[1], item_names[index])
    elif value is None:
        parent.create_group(name).attrs["kind"] = "none"
    elif isinstance(value, (np.ndarray, torch.Tensor)):
        create_dataset(parent, name, value)
        parent[name].attrs["kind"] = "array"
    elif isinstance(value, (bool, int, float, str, np.generic)):
        kind = _SCALARS.get(type(value.item() if isinstance(value, np.generic) else value))
        parent.create_dataset(name, data=value)
        parent[name].attrs["kind"] = kind
    else:
        raise TypeError(
            f"BackupAndRestore cannot store {where}: expected dicts, lists, None, numbers, "
            f"strings and arrays; received a {type(value).__name__}. Hint: convert it to those "
            "in get_state() and back in set_state()."
        )


def _read_tree(node, source: str):
    kind = node.attrs.get("kind")
    if kind == "dict":
        return {key: _read_tree(_node(node, key, source), source) for key in node}
    if kind == "list":
        length = int(node.attrs["length"])
        return [_read_tree(_node(node, str(i), source), source) for i in range(length)]
    if kind == "none":
        return None
    if kind == "array":
        return h5_guard.read_array(h5_guard.check_dataset(node, source), source)
    try:
        value = node[()]
    except Exception as error:  # h5py raises OSError/KeyError/RuntimeError on damaged data
        raise FileFormatError(
            f"{source} is damaged: could not read '{node.name}' ({error})."
        ) from None
    if kind == "array":
        return np.asarray(value)
    if kind == "str":
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind in ("bool", "int", "float"):
        return {"bool": bool, "int": int, "float": float}[kind](value)
    raise FileFormatError(f"{source}: '{node.name}' has an unknown kind {kind!r}.")


# --------------------------------------------------------------------------------------------------
# Writing


def _write_tensors(group, tensors) -> None:
    for index, tensor in enumerate(tensors):
        create_dataset(group, str(index), tensor)


def _write_optimizer(group, optimizer) -> None:
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:  # a LossScaleOptimizer: its inner optimizer's group, plus the scale
        state = optimizer.state_dict()  # settles the steps skipped on the device first
        if state["dynamic_scale"] is not None:
            group.attrs["loss_scale"] = state["dynamic_scale"]
            group.attrs["loss_scale_step_counter"] = state["step_counter"]
        _write_optimizer(group, inner)
        return
    members = getattr(optimizer, "optimizers", None)
    if isinstance(members, list):  # a MultiOptimizer: a group per built sub-optimizer
        group.attrs["iterations"] = int(optimizer.iterations)
        saved = group.create_group("members")
        for index, member in enumerate(members):
            if member.built:
                _write_optimizer(saved.create_group(str(index)), member)
        return
    state = optimizer.state_dict()
    group.attrs["iterations"] = int(state["iterations"])
    group.attrs["accumulated_calls"] = int(state["accumulated_calls"])
    if state["learning_rate"] is not None:
        group.attrs["learning_rate"] = state["learning_rate"]
    if state["torch"] is not None:
        # The rate torch last stepped with: restoring it keeps SGD from rescaling its momentum
        # for a rate change that did not happen (Optimizer._on_lr_change).
        group.attrs["torch_lr"] = [float(g["lr"]) for g in state["torch"]["param_groups"]]
    slots = group.create_group("state")
    for index, per_parameter in (state["torch"] or {"state": {}})["state"].items():
        parameter_group = slots.create_group(str(index))
        for key, value in per_parameter.items():
            if isinstance(value, torch.Tensor):
                create_dataset(parameter_group, key, value)
            else:  # older torch keeps `step` as a Python number
                parameter_group.attrs[key] = value
    if state["ema"] is not None:
        _write_tensors(group.create_group("ema"), state["ema"])
    if state["accumulators"] is not None:
        _write_tensors(group.create_group("accumulators"), state["accumulators"])


def write(
    filepath,
    model,
    *,
    epoch,
    step,
    batches_seen,
    epoch_start_rng,
    rng,
    metrics=(),
    data=None,
    callbacks=None,
) -> None:
    """Write the model's weights and buffers, its optimizer's state, `metrics`' running totals,
    the progress (`epoch`, `step` batches done in it), both generator states, and the data
    pipelines' and callbacks' `get_state()` values (`TrainingState.data_state()` and
    `callback_states()`), atomically."""
    with atomic.atomic_path(filepath) as temporary, h5py.File(temporary, "w") as file:
        _write_tree(file, "data", data, "the data's get_state()")
        _write_tree(
            file,
            "callbacks",
            callbacks,
            "a callback's get_state()",
            [f"{name}.get_state()" for name, _ in callbacks or ()],
        )
        file.attrs.update(format=FORMAT, epoch=epoch, step=step, batches_seen=batches_seen)
        weights = file.create_group("model")
        state = model.state_dict()
        for key, tensor in state.items():
            create_dataset(weights, key, tensor)
        weights.attrs["order"] = json.dumps(list(state))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer.built:
            _write_optimizer(file.create_group("optimizer"), optimizer)
        metric_groups = file.create_group("metrics")
        for index, metric in enumerate(metrics):
            group = metric_groups.create_group(str(index))
            group.attrs["name"] = metric.name
            for name, tensor in metric._state_by_name().items():
                create_dataset(group, name, tensor)
        _write_rng(file.create_group("rng/epoch_start"), epoch_start_rng)
        _write_rng(file.create_group("rng/current"), rng)
        seeds = file.create_group("seed_generators")
        generators = _seed_generators(model)
        for path, generator in generators.items():
            create_dataset(seeds, path, generator.state)
        seeds.attrs["order"] = json.dumps(list(generators))


def _seed_generators(model) -> dict:
    """The SeedGenerators of the model's seeded noise layers, by module path."""
    return {
        path: module.seed_generator
        for path, module in model.named_modules()
        if getattr(module, "seed_generator", None) is not None
    }


# --------------------------------------------------------------------------------------------------
# Reading


def _node(group, name, source):
    """`group[name]` through hard links only (h5_guard): a backup file is no way to make lamina
    read another file on the host."""
    node = h5_guard.lookup(group, name, source)
    if node is None:
        raise FileFormatError(f"{source} is damaged: '{group.name}/{name}' is missing.")
    return node


def _array(group, name, source, expected_shape=None):
    """A numeric dataset, its declared shape and storage checked before any data is read."""
    node = h5_guard.check_dataset(_node(group, name, source), source, expected_shape)
    return h5_guard.read_array(node, source)


def read(filepath, model) -> dict:
    """Every array of the file, checked against `model`; nothing is changed yet (see `apply`)."""
    source = os.fspath(filepath)
    with h5_guard.open_file(source) as file:
        if file.attrs.get("format") != FORMAT:
            raise FileFormatError(
                f"{source} is not a lamina training-state file (format "
                f"{file.attrs.get('format')!r}, expected {FORMAT!r})."
            )
        expected = model.state_dict()
        saved = h5_guard.group(file, "model", source)
        if saved is None:
            raise FileFormatError(f"{source} is damaged: it holds no 'model' group.")
        stored_as = _stored_keys(saved, expected, source)
        weights = {}
        for key, tensor in expected.items():
            weights[key] = _array(saved, stored_as[key], source, tuple(tensor.shape))
        return {
            "epoch": int(file.attrs["epoch"]),
            "step": int(file.attrs["step"]),
            "batches_seen": int(file.attrs["batches_seen"]),
            "weights": weights,
            "optimizer": _read_optimizer(_node(file, "optimizer", source), source)
            if "optimizer" in file
            else None,
            "metrics": _read_metrics(_node(file, "metrics", source), source),
            "epoch_start_rng": _read_rng(_node(file, "rng/epoch_start", source), source),
            "rng": _read_rng(_node(file, "rng/current", source), source),
            "seed_generators": _read_seed_generators(file, model, source),
            "data": _read_tree(_node(file, "data", source), source) if "data" in file else None,
            "callbacks": _read_tree(_node(file, "callbacks", source), source)
            if "callbacks" in file
            else None,
        }


def _stored_keys(saved, expected: dict, source: str) -> dict:
    """`{model key: key in the file}`: by name, or by position when only the layers'
    auto-generated names differ (a model rebuilt in the same process: see `state_keys`)."""
    if set(saved) == set(expected):
        return {key: key for key in expected}
    # A group lists its members by name, not in the model's order: the file records that.
    raw = h5_guard.read_text_attribute(saved, "order", source)
    order = safe_json.parse(raw, source, "the model's key order") if raw else None
    stored_as = None
    if isinstance(order, list) and set(order) == set(saved):
        stored_as = state_keys.by_structure(order, expected)
    if stored_as is None:
        raise FileFormatError(
            f"{source} was written for a different model: weights "
            f"{sorted(set(saved) ^ set(expected))} are in one and not the other. Hint: a "
            "backup folder belongs to one training run; give a changed model a new backup_dir."
        )
    return stored_as


def _read_seed_generators(file, model, source) -> dict:
    """The saved `[seed, counter]` of each of the model's SeedGenerators (none in older files)."""
    if "seed_generators" not in file:
        return {}
    group = _node(file, "seed_generators", source)
    paths = list(_seed_generators(model))
    stored_as = {path: path for path in paths if path in group}
    if len(stored_as) < len(paths):  # layer names differ: by position, as the weights
        raw = h5_guard.read_text_attribute(group, "order", source)
        order = safe_json.parse(raw, source, "the seed generators' order") if raw else None
        if isinstance(order, list) and set(order) == set(group):
            stored_as = state_keys.by_structure(order, paths) or stored_as
    return {path: _array(group, stored, source, (2,)) for path, stored in stored_as.items()}


def _read_metrics(group, source) -> list:
    found = []
    for key in sorted(group, key=int):
        metric = _node(group, key, source)
        found.append((str(metric.attrs["name"]), {n: _array(metric, n, source) for n in metric}))
    return found


def _read_optimizer(group, source) -> dict:
    if "members" in group:
        members = _node(group, "members", source)
        return {
            "iterations": int(group.attrs["iterations"]),
            "members": {
                int(i): _read_optimizer(_node(members, i, source), source) for i in members
            },
        }
    slots = {}
    state = _node(group, "state", source)
    for index in state:
        parameter_group = _node(state, index, source)
        values = {
            k: h5_guard.to_tensor(_array(parameter_group, k, source)) for k in parameter_group
        }
        values.update(dict(parameter_group.attrs))
        slots[int(index)] = values

    def tensors(name):
        if name not in group:
            return None
        tensors_group = _node(group, name, source)
        return [
            h5_guard.to_tensor(_array(tensors_group, str(i), source))
            for i in range(len(tensors_group))
        ]

    return {
        "loss_scale": (
            (float(group.attrs["loss_scale"]), int(group.attrs["loss_scale_step_counter"]))
            if "loss_scale" in group.attrs
            else None
        ),
        "iterations": int(group.attrs["iterations"]),
        "accumulated_calls": int(group.attrs["accumulated_calls"]),
        "learning_rate": (
            float(group.attrs["learning_rate"]) if "learning_rate" in group.attrs else None
        ),
        "slots": slots,
        "torch_lr": [float(v) for v in group.attrs["torch_lr"]]
        if "torch_lr" in group.attrs
        else None,
        "ema": tensors("ema"),
        "accumulators": tensors("accumulators"),
    }


def apply(state: dict, model, metrics=None) -> None:
    """Copy a state from `read` into `model` (weights, buffers, optimizer) and, when given, into
    `metrics` (matched by position and name)."""
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            source = h5_guard.to_tensor(state["weights"][key])
            tensor.copy_(source.to(device=tensor.device, dtype=tensor.dtype))
        for path, generator in _seed_generators(model).items():
            if path in state.get("seed_generators", {}):
                generator.state.copy_(h5_guard.to_tensor(state["seed_generators"][path]))
    saved = state["optimizer"]
    optimizer = getattr(model, "optimizer", None)
    if saved is not None and optimizer is not None and optimizer.built:
        _apply_optimizer(optimizer, saved)
    if metrics is not None:
        restore_metrics(state["metrics"], metrics)


def _apply_optimizer(optimizer, saved) -> None:
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:  # a LossScaleOptimizer
        optimizer.settle_iterations()  # skips counted before the restore must not be taken off
        _apply_optimizer(inner, saved)
        if saved.get("loss_scale") is not None and optimizer.dynamic_scale is not None:
            scale, step_counter = saved["loss_scale"]
            optimizer.dynamic_scale.fill_(scale)
            optimizer.step_counter.fill_(step_counter)
        return
    if "members" in saved:  # a MultiOptimizer: each built sub-optimizer from its own group
        optimizer.iterations = saved["iterations"]
        for index, member in enumerate(optimizer.optimizers):
            if member.built and index in saved["members"]:
                _apply_optimizer(member, saved["members"][index])
        return
    torch_state = optimizer.torch_optimizer.state_dict()
    torch_state["state"] = saved["slots"]
    if saved.get("torch_lr") is not None:
        for param_group, lr in zip(torch_state["param_groups"], saved["torch_lr"], strict=True):
            param_group["lr"] = lr
    optimizer.load_state_dict(
        {
            "iterations": saved["iterations"],
            "learning_rate": saved["learning_rate"],
            "torch": torch_state,
            "ema": saved["ema"],
            "accumulators": saved["accumulators"],
            "accumulated_calls": saved["accumulated_calls"],
        }
    )


def _unnumbered(name: str) -> str:
    """`auc_1` -> `auc`: the number `unique_name` gives an unnamed object of a taken name."""
    return re.sub(r"_\d+$", "", str(name))


def restore_metrics(saved, metrics) -> None:
    """Running totals back into the compiled metrics; skipped (all of them) if the metrics or
    their state changed. A model built again in the same process numbers its unnamed metrics
    anew (`auc_1` where the backup says `auc`), so names are compared without that number."""
    if [_unnumbered(name) for name, _ in saved] != [_unnumbered(m.name) for m in metrics]:
        return
    states = [metric._state_by_name() for metric in metrics]
    for (_, values), state in zip(saved, states, strict=True):
        if set(values) != set(state):
            return
        if any(tuple(np.shape(values[k])) != tuple(state[k].shape) for k in values):
            return  # checked for all before any is copied: never half-applied
    with torch.no_grad():
        for (_, values), state in zip(saved, states, strict=True):
            for name, array in values.items():
                target = state[name]
                target.copy_(h5_guard.to_tensor(array).to(target.device, target.dtype))
