"""Keras's legacy HDF5 model file (`model.save("best_model.h5")`), as Keras 3 writes and reads it.

Root attributes `model_config` and `training_config` (JSON), `keras_version`, `backend`; the group
`model_weights` lists `layer_names`, and each layer's group lists its `weight_names`
(`sequential/dense/kernel`), the datasets living at those paths; `optimizer_weights` holds the
optimizer's variables in Keras's order. Files written by tf.keras 2 (names ending in `:0`) load too.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from lamina.saving import atomic, h5_guard, h5_weights, model_config, optimizer_state, safe_json
from lamina.saving.errors import FileFormatError
from lamina.saving.keras_format import KERAS_VERSION
from lamina.saving.weight_paths import legacy_entries, legacy_weight_names


def _strings(values) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype=object) if values else np.array([])


def _write_weights(group, model) -> None:
    group.attrs["backend"] = "torch"
    group.attrs["keras_version"] = KERAS_VERSION
    layers = legacy_weight_names(model)
    group.attrs["layer_names"] = _strings([layer.name for layer, _ in layers])
    for layer, named in layers:
        layer_group = group.create_group(layer.name)
        layer_group.attrs["weight_names"] = _strings([name for name, _ in named])
        for name, entry in named:
            h5_weights.create_dataset(layer_group, name, entry.saved())
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = _strings([])


def save(model, filepath, overwrite=True, include_optimizer=True) -> None:
    entry = model_config.model_entry(model)
    with (
        atomic.atomic_path(filepath, overwrite=overwrite) as temporary,
        h5py.File(temporary, "w") as file,
    ):
        file.attrs["backend"] = "torch"
        file.attrs["keras_version"] = KERAS_VERSION
        file.attrs["model_config"] = json.dumps(
            {"class_name": entry["class_name"], "config": entry["config"]}
        )
        _write_weights(file.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if entry.get("compile_config") is not None:
            training = dict(entry["compile_config"])
            training["optimizer_config"] = training.pop("optimizer")
            file.attrs["training_config"] = json.dumps(training)
        if include_optimizer and optimizer is not None and optimizer.built:
            values = optimizer_state.to_keras(optimizer)
            names = [f"{optimizer.name}/variable_{i}" for i in range(len(values))]
            group = file.create_group("optimizer_weights")
            group.attrs["weight_names"] = _strings(names)
            for name, value in zip(names, values, strict=False):
                h5_weights.create_dataset(group, name, value)


def layer_groups(group, source) -> list[tuple[str, object, list[str]]]:
    """`(name, group, weight names)` of each saved layer that holds weights, in file order, in
    Keras's legacy layout (`group` lists `layer_names`, each layer's group `weight_names`);
    read through `h5_guard`. Keras's published application weights use it too.

    Args:
        group: the group that lists `layer_names` (a file's root or its `model_weights`).
        source: the file, for errors.
    """
    saved = h5_guard.read_names(group, "layer_names", source)
    if saved is None:
        raise FileFormatError(
            f"{source}: '{group.name}' has no 'layer_names' attribute, so it is not a Keras "
            "legacy weights group. Hint: a Keras 3 weights file should end in '.weights.h5'."
        )
    layers = []
    for name in saved:
        layer_group = h5_guard.group(group, name, source) if name else None
        if layer_group is None:
            raise FileFormatError(
                f"{source}: 'layer_names' lists the layer {name!r}, but '{group.name}' holds no "
                f"group of that name (it holds {sorted(group)[:20]}). The file is damaged or was "
                "edited."
            )
        names = h5_guard.read_names(layer_group, "weight_names", source) or []
        if names:
            layers.append((name, layer_group, names))
    return layers


def layer_dataset(layer_group, weight_name: str, layer_name: str, source: str):
    """The dataset `weight_name` of a saved layer's group (`layer_groups`), checked by
    `h5_guard` (stored in the file, plain, numeric) but not read; refused when missing.

    Args:
        layer_group: the layer's group.
        weight_name: one of its `weight_names`.
        layer_name: the layer's saved name, for errors.
        source: the file, for errors.
    """
    dataset = h5_guard.lookup(layer_group, weight_name, source)
    if dataset is None:
        raise FileFormatError(
            f"{source}: layer '{layer_name}' lists the weight '{weight_name}' in "
            "'weight_names', but no such dataset exists. The file is damaged or was edited."
        )
    return h5_guard.check_dataset(dataset, source)


def _plan_weights(group, model, skip_mismatch, source) -> list:
    """Match the file's layers to the model's by name (then by order), check every dataset's
    declared shape, then read them all; returns `(tensor, source tensor)` pairs."""
    saved = layer_groups(group, source)
    saved_names = [name for name, _, _ in saved]
    with_weights = [layer for layer in model.layers if layer.weights]
    by_name = all(layer.name in saved_names for layer in with_weights)
    if not by_name and len(saved) != len(with_weights) and not skip_mismatch:
        raise FileFormatError(
            f"{source} holds weights for {len(saved)} layers; the model has "
            f"{len(with_weights)} layers with weights. Hint: load it into the same architecture."
        )
    checked = []
    for index, layer in enumerate(with_weights):
        if by_name:
            name, layer_group, names = saved[saved_names.index(layer.name)]
        elif index < len(saved):
            name, layer_group, names = saved[index]
        else:
            continue
        entries = legacy_entries(layer)
        if len(names) != len(entries):
            if skip_mismatch:
                continue
            raise FileFormatError(
                f"Layer '{layer.name}' expects {len(entries)} weights; {source} has {len(names)} "
                f"for '{name}'."
            )
        staged = []
        for weight_name, entry in zip(names, entries, strict=True):
            tensor = entry.tensor
            dataset = layer_dataset(layer_group, weight_name, name, source)
            expected = tuple(tensor.shape)
            if dataset.shape != expected:
                if skip_mismatch:
                    staged = []
                    break
                raise FileFormatError(
                    f"Layer '{layer.name}' weight '{weight_name}' has shape {expected}; {source} "
                    f"holds shape {dataset.shape}."
                )
            staged.append((tensor, dataset))
        checked.extend(staged)
    return [
        (tensor, h5_guard.as_tensor(h5_guard.read_array(dataset, source), tensor))
        for tensor, dataset in checked
    ]


def _json_attribute(file, name, source):
    raw = h5_guard.read_text_attribute(file, name, source)
    return None if raw is None else safe_json.parse(raw, source, f"the {name} attribute")


def load(filepath, custom_objects=None, compile=True):
    """The model in the legacy `.h5` file: nothing is copied into it before every weight (and
    the optimizer's variables) has been checked and read."""
    source = str(filepath)
    with h5_guard.open_file(filepath) as file:
        entry = _json_attribute(file, "model_config", source)
        if entry is None:
            raise FileFormatError(
                f"{source} holds no model config (a weights-only file?). Hint: build the model "
                "and call model.load_weights() instead."
            )
        model = model_config.build_model(entry, custom_objects, source)
        weights = h5_guard.group(file, "model_weights", source)
        if weights is None:
            raise FileFormatError(f"{source} has no 'model_weights' group.")
        assignments = _plan_weights(weights, model, False, source)
        training = _json_attribute(file, "training_config", source) if compile else None
        optimizer_values = None
        if isinstance(training, dict):
            training["optimizer"] = training.pop("optimizer_config", "rmsprop")
            if model_config.compile_from(model, training, custom_objects, source):
                optimizer = h5_guard.group(file, "optimizer_weights", source)
                if optimizer is not None:
                    names = h5_guard.read_names(optimizer, "weight_names", source) or []
                    optimizer_values = h5_weights.read_optimizer_values(
                        optimizer, names, model, source
                    )
    h5_weights.apply(assignments)
    if optimizer_values is not None:
        optimizer_state.from_keras(model.optimizer, optimizer_values, source)
    return model


def load_weights_into(model, filepath, skip_mismatch=False) -> None:
    source = str(filepath)
    with h5_guard.open_file(filepath) as file:
        group = h5_guard.group(file, "model_weights", source) or file
        assignments = _plan_weights(group, model, skip_mismatch, source)
    h5_weights.apply(assignments)
