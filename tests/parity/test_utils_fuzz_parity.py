"""Parity with Keras 3 (torch backend) at the edges a differential fuzz of `keras.utils` found:
dtypes of array helpers, argument checks, the progress bar's one-line form, and the serialization
and dataset utilities.
"""

from __future__ import annotations

import contextlib
import io
import re

import keras
import numpy as np
import pytest

import lamina

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("labels", [[0, 2, 1], [[1], [0]], np.array([[0, 2], [1, 1]])], ids=str)
@pytest.mark.parametrize("num_classes", [None, 4])
def test_to_categorical_of_numpy_labels_is_keras(labels, num_classes):
    want = keras.utils.to_categorical(labels, num_classes)
    got = lamina.utils.to_categorical(labels, num_classes)
    assert got.dtype == want.dtype  # float64: NumPy's default, which Keras 3 keeps
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("order", [2, 1, np.inf])
@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_normalize_with_no_axis_is_keras(shape, order):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = keras.utils.normalize(x, axis=None, order=order)
    np.testing.assert_allclose(lamina.utils.normalize(x, axis=None, order=order), want, rtol=1e-6)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1", None])
def test_set_random_seed_refuses_what_keras_refuses(seed):
    with pytest.raises(ValueError):
        keras.utils.set_random_seed(seed)
    with pytest.raises(ValueError, match="set_random_seed"):
        lamina.utils.set_random_seed(seed)


def _progbar_text(module, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bar = module.utils.Progbar(**kwargs)
        for step in (1, 2, 3):
            bar.update(step, values=[("loss", float(step))], finalize=True if step == 3 else None)
    # the time per unit is measured, so only its form is compared
    return re.sub(r"\d+(us|ms|s)/", "T/", out.getvalue())


@pytest.mark.parametrize(
    "kwargs",
    [{"target": 3}, {"target": 3, "unit_name": "sample"}, {"target": None}],
    ids=["step", "sample", "no-target"],
)
def test_progbar_one_line_form_is_keras(kwargs):
    want = _progbar_text(keras, verbose=2, **kwargs)
    assert _progbar_text(lamina, verbose=2, **kwargs) == want


@pytest.mark.parametrize("color_mode", ["rgb", "grayscale"])
def test_load_img_reads_an_open_binary_file_as_keras(tmp_path, color_mode):
    pixels = (np.random.default_rng(0).random((4, 5, 3)) * 255).astype("uint8")
    path = tmp_path / "image.png"
    keras.utils.save_img(str(path), pixels)
    data = path.read_bytes()
    want = np.asarray(keras.utils.load_img(io.BytesIO(data), color_mode=color_mode))
    got = np.asarray(lamina.utils.load_img(io.BytesIO(data), color_mode=color_mode))
    np.testing.assert_array_equal(got, want)


def _image_tree(root):
    """Class folders with nested ones whose walk order is subtle, a hidden folder, a .tif file
    (flow_from_directory reads it, image_dataset_from_directory not) and a loose top file."""
    from PIL import Image

    for number, name in enumerate(_TREE_NAMES, start=1):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((2, 3, 3), number, "uint8")).save(path)
    return root


@pytest.mark.parametrize("labels", ["inferred", None])
def test_image_dataset_from_directory_files_and_order_are_keras(tmp_path, labels):
    from keras.src.utils import dataset_utils

    root = str(_image_tree(tmp_path))
    with contextlib.redirect_stdout(io.StringIO()):
        paths, ids, names = dataset_utils.index_directory(
            root, labels, formats=(".bmp", ".gif", ".jpeg", ".jpg", ".png"), shuffle=False
        )
        dataset = lamina.utils.image_dataset_from_directory(
            root, labels=labels, image_size=(2, 3), shuffle=False, batch_size=None
        )
    # each file holds its number in every pixel: the images name the files, in order
    numbers = {str(tmp_path / name): n for n, name in enumerate(_TREE_NAMES, start=1)}
    want = [numbers[path] for path in paths]
    batches = list(dataset)
    images = [batch[0] if labels else batch for batch in batches]
    assert [int(image[0, 0, 0]) for image in images] == want
    assert dataset.class_names == (list(names) if names is not None else None)
    if labels:
        assert [int(batch[1]) for batch in batches] == [int(i) for i in ids]


_TREE_NAMES = [
    "b/x-y/q.png",
    "b/x/deep/r.png",
    "b/x/s.png",
    "b/z.png",
    "a/1.png",
    "a/extra.tif",
    ".hidden/h.png",
    "top.png",
]


def test_image_dataset_without_labels_refuses_class_names_as_keras(tmp_path):
    root = _image_tree(tmp_path)
    with pytest.raises(ValueError, match="argument `class_names` cannot be specified"):
        lamina.utils.image_dataset_from_directory(
            root, label_mode=None, class_names=["a", "b"], image_size=(2, 3), verbose=False
        )


def test_get_source_inputs_of_a_non_symbolic_value_is_keras():
    value = np.ones(2)
    assert keras.utils.get_source_inputs(value) is value
    assert lamina.utils.get_source_inputs(value) is value


@pytest.mark.parametrize("values", [[[3.0, 4.0], [1.0, 0.0]], [[3, 4]]], ids=["floats", "ints"])
def test_normalize_of_a_list_is_keras(values):
    # Keras sends anything but a NumPy array down its tensor path: float32, not NumPy's float64
    want = keras.ops.convert_to_numpy(keras.utils.normalize(values))
    got = np.asarray(lamina.utils.normalize(values))
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)
