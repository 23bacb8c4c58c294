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

from lamina.saving import atomic, h5_weights, model_config, optimizer_state
from lamina.saving.errors import FileFormatError
from lamina.saving.keras_format import KERAS_VERSION
from lamina.saving.weight_paths import legacy_weight_names


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
        for name, (tensor, to_keras, _) in named:
            h5_weights.create_dataset(layer_group, name, to_keras(tensor.detach()).cpu().numpy())
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
            values = optimizer_state.to_keras(optimizer, model)
            names = [f"{optimizer.name}/variable_{i}" for i in range(len(values))]
            group = file.create_group("optimizer_weights")
            group.attrs["weight_names"] = _strings(names)
            for name, value in zip(names, values, strict=False):
                h5_weights.create_dataset(group, name, value)


def _decode(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _open(filepath):
    try:
        return h5py.File(filepath, "r")
    except OSError as error:
        raise FileFormatError(
            f"{filepath} is not a readable HDF5 file (truncated or corrupted: {error})."
        ) from None


def _plan_weights(group, model, skip_mismatch, source) -> list:
    """Match the file's layers to the model's by name (then by order), check every shape."""
    saved = _decode(group.attrs.get("layer_names", []))
    with_weights = [layer for layer in model.layers if layer.weights]
    saved_with_weights = [name for name in saved if len(group[name].attrs.get("weight_names", []))]
    by_name = all(layer.name in saved_with_weights for layer in with_weights)
    if not by_name and len(saved_with_weights) != len(with_weights) and not skip_mismatch:
        raise FileFormatError(
            f"{source} holds weights for {len(saved_with_weights)} layers; the model has "
            f"{len(with_weights)} layers with weights. Hint: load it into the same architecture."
        )
    assignments = []
    for index, layer in enumerate(with_weights):
        if by_name:
            name = layer.name
        elif index < len(saved_with_weights):
            name = saved_with_weights[index]
        else:
            continue
        layer_group = group[name]
        names = _decode(layer_group.attrs["weight_names"])
        entries = layer._weight_entries()
        if len(names) != len(entries):
            if skip_mismatch:
                continue
            raise FileFormatError(
                f"Layer '{layer.name}' expects {len(entries)} weights; {source} has {len(names)} "
                f"for '{name}'."
            )
        staged = []
        for weight_name, (_, tensor, to_keras, from_keras, _) in zip(names, entries, strict=False):
            try:
                array = np.asarray(layer_group[weight_name][()])
            except Exception as error:  # damaged dataset
                raise FileFormatError(
                    f"{source} is damaged: cannot read '{weight_name}' ({error})."
                ) from None
            expected = tuple(to_keras(tensor.detach()).shape)
            if tuple(array.shape) != expected:
                if skip_mismatch:
                    staged = []
                    break
                raise FileFormatError(
                    f"Layer '{layer.name}' weight '{weight_name}' has shape {expected}; {source} "
                    f"holds shape {tuple(array.shape)}."
                )
            staged.append((tensor, from_keras(array)))
        assignments.extend(staged)
    return assignments


def load(filepath, custom_objects=None, compile=True, safe_mode=True):
    source = str(filepath)
    with _open(filepath) as file:
        raw = file.attrs.get("model_config")
        if raw is None:
            raise FileFormatError(
                f"{source} holds no model config (a weights-only file?). Hint: build the model "
                "and call model.load_weights() instead."
            )
        try:
            entry = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        except json.JSONDecodeError as error:
            raise FileFormatError(f"{source}: model_config is not valid JSON ({error}).") from None
        model_config.check_safe(entry, safe_mode, source)
        model = model_config.build_model(entry, custom_objects, source)
        if "model_weights" not in file:
            raise FileFormatError(f"{source} has no 'model_weights' group.")
        assignments = _plan_weights(file["model_weights"], model, False, source)
        training = file.attrs.get("training_config")
        optimizer_values = None
        if "optimizer_weights" in file:
            group = file["optimizer_weights"]
            optimizer_values = [
                np.asarray(group[n][()]) for n in _decode(group.attrs["weight_names"])
            ]
    h5_weights.apply(assignments)
    if compile and training is not None:
        training = json.loads(training.decode("utf-8") if isinstance(training, bytes) else training)
        training["optimizer"] = training.pop("optimizer_config", "rmsprop")
        compiled = model_config.compile_from(model, training, custom_objects, source)
        if compiled and optimizer_values is not None and model.optimizer.built:
            optimizer_state.from_keras(model.optimizer, model, optimizer_values, source)
    return model


def load_weights_into(model, filepath, skip_mismatch=False) -> None:
    source = str(filepath)
    with _open(filepath) as file:
        group = file.get("model_weights", file)
        assignments = _plan_weights(group, model, skip_mismatch, source)
    h5_weights.apply(assignments)
