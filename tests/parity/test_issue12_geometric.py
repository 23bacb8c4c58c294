"""RandomShear and RandomPerspective against Keras 3, given the same shears / corner points,
and their random behaviour (seed, inference identity, zero-size transforms)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing import image_ops
from lamina.layers.preprocessing.geometric_augmentation import (
    homographies,
    perspective_sample,
    shear_matrices,
)
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

X = np.random.default_rng(0).random((2, 7, 9, 3)).astype("float32") * 255


def _nchw(x):
    return torch.tensor(x).permute(0, 3, 1, 2)


# "wrap" is left out: image_ops.affine_sample's wrap (shared with RandomRotation) differs from
# Keras's map_coordinates wrap; see the report.
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest"])
def test_shear_matches_keras(fill_mode):
    shears = torch.tensor([[0.3, -0.2], [-0.1, 0.4]])
    want = keras.layers.RandomShear(0.5, 0.5, fill_mode=fill_mode, fill_value=3.0).transform_images(
        torch.tensor(X), {"shear_factor": shears, "input_shape": X.shape}, training=True
    )
    matrices = shear_matrices(shears[:, 0], shears[:, 1], 7, 9)
    got = image_ops.affine_sample(_nchw(X), matrices, fill_mode, 3.0, "bilinear")
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).numpy(), want.numpy(), atol=1e-3)


def test_perspective_matches_keras():
    corners = torch.tensor([[0.0, 0.0], [8, 0], [0, 6], [8, 6]]).expand(2, 4, 2)
    moves = torch.tensor(
        np.random.default_rng(1).uniform(-0.2, 0.2, (2, 4, 2)), dtype=torch.float32
    )
    moved = corners + corners * moves
    transformation = {
        "start_points": corners,
        "end_points": moved,
        "apply_perspective": torch.tensor([True, True]),
        "input_shape": X.shape,
    }
    want = keras.layers.RandomPerspective(fill_value=2.0).transform_images(
        torch.tensor(X), transformation, training=True
    )
    got = perspective_sample(_nchw(X), homographies(corners, moved), 2.0)
    np.testing.assert_allclose(got.permute(0, 2, 3, 1).numpy(), want.numpy(), atol=1e-3)


@pytest.mark.parametrize(
    "name, config",
    [("RandomShear", {"x_factor": 0.3, "y_factor": 0.2}), ("RandomPerspective", {"scale": 0.5})],
)
def test_geometric_layers_seed_inference_and_config(name, config):
    x = torch.tensor(X)
    layer = getattr(layers, name)(**config, seed=4)
    assert torch.equal(layer(x, training=False), x)
    first = layer(x, training=True)
    torch.testing.assert_close(getattr(layers, name)(**config, seed=4)(x, training=True), first)
    keys = set(getattr(keras.layers, name)(**config).get_config()) - {"dtype"}
    assert keys <= set(layer.get_config())


def test_zero_shear_and_zero_scale_leave_images_unchanged():
    x = torch.tensor(X)
    torch.testing.assert_close(layers.RandomShear(seed=0)(x, training=True), x, atol=1e-3, rtol=0)
    still = layers.RandomPerspective(factor=(1.0, 1.0), scale=0.0, seed=0)(x, training=True)
    torch.testing.assert_close(still, x, atol=1e-3, rtol=0)
