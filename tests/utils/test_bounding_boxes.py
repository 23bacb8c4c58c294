"""lamina.utils.bounding_boxes against keras.utils.bounding_boxes on small hand-made boxes."""

import itertools

import numpy as np
import pytest
import torch

from lamina.utils import bounding_boxes as bb
from tests.parity import reference

FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)
ABSOLUTE = tuple(f for f in FORMATS if not f.startswith("rel_"))
HEIGHT, WIDTH = 80, 120
# xyxy boxes in pixels: two per image, two images; one overlaps, one sticks out of the image.
XYXY = np.array(
    [
        [[10.0, 20.0, 50.0, 60.0], [30.0, 40.0, 130.0, 70.0]],
        [[-5.0, 10.0, 40.0, 90.0], [60.0, 5.0, 100.0, 45.0]],
    ],
    dtype="float32",
)


def numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def boxes_in(fmt):
    """The XYXY boxes written in `fmt` (by lamina; every conversion is itself checked below)."""
    return numpy(bb.convert_format(XYXY, "xyxy", fmt, height=HEIGHT, width=WIDTH))


@pytest.mark.parametrize("source,target", list(itertools.product(FORMATS, FORMATS)))
def test_convert_format_matches_keras_for_every_pair(source, target):
    # Sources from Keras's own conversion, so both sides start from the same numbers.
    boxes = reference.keras_bounding_boxes(
        "convert_format", XYXY.copy(), source="xyxy", target=source, height=HEIGHT, width=WIDTH
    )
    expected = reference.keras_bounding_boxes(
        "convert_format", boxes.copy(), source=source, target=target, height=HEIGHT, width=WIDTH
    )
    ours = bb.convert_format(boxes, source=source, target=target, height=HEIGHT, width=WIDTH)
    assert ours.dtype == torch.float32 and ours.shape == (2, 2, 4)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-5, atol=1e-5)


def test_convert_format_by_hand_and_case_insensitive():
    box = np.array([[10, 20, 30, 60]])
    assert bb.convert_format(box, "XYXY", "center_xywh").tolist() == [[20.0, 40.0, 20.0, 40.0]]
    assert bb.convert_format(box, "xyxy", "center_yxhw").tolist() == [[40.0, 20.0, 40.0, 20.0]]
    rel = bb.convert_format(box, "xyxy", "rel_xywh", height=100, width=50)
    np.testing.assert_allclose(numpy(rel), [[0.2, 0.2, 0.4, 0.4]], rtol=1e-6)
    assert bb.convert_format(box, "xyxy", "xyxy", dtype="float64").dtype == torch.float64


def test_convert_format_dict_keeps_labels_and_matches_keras():
    given = {"boxes": XYXY[0].copy(), "labels": np.array([3, 7])}
    expected = reference.keras_bounding_boxes(
        "convert_format", dict(given), source="xyxy", target="rel_center_xywh", height=80, width=120
    )
    ours = bb.convert_format(given, "xyxy", "rel_center_xywh", height=80, width=120)
    np.testing.assert_allclose(numpy(ours["boxes"]), expected["boxes"], rtol=1e-5)
    np.testing.assert_array_equal(numpy(ours["labels"]), expected["labels"])
    assert given["boxes"] is not ours["boxes"] and isinstance(given["boxes"], np.ndarray)


def test_convert_format_errors():
    with pytest.raises(ValueError, match=r"a bounding box format in .*received 'xxyy'"):
        bb.convert_format(XYXY, "xxyy", "xyxy")
    with pytest.raises(ValueError, match=r"boxes whose last dimension is 4.*shape=\(2, 3\)"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
    with pytest.raises(ValueError, match=r"`height` and `width`.*height=None"):
        bb.convert_format(XYXY, "xyxy", "rel_xyxy", width=10)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("use_masking", [False, True])
def test_compute_iou_matches_keras_for_every_format(fmt, use_masking):
    boxes = boxes_in(fmt)
    first, second = boxes[0], boxes[1]
    shape = (HEIGHT, WIDTH, 3)
    if use_masking:  # a padding row: all four numbers negative
        second = np.concatenate([second, -np.ones((1, 4), "float32")])
    kwargs = dict(bounding_box_format=fmt, use_masking=use_masking, mask_val=-2, image_shape=shape)
    expected = reference.keras_bounding_boxes("compute_iou", first, second, **kwargs)
    ours = bb.compute_iou(first, second, **kwargs)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-5, atol=1e-5)
    if use_masking:
        assert numpy(ours)[:, -1].tolist() == [-2.0, -2.0]


@pytest.mark.parametrize("ranks", [(3, 3), (3, 2), (2, 3)])
def test_compute_iou_batched_and_mixed_ranks_match_keras(ranks):
    first = XYXY if ranks[0] == 3 else XYXY[1]
    second = XYXY[:, ::-1].copy() if ranks[1] == 3 else XYXY[0]
    expected = reference.keras_bounding_boxes("compute_iou", first, second, "xyxy")
    ours = bb.compute_iou(first, second, "xyxy")
    assert ours.shape == expected.shape == (2, 2, 2)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-5, atol=1e-6)


def test_compute_iou_by_hand_and_errors():
    # [0,2]x[0,2] against [1,3]x[1,3]: overlap 1, union 7.
    iou = bb.compute_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [5, 5, 6, 6]], "xyxy")
    np.testing.assert_allclose(numpy(iou), [[1 / 7, 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"boxes1 shaped \(n, 4\) or \(batch, n, 4\).*\(4,\)"):
        bb.compute_iou(np.zeros(4), np.zeros((1, 4)), "xyxy")
    with pytest.raises(ValueError, match=r"`image_shape=\(height, width, channels\)`"):
        bb.compute_iou(np.zeros((1, 4)), np.zeros((1, 4)), "rel_xyxy")


@pytest.mark.parametrize("fmt", ABSOLUTE)
def test_compute_ciou_matches_keras_for_every_absolute_format(fmt):
    boxes = boxes_in(fmt)
    expected = reference.keras_bounding_boxes("compute_ciou", boxes[0], boxes[1], fmt)
    ours = bb.compute_ciou(boxes[0], boxes[1], fmt)
    assert ours.shape == (2,)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-5, atol=1e-5)


def test_compute_ciou_relative_formats_need_and_use_the_image_shape():
    shape = (HEIGHT, WIDTH, 3)
    rel = boxes_in("rel_xyxy")
    ours = bb.compute_ciou(rel[0], rel[1], "rel_xyxy", image_shape=shape)
    np.testing.assert_allclose(
        numpy(ours), numpy(bb.compute_ciou(XYXY[0], XYXY[1], "xyxy")), rtol=1e-5
    )
    with pytest.raises(ValueError, match="with a relative bounding box format"):
        bb.compute_ciou(rel[0], rel[1], "rel_xyxy")


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_matches_keras(fmt):
    boxes = XYXY if fmt == "xyxy" else boxes_in("rel_xyxy")
    boxes = np.concatenate([boxes, np.array([[[130.0, 5.0, 150.0, 9.0]]] * 2, "float32")], 1)
    if fmt == "rel_xyxy":
        boxes[:, -1] = [1.1, 0.1, 1.3, 0.2]  # entirely right of the image
    given = {"boxes": boxes, "labels": np.array([[1, 2, 3], [4, 5, 6]])}
    kwargs = dict(height=HEIGHT, width=WIDTH, bounding_box_format=fmt)
    expected = reference.keras_bounding_boxes("clip_to_image_size", dict(given), **kwargs)
    ours = bb.clip_to_image_size(given, **kwargs)
    np.testing.assert_allclose(numpy(ours["boxes"]), expected["boxes"], rtol=1e-6)
    np.testing.assert_array_equal(numpy(ours["labels"]), expected["labels"])
    assert numpy(ours["labels"])[:, -1].tolist() == [-1, -1]


def test_clip_to_image_size_errors():
    with pytest.raises(NotImplementedError, match=r"received 'yxyx'.*convert_format\(\)"):
        bb.clip_to_image_size({"boxes": XYXY}, 10, 10, bounding_box_format="yxyx")
    with pytest.raises(ValueError, match="`height` and `width` when bounding_box_format='xyxy'"):
        bb.clip_to_image_size({"boxes": XYXY}, height=10)


@pytest.mark.parametrize("name", ["crop", "pad"])
@pytest.mark.parametrize("batched", [False, True])
def test_crop_and_pad_match_keras(name, batched):
    boxes = XYXY if batched else XYXY[0]
    kwargs = dict(top=15, left=25, height=40, width=50)
    expected = reference.keras_bounding_boxes(name, boxes, **kwargs)
    ours = getattr(bb, name)(boxes, **kwargs)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-6)


def test_crop_and_pad_by_hand():
    box = np.array([[10.0, 20.0, 50.0, 60.0]])
    assert bb.crop(box, top=10, left=20, height=40, width=25).tolist() == [[0, 10, 25, 40]]
    assert bb.pad(box, top=1, left=2).tolist() == [[12, 21, 52, 61]]
    with pytest.raises(NotImplementedError, match="crop\\(\\) supports bounding_box_format"):
        bb.crop(box, 0, 0, 1, 1, bounding_box_format="xywh")


AFFINES = [
    dict(angle=[30.0, -45.0], translate_x=[0.1, -0.2], translate_y=[0.0, 0.3], scale=[1.0, 1.5],
         shear_x=[0.0, 10.0], shear_y=[5.0, 0.0]),
    dict(angle=[90.0, 0.0], translate_x=[0.0, 0.0], translate_y=[0.0, 0.0], scale=[1.0, 0.5],
         shear_x=[0.0, 0.0], shear_y=[0.0, 0.0], center_x=0.25, center_y=0.75),
]  # fmt: skip


@pytest.mark.parametrize("params", AFFINES)
def test_affine_transform_matches_keras(params):
    params = {
        key: np.asarray(value, "float32") if isinstance(value, list) else value
        for key, value in params.items()
    }
    tensors = [key for key, value in params.items() if isinstance(value, np.ndarray)]
    expected = reference.keras_bounding_boxes(
        "affine_transform", XYXY, height=HEIGHT, width=WIDTH, tensor_args=tensors, **params
    )
    ours = bb.affine_transform(XYXY, height=HEIGHT, width=WIDTH, **params)
    np.testing.assert_allclose(numpy(ours), expected, rtol=1e-5, atol=1e-4)


def test_affine_transform_by_hand():
    # A quarter turn about the centre (2, 2) of a 5x5 image maps the box [0,4]x[0,1] onto
    # [3,4]x[0,4] or [0,1]x[0,4] depending on the sense; Keras's (inverse) map gives x in [0, 1].
    box = np.array([[0.0, 0.0, 4.0, 1.0]])
    turned = bb.affine_transform(box, 90.0, 0.0, 0.0, 1.0, 0.0, 0.0, height=5, width=5)
    np.testing.assert_allclose(numpy(turned), [[0.0, 0.0, 1.0, 4.0]], atol=1e-5)
    shifted = bb.affine_transform(box, 0.0, 0.5, 0.25, 1.0, 0.0, 0.0, height=5, width=5)
    np.testing.assert_allclose(numpy(shifted), [[2.0, 1.0, 6.0, 2.0]], atol=1e-5)


def test_affine_transform_takes_per_image_bfloat16_tensors():
    # Per-image values given as bfloat16 tensors (a bfloat16 augmentation pipeline); 90 and 0.5
    # are bfloat16 numbers exactly, so the result is the float32 one.
    box = np.array([[[0.0, 0.0, 4.0, 1.0]], [[0.0, 0.0, 4.0, 1.0]]])
    angle = torch.tensor([90.0, 0.0], dtype=torch.bfloat16)
    shift = torch.tensor([0.0, 0.5], dtype=torch.bfloat16)
    moved = bb.affine_transform(box, angle, shift, 0.0, 1.0, 0.0, 0.0, height=5, width=5)
    assert moved.dtype == torch.bfloat16  # Keras computes in the angle's dtype
    np.testing.assert_allclose(
        numpy(moved.float()), [[[0.0, 0.0, 1.0, 4.0]], [[2.0, 0.0, 6.0, 1.0]]], atol=1e-2
    )


@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
@pytest.mark.parametrize("variance", [None, [0.1, 0.1, 0.2, 0.2]])
@pytest.mark.parametrize("box_format", ["xyxy", "center_xywh", "rel_yxyx"])
def test_encode_and_decode_match_keras_and_invert(encoding, variance, box_format):
    anchors = np.array([[0.0, 0.0, 40.0, 40.0], [50.0, 10.0, 90.0, 70.0]], "float32")
    boxes = boxes_in(box_format)
    shape = (HEIGHT, WIDTH, 3)
    common = dict(anchor_format="xyxy", box_format=box_format, variance=variance,
                  image_shape=shape)  # fmt: skip
    expected = reference.keras_bounding_boxes(
        "encode_box_to_deltas", anchors, boxes, encoding_format=encoding, **common
    )
    deltas = bb.encode_box_to_deltas(anchors, boxes, encoding_format=encoding, **common)
    np.testing.assert_allclose(numpy(deltas), expected, rtol=1e-5, atol=1e-5)
    decoded_keras = reference.keras_bounding_boxes(
        "decode_deltas_to_boxes",
        anchors,
        expected,
        encoded_format=encoding,
        tensor_args=(1,),
        **common,
    )
    decoded = bb.decode_deltas_to_boxes(anchors, deltas, encoded_format=encoding, **common)
    np.testing.assert_allclose(numpy(decoded), decoded_keras, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(numpy(decoded), boxes, rtol=1e-5, atol=1e-5)


def test_decode_dict_of_levels_matches_keras():
    anchors = {"P3": np.array([[0.0, 0.0, 8.0, 8.0]]), "P4": np.array([[0.0, 0.0, 16.0, 32.0]])}
    deltas = {"P3": np.array([[0.5, -0.25, 0.1, 0.0]]), "P4": np.array([[0.0, 1.0, -0.2, 0.3]])}
    expected = reference.keras_bounding_boxes(
        "decode_deltas_to_boxes",
        anchors,
        deltas,
        anchor_format="xyxy",
        box_format="xywh",
        tensor_args=(1,),
    )
    ours = bb.decode_deltas_to_boxes(anchors, deltas, anchor_format="xyxy", box_format="xywh")
    assert sorted(ours) == ["P3", "P4"]
    for level in ours:
        np.testing.assert_allclose(numpy(ours[level]), expected[level], rtol=1e-5, atol=1e-5)


def test_encode_by_hand_and_errors():
    deltas = bb.encode_box_to_deltas(
        [[0.0, 0.0, 10.0, 20.0]], [[5.0, 0.0, 15.0, 40.0]], "xyxy", "xyxy", "center_xywh"
    )
    # centres (5, 10) -> (10, 20): offsets 5/10, 10/20; sizes 10x20 -> 10x40: log 1, log 2.
    np.testing.assert_allclose(numpy(deltas), [[0.5, 0.5, 0.0, np.log(2.0)]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"`variance` of length 4; received variance=\[1.0"):
        bb.encode_box_to_deltas(XYXY[0], XYXY[0], "xyxy", "xyxy", variance=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"`encoded_format` in .*received encoded_format='xyxy'"):
        bb.decode_deltas_to_boxes(XYXY[0], XYXY[0], "xyxy", "xyxy", encoded_format="xyxy")
