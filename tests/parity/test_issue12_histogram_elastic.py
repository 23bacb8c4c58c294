"""ContrastLimitedAdaptiveHistogramEqualization and RandomElasticTransform against Keras 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing.clahe import clahe
from lamina.layers.preprocessing.elastic import displacement_sample
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

X = np.random.default_rng(0).random((2, 16, 12, 3)).astype("float32") * 255


@pytest.mark.parametrize("grid", [(8, 6), (2, 3), (1, 1)])
@pytest.mark.parametrize("clip_limit", [0.0, 2.0, 4.0, 40.0])
def test_clahe_matches_keras(grid, clip_limit):
    config = {"clip_limit": clip_limit, "tile_grid_size": grid}
    want = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**config)(X)
    got = layers.ContrastLimitedAdaptiveHistogramEqualization(**config)(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), np.asarray(want), atol=1e-3)


def test_clahe_pads_ragged_tiles_symmetrically():
    # Keras-on-torch pads with the edge value where NumPy's "symmetric" (Keras's documented
    # padding, TensorFlow's behaviour) mirrors; lamina mirrors. The padded image's equalization,
    # cropped, is what CLAHE of the ragged image gives.
    x = torch.tensor(X[:, :13, :11]).permute(0, 3, 1, 2)
    mirrored = torch.cat([x, x.flip(2)[:, :, :3]], dim=2)
    mirrored = torch.cat([mirrored, mirrored.flip(3)[:, :, :, :1]], dim=3)
    assert tuple(mirrored.shape[2:]) == (16, 12)
    torch.testing.assert_close(clahe(x, 4.0, (4, 4)), clahe(mirrored, 4.0, (4, 4))[:, :, :13, :11])


@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest"])
def test_displacement_sampling_matches_keras_map_coordinates(fill_mode):
    image = X[0, :, :, 0]
    rng = np.random.default_rng(3)
    dx, dy = (rng.normal(0, 2.5, image.shape).astype("float32") for _ in range(2))
    ys, xs = np.meshgrid(np.arange(16), np.arange(12), indexing="ij")
    want = keras.ops.image.map_coordinates(
        image, [ys + dy, xs + dx], order=1, fill_mode=fill_mode, fill_value=7.0
    )
    got = displacement_sample(
        torch.tensor(image)[None, None],
        torch.tensor(dx)[None],
        torch.tensor(dy)[None],
        fill_mode,
        7.0,
    )
    np.testing.assert_allclose(got[0, 0].numpy(), np.asarray(want), atol=1e-3)


def test_elastic_transform_seed_inference_config_and_identity_at_zero_scale():
    x = torch.tensor(X)
    config = {"factor": (1.0, 1.0), "scale": (0.5, 1.0)}
    layer = layers.RandomElasticTransform(**config, seed=2)
    assert torch.equal(layer(x, training=False), x)
    first = layer(x, training=True)
    again = layers.RandomElasticTransform(**config, seed=2)(x, training=True)
    torch.testing.assert_close(again, first)
    assert not torch.equal(first, x)
    assert float(first.min()) >= 0 and float(first.max()) <= 255
    still = layers.RandomElasticTransform(scale=0.0, seed=2)(x, training=True)
    assert torch.equal(still, x)
    for name in ("RandomElasticTransform", "ContrastLimitedAdaptiveHistogramEqualization"):
        keys = set(getattr(keras.layers, name)().get_config()) - {"dtype"}
        assert keys <= set(getattr(layers, name)().get_config())
