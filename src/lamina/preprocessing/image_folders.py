"""Folders of images: finding the files and their labels, and `image_dataset_from_directory`.

The layout is Keras's: `directory/<class name>/**/<image>`; class names sorted alphabetically give
the label indices. Both `image_dataset_from_directory` and `ImageDataGenerator.flow_from_directory`
scan through `scan_directory`, so they agree on files, order, labels and error messages.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch

from lamina.data import AUTOTUNE, Dataset
from lamina.layers.preprocessing import image_ops
from lamina.preprocessing.image_io import IMAGE_EXTENSIONS, img_to_array, load_img

# The files image_dataset_from_directory reads, as Keras lists them (flow_from_directory's own
# list, Keras's legacy one, is IMAGE_EXTENSIONS: it takes .ppm and .tif but not .gif).
DATASET_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _image_files(folder, follow_links, extensions=IMAGE_EXTENSIONS):
    found = []
    # Keras's order: folders sorted by their full path ("c/x", "c/x-y", "c/x/deep"), then names
    walk = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        found.extend(
            os.path.join(root, name) for name in sorted(files) if name.lower().endswith(extensions)
        )
    return found


def scan_directory(
    directory,
    labels="inferred",
    class_names=None,
    follow_links=False,
    on_error="raise",
    color_mode="rgb",
    need_classes=True,
    extensions=IMAGE_EXTENSIONS,
    skip_hidden=False,
):
    """Find the images under `directory` and their labels.

    `extensions` are the file endings kept; `skip_hidden` leaves out class folders whose names
    start with "." (image_dataset_from_directory does, Keras's legacy flow_from_directory not).

    Returns:
        (paths, labels as int64 array or None, class names)
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Image directory {directory!r} does not exist (or is not a folder)."
        )
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; received on_error={on_error!r}.")
    paths, indices = [], []
    if labels == "inferred":
        subfolders = sorted(
            e.name
            for e in os.scandir(directory)
            if e.is_dir(follow_symlinks=follow_links)
            and not (skip_hidden and e.name.startswith("."))
        )
        if class_names is not None:
            missing = [name for name in class_names if name not in subfolders]
            if missing:
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories of "
                    f"{directory!r}: {missing} are not among {subfolders}. Hint: pass a subset "
                    "of those folder names."
                )
            subfolders = list(class_names)
        for index, name in enumerate(subfolders):
            files = _image_files(os.path.join(directory, name), follow_links, extensions)
            paths.extend(files)
            indices.extend([index] * len(files))
        class_names = subfolders
    else:
        if labels is None and class_names is not None:
            raise ValueError(
                "When `labels=None` (no labels), argument `class_names` cannot be specified. "
                "Hint: label_mode=None loads images only; drop class_names or keep the labels."
            )
        if labels is not None and class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. '
                f"Received: labels={labels}, and class_names={class_names}. Hint: drop "
                "class_names; the labels you pass name the classes."
            )
        paths = _image_files(directory, follow_links, extensions)
        class_names = list(class_names or [])
    if not paths:
        loose = labels == "inferred" and _image_files_here(directory)
        hint = (
            "the images sit directly in it: put each class's images in its own sub-folder, "
            f"{os.path.join(directory, 'class_a', 'img.png')!r}"
            if loose
            else f"looked for {', '.join(extensions)}"
        )
        raise ValueError(f"No images found in directory {directory!r}: {hint}.")
    if labels == "inferred" and need_classes and len(class_names) < 2:
        raise ValueError(
            f"Found images of only one class ({class_names[0]!r}) in {directory!r}: a classifier "
            "needs at least two class sub-folders. Hint: add a folder per class, or pass "
            "labels=None (class_mode=None) to load the images without labels."
        )
    if isinstance(labels, (list, tuple, np.ndarray)):
        if len(labels) != len(paths):
            raise ValueError(  # Keras's words first, so code matching them matches these
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory: as many labels as image files in {directory!r} ({len(paths)}); "
                f"received {len(labels)} labels."
            )
        indices = list(labels)
        class_names = [str(label) for label in sorted(set(indices))]  # as Keras names them
    elif labels not in ("inferred", None):
        raise ValueError(
            "`labels` argument should be 'inferred', None or a list/tuple of integer labels "
            f"(one per image file); received labels={labels!r}."
        )
    label_array = np.asarray(indices, dtype=np.int64) if labels is not None else None
    if on_error == "skip":
        paths, label_array = _drop_unreadable(paths, label_array, color_mode)
    return paths, label_array, class_names


def _image_files_here(directory):
    return any(name.lower().endswith(IMAGE_EXTENSIONS) for name in os.listdir(directory))


def _drop_unreadable(paths, labels, color_mode):
    keep, bad = [], []
    for index, path in enumerate(paths):
        try:
            load_img(path, color_mode=color_mode)
            keep.append(index)
        except ValueError:
            bad.append(path)
    if bad:
        shown = ", ".join(repr(p) for p in bad[:3]) + (" ..." if len(bad) > 3 else "")
        warnings.warn(
            f"Skipped {len(bad)} unreadable image file(s) of {len(paths)}: {shown}",
            UserWarning,
            stacklevel=3,
        )
    if not keep:
        raise ValueError(f"None of the {len(paths)} image files could be read.")
    kept_labels = labels[keep] if labels is not None else None
    return [paths[i] for i in keep], kept_labels


def check_split_arguments(validation_split, subset, shuffle, seed):
    """Keras's checks of `validation_split`, `subset` and `seed`, in Keras's order and words."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}"
        )
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset}'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def split_for_subset(count, validation_split, subset):
    """Keras's split of a shuffled file list: validation is the last `int(split * count)` files."""
    if validation_split is None or not validation_split:
        if subset is not None:
            raise ValueError(f"subset={subset!r} needs a validation_split; received none.")
        return slice(0, count)
    if not 0.0 < float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in (0, 1); received {validation_split}.")
    held_out = int(float(validation_split) * count)
    if subset == "training":
        return slice(0, count - held_out)
    if subset == "validation":
        return slice(count - held_out, count)
    raise ValueError(
        "With validation_split, subset must be 'training', 'validation' or 'both'; "
        f"received subset={subset!r}."
    )


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    follow_links=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    data_format=None,
    format="tf",  # noqa: A002 - Keras's argument name
    verbose=True,
    on_error="raise",
):
    """A `lamina.data.Dataset` of `(images, labels)` batches from `directory/<class>/<image>`.

    Images are float32 (batch, height, width, channels) in [0, 255], resized to `image_size`;
    labels follow `label_mode`: "int" (int32), "categorical" (float32 one-hot), "binary"
    (float32, shape (batch, 1), two classes only) or None (images only). Files are decoded by
    parallel threads inside the pipeline, ahead of training.

    `validation_split` with `subset="training"` / `"validation"` (or `"both"`, returning the pair)
    splits the shuffled file list; give the same `seed` to both calls. `on_error="skip"` skips
    unreadable images with a warning that counts them (the default raises, naming the file).
    The dataset carries `class_names` and `file_paths`.

    Args:
        directory: the folder holding one sub-folder of images per class.
        labels: `"inferred"` (from the sub-folders), a list of labels in file order, or None.
        label_mode: `"int"`, `"categorical"`, `"binary"` or None.
        class_names: the sub-folders to use, in label order (default: all, sorted).
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"`.
        batch_size: images per batch (None: one image at a time).
        image_size: `(height, width)` every image is resized to.
        shuffle: shuffle the files (with `seed`).
        seed: the shuffle's (and split's) seed.
        validation_split: the fraction kept for validation, with `subset`.
        subset: `"training"`, `"validation"` or `"both"`.
        interpolation: the resizing method (`"bilinear"`, `"nearest"`, ...).
        follow_links: follow symbolic links to sub-folders.
        crop_to_aspect_ratio: crop to `image_size`'s aspect ratio before resizing.
        pad_to_aspect_ratio: pad to it instead.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        format: Keras's choice of returned type, `"tf"` (tf.data) or `"grain"`; accepted so
            Keras programs run, lamina returns its own `Dataset` for both.
        verbose: print how many files and classes were found.
        on_error: `"raise"` (default) or `"skip"` for unreadable images.

    Examples:
        >>> import os, tempfile
        >>> from lamina.preprocessing.image_io import save_img
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for name in ("cat", "dog"):
        ...         os.makedirs(os.path.join(root, name))
        ...         save_img(os.path.join(root, name, "a.png"), np.zeros((8, 8, 3)))
        ...     ds = image_dataset_from_directory(root, image_size=(4, 4), verbose=False)
        ...     images, labels = next(iter(ds))
        >>> tuple(images.shape), ds.class_names
        ((2, 4, 4, 3), ['cat', 'dog'])
    """
    if format not in ("tf", "grain"):
        raise ValueError(
            f'`format` should be either "tf" or "grain". Received: format={format!r} '
            "(image_dataset_from_directory; lamina returns its own Dataset for both)."
        )
    if color_mode not in ("rgb", "rgba", "grayscale"):  # checked now, not at the first image
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode!r} (image_dataset_from_directory)."
        )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            "`label_mode` argument must be 'int', 'categorical', 'binary' or None; received "
            f"label_mode={label_mode!r}."
        )
    # As in Keras: no labels means images only, whichever label_mode was left at its default.
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    check_split_arguments(validation_split, subset, shuffle, seed)
    paths, label_ids, names = scan_directory(
        directory,
        labels,
        class_names,
        follow_links,
        on_error,
        color_mode,
        need_classes=label_mode is not None,
        extensions=DATASET_EXTENSIONS,
        skip_hidden=True,
    )
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names; found '
            f"{len(names)}: {names}. Hint: use label_mode='int' or 'categorical'."
        )
    if label_mode is None:
        names = None
    if verbose:
        classes = "" if names is None else f" belonging to {len(names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    shuffled = np.arange(len(paths))
    if shuffle:
        seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        np.random.RandomState(seed).shuffle(shuffled)
    height, width = int(image_size[0]), int(image_size[1])

    def load(path):
        image = torch.from_numpy(img_to_array(load_img(str(path), color_mode=color_mode)))
        image = image.movedim(-1, 0)[None]
        if crop_to_aspect_ratio:
            image = image_ops.smart_resize(image, height, width, interpolation)
        else:
            if pad_to_aspect_ratio:
                image = image_ops.pad_to_aspect(image, height, width)
            image = image_ops.resize(image, height, width, interpolation)
        image = image[0]
        return image if data_format == "channels_first" else image.movedim(0, -1).contiguous()

    def encode(label):
        if label_mode == "categorical":
            return torch.nn.functional.one_hot(label, len(names)).to(torch.float32)
        if label_mode == "binary":
            return label.to(torch.float32).reshape(1)
        return label.to(torch.int32)

    def subset_dataset(part):
        order = shuffled[split_for_subset(len(shuffled), validation_split, part)]
        if validation_split and verbose:
            print(f"Using {len(order)} files for {part}.")
        file_paths = [paths[i] for i in order]
        path_array = np.asarray(file_paths)
        if label_mode is None:
            dataset = Dataset.from_tensor_slices(path_array)
            if shuffle:
                dataset = dataset.shuffle(len(path_array), seed=seed)
            dataset = dataset.map(load, num_parallel_calls=AUTOTUNE)
        else:
            dataset = Dataset.from_tensor_slices((path_array, label_ids[order]))
            if shuffle:
                dataset = dataset.shuffle(len(path_array), seed=seed)
            dataset = dataset.map(
                lambda path, label: (load(path), encode(label)), num_parallel_calls=AUTOTUNE
            )
        if batch_size is not None:
            dataset = dataset.batch(batch_size)
        dataset = dataset.prefetch()
        dataset.class_names = names
        dataset.file_paths = file_paths
        return dataset

    # One scan, and one "Found ..." line, for both subsets, as in Keras.
    if subset == "both":
        return subset_dataset("training"), subset_dataset("validation")
    return subset_dataset(subset)
