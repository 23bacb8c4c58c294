"""Keras 3's augmentation protocol on lamina: `get_random_transformation` then
`transform_images` / `transform_segmentation_masks` / `transform_bounding_boxes`, dict inputs
transformed with one draw, and a Keras-style subclass. Parity: Keras's transformation, fed to
lamina, gives Keras's output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing.geometric import keras_rotation_matrix
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

X = np.random.default_rng(0).random((3, 7, 9, 3)).astype("float32") * 255
BOXES = {
    "boxes": np.array([[[1.0, 2.0, 4.0, 5.0]], [[0.0, 0.0, 3.0, 6.0]], [[5.0, 1.0, 8.0, 3.0]]]),
    "labels": np.array([[1], [2], [3]]),
}

GEOMETRIC = [
    ("RandomFlip", ("horizontal",), {}),
    ("RandomFlip", ("vertical",), {}),
    ("RandomFlip", ("horizontal_and_vertical",), {}),
    ("RandomRotation", (0.2,), {"fill_mode": "constant"}),
    ("RandomRotation", (0.2,), {"fill_mode": "nearest"}),
    ("RandomZoom", (0.3, 0.2), {}),
    ("RandomZoom", ((-0.3, 0.4),), {"fill_mode": "constant"}),
    ("RandomTranslation", (0.2, 0.3), {"fill_mode": "constant"}),
    ("RandomTranslation", (0.2, 0.3), {"fill_mode": "nearest"}),
    ("RandomShear", (0.3, 0.2), {"fill_mode": "constant"}),
    ("RandomPerspective", (), {"scale": 0.4}),
]
# Its noise comes from each framework's own generator: no same-values comparison, but the same
# keys and masks that follow the images.
MOVING = GEOMETRIC + [("RandomElasticTransform", (), {"scale": 0.8})]


COLOUR = [
    ("RandomBrightness", (0.3,), {}),
    ("RandomContrast", (0.4,), {}),
    ("RandomGrayscale", (0.5,), {}),
    ("RandomInvert", (0.8,), {}),
    ("RandomPosterization", ((2, 6),), {}),
    ("Solarization", (0.5, 0.5), {}),
    ("RandomColorDegeneration", (0.6,), {}),
    ("RandomSharpness", (0.6,), {}),
    ("RandomHue", (0.6,), {}),
    ("RandomSaturation", (0.6,), {}),
    ("RandomGaussianBlur", (0.8,), {"sigma": 0.9}),
    ("RandomErasing", (0.8,), {}),
    ("RandomErasing", (0.8,), {"fill_value": 7.0}),
]


def _keras_draw(name, args, config, data=X):
    theirs = getattr(keras.layers, name)(*args, **config, seed=3)
    return theirs, theirs.get_random_transformation(data, training=True)


def _shapes(transformation):
    return {
        key: tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
        for key, value in transformation.items()
    }


@pytest.mark.parametrize("name, args, config", GEOMETRIC)
def test_kerass_transformation_gives_kerass_images(name, args, config):
    theirs, transformation = _keras_draw(name, args, config)
    want = theirs.transform_images(torch.tensor(X), transformation, training=True)
    ours = getattr(layers, name)(*args, **config)
    got = ours.transform_images(torch.tensor(X), transformation, training=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=2e-3)


@pytest.mark.parametrize("name, args, config", COLOUR)
def test_kerass_colour_transformation_gives_kerass_images(name, args, config):
    theirs, transformation = _keras_draw(name, args, config)
    want = theirs.transform_images(torch.tensor(X), transformation, training=True)
    ours = getattr(layers, name)(*args, **config)
    got = ours.transform_images(torch.tensor(X), transformation, training=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=2e-3)


@pytest.mark.parametrize("name, args, config", MOVING + COLOUR)
def test_transformation_has_kerass_keys_and_shapes(name, args, config):
    _, theirs = _keras_draw(name, args, config)
    ours = getattr(layers, name)(*args, **config, seed=3).get_random_transformation(X)
    if isinstance(theirs, torch.Tensor):  # RandomGrayscale's is the tensor itself
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        return
    want = _shapes(theirs)
    want.pop("rotation_matrix", None)  # left out of lamina's draw: see keras_rotation_matrix
    want.pop("seed", None)  # Keras's elastic noise seed: lamina draws the displacement instead
    got = {key: value for key, value in _shapes(ours).items() if key in want}
    assert got == want
    # lamina's independent vertical flips; the elastic displacement drawn with the rest.
    assert set(ours) - set(want) <= {"vertical_flips", "displacement"}


@pytest.mark.parametrize("name, args, config", MOVING)
def test_segmentation_masks_stay_aligned_with_images(name, args, config):
    # A mask that is the image's own first channel, thresholded: after the layer it must still
    # be (nearest-resampled) the threshold of the transformed image, wherever both are defined.
    images = torch.zeros(3, 8, 8, 1)
    images[:, 2:5, 1:4] = 1.0
    masks = images.to(torch.int64)
    if name != "RandomFlip":
        config = {**config, "interpolation": "nearest"}
    ours = getattr(layers, name)(*args, **config, seed=5)
    out = ours({"images": images, "segmentation_masks": masks, "labels": torch.arange(3)})
    assert out["segmentation_masks"].dtype == torch.int64
    assert torch.equal(out["labels"], torch.arange(3))
    torch.testing.assert_close(out["segmentation_masks"].float(), out["images"])


def test_random_crop_takes_kerass_window_and_crops_masks_alike():
    theirs = keras.layers.RandomCrop(4, 5, seed=3)
    transformation = theirs.get_random_transformation(X, training=True)
    want = theirs.transform_images(torch.tensor(X), transformation, training=True)
    ours = layers.RandomCrop(4, 5)
    got = ours.transform_images(torch.tensor(X), transformation, training=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy())
    images = torch.tensor(X)
    out = layers.RandomCrop(4, 5, seed=1)({"images": images, "segmentation_masks": images})
    torch.testing.assert_close(out["segmentation_masks"], out["images"])


@pytest.mark.parametrize(
    "name, args",
    [("Resizing", (4, 5)), ("CenterCrop", (4, 5)), ("Resizing", (14, 18))],
)
def test_sizing_layers_move_masks_as_kerass(name, args):
    masks = np.random.default_rng(1).integers(0, 4, (3, 7, 9, 1)).astype("float32")
    want = getattr(keras.layers, name)(*args).transform_segmentation_masks(
        torch.tensor(masks), None, training=True
    )
    got = getattr(layers, name)(*args).transform_segmentation_masks(torch.tensor(masks), None)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-4)


def test_center_crop_upsizes_masks_by_nearest():
    # Keras resizes masks bilinearly here, blending class ids; lamina keeps them ids.
    masks = torch.randint(0, 4, (3, 7, 9, 1))
    out = layers.CenterCrop(8, 9).transform_segmentation_masks(masks, None)
    assert out.shape == (3, 8, 9, 1) and out.dtype == masks.dtype
    assert set(out.unique().tolist()) <= set(masks.unique().tolist())


def test_masks_follow_kerass_transformation():
    theirs, transformation = _keras_draw("RandomRotation", (0.2,), {"fill_mode": "constant"})
    masks = np.random.default_rng(1).integers(0, 4, (3, 7, 9, 1)).astype("float32")
    want = theirs.transform_segmentation_masks(torch.tensor(masks), transformation, training=True)
    ours = layers.RandomRotation(0.2, fill_mode="constant")
    got = ours.transform_segmentation_masks(torch.tensor(masks), transformation, training=True)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-4)


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy", "xywh"])
@pytest.mark.parametrize(
    "name, args",
    [("RandomFlip", ("horizontal",)), ("RandomFlip", ("vertical",))]
    + [("RandomTranslation", (0.3, 0.3)), ("RandomZoom", (0.4, 0.3)), ("RandomRotation", (0.2,))],
)
def test_bounding_boxes_match_keras(name, args, fmt):
    if name == "RandomRotation" and fmt != "xyxy":
        pytest.skip("Keras's rotation reads any format's boxes as xyxy; lamina converts them")
    boxes = dict(BOXES)
    if fmt == "rel_xyxy":
        boxes["boxes"] = boxes["boxes"] / np.array([9, 7, 9, 7])
    if fmt == "xywh":
        corners = boxes["boxes"]
        boxes["boxes"] = np.concatenate([corners[..., :2], corners[..., 2:] - corners[..., :2]], -1)
    theirs, transformation = _keras_draw(name, args, {"bounding_box_format": fmt})

    def tensors():  # fresh ones for each side: Keras converts the given dict in place
        return {key: torch.tensor(value, dtype=torch.float32) for key, value in boxes.items()}

    want = theirs.transform_bounding_boxes(tensors(), transformation, training=True)
    ours = getattr(layers, name)(*args, bounding_box_format=fmt)
    got = ours.transform_bounding_boxes(tensors(), transformation, training=True)
    np.testing.assert_allclose(got["boxes"].cpu().numpy(), want["boxes"].numpy(), atol=1e-4)
    np.testing.assert_allclose(got["labels"].cpu().numpy(), want["labels"].numpy())


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
@pytest.mark.parametrize(
    "name, args, config",
    [
        ("Resizing", (4, 6), {}),
        ("Resizing", (4, 6), {"crop_to_aspect_ratio": True}),
        ("Resizing", (6, 3), {"crop_to_aspect_ratio": True}),
        ("Resizing", (4, 6), {"pad_to_aspect_ratio": True}),
        ("Resizing", (8, 4), {"pad_to_aspect_ratio": True}),
        ("CenterCrop", (4, 6), {}),
        ("CenterCrop", (8, 12), {}),
    ],
)
def test_sizing_layers_move_boxes_as_kerass(name, args, config, fmt):
    boxes = dict(BOXES, boxes=np.concatenate([BOXES["boxes"], np.zeros((3, 1, 4))], 1))
    boxes["labels"] = np.concatenate([BOXES["labels"], -np.ones((3, 1))], 1)
    if fmt == "rel_xyxy":
        boxes["boxes"] = boxes["boxes"] / np.array([9, 7, 9, 7])

    def tensors():  # fresh ones for each side: Keras converts the given dict in place
        return {key: torch.tensor(value, dtype=torch.float32) for key, value in boxes.items()}

    theirs = getattr(keras.layers, name)(*args, **config, bounding_box_format=fmt)
    ours = getattr(layers, name)(*args, **config, bounding_box_format=fmt)
    want = theirs.transform_bounding_boxes(tensors(), theirs.get_random_transformation(X))
    got = ours.transform_bounding_boxes(tensors(), ours.get_random_transformation(X))
    np.testing.assert_allclose(got["boxes"].cpu().numpy(), want["boxes"].numpy(), atol=1e-4)
    np.testing.assert_allclose(got["labels"].cpu().numpy(), want["labels"].numpy())


def test_dict_call_moves_boxes_with_the_images():
    layer = layers.RandomFlip("horizontal", bounding_box_format="xyxy", seed=0)
    images = torch.zeros(2, 4, 6, 1)
    images[:, :, :2] = 1.0  # the box [0, 0, 2, 4] covers the lit columns
    boxes = {"boxes": torch.tensor([[[0.0, 0.0, 2.0, 4.0]]] * 2), "labels": torch.ones(2, 1)}
    for _ in range(4):
        out = layer({"images": images, "bounding_boxes": boxes})
        for image, box in zip(out["images"], out["bounding_boxes"]["boxes"][:, 0], strict=True):
            x1, x2 = round(float(box[0])), round(float(box[2]))
            assert bool((image[:, x1:x2] == 1).all()) and float(image.sum()) == 8.0


def test_single_image_dict_and_missing_box_format():
    layer = layers.RandomRotation(0.1, seed=1)
    out = layer({"images": torch.rand(5, 5, 3), "segmentation_masks": torch.ones(5, 5, 1)})
    assert out["images"].shape == (5, 5, 3) and out["segmentation_masks"].shape == (5, 5, 1)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layer({"images": torch.rand(1, 5, 5, 3), "bounding_boxes": BOXES})
    with pytest.raises(NotImplementedError, match="bounding boxes"):  # as Keras's
        layers.RandomElasticTransform(bounding_box_format="xyxy").transform_bounding_boxes(
            BOXES, layers.RandomElasticTransform().get_random_transformation(X)
        )


def test_colour_layers_pass_labels_masks_and_boxes_through():
    layer = layers.RandomBrightness(0.5, bounding_box_format="xyxy", seed=2)
    masks = torch.randint(0, 3, (3, 7, 9, 1))
    boxes = {key: torch.tensor(value) for key, value in BOXES.items()}
    out = layer({"images": torch.tensor(X), "segmentation_masks": masks, "bounding_boxes": boxes})
    assert out["segmentation_masks"] is masks
    assert torch.equal(out["bounding_boxes"]["boxes"], boxes["boxes"])
    assert not torch.equal(out["images"], torch.tensor(X))


def test_seeded_draws_repeat_and_the_seed_argument_overrides():
    first = layers.RandomRotation(0.2, seed=7).get_random_transformation(X)["angle"]
    second = layers.RandomRotation(0.2, seed=7).get_random_transformation(X)["angle"]
    torch.testing.assert_close(first, second)
    layer = layers.RandomRotation(0.2, seed=7)
    a = layer.get_random_transformation(X, seed=11)["angle"]
    b = layer.get_random_transformation(X, seed=11)["angle"]
    torch.testing.assert_close(a, b)
    assert layer.get_random_transformation(X, training=False) is None


def _subclass(base):
    """The custom augmentation a Keras program writes: its own draw and its own image op."""

    class RandomInvertRows(base.layers.RandomFlip):
        def get_random_transformation(self, data, training=True, seed=None):
            images = data["images"] if isinstance(data, dict) else data
            shape = self.backend.core.shape(images)
            draws = self.backend.random.uniform((shape[0], 1, 1, 1), seed=self.generator)
            return {"invert": self.backend.numpy.less(draws, 0.5)}

        def transform_images(self, images, transformation, training=True):
            images = self.backend.cast(images, "float32")
            return self.backend.numpy.where(transformation["invert"], 255.0 - images, images)

        def transform_segmentation_masks(self, masks, transformation, training=True):
            return masks

    return RandomInvertRows


def test_a_keras_style_subclass_runs_on_lamina_as_on_keras():
    images = torch.tensor(X)
    masks = torch.randint(0, 3, (3, 7, 9, 1))
    for base in (keras, __import__("lamina")):
        layer = _subclass(base)(seed=4)
        out = layer({"images": images, "segmentation_masks": masks})
        out = {key: torch.as_tensor(np.asarray(value)) for key, value in out.items()}
        inverted = (out["images"] != images).flatten(1).any(1)
        expected = torch.where(inverted.reshape(-1, 1, 1, 1), 255.0 - images, images)
        torch.testing.assert_close(out["images"], expected)
        assert torch.equal(out["segmentation_masks"], masks)
        # Seeded like Keras's: the same seed draws the same stream on both.
        assert layer.generator is not None


def test_rotation_matrix_entry_is_kerass():
    theirs, transformation = _keras_draw("RandomRotation", (0.2,), {})
    matrix = keras_rotation_matrix(transformation["angle"], 7, 9)
    np.testing.assert_allclose(matrix.numpy(), transformation["rotation_matrix"].numpy(), atol=1e-5)


def test_attributes_read_as_kerass():
    pairs = [
        ("RandomTranslation", (0.1, (0.2, 0.3)), ("height_lower", "height_upper", "width_lower")),
        ("RandomTranslation", (0.1, (0.2, 0.3)), ("width_upper",)),
        ("RandomZoom", ((-0.1, 0.2),), ("height_lower", "height_upper")),
        ("RandomCrop", (3, 3), ("factor", "height_axis", "width_axis", "bounding_box_format")),
        ("RandomErasing", (), ("channel_axis", "height_axis", "width_axis")),
        ("Equalization", (), ("factor",)),
        ("MaxNumBoundingBoxes", (3,), ("factor", "data_format")),
    ]
    for name, args, attributes in pairs:
        for data_format in ("channels_last", "channels_first"):
            config = {} if name == "MaxNumBoundingBoxes" else {"data_format": data_format}
            theirs = getattr(keras.layers, name)(*args, **config)
            ours = getattr(layers, name)(*args, **config)
            for attribute in attributes:
                want, got = getattr(theirs, attribute), getattr(ours, attribute)
                assert want == got or tuple(want) == tuple(got), (name, attribute)


def test_policies_and_jitter_expose_their_operations():
    for name, config in [("RandAugment", {}), ("AugMix", {})]:
        theirs, ours = getattr(keras.layers, name)(**config), getattr(layers, name)(**config)
        for attribute in ("random_rotation", "random_brightness", "auto_contrast", "solarization"):
            want, got = getattr(theirs, attribute), getattr(ours, attribute)
            assert type(got).__name__ == type(want).__name__
        for attribute in ("random_rotation", "random_brightness", "random_contrast"):
            want, got = getattr(theirs, attribute), getattr(ours, attribute)
            assert tuple(got.factor) == pytest.approx(tuple(want.factor)), (name, attribute)
    assert not hasattr(layers.AugMix(all_ops=False), "random_brightness")
    assert not hasattr(keras.layers.AugMix(all_ops=False), "random_brightness")
    jitter = layers.RandomColorJitter(brightness_factor=0.2, hue_factor=0.1)
    assert isinstance(jitter.random_brightness, layers.RandomBrightness)
    assert isinstance(jitter.random_hue, layers.RandomHue) and jitter.random_contrast is None


def test_backend_and_generator_serve_a_subclass():
    for layer in (layers.Rescaling(1.0), layers.RandomFlip(seed=1), layers.Normalization()):
        assert layer.backend.name == "torch"
        assert torch.equal(layer.backend.numpy.flip(torch.arange(3), 0), torch.tensor([2, 1, 0]))
    flip = layers.RandomFlip(seed=1)
    twin = layers.RandomFlip(seed=1)
    draws = [flip.backend.random.uniform((4,), seed=f.generator) for f in (flip, twin)]
    torch.testing.assert_close(draws[0], draws[1])
    assert flip._get_seed_generator("torch") is flip.generator


def test_box_helpers_match_kerass():
    transform = torch.tensor([[1.2, 0.1, -2.0, 0.05, 0.9, 1.5, 0.0, 0.0]] * 3)
    theirs, ours = keras.layers.RandomZoom(0.2), layers.RandomZoom(0.2)
    for x, y in [(0, 0), (9, 7)]:
        want = theirs.get_transformed_x_y(x, y, transform)
        got = ours.get_transformed_x_y(x, y, transform)
        for w, g in zip(want, got, strict=True):
            torch.testing.assert_close(g, w)
    boxes = torch.tensor(BOXES["boxes"], dtype=torch.float32)
    edges = [torch.tensor([[6.0], [5.0], [7.0]]), torch.tensor([[1.0], [0.0], [2.0]])] * 2
    want = theirs.get_clipped_bbox({"boxes": boxes.clone()}, *edges)["boxes"]
    torch.testing.assert_close(ours.get_clipped_bbox({"boxes": boxes}, *edges)["boxes"], want)
    shifts = torch.tensor([[1.0], [-2.0], [0.5]]), torch.tensor([[0.0], [3.0], [-1.0]])
    theirs, ours = keras.layers.RandomTranslation(0.1, 0.1), layers.RandomTranslation(0.1, 0.1)
    want = theirs.get_shifted_bbox({"boxes": boxes.clone()}, *shifts)["boxes"]
    torch.testing.assert_close(ours.get_shifted_bbox({"boxes": boxes}, *shifts)["boxes"], want)
    assert layers.RandomElasticTransform().get_elastic_transform_params(
        30, 50, 0.7
    ) == pytest.approx(
        keras.layers.RandomElasticTransform().get_elastic_transform_params(30, 50, 0.7)
    )


def test_max_num_bounding_boxes_speaks_the_protocol():
    layer = layers.MaxNumBoundingBoxes(3)
    boxes = {key: torch.tensor(value) for key, value in BOXES.items()}
    padded = layer.transform_bounding_boxes(boxes, None)
    assert padded["boxes"].shape == (3, 3, 4) and padded["labels"][0].tolist() == [1, -1, -1]
    images = torch.tensor(X)
    assert layer.transform_images(images, None) is images
    assert layer.get_random_transformation(images) is None


@pytest.mark.parametrize("name", ["MixUp", "CutMix"])
def test_mixing_takes_kerass_transformation_for_images_and_labels(name):
    labels = np.eye(3, dtype="float32")
    theirs = getattr(keras.layers, name)(seed=2)
    transformation = theirs.get_random_transformation({"images": X, "labels": labels})
    ours = getattr(layers, name)()
    for method, data in [("transform_images", X), ("transform_labels", labels)]:
        want = getattr(theirs, method)(torch.tensor(data), transformation, training=True)
        got = getattr(ours, method)(torch.tensor(data), transformation, training=True)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-4)
    drawn = getattr(layers, name)(seed=2).get_random_transformation(X)
    assert _shapes(drawn) == _shapes(transformation)


def test_cutmix_pastes_masks_with_their_images():
    images = torch.tensor(X)
    out = layers.CutMix(seed=5)({"images": images, "segmentation_masks": images.long()})
    torch.testing.assert_close(out["segmentation_masks"], out["images"].long())
