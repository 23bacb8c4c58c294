"""`text_dataset_from_directory`: `directory/<class>/**/*.txt` as batches of strings and labels."""

from __future__ import annotations

import numpy as np

from lamina.preprocessing import file_folders


def _read_texts(max_length):
    def read_batch(paths):
        texts = []
        for path in paths:
            with open(str(path), "rb") as handle:
                text = handle.read().decode("utf-8", errors="replace")
            texts.append(text if max_length is None else text[:max_length])
        return np.asarray(texts, dtype=np.str_)

    return read_batch


def text_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    max_length=None,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    format="tf",
    verbose=True,
):
    """A `lamina.data.Dataset` of `(texts, labels)` batches from `directory/<class>/<file>.txt`.

    Texts are NumPy string arrays of shape `(batch,)` (files decoded as UTF-8, which
    `TextVectorization` takes as they are); labels follow `label_mode`: "int" (int32 class ids),
    "categorical" (float32 one-hot), "binary" (float32, shape `(batch, 1)`, two classes only) or
    None (texts alone). Class names are the sub-folders in sorted order (or `class_names`);
    the dataset carries them as `class_names`, and its files as `file_paths`.

    Args:
        directory: the folder holding one sub-folder of `.txt` files per class (any layout with
            `labels=None` or a list of labels).
        labels: "inferred" (from the sub-folders), None, or a list of integer labels, one per
            file in the sorted order of the file paths.
        label_mode: "int", "categorical", "binary" or None.
        class_names: with "inferred" labels, the sub-folders to use, in label order.
        batch_size: texts per batch (None: one text at a time).
        max_length: keep at most this many characters of each text (None: all).
        shuffle: shuffle the files (again every pass over the training data).
        seed: the shuffle's and split's seed (required with `validation_split` and `shuffle`).
        validation_split: the fraction of files kept for validation (the last ones after the
            seeded shuffle), with `subset`.
        subset: "training", "validation" or "both" (returns the pair).
        follow_links: follow symbolic links to sub-folders.
        format: "tf" or "grain", accepted for Keras compatibility: either way lamina returns a
            `lamina.data.Dataset`.
        verbose: print how many files and classes were found.

    Returns:
        A `lamina.data.Dataset`, or a `(training, validation)` pair with `subset="both"`.

    Examples:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for name, text in (("neg", "bad film"), ("pos", "good film")):
        ...         os.makedirs(os.path.join(root, name))
        ...         with open(os.path.join(root, name, "a.txt"), "w") as handle:
        ...             _ = handle.write(text)
        ...     ds = text_dataset_from_directory(root, shuffle=False, verbose=False)
        ...     texts, labels = next(iter(ds))
        >>> texts.tolist(), labels.tolist(), ds.class_names
        (['bad film', 'good film'], [0, 1], ['neg', 'pos'])
    """
    who = "text_dataset_from_directory"
    file_folders.check_arguments(
        who, labels, label_mode, class_names, validation_split, subset, shuffle, seed
    )
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if max_length is not None and int(max_length) <= 0:
        raise ValueError(f"{who}: `max_length` must be positive; received max_length={max_length}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, ids, names = file_folders.index_directory(
        directory, labels, (".txt",), class_names, follow_links
    )
    if verbose:
        classes = "" if ids is None else f" belonging to {len(names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    if not paths:
        raise ValueError(f"No text files found in directory {directory}. Allowed format: .txt")
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    parts = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for part in parts:
        chosen, chosen_ids = file_folders.select_files(
            paths, ids, shuffle, seed, validation_split, part, verbose, "text"
        )
        dataset = file_folders.files_dataset(
            chosen,
            chosen_ids,
            label_mode,
            len(names or ()),
            _read_texts(max_length),
            batch_size,
            shuffle and part != "validation",
            seed,
        )
        dataset.class_names = names
        dataset.file_paths = chosen
        datasets.append(dataset)
    return tuple(datasets) if subset == "both" else datasets[0]
