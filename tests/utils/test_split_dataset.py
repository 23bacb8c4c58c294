"""lamina.utils.split_dataset: sizes and errors as Keras's, rows kept whole, seeded shuffles."""

import random

import numpy as np
import pytest
import torch

import lamina
from lamina.data import Dataset
from lamina.utils import split_dataset
from tests.parity import reference


def rows(dataset):
    return [element for element in dataset]


def test_arrays_split_in_order_without_shuffle():
    left, right = split_dataset(np.arange(10) * 10, left_size=0.7)
    assert isinstance(left, Dataset) and (len(left), len(right)) == (7, 3)
    assert [int(x) for x in left] == [0, 10, 20, 30, 40, 50, 60]
    assert [int(x) for x in right] == [70, 80, 90]


def test_sizes_that_leave_rows_out_drop_the_middle():
    left, right = split_dataset(np.arange(10), left_size=2, right_size=0.3)
    assert [int(x) for x in left] == [0, 1] and [int(x) for x in right] == [7, 8, 9]


def test_tuples_lists_and_dicts_keep_rows_together():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    for data in ((x, y), [x, y]):
        left, right = split_dataset(data, right_size=2, shuffle=True, seed=5)
        pairs = rows(left) + rows(right)
        assert all(isinstance(pair, tuple) for pair in pairs)
        assert all(
            torch.equal(a, torch.tensor([2.0 * b, 2.0 * b + 1], dtype=a.dtype)) for a, b in pairs
        )
        assert sorted(int(b) for _, b in pairs) == list(range(6))
    left, right = split_dataset({"x": x, "y": y}, left_size=0.5)
    assert [sorted(element) for element in left] == [["x", "y"]] * 3
    assert [int(element["y"]) for element in right] == [3, 4, 5]


def test_shuffle_is_keras_permutation_disjoint_and_reproducible():
    data = np.arange(20)
    left, right = split_dataset(data, left_size=0.75, shuffle=True, seed=42)
    order = list(range(20))
    random.seed(42)  # Keras's tf.data path: random.seed(seed); random.shuffle(rows)
    random.shuffle(order)
    assert [int(v) for v in left] == order[:15] and [int(v) for v in right] == order[15:]
    again_left, _ = split_dataset(data, left_size=0.75, shuffle=True, seed=42)
    assert [int(v) for v in again_left] == order[:15]
    other_left, _ = split_dataset(data, left_size=0.75, shuffle=True, seed=7)
    assert [int(v) for v in other_left] != order[:15]


def test_batched_lamina_dataset_is_split_by_rows_and_rebatched():
    batched = Dataset.from_tensor_slices((np.arange(10), np.arange(10) % 2)).batch(4).prefetch()
    left, right = split_dataset(batched, left_size=6)
    assert [tuple(x.shape) for x, _ in left] == [(4,), (2,)]
    assert [x.tolist() for x, _ in right] == [[6, 7, 8, 9]]


def test_image_dataset_from_directory_output_splits(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / name / f"{i}.png")
    images = lamina.utils.image_dataset_from_directory(
        tmp_path, image_size=(4, 4), batch_size=2, shuffle=False, verbose=False
    )
    left, right = split_dataset(images, left_size=4)
    assert [tuple(x.shape) for x, _ in left] == [(2, 4, 4, 3), (2, 4, 4, 3)]
    assert [y.tolist() for _, y in right] == [[1, 1]]


def test_timeseries_windows_split_by_window():
    windows = lamina.utils.timeseries_dataset_from_array(
        np.arange(10), np.arange(10) * 10, sequence_length=3, batch_size=4
    )  # 8 windows: starts 0..7
    left, right = split_dataset(windows, left_size=5)
    assert [tuple(x.shape) for x, _ in left] == [(4, 3), (1, 3)]
    assert [x.tolist() for x, _ in right] == [[[5, 6, 7], [6, 7, 8], [7, 8, 9]]]
    assert [y.tolist() for _, y in right] == [[50, 60, 70]]


def test_torch_dataset_and_tensor():
    tensors = torch.utils.data.TensorDataset(torch.arange(5), torch.arange(5) * 2)
    left, right = split_dataset(tensors, right_size=1)
    assert [(int(a), int(b)) for a, b in right] == [(4, 8)]
    left, right = split_dataset(torch.arange(4.0), left_size=0.5)
    assert [float(v) for v in left] == [0.0, 1.0]


@pytest.mark.parametrize(
    "left_size, right_size",
    [
        (0.8, None),
        (None, 3),
        (0.25, None),
        (0.999, None),
        (0.05, None),
        (10, None),
        (0, 0),
        (0, None),
        (None, 1.0),
        (-1, None),
        (0.5, 0.6),
        (6, 5),
        ("half", None),
        (None, "half"),
        ("half", "half"),
    ],
)
@pytest.mark.parity
def test_sizes_and_errors_match_keras(left_size, right_size):
    # Sizes summing to less than the whole are left out: Keras's torch path (the one that runs
    # without TensorFlow) refuses them, its tf.data path drops the middle rows, as lamina does.
    expected = reference.keras_split_sizes(left_size, right_size, 10)
    try:
        left, right = split_dataset(np.arange(10), left_size, right_size)
        ours = (len(left), len(right))
    except (TypeError, ValueError) as error:
        ours = (type(error).__name__, str(error))
    if isinstance(expected[0], str):  # Keras's wording, less its missing spaces and `11.0`
        assert ours[0] == expected[0]
        squash = lambda text: "".join(text.replace(".0and", "and").split())  # noqa: E731
        assert squash(ours[1]) == squash(expected[1])
    else:
        assert ours == expected


def test_errors_pinned():
    with pytest.raises(ValueError, match="At least one of the `left_size` or `right_size` must"):
        split_dataset(np.arange(4))
    with pytest.raises(TypeError, match="must be either a `lamina.data.Dataset`"):
        split_dataset("not data", left_size=0.5)
    with pytest.raises(ValueError, match="Expected a tuple of `numpy.ndarray` objects"):
        split_dataset((np.arange(3), [1, 2, 3]), left_size=1)
    with pytest.raises(ValueError, match=r"same length \(first axis\); received lengths \[3, 4\]"):
        split_dataset((np.arange(3), np.arange(4)), left_size=1)
    ragged = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)]))
    with pytest.raises(ValueError, match="every element of the dataset to have the same shape"):
        split_dataset(ragged, left_size=1)
    with pytest.raises(ValueError, match="Resulting right side dataset split will be empty"):
        split_dataset(np.arange(10), left_size=0.99)
