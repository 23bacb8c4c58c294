"""Normalization's statistics read as Keras's: `layer.mean` / `layer.variance` in the inputs'
broadcast shape, the variables (`adapt_mean`, `adapt_variance`, `count`) and get_weights() in the
kept axes' shape; adapted models go through `.keras` files both ways with the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras

IMAGES = np.random.default_rng(0).normal(2.0, 3.0, (6, 4, 5, 3)).astype("float32")


def facts(layer):
    return {
        "mean": tuple(layer.mean.shape),
        "variance": tuple(layer.variance.shape),
        "weights": [np.shape(w) for w in layer.get_weights()],
        "paths": [w.path.split("/")[-1] for w in layer.weights],
    }


@pytest.mark.parity
@pytest.mark.parametrize(
    "config", [{}, {"axis": (1, 3)}, {"axis": None}, {"axis": 2}], ids=["last", "1-3", "none", "2"]
)
def test_adapted_statistics_have_keras_shapes(config):
    reference, ours = keras.layers.Normalization(**config), lamina.layers.Normalization(**config)
    reference.adapt(IMAGES)
    ours.adapt(IMAGES)
    assert facts(ours) == facts(reference)
    assert tuple(ours.adapt_mean.shape) == tuple(reference.adapt_mean.shape)
    np.testing.assert_allclose(ours.mean.cpu().numpy(), reference.mean.cpu().numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        lamina.ops.convert_to_numpy(ours(IMAGES)),
        keras.ops.convert_to_numpy(reference(IMAGES)),
        atol=1e-5,
    )


@pytest.mark.parity
@pytest.mark.parametrize(
    "config",
    [{"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, {"mean": 2.0, "variance": 4.0}],
    ids=["per-channel", "scalar"],
)
def test_given_statistics_have_keras_shapes(config):
    reference, ours = keras.layers.Normalization(**config), lamina.layers.Normalization(**config)
    assert ours.mean is None and reference.mean is None  # not built yet
    want = keras.ops.convert_to_numpy(reference(IMAGES))
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours(IMAGES)), want, atol=1e-6)
    assert (tuple(ours.mean.shape), ours.get_weights()) == (tuple(reference.mean.shape), [])
    assert tuple(ours.variance.shape) == tuple(reference.variance.shape) == (1, 1, 1, 3)


def test_the_broadcast_mean_follows_set_weights():
    layer = lamina.layers.Normalization()
    layer.build((None, 2, 3))
    layer.set_weights([np.array([1.0, 2.0, 3.0]), np.array([4.0, 4.0, 4.0]), np.array(0)])
    assert layer.mean.tolist() == [[[1.0, 2.0, 3.0]]]
    assert lamina.ops.convert_to_numpy(layer(np.full((1, 2, 3), 3.0))).tolist() == [
        [[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]]
    ]


@pytest.mark.parity
def test_adapted_models_cross_keras_files_both_ways(tmp_path):
    def build(L, M):
        normalize = L.Normalization()
        normalize.adapt(IMAGES)
        return M.Sequential([L.Input((4, 5, 3)), normalize, L.Flatten(), L.Dense(2)])

    reference = build(keras.layers, keras)
    reference.save(tmp_path / "theirs.keras")
    ours = lamina.models.load_model(tmp_path / "theirs.keras")
    want = keras.ops.convert_to_numpy(reference.predict(IMAGES, verbose=0))
    np.testing.assert_allclose(ours.predict(IMAGES, verbose=0), want, atol=1e-5)
    assert tuple(ours.layers[0].mean.shape) == (1, 1, 1, 3)

    ours = build(lamina.layers, lamina)
    ours.save(tmp_path / "ours.keras")
    theirs = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(theirs.predict(IMAGES, verbose=0)),
        ours.predict(IMAGES, verbose=0),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(theirs.layers[0].mean), ours.layers[0].mean.cpu().numpy()
    )


def _image_batches(base):
    """A PyDataset class of `base` (Keras's or lamina's) serving IMAGES in batches of two."""

    class Batches(base):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return IMAGES[2 * index : 2 * index + 2]

    return Batches()


@pytest.mark.parity
def test_adapt_on_a_py_dataset_reads_one_pass_as_keras():
    """A PyDataset iterates one pass, as Keras's (lamina's looped for ever through
    __getitem__), so adapt() on it ends with the statistics of that pass. (Keras's own adapt
    on a PyDataset needs TensorFlow, so the statistics are checked against NumPy.)"""
    theirs, ours = _image_batches(keras.utils.PyDataset), _image_batches(lamina.utils.PyDataset)
    assert len(list(ours)) == len(list(theirs)) == 3
    layer = lamina.layers.Normalization()
    layer.adapt(ours)
    np.testing.assert_allclose(
        layer.mean.cpu().numpy().ravel(), IMAGES.mean(axis=(0, 1, 2)), rtol=1e-5
    )
    np.testing.assert_allclose(
        layer.variance.cpu().numpy().ravel(), IMAGES.var(axis=(0, 1, 2)), rtol=1e-4
    )


@pytest.mark.parity
def test_adapt_to_data_of_another_shape_is_refused_as_keras():
    """Both refuse with a ValueError naming the incompatible shape (lamina raised torch's
    RuntimeError from a reshape)."""
    data = np.random.default_rng(1).random((10, 3))
    for framework in (keras, lamina):
        layer = framework.layers.Normalization(axis=-1)
        layer.build((10, 5))
        with pytest.raises(ValueError, match="incompatible shape"):
            layer.adapt(data)
