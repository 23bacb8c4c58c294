"""plot_image_gallery and its box and mask variants: the grid, the pixels shown, titles, files."""

import numpy as np
import pytest

from lamina.visualization import (
    draw_bounding_boxes,
    draw_segmentation_masks,
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)
from tests.visualization.helpers import png_size


def shown(figure):
    """The pixel arrays of the figure's images, in grid order."""
    return [np.asarray(axis.images[0].get_array()) for axis in figure.axes if axis.images]


def test_grid_is_about_square_and_shows_every_image():
    images = np.arange(5 * 2 * 2 * 3).reshape(5, 2, 2, 3) % 256
    figure = plot_image_gallery(images, show=False)
    assert len(figure.axes) == 5  # a 3 x 2 grid, the sixth cell removed
    for ours, image in zip(shown(figure), images, strict=True):
        np.testing.assert_array_equal(ours, image.astype("uint8"))


def test_value_range_maps_to_0_255_and_titles_name_classes():
    images = np.array([np.full((2, 2, 3), 0.5), np.ones((2, 2, 3))], "float32")
    label_map = {0: "cat", 1: "dog"}
    figure = plot_image_gallery(
        images, y_true=[0, 1], y_pred=[1, 7], label_map=label_map, value_range=(0, 1),
        rows=1, cols=2, show=False,
    )  # fmt: skip
    first, second = shown(figure)
    assert first[0, 0].tolist() == [127] * 3 and second[0, 0].tolist() == [255] * 3
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["Label: cat  Pred: dog", "Label: dog  Pred: Unknown"]


def test_channels_first_and_saving_to_a_file(tmp_path):
    images = np.zeros((2, 3, 4, 4), "uint8")
    images[1, 0] = 255
    path = tmp_path / "gallery.png"
    figure = plot_image_gallery(images, path=str(path), data_format="channels_first")
    assert shown(figure)[1][..., 0].min() == 255 and shown(figure)[1][..., 1].max() == 0
    width, height = png_size(path.read_bytes())
    assert width > 0 and height > 0


def test_gallery_errors():
    with pytest.raises(ValueError, match="either `path` or `show=True`, not both"):
        plot_image_gallery(np.zeros((1, 2, 2, 3)), path="x.png", show=True)
    with pytest.raises(ValueError, match="a `label_map` with `y_true` or `y_pred`"):
        plot_image_gallery(np.zeros((1, 2, 2, 3)), y_true=[0], show=False)
    with pytest.raises(ValueError, match=r"a batch of images shaped .*received \(2, 2, 3\)"):
        plot_image_gallery(np.zeros((2, 2, 3)), show=False)
    with pytest.raises(ValueError, match="`legend=True` or `legend_handles`, not both"):
        plot_bounding_box_gallery(
            np.zeros((1, 2, 2, 3)), "xyxy", legend=True, legend_handles=[1], show=False
        )


def test_bounding_box_gallery_shows_the_drawn_boxes_and_a_legend():
    images = np.zeros((2, 12, 12, 3), "uint8")
    y_true = {"boxes": np.array([[[1, 1, 6, 6]], [[2, 2, 8, 8]]]), "labels": np.array([[0], [1]])}
    y_pred = {
        "boxes": np.array([[[3, 3, 10, 10]], [[0, 0, 0, 0]]]),
        "labels": np.array([[0], [-1]]),
    }
    figure = plot_bounding_box_gallery(
        images, "xyxy", y_true=y_true, y_pred=y_pred, legend=True, show=False
    )
    expected = draw_bounding_boxes(images, y_true, "xyxy", color=(0, 188, 212))
    expected = draw_bounding_boxes(expected, y_pred, "xyxy", color=(255, 235, 59))
    for ours, image in zip(shown(figure), expected, strict=True):
        np.testing.assert_array_equal(ours, image)
    labels = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    assert labels == ["Ground Truth", "Prediction"]


def test_segmentation_gallery_puts_image_and_masks_in_each_row():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (2, 4, 4, 3)).astype("uint8")
    y_true = rng.integers(0, 3, (2, 4, 4, 1))
    y_pred = rng.integers(0, 3, (2, 4, 4))
    figure = plot_segmentation_mask_gallery(images, 3, y_true=y_true, y_pred=y_pred, show=False)
    pictures = shown(figure)
    assert len(pictures) == 6  # 2 rows: image, true mask, predicted mask
    true_drawn = draw_segmentation_masks(images, y_true, 3)
    pred_drawn = draw_segmentation_masks(images, y_pred, 3)
    np.testing.assert_array_equal(pictures[0], images[0])
    np.testing.assert_array_equal(pictures[1], true_drawn[0])
    np.testing.assert_array_equal(pictures[5], pred_drawn[1])
