"""The batch sources an ImageDataGenerator hands to `fit`: NumpyArrayIterator (`flow`) and
DirectoryIterator (`flow_from_directory`).

Both are Keras-Sequence-like: `len()` batches per epoch, `it[i]` the i-th batch, `on_epoch_end()`
reshuffles. `for batch in it` runs one epoch with the next batches prepared by a background thread;
`next(it)` cycles forever, as Keras's iterators do. Batches are NumPy arrays (float32 images).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from lamina.data.workers import PrefetchIterator
from lamina.preprocessing import image_folders
from lamina.preprocessing.image_io import img_to_array, load_img, save_img


class Iterator:
    """Shared batching, shuffling and seeding. Subclasses write `_load(rows)` -> float images."""

    def __init__(self, generator, count, batch_size, shuffle, seed):
        if count == 0:
            raise ValueError("The image iterator has no samples to draw batches from.")
        self.image_data_generator = generator
        self.n = int(count)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = None if seed is None else int(seed)
        self.epoch = 0
        self._cursor = 0
        self.index_array = self._order()

    def _order(self):
        if not self.shuffle:
            return np.arange(self.n)
        if self.seed is None:
            return np.random.permutation(self.n)
        return np.random.RandomState(self.seed + self.epoch).permutation(self.n)

    def __len__(self):
        return -(-self.n // self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self.index_array = self._order()

    def reset(self):
        self._cursor = 0

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} requested from an iterator of {len(self)} batches.")
        rows = self.index_array[index * self.batch_size : (index + 1) * self.batch_size]
        return self._batch(rows, self._random(index))

    def _random(self, index):
        """A generator per batch: reproducible with a seed, and safe to use from any thread."""
        generator = torch.Generator()
        if self.seed is None:
            generator.manual_seed(int(np.random.randint(0, 2**62)))
        else:
            generator.manual_seed(hash((self.seed, self.epoch, int(index))) % 2**62)
        return generator

    def _batch(self, rows, generator):
        images = self._load(rows)
        images = self.image_data_generator.transform_batch(images, generator)
        x = images.numpy()
        if getattr(self, "save_to_dir", None):
            self._save(x, rows)
        return self._with_targets(x, rows)

    def _save(self, x, rows):
        for image, row in zip(x, rows, strict=True):
            name = f"{self.save_prefix}_{int(row)}_{self.epoch}.{self.save_format}"
            save_img(
                os.path.join(self.save_to_dir, name),
                image,
                data_format=self.image_data_generator.data_format,
            )

    def __iter__(self):
        return self._epoch(PrefetchIterator((self[i] for i in range(len(self))), buffer_size=2))

    def _epoch(self, batches):
        # The epoch ends when the consumer has taken every batch, not when the background worker
        # has produced them: an iterator abandoned early must not advance the shuffling.
        yield from batches
        self.on_epoch_end()

    def __next__(self):
        batch = self[self._cursor]
        self._cursor += 1
        if self._cursor == len(self):
            self._cursor = 0
            self.on_epoch_end()
        return batch


class NumpyArrayIterator(Iterator):
    """Batches of in-memory images `x` (and targets `y`, weights `sample_weight`)."""

    def __init__(
        self,
        x,
        y,
        image_data_generator,
        batch_size=32,
        shuffle=True,
        sample_weight=None,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        subset=None,
        ignore_class_split=False,
        dtype=None,
    ):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(
                "ImageDataGenerator.flow expects x of rank 4 (samples, height, width, channels); "
                f"received shape {x.shape}. Hint: a grey image set needs x[..., None]."
            )
        if y is not None and len(y) != len(x):
            raise ValueError(
                f"ImageDataGenerator.flow expects x and y of the same length; "
                f"received {len(x)} images and {len(y)} targets."
            )
        if sample_weight is not None and len(sample_weight) != len(x):
            raise ValueError(
                f"ImageDataGenerator.flow expects one sample_weight per image; "
                f"received {len(sample_weight)} for {len(x)} images."
            )
        split = image_data_generator.validation_split
        if subset is not None or split:
            if not split:
                raise ValueError(
                    f"subset={subset!r} needs ImageDataGenerator(validation_split=...)."
                )
            held_out = int(len(x) * split)
            part = {"validation": slice(0, held_out), "training": slice(held_out, len(x))}
            if subset not in part:
                raise ValueError(
                    f"subset must be 'training' or 'validation'; received subset={subset!r}."
                )
            x = x[part[subset]]
            y = None if y is None else np.asarray(y)[part[subset]]
            sample_weight = (
                None if sample_weight is None else np.asarray(sample_weight)[part[subset]]
            )
        self.x = x
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(image_data_generator, len(x), batch_size, shuffle, seed)

    def _load(self, rows):
        return torch.from_numpy(np.ascontiguousarray(self.x[rows])).to(torch.float32)

    def _with_targets(self, x, rows):
        if self.y is None:
            return x
        if self.sample_weight is None:
            return x, self.y[rows]
        return x, self.y[rows], self.sample_weight[rows]


class DirectoryIterator(Iterator):
    """Batches of images read from `directory/<class>/<image>` (see flow_from_directory)."""

    CLASS_MODES = ("categorical", "binary", "sparse", "input", None)

    def __init__(
        self,
        directory,
        image_data_generator,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        data_format=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
        dtype=None,
        on_error="raise",
    ):
        if class_mode not in self.CLASS_MODES:
            raise ValueError(
                f"class_mode must be one of {list(self.CLASS_MODES)}; received "
                f"class_mode={class_mode!r}."
            )
        labelled = class_mode not in ("input", None)
        paths, labels, names = image_folders.scan_directory(
            directory,
            "inferred",
            classes,
            follow_links,
            on_error,
            color_mode,
            need_classes=labelled,
        )
        if class_mode == "binary" and len(names) != 2:
            raise ValueError(
                f"class_mode='binary' needs exactly 2 classes; found {len(names)}: {names}."
            )
        # Keras's per-class split: the first `split` of each class's files is the validation part.
        split = image_data_generator.validation_split
        if subset is not None or split:
            keep = _subset_rows(labels, split, subset)
            paths, labels = [paths[i] for i in keep], labels[keep]
        self.directory = os.fspath(directory)
        self.filepaths = paths
        self.filenames = [os.path.relpath(p, self.directory) for p in paths]
        self.classes = labels
        self.class_indices = {name: index for index, name in enumerate(names)}
        self.num_classes = len(names)
        self.samples = len(paths)
        self.target_size = tuple(int(s) for s in target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.interpolation, self.keep_aspect_ratio = interpolation, keep_aspect_ratio
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(image_data_generator, self.samples, batch_size, shuffle, seed)

    def _load(self, rows):
        arrays = [
            img_to_array(
                load_img(
                    self.filepaths[r],
                    self.color_mode,
                    self.target_size,
                    self.interpolation,
                    self.keep_aspect_ratio,
                )
            )
            for r in rows
        ]
        return torch.from_numpy(np.stack(arrays))

    def _with_targets(self, x, rows):
        labels = self.classes[rows]
        if self.class_mode == "input":
            return x, x.copy()
        if self.class_mode is None:
            return x
        if self.class_mode == "categorical":
            return x, np.eye(self.num_classes, dtype=np.float32)[labels]
        return x, labels.astype(np.float32)


def _subset_rows(labels, split, subset):
    if not split:
        raise ValueError(f"subset={subset!r} needs ImageDataGenerator(validation_split=...).")
    if subset not in ("training", "validation"):
        raise ValueError(f"subset must be 'training' or 'validation'; received subset={subset!r}.")
    keep = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        held_out = int(len(rows) * split)
        keep.extend(rows[:held_out] if subset == "validation" else rows[held_out:])
    return np.asarray(sorted(keep), dtype=np.int64)
