"""`KerasFileEditor`: look into a `.keras` or `.weights.h5` file and edit its weights without
building the model, then write a `.weights.h5` file.

The file is read the way loading reads it: a `.keras` archive through the same checks (zip bombs,
duplicate or unsafe members, `get_load_limits()`), the HDF5 tree through hard links only, each
dataset checked (plain numeric storage, built-in filters) before it is read, and the bytes all
datasets declare together limited by `max_member_bytes`. Writing is atomic.

Examples:
    >>> import os, tempfile
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3)])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model.save_weights(os.path.join(folder, "m.weights.h5"))
    ...     editor = KerasFileEditor(os.path.join(folder, "m.weights.h5"))  # doctest: +ELLIPSIS
    Keras model file '...m.weights.h5'
    >>> sorted(editor.weights_dict["layers"]["dense"])
    ['0', '1']
"""

from __future__ import annotations

import os

import h5py

from lamina import backend
from lamina.saving import archive, atomic, h5_guard, h5_weights, safe_json
from lamina.saving.weights_tree import TreeReader, model_spec, natural_order


def _weights_dict_error(weights) -> ValueError:
    return ValueError(
        "Argument `weights` should be a dict where keys are weight names (usually '0', '1', "
        f"etc.) and values are NumPy arrays. Received: type(weights)={type(weights)}"
    )


def _as_weights(weights) -> dict:
    if not isinstance(weights, dict):
        raise _weights_dict_error(weights)
    arrays = {}
    for name, value in weights.items():
        array = backend.as_numpy(value)  # a tensor on any device; bfloat16 as ml_dtypes
        if array.dtype.kind not in "fiub" and array.dtype.name != "bfloat16":
            raise ValueError(
                f"Weight {name!r} is not numeric (received dtype {array.dtype}); weights are "
                "arrays of numbers."
            )
        arrays[str(name)] = array
    return arrays


class KerasFileEditor:
    """Inspect, edit and re-save the weights of a `.keras` or `.weights.h5` file.

    Useful for adapting a saved file after changing a model's architecture: rename, remove or
    add objects (layers) and weights, check the result against a model with `compare`, then
    `save` a `.weights.h5` file for `model.load_weights`. Nothing in the file is built or run.

    Args:
        filepath: the `.keras` or `.weights.h5` file to open.

    Attributes:
        weights_dict: the weights as nested dicts, `{"layers": {"dense": {"0": kernel, ...}}}`.
        config: the model's config (`.keras` files), else None.
        metadata: the archive's metadata (`.keras` files), else None.

    Example:
        >>> import os, tempfile
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3)])
        >>> folder = tempfile.mkdtemp()
        >>> model.save(os.path.join(folder, "m.keras"))
        >>> editor = KerasFileEditor(os.path.join(folder, "m.keras"))  # doctest: +ELLIPSIS
        Keras model file '...m.keras'
        Saved with Keras 3.15.1 - date: ...
        >>> editor.rename_object("dense", "dense_renamed")
        >>> editor.weights_dict["layers"]["dense_renamed"]["0"].shape
        (2, 3)
        >>> editor.save(os.path.join(folder, "edited.weights.h5"))
        >>> import shutil; shutil.rmtree(folder)
    """

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        self.config = None
        self.metadata = None
        source = self.filepath
        if source.endswith(".keras"):
            with archive.open_archive(source) as zipped:
                self.config = safe_json.parse(
                    archive.read_member(zipped, "config.json", source), source, "config.json"
                )
                if "metadata.json" in zipped.namelist():
                    data = archive.read_member(zipped, "metadata.json", source)
                    self.metadata = safe_json.parse(data, source, "metadata.json")
                data = archive.read_member(zipped, "model.weights.h5", source)
            file = h5_guard.open_bytes(data, source)
        elif source.endswith(".weights.h5"):
            file = h5_guard.open_file(source)
        else:
            raise ValueError(
                "Invalid filename: expected a `.keras` `.weights.h5` extension. "
                f"Received: filepath={source}"
            )
        reader = TreeReader(source)
        with file as opened:
            self.weights_dict = reader.read(opened, "")
        self._names = reader.names
        print(f"Keras model file '{self.filepath}'")
        if isinstance(self.metadata, dict) and "keras_version" in self.metadata:
            print(
                f"Saved with Keras {self.metadata['keras_version']} - date: "
                f"{self.metadata.get('date_saved', 'unknown')}"
            )

    # ----------------------------------------------------------------------------------------
    # Looking

    def summary(self):
        """Print the file's tree of objects and weights (shape and dtype of each weight).

        Example:
            >>> editor.summary()  # doctest: +SKIP
            Weights structure
              layers
                dense ('dense')
                  0: shape=(2, 3), dtype=float32
        """
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ")

    def _print_tree(self, tree: dict, indent: str) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                name = self._name_of(value)
                print(f"{indent}{key}" + (f" ('{name}')" if name else ""))
                self._print_tree(value, indent + "  ")
            else:
                print(f"{indent}{key}: shape={value.shape}, dtype={value.dtype}")

    def _name_of(self, tree: dict):
        return next((name for obj, name in self._names if obj is tree), None)

    def compare(self, reference_model):
        """Check the file's weights against a model's: every object and weight on both sides,
        with the same shapes. Prints each mismatch.

        Args:
            reference_model: the model the file should load into.

        Returns:
            `{"status": "success" or "error", "error_count": int, "match_count": int}`, where
            `match_count` counts the weights present on both sides with the same shape.

        Example:
            >>> result = editor.compare(model)  # doctest: +SKIP
            >>> result["status"]  # doctest: +SKIP
            'success'
        """
        print("Running comparison")
        counts = {"errors": 0, "matches": 0}
        self._compare(self.weights_dict, model_spec(reference_model), "", counts)
        print("─────────────────────")
        errors, matches = counts["errors"], counts["matches"]
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(
                f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible "
                "with the reference model"
            )
        return {
            "status": "success" if errors == 0 else "error",
            "error_count": errors,
            "match_count": matches,
        }

    def _compare(self, saved: dict, expected: dict, path: str, counts: dict) -> None:
        for key in sorted(set(saved) | set(expected), key=natural_order):
            where = f"{path}/{key}"
            ours, theirs = saved.get(key), expected.get(key)
            kind = "Object" if isinstance(ours if ours is not None else theirs, dict) else "Weight"
            if theirs is None or ours is None:
                counts["errors"] += 1
                present, missing = (
                    ("saved file", "reference model")
                    if theirs is None
                    else ("reference model", "saved file")
                )
                print(f"...{kind} {where} present in {present}, missing from {missing}")
            elif isinstance(ours, dict) != isinstance(theirs, dict):
                counts["errors"] += 1
                print(f"...{where} is an object on one side and a weight on the other")
            elif isinstance(ours, dict):
                self._compare(ours, theirs, where, counts)
            elif tuple(ours.shape) != tuple(theirs):
                counts["errors"] += 1
                print(
                    f"...Weight shape mismatch for {where}\n    In reference model: "
                    f"shape={tuple(theirs)}\n    In saved file: shape={tuple(ours.shape)}"
                )
            else:
                counts["matches"] += 1

    # ----------------------------------------------------------------------------------------
    # Editing

    def _containers_of(self, object_name: str) -> list[tuple[dict, str]]:
        """(dict holding it, key) for `object_name`: a full path, or a name met exactly once."""
        if "/" in object_name:
            parts = object_name.split("/")
            holder = self.weights_dict
            for part in parts[:-1]:
                holder = holder.get(part) if isinstance(holder, dict) else None
                if not isinstance(holder, dict):
                    raise ValueError(f"Path '{object_name}' not found in model.")
            if parts[-1] not in holder:
                raise ValueError(f"Path '{object_name}' not found in model.")
            return [(holder, parts[-1])]
        found = []

        def search(tree):
            for key, value in tree.items():
                if key == object_name:
                    found.append((tree, key))
                if isinstance(value, dict):
                    search(value)

        search(self.weights_dict)
        if len(found) > 1:
            raise ValueError(
                f"Name '{object_name}' occurs more than once in the model; try passing a "
                "complete path"
            )
        if not found:
            raise ValueError(
                f"Source name '{object_name}' does not appear in the model. Use "
                "`editor.summary()` to list all objects."
            )
        return found

    def rename_object(self, object_name, new_name):
        """Rename an object (a layer) of the file, keeping its place.

        Args:
            object_name: the object's name or full path (`"dense_2"` or `"layers/dense_2"`).
            new_name: its new name (a name, not a path).

        Example:
            >>> editor.rename_object("dense", "dense_renamed")  # doctest: +SKIP
        """
        if "/" in new_name:
            raise ValueError(
                "Argument `target_name` should be a leaf name, not a full path name. "
                f"Received: target_name='{new_name}'"
            )
        for holder, key in self._containers_of(object_name):
            if new_name in holder:
                raise ValueError(f"'{new_name}' already exists next to '{object_name}'.")
            # Rebuilt so the renamed object keeps its position among its siblings.
            items = [(new_name if k == key else k, v) for k, v in holder.items()]
            holder.clear()
            holder.update(items)

    def delete_object(self, object_name):
        """Remove an object (a layer, and everything under it) from the file.

        Args:
            object_name: the object's name or full path (`"dense_2"` or `"layers/dense_2"`).

        Example:
            >>> editor.delete_object("layers/dense_1")  # doctest: +SKIP
        """
        for holder, key in self._containers_of(object_name):
            del holder[key]

    def add_object(self, object_path, weights):
        """Add an object (a layer) with its weights.

        Args:
            object_path: the object's full path (e.g. `"layers/dense_2"`); its parent must exist.
            weights: `{weight name: array}`, e.g. `{"0": kernel, "1": bias}`.

        Example:
            >>> editor.add_object("layers/extra", {"0": np.zeros((3, 1))})  # doctest: +SKIP
        """
        arrays = _as_weights(weights)
        parts = object_path.split("/")
        holder = self.weights_dict
        for part in parts[:-1]:
            holder = holder.get(part)
            if not isinstance(holder, dict):
                raise ValueError(f"Path '{'/'.join(parts[:-1])}' not found in model.")
        holder[parts[-1]] = arrays

    def delete_weight(self, object_name, weight_name):
        """Remove one weight from an object.

        Args:
            object_name: the object's name or full path (`"dense_2"` or `"layers/dense_2"`).
            weight_name: the weight's name (e.g. `"1"`).

        Example:
            >>> editor.delete_weight("dense", "1")  # doctest: +SKIP
        """
        for holder, key in self._containers_of(object_name):
            target = holder[key]
            if not isinstance(target, dict) or weight_name not in target:
                found = list(target) if isinstance(target, dict) else []
                raise ValueError(
                    f"Weight {weight_name} not found in object {object_name}. Weights found: "
                    f"{found}"
                )
            del target[weight_name]

    def add_weights(self, object_name, weights):
        """Add weights to an existing object (replacing those with the same names).

        Args:
            object_name: the object's name or full path (`"dense_2"` or `"layers/dense_2"`).
            weights: `{weight name: array}`, e.g. `{"2": extra_bias}`.

        Example:
            >>> editor.add_weights("dense", {"2": np.zeros(3)})  # doctest: +SKIP
        """
        arrays = _as_weights(weights)
        for holder, key in self._containers_of(object_name):
            if not isinstance(holder[key], dict):
                raise ValueError(f"'{object_name}' is a weight, not an object holding weights.")
            holder[key].update(arrays)

    # ----------------------------------------------------------------------------------------
    # Writing

    def save(self, filepath):
        """Write the (edited) weights as a `.weights.h5` file, atomically.

        Args:
            filepath: a path ending in `.weights.h5`.

        Example:
            >>> editor.save("edited.weights.h5")  # doctest: +SKIP
        """
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(
                "Invalid `filepath` argument: expected a `.weights.h5` extension. "
                f"Received: filepath={filepath}"
            )
        with atomic.atomic_path(filepath) as temporary, h5py.File(temporary, "w") as file:
            self._write(file, self.weights_dict, "")

    def resave_weights(self, filepath):
        """The same as `save(filepath)` (Keras's older name).

        Args:
            filepath: a path ending in `.weights.h5`.

        Example:
            >>> editor.resave_weights("edited.weights.h5")  # doctest: +SKIP
        """
        self.save(filepath)

    def _write(self, file, tree: dict, path: str) -> None:
        arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
        if arrays:
            group = file.require_group(f"{path}/vars" if path else "vars")
            name = self._name_of(tree)
            if name is not None:
                group.attrs["name"] = name
            for key, array in arrays.items():
                h5_weights.create_dataset(group, key, array)
        for key, value in tree.items():
            if isinstance(value, dict) and value:
                self._write(file, value, f"{path}/{key}" if path else key)
