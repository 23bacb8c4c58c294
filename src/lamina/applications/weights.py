"""Pretrained application weights, offline: find Keras's HDF5 files and load them by layer name.

`keras.applications` ships its ImageNet weights as HDF5 files in Keras's legacy layout: the root
(or a `model_weights` group, in a whole-model `.h5` file) lists `layer_names`; each layer's group
lists `weight_names`, the datasets in that layer's `get_weights()` order and Keras's layouts. Since
lamina's `set_weights` speaks those layouts, loading is a lookup by name. Nothing is downloaded:
a missing file is an error that names the file and where to put it.

Loading is two-phase: every dataset is checked (through `saving.h5_guard`: stored in the file,
the declared shape the layer's) before any is read, and all are read before any is copied, so a
wrong, hostile or truncated file never leaves a half-loaded model.
"""

from __future__ import annotations

import os
from pathlib import Path

from lamina.saving import h5_guard, legacy_h5

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def search_folders() -> list[Path]:
    """Where `weights='imagenet'` looks: Keras's cache, then lamina's (`$LAMINA_HOME/models`)."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    lamina_home = Path(os.environ.get("LAMINA_HOME", Path.home() / ".lamina"))
    return [keras_home / "models", lamina_home / "models"]


def find(
    file_name: str,
    what: str = "Pretrained weights",
    url: str = KERAS_WEIGHTS_URL,
    otherwise: str = "pass weights='/path/to/{file_name}', or weights=None for random initial "
    "weights",
) -> Path:
    """The path of a file Keras would download (`what`: its kind, `url`: the folder Keras fetches
    it from, `otherwise`: what else the caller may do; all for the message), or a
    FileNotFoundError saying where to put it."""
    folders = search_folders()
    for folder in folders:
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    looked = " or ".join(str(folder / file_name) for folder in folders)
    raise FileNotFoundError(
        f"{what} file '{file_name}' not found (looked for {looked}). lamina never "
        f"downloads: fetch it once (Keras publishes it under {url}) and copy it to "
        f"{folders[0]}/ or {folders[1]}/"
        + (f", or {otherwise.format(file_name=file_name)}." if otherwise else ".")
    )


def check_path(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file '{path}' not found. Hint: weights= takes None, 'imagenet' or the path "
            "of an existing HDF5 weights file."
        )
    return path


def _stored_layers(file, source: str) -> dict[str, list]:
    """`{layer name: [datasets in get_weights() order]}` of a Keras legacy-layout HDF5 file (the
    legacy `.h5` loader's reading), every dataset checked by `h5_guard` but not yet read."""
    root = h5_guard.group(file, "model_weights", source) or file
    return {
        name: [legacy_h5.layer_dataset(group, weight, name, source) for weight in weights]
        for name, group, weights in legacy_h5.layer_groups(root, source)
    }


def _pair_layers(model, stored: dict) -> list:
    """`(layer, arrays or None, file layer name)` for every layer of `model` that has weights.

    By name when the file names every such layer. Otherwise, when the file holds as many layers
    with weights as the model, in order: that is how Keras loads its own published files, whose
    unnamed layers (e.g. Xception's shortcut BatchNormalization) carry the automatic names of the
    session that wrote them.
    """
    weighted = [layer for layer in model.layers if layer.get_weights()]
    if all(layer.name in stored for layer in weighted):
        return [(layer, stored[layer.name], layer.name) for layer in weighted]
    in_file = [(name, arrays) for name, arrays in stored.items() if arrays]
    if len(in_file) == len(weighted):
        pairs = zip(weighted, in_file, strict=True)
        return [(layer, arrays, name) for layer, (name, arrays) in pairs]
    return [(layer, stored.get(layer.name), layer.name) for layer in weighted]


def load_application_weights(model, path, skip_mismatch: bool = False) -> None:
    """Set every layer of `model` that has weights from the file's layer of the same name
    (or, where the file's names differ but its layers correspond one to one, in order).

    Every dataset's declared shape is compared with the layer's before any is read (a file
    cannot make lamina read more than the model holds), and nothing is set before all are read.
    """
    source = str(check_path(path))
    staged = []
    with h5_guard.open_file(source) as file:
        for layer, datasets, file_name in _pair_layers(model, _stored_layers(file, source)):
            expected = layer.get_weights()
            problem = None
            if datasets is None:
                problem = f"has no weights for layer '{layer.name}'"
            elif len(datasets) != len(expected) or any(
                d.shape != e.shape for d, e in zip(datasets, expected, strict=True)
            ):
                problem = (
                    f"holds weights of shapes {[d.shape for d in datasets]} for layer "
                    f"'{file_name}', which expects {[e.shape for e in expected]}"
                )
            if problem is not None:
                if skip_mismatch:
                    continue
                raise ValueError(
                    f"Weights file '{path}' {problem}. Hint: build the model with the same "
                    "include_top / input_shape / alpha / classes as the file was saved with."
                )
            staged.append((layer, [h5_guard.read_array(d, source) for d in datasets]))
    for layer, arrays in staged:
        layer.set_weights(arrays)
