"""RandAugment, AugMix and MaxNumBoundingBoxes: Keras's config keys; MaxNumBoundingBoxes's
padding and truncation against Keras; the policies by seed, inference identity and range."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from tests.parity.reference import keras

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("count", [2, 5])
def test_max_num_bounding_boxes_matches_keras(count):
    rng = np.random.default_rng(0)
    data = {
        "images": rng.random((2, 4, 4, 3)).astype("float32"),
        "bounding_boxes": {
            "boxes": rng.random((2, count, 4)).astype("float32"),
            "labels": rng.integers(0, 5, (2, count)).astype("float32"),
        },
    }
    want = keras.layers.MaxNumBoundingBoxes(3, fill_value=-2, bounding_box_format="xyxy")(data)
    got = layers.MaxNumBoundingBoxes(3, fill_value=-2, bounding_box_format="xyxy")(
        {
            "images": torch.tensor(data["images"]),
            "bounding_boxes": {k: torch.tensor(v) for k, v in data["bounding_boxes"].items()},
        }
    )
    for key in ("boxes", "labels"):
        np.testing.assert_allclose(
            got["bounding_boxes"][key].numpy(), np.asarray(want["bounding_boxes"][key])
        )
    np.testing.assert_array_equal(got["images"].numpy(), data["images"])


@pytest.mark.parametrize("count", [2, 5])
def test_max_num_bounding_boxes_takes_one_images_boxes_as_keras(count):
    boxes = {"boxes": torch.rand(count, 4), "labels": torch.arange(float(count))}
    data = {"images": torch.rand(4, 4, 3), "bounding_boxes": boxes}
    want = keras.layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")(data)
    got = layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")(data)
    for key in ("boxes", "labels"):
        np.testing.assert_allclose(
            got["bounding_boxes"][key].numpy(), np.asarray(want["bounding_boxes"][key])
        )


@pytest.mark.parametrize(
    "name, config",
    [
        ("RandAugment", {}),
        ("RandAugment", {"num_ops": 3, "factor": 0.8}),
        ("AugMix", {}),
        ("AugMix", {"all_ops": False, "num_chains": 2, "chain_depth": 2}),
    ],
)
def test_policies_seed_inference_range_and_config(name, config):
    x = torch.tensor(np.random.default_rng(1).random((4, 8, 8, 3)).astype("float32") * 255)
    layer = getattr(layers, name)(**config, seed=7)
    assert torch.equal(layer(x, training=False), x)
    first = layer(x, training=True)
    again = getattr(layers, name)(**config, seed=7)(x, training=True)
    torch.testing.assert_close(first, again)
    assert first.shape == x.shape
    assert float(first.min()) >= -1e-3 and float(first.max()) <= 255 + 1e-3
    keys = set(getattr(keras.layers, name)(**config).get_config()) - {"dtype"}
    assert keys <= set(layer.get_config())


def test_augmix_changes_images_but_stays_close_to_them():
    x = torch.tensor(np.random.default_rng(2).random((16, 8, 8, 3)).astype("float32") * 255)
    out = layers.AugMix(seed=0)(x, training=True)
    assert not torch.equal(out, x)
    # a convex mix with the input: the mean change is a fraction of the pixel spread
    assert (out - x).abs().mean().item() < x.std().item()
