"""Image classification from a folder of image files, Keras's way, in a few seconds on 2 CPU cores.

1. Write a folder of PNG files, one sub-folder per class (`images/zero/`, `images/one/`, ...),
   from the built-in digits scaled up to 24x24 colour images. Point `--directory` at your own
   folder of that layout to skip this step.
2. `image_dataset_from_directory` with an 80/20 training / validation split: the files are decoded
   by background threads while the model trains.
3. A small CNN that rescales and augments inside the model (RandomRotation, RandomZoom, active only
   while training), trained with `fit(train, validation_data=validation)`.

Run: `python examples/image_folder_classification.py` (prints the validation accuracy).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from PIL import Image

import lamina
from lamina import layers

CLASSES = {0: "zero", 1: "one", 7: "seven"}
IMAGE_SIZE = (24, 24)


def write_image_folders(directory: str, per_class: int = 60) -> None:
    """Save `per_class` digits of each class in CLASSES as RGB PNGs under directory/<class>/."""
    (x, y), _ = lamina.datasets.digits.load_data()
    for digit, name in CLASSES.items():
        os.makedirs(os.path.join(directory, name), exist_ok=True)
        for index, image in enumerate(x[y == digit][:per_class]):
            pixels = np.kron(image / 16.0 * 255.0, np.ones((3, 3))).astype(np.uint8)
            Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(
                os.path.join(directory, name, f"{index:03d}.png")
            )


def build_model(num_classes: int) -> lamina.Model:
    return lamina.Sequential(
        [
            layers.Input((*IMAGE_SIZE, 3)),
            layers.Rescaling(1.0 / 255),
            layers.RandomRotation(0.05, seed=1),
            layers.RandomZoom(0.1, seed=2),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def main(directory: str | None = None, epochs: int = 6, verbose: int = 1):
    """Train on `directory` (written first when None); return (history, validation accuracy)."""
    lamina.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory(prefix="image-folders-") as scratch:
        if directory is None:
            directory = os.path.join(scratch, "images")
            write_image_folders(directory)
        train, validation = lamina.preprocessing.image_dataset_from_directory(
            directory,
            image_size=IMAGE_SIZE,
            batch_size=16,
            validation_split=0.2,
            subset="both",
            seed=42,
            verbose=bool(verbose),
        )
        model = build_model(len(train.class_names))
        model.compile(
            optimizer=lamina.optimizers.Adam(0.003),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(train, validation_data=validation, epochs=epochs, verbose=verbose)
        _, accuracy = model.evaluate(validation, verbose=0)
    if verbose:
        print(f"classes: {train.class_names}; validation accuracy: {accuracy:.3f}")
    return history, accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", help="a folder with one sub-folder of images per class")
    parser.add_argument("--epochs", type=int, default=6)
    arguments = parser.parse_args()
    main(arguments.directory, arguments.epochs)
