"""Bounding boxes and segmentation masks through RandomCrop, RandomShear, RandomPerspective,
RandAugment, AugMix and MixUp. Parity: Keras's drawn transformation, fed to lamina, gives
Keras's boxes (labels of boxes pushed out of the image included) and masks, where Keras's own
are right; and for every geometric layer, a box drawn around a masked rectangle still encloses
it afterwards."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.utils.bounding_boxes.box_formats import convert_format
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

SQUARE = np.random.default_rng(0).random((3, 8, 8, 3)).astype("float32") * 255
# Inside, across an edge, in a corner (pushed out by most draws), and the whole image.
CORNERS = np.array(
    [
        [[1.0, 2.0, 5.0, 6.0], [-2.0, 3.0, 3.0, 7.0]],
        [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 8.0, 8.0]],
        [[7.0, 7.0, 8.0, 8.0], [2.0, 1.0, 7.0, 4.0]],
    ]
)
LABELS = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


def _boxes(fmt, height=8, width=8):
    """Fresh CORNERS in `fmt` for each side: Keras converts the given dict in place."""
    boxes = convert_format(torch.tensor(CORNERS), "xyxy", fmt, height, width)
    return {"boxes": boxes, "labels": torch.tensor(LABELS)}


def _close(got, want):
    np.testing.assert_allclose(got["boxes"].cpu().numpy(), want["boxes"].numpy(), atol=1e-4)
    np.testing.assert_array_equal(got["labels"].cpu().numpy(), want["labels"].numpy())


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy", "center_xywh"])
@pytest.mark.parametrize(
    "name, args, config",
    [
        ("RandomShear", (0.5, 0.0), {}),
        ("RandomShear", (0.0, 0.5), {}),
        ("RandomShear", (0.4, 0.4), {}),
        ("RandomPerspective", (), {"scale": 0.8}),
    ],
)
def test_shear_and_perspective_boxes_follow_kerass_draw(name, args, config, fmt):
    theirs = getattr(keras.layers, name)(*args, **config, bounding_box_format=fmt, seed=3)
    transformation = theirs.get_random_transformation(SQUARE, training=True)
    want = theirs.transform_bounding_boxes(_boxes(fmt), transformation)
    if name == "RandomPerspective":  # Keras hands its boxes back in xyxy, whatever the format
        want = convert_format(want, "xyxy", fmt, 8, 8)
    ours = getattr(layers, name)(*args, **config, bounding_box_format=fmt)
    _close(ours.transform_bounding_boxes(_boxes(fmt), transformation), want)


def test_random_crop_boxes_follow_kerass_window():
    # Keras shifts x by the window's top and y by its left: they agree when the two are equal.
    theirs = keras.layers.RandomCrop(5, 5, bounding_box_format="xyxy")
    window = (torch.tensor(2, dtype=torch.int32), torch.tensor(2, dtype=torch.int32))
    inside = {"boxes": torch.tensor([[[2.0, 3.0, 6.0, 7.0]]]), "labels": torch.tensor([[1.0]])}
    want = theirs.transform_bounding_boxes(copy.deepcopy(inside), window)
    ours = layers.RandomCrop(5, 5, bounding_box_format="xyxy")
    _close(ours.transform_bounding_boxes(copy.deepcopy(inside), window), want)


# RandAugment's operations, as indices into Keras's list, with at most one geometric one: Keras
# moves boxes in its list's order, not the images' (lamina follows the images), and on torch its
# RandomRotation changes its matrix in place at each call, so a second call moves masks anew.
CHOICES = [[0, 5], [3, 1], [2, 9], [7, 0, 4]]


@pytest.mark.parametrize("choices", CHOICES)
def test_rand_augment_moves_boxes_and_masks_as_kerass_draw(choices):
    theirs = keras.layers.RandAugment(
        num_ops=len(choices), interpolation="nearest", bounding_box_format="xyxy", seed=4
    )
    transformation = theirs.get_random_transformation(SQUARE, training=True)
    transformation["layer_idxes"] = torch.tensor(choices)
    ours = layers.RandAugment(
        num_ops=len(choices), interpolation="nearest", bounding_box_format="xyxy"
    )
    masks = torch.tensor(np.random.default_rng(1).integers(0, 4, (3, 8, 8, 1)), dtype=torch.float32)
    _close(
        ours.transform_bounding_boxes(_boxes("xyxy"), copy.deepcopy(transformation)),
        theirs.transform_bounding_boxes(_boxes("xyxy"), copy.deepcopy(transformation)),
    )
    want = theirs.transform_segmentation_masks(masks.clone(), copy.deepcopy(transformation))
    got = ours.transform_segmentation_masks(masks.clone(), copy.deepcopy(transformation))
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy())
    # Keras's own RandAugment images drift (its RandomBrightness adds in place to the images it
    # is given, chosen or not): the reference is its chosen operations, applied in turn.
    want = torch.tensor(SQUARE)
    for choice in choices:
        name = theirs._AUGMENT_LAYERS[choice]
        step = copy.deepcopy(transformation["transforms"][name])
        want = getattr(theirs, name).transform_images(want.clone(), step)
    got = ours.transform_images(torch.tensor(SQUARE), copy.deepcopy(transformation))
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-3)


# Keras's Equalization on torch warns from inside its own code (a 0-d Tensor.T).
@pytest.mark.filterwarnings("ignore:(?s).*Tensor.T is deprecated:UserWarning")
@pytest.mark.parametrize("python_seed", [0, 1, 2])
def test_aug_mix_mixes_masks_and_keeps_boxes_as_kerass_draw(python_seed):
    state = random.getstate()
    random.seed(python_seed)  # Keras picks AugMix's operations with Python's random module
    try:
        theirs = keras.layers.AugMix(interpolation="nearest", bounding_box_format="xyxy", seed=4)
        transformation = theirs.get_random_transformation(SQUARE, training=True)
    finally:
        random.setstate(state)
    ours = layers.AugMix(interpolation="nearest", bounding_box_format="xyxy")
    masks = torch.tensor(np.random.default_rng(1).integers(0, 4, (3, 8, 8, 1)), dtype=torch.float32)
    want = theirs.transform_segmentation_masks(masks.clone(), copy.deepcopy(transformation))
    got = ours.transform_segmentation_masks(masks.clone(), copy.deepcopy(transformation))
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-5)
    want = theirs.transform_images(torch.tensor(SQUARE), copy.deepcopy(transformation))
    got = ours.transform_images(torch.tensor(SQUARE), copy.deepcopy(transformation))
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-3)
    _close(ours.transform_bounding_boxes(_boxes("xyxy"), transformation), _boxes("xyxy"))


def test_policy_transformations_have_kerass_keys():
    images = torch.tensor(SQUARE)
    want = keras.layers.RandAugment(seed=1).get_random_transformation(images)
    got = layers.RandAugment(seed=1).get_random_transformation(images)
    assert set(got) == set(want) and len(got["layer_idxes"]) == len(want["layer_idxes"])
    assert set(got["transforms"]) <= set(want["transforms"])  # only the chosen ones here
    want = keras.layers.AugMix(seed=1).get_random_transformation(images)
    got = layers.AugMix(seed=1, chain_depth=5).get_random_transformation(images)
    assert set(got) == set(want) and len(got["chain_transforms"]) == 3
    steps = [step for chain in got["chain_transforms"] for step in chain]
    assert steps and all(set(step) == {"layer_name", "transformation"} for step in steps)


def test_policies_move_masks_and_boxes_in_a_call():
    images = torch.tensor(SQUARE)
    masks = torch.randint(0, 3, (3, 8, 8, 1))
    data = {"images": images, "segmentation_masks": masks, "bounding_boxes": _boxes("xyxy")}
    out = layers.AugMix(bounding_box_format="xyxy", seed=1)(data)
    assert out["segmentation_masks"].dtype == torch.float32  # soft masks, as MixUp's
    _close(out["bounding_boxes"], _boxes("xyxy"))
    layer = layers.RandAugment(num_ops=3, interpolation="nearest", seed=2)
    out = layer({"images": images, "segmentation_masks": masks})
    assert out["segmentation_masks"].dtype == masks.dtype
    assert out["segmentation_masks"].shape == masks.shape


@pytest.mark.parametrize(
    "name, args",
    [("RandomCrop", (6, 6)), ("RandomShear", (0.3, 0.3)), ("RandomPerspective", ())]
    + [("RandAugment", ()), ("MixUp", ())],
)
def test_one_images_boxes_go_through(name, args):
    layer = getattr(layers, name)(*args, bounding_box_format="xyxy", seed=3)
    boxes = {key: value[0] for key, value in _boxes("xyxy").items()}
    out = layer({"images": torch.tensor(SQUARE[0]), "bounding_boxes": boxes})["bounding_boxes"]
    assert out["boxes"].ndim == 2 and out["labels"].shape == out["boxes"].shape[:1]


# The lit rectangle spans rows 3..8 and columns 4..12 of a 12 x 16 image (not square: Keras's
# shear moves boxes in relative coordinates, which only fits square images).
LIT = (4.0, 3.0, 12.0, 9.0)
ALIGNED = [
    ("RandomFlip", (), {}, 0.0),
    ("RandomTranslation", (0.2, 0.2), {"fill_mode": "constant"}, 1.0),
    ("RandomZoom", (0.3,), {"fill_mode": "constant"}, 1.0),
    ("RandomRotation", (0.1,), {"fill_mode": "constant"}, 1.5),
    ("RandomShear", (0.3, 0.0), {"fill_mode": "constant"}, 1.0),
    ("RandomShear", (0.0, 0.3), {"fill_mode": "constant"}, 1.0),
    ("RandomPerspective", (), {"scale": 0.5}, 1.5),
    ("RandomCrop", (8, 10), {}, 0.0),
    ("RandomCrop", (6, 6), {"training": False}, 1.0),
    ("CenterCrop", (8, 10), {}, 0.0),
    ("Resizing", (6, 8), {}, 1.0),
    ("RandAugment", (), {"num_ops": 3, "value_range": (0, 1)}, 1.5),
]


@pytest.mark.parametrize("name, args, config, tolerance", ALIGNED)
def test_boxes_stay_on_the_content_they_enclose(name, args, config, tolerance):
    # The content is a mask of the rectangle: masks follow the images' geometry, and, unlike
    # the images, the colour operations of RandAugment leave them alone.
    config = dict(config)
    training = config.pop("training", True)
    if name not in ("CenterCrop", "Resizing"):
        config["seed"] = 7
    if name not in ("RandomFlip", "RandomCrop", "CenterCrop"):
        config["interpolation"] = "nearest"
    masks = torch.zeros(4, 12, 16, 1, dtype=torch.int64)
    masks[:, 3:9, 4:12] = 1
    boxes = {"boxes": torch.tensor([[LIT]] * 4), "labels": torch.ones(4, 1)}
    for fmt in ("xyxy", "rel_xyxy"):
        layer = getattr(layers, name)(*args, **config, bounding_box_format=fmt)
        if name == "RandAugment":  # reflected borders would copy the rectangle
            for operation in (layer.random_shear, layer.random_translation, layer.random_rotation):
                operation.fill_mode = "constant"
        given = convert_format(boxes, "xyxy", fmt, 12, 16)
        data = {"images": masks.float(), "segmentation_masks": masks, "bounding_boxes": given}
        out = layer(data, training=training)
        height, width = out["segmentation_masks"].shape[1:3]
        moved = convert_format(out["bounding_boxes"], fmt, "xyxy", height, width)["boxes"][:, 0]
        for mask, box in zip(out["segmentation_masks"][..., 0], moved, strict=True):
            rows, cols = torch.nonzero(mask, as_tuple=True)
            lit = torch.stack([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]).float()
            assert (box - lit).abs().max() <= tolerance, (fmt, box.tolist(), lit.tolist())


def test_mix_up_gives_each_image_its_partners_boxes_too():
    images = torch.tensor(np.random.default_rng(2).random((4, 8, 8, 3)), dtype=torch.float32)
    boxes = torch.tensor(np.random.default_rng(3).random((4, 2, 4)) * 8, dtype=torch.float32)
    labels = torch.arange(8.0).reshape(4, 2)
    theirs = keras.layers.MixUp(bounding_box_format="xyxy", seed=3)
    transformation = theirs.get_random_transformation(images)
    want = theirs.transform_bounding_boxes(
        {"boxes": boxes.clone(), "labels": labels.clone()}, transformation
    )
    ours = layers.MixUp(bounding_box_format="xyxy")
    got = ours.transform_bounding_boxes({"boxes": boxes, "labels": labels}, transformation)
    np.testing.assert_array_equal(got["boxes"].numpy(), want["boxes"].numpy())
    # Keras joins the labels along the batch axis; each box keeps its own label here.
    order = transformation["permutation_order"]
    np.testing.assert_array_equal(got["labels"].numpy(), torch.cat([labels, labels[order]], 1))
