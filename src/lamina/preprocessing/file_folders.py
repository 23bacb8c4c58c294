"""Folders of files with one sub-folder per class: what text and audio datasets share.

Keras's rules (`keras.utils.*_dataset_from_directory`): with `labels="inferred"` the class names
are the sub-folders (hidden ones skipped) in sorted order, or `class_names` in the order given;
files are walked folder by folder in sorted order and kept by extension; the file list is
shuffled with `np.random.RandomState(seed)` before `validation_split` keeps its last part for
validation. The datasets are `lamina.data.Dataset`s of batches, built by `files_dataset`.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from lamina.data import AUTOTUNE, Dataset
from lamina.preprocessing.image_folders import check_split_arguments, split_for_subset

LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(who, labels, label_mode, class_names, validation_split, subset, shuffle, seed):
    """Keras's checks of the arguments every `*_dataset_from_directory` shares."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(
                "`labels` argument should be 'inferred', None, or a list/tuple of integer "
                f"labels (one per file, in the sorted order of the file paths); received "
                f"labels={labels!r} ({who})."
            )
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. '
                f"Received: labels={labels}, and class_names={class_names}"
            )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", '
            f"or None. Received: label_mode={label_mode}"
        )
    check_split_arguments(validation_split, subset, shuffle, seed)


def _walk(folder, extensions, follow_links):
    # Keras's order: folders sorted by their full path string ("a", "a-b", "a/x"), then names.
    found = []
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
        found.extend(
            os.path.join(root, name) for name in sorted(files) if name.lower().endswith(extensions)
        )
    return found


def index_directory(directory, labels, extensions, class_names=None, follow_links=False):
    """The files under `directory` with an extension in `extensions`, and their labels.

    Returns:
        `(paths, label ids as an int64 array or None, class names or None)`.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Directory {directory!r} does not exist (or is not a folder).")
    if labels != "inferred":
        if class_names is not None:
            raise ValueError(
                "When `labels=None` (no labels), argument `class_names` cannot be specified."
                if labels is None
                else "When argument `labels` is specified, argument `class_names` cannot be "
                "specified (the `class_names` will be the sorted list of labels)."
            )
        paths = _walk(directory, extensions, follow_links)
        if labels is None:
            return paths, None, None
        if len(labels) != len(paths):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
                f"directory {directory}."
            )
        ids = np.asarray(labels, dtype=np.int64)
        return paths, ids, [str(label) for label in sorted(set(ids.tolist()))]
    folders = sorted(
        entry.name
        for entry in os.scandir(directory)
        if entry.is_dir(follow_symlinks=True) and not entry.name.startswith(".")
    )
    if class_names is not None:
        if not set(class_names) <= set(folders):
            raise ValueError(
                "The `class_names` passed did not match the names of the subdirectories of the "
                f"target directory. Expected: {folders} (or a subset of it), but received: "
                f"class_names={list(class_names)}"
            )
        folders = list(class_names)
    paths, ids = [], []
    for index, name in enumerate(folders):
        files = _walk(os.path.join(directory, name), extensions, follow_links)
        paths += files
        ids += [index] * len(files)
    return paths, np.asarray(ids, dtype=np.int64), folders


def encode_labels(ids: torch.Tensor, label_mode, num_classes) -> torch.Tensor:
    """int64 class ids -> int32 ids, float32 one-hot rows, or float32 `(..., 1)` for binary."""
    if label_mode == "categorical":
        return torch.nn.functional.one_hot(ids, num_classes).to(torch.float32)
    if label_mode == "binary":
        return ids.to(torch.float32).unsqueeze(-1)
    return ids.to(torch.int32)


def select_files(paths, ids, shuffle, seed, validation_split, subset, verbose, kind):
    """Shuffle the file list with `seed` and keep `subset`'s part: `(paths, ids)`."""
    order = np.arange(len(paths))
    if shuffle:
        np.random.RandomState(seed).shuffle(order)
    order = order[split_for_subset(len(order), validation_split, subset)]
    if validation_split and verbose:
        print(f"Using {len(order)} files for {subset}.")
    if not len(order):
        part = "" if not subset or subset == "both" else f"{subset} "
        raise ValueError(f"No {part}{kind} files found in directory: the subset is empty.")
    return [paths[i] for i in order], None if ids is None else ids[order]


def files_dataset(paths, ids, label_mode, num_classes, read_batch, batch_size, shuffle, seed):
    """A Dataset of `read_batch(paths)` (with encoded labels unless `label_mode` is None).

    Paths (and labels) are shuffled each pass when `shuffle`, batched, and then read a batch at a
    time by parallel threads; `read_batch` gets a NumPy array of paths and returns the batch.
    Unbatched (`batch_size=None`) datasets read one file per element.
    """
    array = np.asarray(paths)
    source = array if label_mode is None else (array, ids)
    dataset = Dataset.from_tensor_slices(source)
    if shuffle:
        dataset = dataset.shuffle(len(array), seed=seed)
    single = batch_size is None
    dataset = dataset.batch(1 if single else int(batch_size))

    def read(batch_paths, batch_ids=None):
        values = read_batch(batch_paths)
        values = values[0] if single else values
        if batch_ids is None:
            return values
        labels = encode_labels(batch_ids, label_mode, num_classes)
        return values, labels[0] if single else labels

    return dataset.map(read, num_parallel_calls=AUTOTUNE, vectorize=False).prefetch()
