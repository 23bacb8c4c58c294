"""draw_bounding_boxes by hand (Keras's needs OpenCV); draw_segmentation_masks against Keras."""

import numpy as np
import pytest

from lamina.visualization import draw_bounding_boxes, draw_segmentation_masks
from tests.parity import reference

RED = (255, 0, 0)


def boxes(coords, labels, **extra):
    return {"boxes": np.array(coords, "float32"), "labels": np.array(labels), **extra}


def test_outline_one_pixel_wide_on_the_box_edges():
    images = np.zeros((1, 8, 10, 3), "uint8")
    drawn = draw_bounding_boxes(
        images, boxes([[[2, 1, 6, 5]]], [[0]]), "xyxy", color=RED, line_thickness=1
    )
    expected = np.zeros((8, 10), "uint8")
    expected[1, 2:7] = expected[5, 2:7] = 255  # top and bottom rows, x from 2 to 6
    expected[1:6, 2] = expected[1:6, 6] = 255  # left and right columns, y from 1 to 5
    np.testing.assert_array_equal(drawn[0, :, :, 0], expected)
    assert not drawn[..., 1:].any() and drawn.dtype == np.uint8
    assert not images.any()  # the input is left alone


def test_thickness_two_widens_each_side_outwards_by_one():
    drawn = draw_bounding_boxes(
        np.zeros((1, 8, 8, 1), "uint8"), boxes([[[2, 2, 5, 5]]], [[3]]), "xyxy", color=(9,)
    )[0, :, :, 0]
    assert drawn[1, 1:6].tolist() == [9] * 5 and drawn[2, 1:6].tolist() == [9] * 5  # top band
    assert drawn[3, 1:6].tolist() == [9, 9, 0, 9, 9]  # the inside stays empty
    assert drawn[6].sum() == 0 and drawn[:, 6].sum() == 0


def test_formats_padding_labels_and_float_images():
    images = np.full((2, 10, 10, 3), 0.5, "float32")  # values <= 1: scaled by 255
    given = boxes(
        [[[0.5, 0.5, 0.4, 0.4], [0.0, 0.0, 0.9, 0.9]], [[0.2, 0.2, 0.2, 0.2], [0, 0, 0, 0]]],
        [[1, -1], [2, -1]],
    )
    drawn = draw_bounding_boxes(images, given, "rel_center_xywh", color=RED, line_thickness=1)
    background = int(0.5 * 255)
    # centre (5, 5), size 4x4 -> corners (3, 3) to (7, 7); the -1 box is not drawn.
    assert drawn[0, 3, 3:8, 0].tolist() == [255] * 5 and drawn[0, 0, 0, 0] == background
    assert drawn[0, 5, 5].tolist() == [background] * 3
    assert drawn[1, 1, 1:4, 0].tolist() == [255] * 3  # (0.1..0.3) * 10 -> 1..3


def test_mapped_classes_get_a_label_above_the_box():
    images = np.zeros((1, 60, 60, 3), "uint8")
    given = boxes([[[10, 30, 50, 50], [5, 52, 20, 58]]], [[1, 2]], confidences=np.array([[0.9, 1]]))
    plain = draw_bounding_boxes(images, given, "xyxy", color=RED)
    labelled = draw_bounding_boxes(images, given, "xyxy", class_mapping={1: "cat"}, color=RED)
    extra = (labelled != plain).any(-1)[0]
    rows, cols = np.nonzero(extra)
    assert rows.size and rows.max() < 30 and cols.min() >= 10  # text above the first box only
    assert set(np.unique(labelled[0, extra][:, 1:])) == {0}  # drawn in the box colour


def test_channels_first_round_trip():
    images = np.zeros((1, 3, 6, 6), "uint8")
    drawn = draw_bounding_boxes(
        images, boxes([[[1, 1, 4, 4]]], [[0]]), "xyxy", color=RED, line_thickness=1,
        data_format="channels_first",
    )  # fmt: skip
    assert drawn.shape == (1, 3, 6, 6) and drawn[0, 0, 1, 1:5].tolist() == [255] * 4


def test_draw_bounding_boxes_errors():
    with pytest.raises(ValueError, match=r"a batch of images shaped .*received \(6, 6, 3\)"):
        draw_bounding_boxes(np.zeros((6, 6, 3)), boxes([[[1, 1, 4, 4]]], [[0]]), "xyxy")
    with pytest.raises(TypeError, match="expects bounding_boxes as a dict"):
        draw_bounding_boxes(np.zeros((1, 6, 6, 3)), np.zeros((1, 1, 4)), "xyxy")
    with pytest.raises(ValueError, match=r"with 'boxes' and 'labels'; received keys \['boxes'\]"):
        draw_bounding_boxes(np.zeros((1, 6, 6, 3)), {"boxes": np.zeros((1, 1, 4))}, "xyxy")


MASK_CASES = [
    dict(num_classes=3),
    dict(num_classes=4, alpha=0.3, ignore_index=0),
    dict(num_classes=3, color_mapping={0: (1, 2, 3), 1: (250, 0, 10), 2: (0, 255, 0)}),
    dict(num_classes=3, blend=False),
]


@pytest.mark.parametrize("kwargs", MASK_CASES)
def test_draw_segmentation_masks_matches_keras(kwargs):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 5, 6, 3)).astype("float32")
    masks = rng.integers(-1, 3, (2, 5, 6, 1)).astype("int32")  # Keras on torch fails on ids >= 3
    expected = reference.keras_draw_segmentation_masks(images, masks, **kwargs)
    ours = draw_segmentation_masks(images, masks, **kwargs)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(draw_segmentation_masks(images, masks[..., 0], **kwargs), ours)


def test_num_classes_defaults_to_the_largest_id_plus_one():
    images = np.full((1, 1, 3, 3), 10.0, "float32")
    masks = np.array([[[0, 1, 2]]])
    inferred = draw_segmentation_masks(images, masks, alpha=1.0)
    np.testing.assert_array_equal(inferred, draw_segmentation_masks(images, masks, 3, alpha=1.0))
    # Keras's palette: class 2 is (2 * (2**25-1, 2**15-1, 2**21-1)) % 255.
    assert inferred[0, 0, 2].tolist() == [(2 * (2**25 - 1)) % 255, 254, (2 * (2**21 - 1)) % 255]
    # with num_classes=2, class 2 keeps the image's values
    assert draw_segmentation_masks(images, masks, 2, alpha=1.0)[0, 0, 2].tolist() == [10] * 3


def test_draw_segmentation_masks_by_hand_and_errors():
    images = np.full((1, 1, 3, 3), 50.0, "float32")
    masks = np.array([[[0, 1, -1]]])
    out = draw_segmentation_masks(
        images, masks, num_classes=2, color_mapping={0: (0, 0, 0), 1: (250, 250, 0)}, alpha=0.5
    )
    assert out[0, 0].tolist() == [[25, 25, 25], [150, 150, 25], [50, 50, 50]]
    with pytest.raises(TypeError, match="integer segmentation_masks"):
        draw_segmentation_masks(images, masks.astype("float32"))
    with pytest.raises(ValueError, match=r"masks matching the images' .*\(1, 1, 3\)"):
        draw_segmentation_masks(images, np.zeros((1, 2, 3), "int32"))
