"""BatchNormalization(renorm=True), batch renormalization, against Keras 3: the same weights in,
the same outputs, gradients and updated statistics out over several training steps; the same
inference; the same weights file; and the attributes Keras answers before build."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina
from lamina.distribution import sync_batchnorm
from tests.parity.reference import assert_call_matches_keras

pytestmark = pytest.mark.parity

CONFIG = {
    "renorm": True,
    "renorm_clipping": {"rmin": 0.8, "rmax": 1.25, "dmax": 0.3},
    "renorm_momentum": 0.7,
    "momentum": 0.8,
}


def built_pair(config, shape, seed=0):
    """Keras's layer and lamina's, built on `shape`, holding the same random weights (moving
    statistics and renorm statistics away from their initial values, so clipping bites)."""
    theirs = keras.layers.BatchNormalization(**config)
    theirs.build(shape)
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, size=w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    ours = lamina.layers.BatchNormalization(**config)
    ours.build(shape)
    return theirs, ours


@pytest.mark.parametrize(
    "config,shape",
    [
        (CONFIG, (16, 3)),
        ({**CONFIG, "axis": 1}, (4, 3, 5, 5)),
        ({"renorm": True, "scale": False, "center": False}, (6, 4, 2)),
        ({"renorm": True, "renorm_clipping": {"rmax": 1.1}}, (8, 5)),
    ],
    ids=["dense", "channels-first", "no-gamma-beta", "rmax-only"],
)
def test_training_steps_match_keras(config, shape):
    theirs, ours = built_pair(config, shape)
    rng = np.random.default_rng(1)
    batches = [(rng.standard_normal(shape) * 2 + 0.5).astype("float32") for _ in range(3)]
    # The first step with gradients (input, gamma, beta), then two more: statistics must track.
    assert_call_matches_keras(theirs, ours, [batches[0]], {"training": True})
    for batch in batches[1:]:
        expected = theirs(torch.tensor(batch), training=True)
        got = ours(torch.tensor(batch), training=True)
        torch.testing.assert_close(got.detach(), expected.detach().cpu(), atol=1e-5, rtol=1e-5)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=1e-5)
    expected = theirs(torch.tensor(batches[0]), training=False)
    torch.testing.assert_close(ours(torch.tensor(batches[0])), expected.cpu(), atol=1e-5, rtol=1e-5)


def test_fit_with_renorm_matches_keras():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((24, 4)).astype("float32")
    y = rng.standard_normal((24, 1)).astype("float32")

    def model(k):
        net = k.Sequential(
            [
                k.Input((4,)),
                k.layers.Dense(3),
                k.layers.BatchNormalization(**CONFIG),
                k.layers.Dense(1),
            ]
        )
        net.compile(optimizer=k.optimizers.SGD(0.1), loss="mse")
        return net

    theirs, ours = model(keras), model(lamina)
    ours.set_weights(theirs.get_weights())
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5, rtol=1e-5
    )


def test_renorm_weights_file_moves_between_keras_and_lamina(tmp_path):
    theirs, _ = built_pair(CONFIG, (8, 3), seed=4)
    path = str(tmp_path / "renorm.weights.h5")
    model_theirs = keras.Sequential([keras.Input((3,)), theirs])
    model_theirs.save_weights(path)
    model_ours = lamina.Sequential([lamina.Input((3,)), lamina.layers.BatchNormalization(**CONFIG)])
    model_ours.load_weights(path)
    names = [w.path.rsplit("/", 1)[-1] for w in model_ours.layers[0].weights]
    assert names == [w.path.rsplit("/", 1)[-1] for w in theirs.weights]
    for mine, reference in zip(model_ours.get_weights(), model_theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, reference)


def test_attributes_before_build_and_config_as_keras():
    for config in ({}, CONFIG, {"renorm": True}):
        ours = lamina.layers.BatchNormalization(**config)
        theirs = keras.layers.BatchNormalization(**config)
        for attribute in ("gamma", "beta", "moving_mean", "moving_variance"):
            assert getattr(ours, attribute) is None is getattr(theirs, attribute)
        for attribute in ("renorm", "renorm_clipping", "renorm_momentum"):
            assert getattr(ours, attribute) == getattr(theirs, attribute)
        mine, reference = ours.get_config(), theirs.get_config()
        assert set(mine) == set(reference)
        for key in ("renorm", "renorm_clipping", "renorm_momentum", "synchronized"):
            assert mine[key] == reference[key]


@pytest.mark.parametrize(
    "clipping,fragment",
    [({"rmax": 1.0, "dmin": 0.1}, "dmin"), ({"rmax": 0.5, "rmin": 2.0}, "rmax >= rmin")],
)
def test_renorm_clipping_is_checked(clipping, fragment):
    with pytest.raises(ValueError, match=fragment):
        lamina.layers.BatchNormalization(renorm=True, renorm_clipping=clipping)


def test_sync_batchnorm_leaves_renorm_layers_their_own_call():
    plain = lamina.layers.BatchNormalization()
    renorm = lamina.layers.BatchNormalization(renorm=True)
    model = lamina.Sequential([lamina.Input((3,)), plain, renorm])
    assert sync_batchnorm.convert(model, distribution=None) == 1
    assert "call" in vars(plain) and "call" not in vars(renorm)


def test_renorm_model_file_moves_both_ways(tmp_path):
    theirs, _ = built_pair(CONFIG, (8, 3), seed=5)
    keras_model = keras.Sequential([keras.Input((3,)), theirs])
    keras_model.save(tmp_path / "keras.keras")
    ours = lamina.models.load_model(tmp_path / "keras.keras")
    layer = ours.layers[0]
    assert (layer.renorm, layer.renorm_clipping, layer.renorm_momentum) == (
        True,
        CONFIG["renorm_clipping"],
        CONFIG["renorm_momentum"],
    )
    ours.save(tmp_path / "lamina.keras")
    back = keras.models.load_model(tmp_path / "lamina.keras")
    assert back.layers[0].renorm_clipping == CONFIG["renorm_clipping"]
    for mine, reference in zip(back.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, reference)
