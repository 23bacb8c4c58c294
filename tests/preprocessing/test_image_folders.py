"""Folders of PNGs written with Pillow: image_dataset_from_directory, flow_from_directory,
load_img / img_to_array / array_to_img, and the errors for broken files and bad layouts."""

import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

from lamina.preprocessing.image import (
    ImageDataGenerator,
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
    save_img,
)


def write_folders(root, counts, size=(10, 12)):
    """counts: {class name: number of images}; each image is filled with its class index * 40."""
    for index, (name, count) in enumerate(counts.items()):
        os.makedirs(root / name, exist_ok=True)
        for i in range(count):
            pixels = np.full((*size, 3), index * 40 + i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"img_{i:02d}.png")
    return root


@pytest.fixture
def folders(tmp_path):
    return write_folders(tmp_path / "images", {"cats": 6, "dogs": 4, "owls": 5})


def test_dataset_yields_resized_float_batches_and_int_labels(folders, capsys):
    ds = image_dataset_from_directory(folders, image_size=(8, 6), batch_size=4, shuffle=False)
    assert "Found 15 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs", "owls"]
    batches = list(ds)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 8, 6, 3)] * 3 + [(3, 8, 6, 3)]
    x, y = batches[0]
    assert x.dtype == torch.float32 and y.dtype == torch.int32
    labels = torch.cat([y for _, y in batches]).tolist()
    assert labels == [0] * 6 + [1] * 4 + [2] * 5
    # Each image is one grey level, so resizing keeps it exactly.
    np.testing.assert_allclose(x[1].numpy(), 1.0)


@pytest.mark.parametrize(
    "label_mode, expected_shape, dtype",
    [("categorical", (15, 3), torch.float32), ("int", (15,), torch.int32)],
    ids=["categorical", "int"],
)
def test_label_modes(folders, label_mode, expected_shape, dtype):
    ds = image_dataset_from_directory(
        folders, image_size=(4, 4), label_mode=label_mode, batch_size=None, seed=1, verbose=False
    )
    labels = torch.stack([y for _, y in ds])
    assert tuple(labels.shape) == expected_shape and labels.dtype == dtype


def test_binary_labels_and_no_labels(tmp_path):
    root = write_folders(tmp_path / "two", {"a": 2, "b": 3})
    ds = image_dataset_from_directory(
        root, image_size=(4, 4), label_mode="binary", batch_size=5, shuffle=False, verbose=False
    )
    _, y = next(iter(ds))
    assert tuple(y.shape) == (5, 1) and y[:, 0].tolist() == [0, 0, 1, 1, 1]
    only_images = image_dataset_from_directory(
        root, image_size=(4, 4), label_mode=None, batch_size=5, verbose=False
    )
    assert tuple(next(iter(only_images)).shape) == (5, 4, 4, 3)


@pytest.mark.parametrize(
    "unlabelled", [{"labels": None}, {"label_mode": None}], ids=["labels=None", "label_mode=None"]
)
def test_unlabelled_folder_yields_images_only_and_says_so(tmp_path, capsys, unlabelled):
    # Keras: labels=None forces label_mode=None (and back); the count names no classes.
    root = tmp_path / "faces"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(root / f"{i}.png")
    ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=8, **unlabelled)
    assert capsys.readouterr().out == "Found 3 files.\n"
    assert ds.class_names is None
    assert tuple(next(iter(ds)).shape) == (3, 4, 4, 3)


def test_validation_split_partitions_the_files(folders):
    train, validation = image_dataset_from_directory(
        folders, image_size=(4, 4), validation_split=0.2, subset="both", seed=7, verbose=False
    )
    assert len(train.file_paths) == 12 and len(validation.file_paths) == 3
    assert set(train.file_paths).isdisjoint(validation.file_paths)
    again = image_dataset_from_directory(
        folders, image_size=(4, 4), validation_split=0.2, subset="validation", seed=7, verbose=False
    )
    assert again.file_paths == validation.file_paths


def test_subset_both_scans_once_and_says_so_once_as_keras(folders, capsys):
    image_dataset_from_directory(
        folders, image_size=(4, 4), validation_split=0.2, subset="both", seed=7
    )
    assert capsys.readouterr().out.splitlines() == [
        "Found 15 files belonging to 3 classes.",
        "Using 12 files for training.",
        "Using 3 files for validation.",
    ]


def test_flow_from_directory_batches_and_class_indices(folders):
    flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        folders, target_size=(5, 5), batch_size=4, shuffle=False
    )
    assert flow.class_indices == {"cats": 0, "dogs": 1, "owls": 2}
    assert flow.samples == 15 and len(flow) == 4
    x, y = flow[0]
    assert x.shape == (4, 5, 5, 3) and y.shape == (4, 3)
    np.testing.assert_allclose(x[1], 1 / 255, rtol=1e-5)
    assert flow.filenames[0] == os.path.join("cats", "img_00.png")
    sparse = ImageDataGenerator().flow_from_directory(
        folders, target_size=(5, 5), class_mode="sparse", shuffle=False
    )
    assert sparse[0][1].tolist() == [0.0] * 6 + [1.0] * 4 + [2.0] * 5


def test_flow_from_directory_validation_split_is_per_class(folders):
    generator = ImageDataGenerator(validation_split=0.5)
    validation = generator.flow_from_directory(
        folders, target_size=(4, 4), subset="validation", shuffle=False
    )
    assert validation.classes.tolist() == [0, 0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    "layout, message",
    [
        ({}, "No images found in directory"),
        ({"only": 3}, "only one class \\('only'\\).*at least two class sub-folders"),
    ],
    ids=["empty", "one-class"],
)
def test_folder_layout_errors(tmp_path, layout, message):
    root = write_folders(tmp_path / "data", layout)
    os.makedirs(root, exist_ok=True)
    with pytest.raises(ValueError, match=message):
        image_dataset_from_directory(root, verbose=False)
    with pytest.raises(ValueError, match=message):
        ImageDataGenerator().flow_from_directory(root)


def test_images_without_class_folders_are_explained(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "loose.png")
    with pytest.raises(ValueError, match="sit directly in it: put each class's images"):
        image_dataset_from_directory(tmp_path, verbose=False)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        image_dataset_from_directory(tmp_path / "nowhere")


def test_corrupt_image_names_the_file_or_is_skipped_with_a_count(folders):
    broken = folders / "dogs" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    ds = image_dataset_from_directory(folders, image_size=(4, 4), verbose=False)
    with pytest.raises(ValueError, match="Could not read the image file .*broken.png"):
        list(ds)
    with pytest.warns(UserWarning, match="Skipped 1 unreadable image file\\(s\\) of 16: .*broken"):
        skipped = image_dataset_from_directory(
            folders, image_size=(4, 4), verbose=False, on_error="skip"
        )
    assert len(skipped.file_paths) == 15 and len(list(skipped.unbatch())) == 15
    with pytest.warns(UserWarning, match="Skipped 1"):
        flow = ImageDataGenerator().flow_from_directory(
            folders, target_size=(4, 4), on_error="skip"
        )
    assert flow.samples == 15


def test_load_img_options_and_round_trip(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    path = tmp_path / "picture.png"
    save_img(path, pixels.astype(np.float32), scale=False)
    loaded = img_to_array(load_img(path))
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, pixels)
    assert img_to_array(load_img(path, color_mode="grayscale")).shape == (6, 9, 1)
    assert load_img(path, target_size=(3, 4)).size == (4, 3)
    assert img_to_array(load_img(path), data_format="channels_first").shape == (3, 6, 9)
    assert load_img(path, target_size=(6, 6), keep_aspect_ratio=True).size == (6, 6)
    stretched = img_to_array(array_to_img(np.array([[[0.0], [0.5]], [[1.0], [0.25]]])))
    np.testing.assert_array_equal(stretched[..., 0], [[0, 127], [255, 63]])  # truncated, as Keras
    with pytest.raises(ValueError, match="color_mode in"):
        load_img(path, color_mode="cmyk")


@pytest.mark.parametrize("mode_channels", [3, 4])
def test_save_img_takes_jpg_as_a_format_name_as_keras(tmp_path, mode_channels):
    # Keras maps file_format="jpg" to Pillow's "jpeg" and writes RGBA as RGB, with a warning.
    pixels = np.random.default_rng(0).integers(0, 256, (5, 5, mode_channels), dtype=np.uint8)
    path = tmp_path / "picture.bin"
    if mode_channels == 4:
        with pytest.warns(UserWarning, match="JPEG format does not support RGBA images"):
            save_img(path, pixels, file_format="jpg")
    else:
        save_img(path, pixels, file_format="jpg")
    assert Image.open(path).format == "JPEG"
    assert img_to_array(load_img(path)).shape == (5, 5, 3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"labels": "other"},
        {"label_mode": "other"},
        {"color_mode": "other"},
        {"labels": [0] * 15, "class_names": ["cats", "dogs", "owls"]},
        {"labels": [0, 1]},
        {"class_names": ["cats", "wrong"]},
        {"label_mode": "binary"},
        {"validation_split": 2},
        {"validation_split": 0.2, "subset": "other"},
        {"validation_split": 0.0, "subset": "training"},
        {"validation_split": 0.2, "subset": "training"},
        {"format": "numpy"},
    ],
    ids=str,
)
def test_argument_errors_open_with_keras_s_words(folders, kwargs):
    # Keras raises each at the call (color_mode too, not at the first image); lamina's message
    # opens with Keras's first words, so code matching Keras's errors matches lamina's.
    from tests.parity.reference import keras

    with pytest.raises(ValueError) as expected:
        keras.utils.image_dataset_from_directory(folders, verbose=False, **kwargs)
    opening = str(expected.value)[:25]
    with pytest.raises(ValueError, match=re.escape(opening)):
        image_dataset_from_directory(folders, verbose=False, **kwargs)


def test_manual_labels_name_their_classes_and_format_is_accepted(folders):
    labels = [0, 1, 2] * 5
    ds = image_dataset_from_directory(
        folders, labels=labels, image_size=(4, 4), format="grain", verbose=False
    )
    assert ds.class_names == ["0", "1", "2"]  # as Keras names them: the sorted label values
