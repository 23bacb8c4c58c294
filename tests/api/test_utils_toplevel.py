"""lamina.utils' added helpers and the top-level names, against keras.utils / keras."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import utils
from tests.parity.reference import keras


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("axis", [-1, 1])
def test_normalize_matches_keras(axis, order):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    x[1] = 0.0
    expected = keras.utils.normalize(x, axis=axis, order=order)
    np.testing.assert_allclose(utils.normalize(x, axis=axis, order=order), expected, atol=1e-6)
    as_tensor = utils.normalize(torch.tensor(x), axis=axis, order=order)
    np.testing.assert_allclose(as_tensor.numpy(), expected, atol=1e-6)


def test_normalize_along_axis_zero_by_hand():
    # Keras 3.15's NumPy path turns axis=0 into -1 (`axis or -1`) and fails; lamina does not.
    x = np.array([[3.0, 0.0], [4.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0), [[0.6, 0.0], [0.8, 0.0]])


@pytest.mark.parametrize(
    "args",
    [((1,),), ((1, 2),), ((1, 2, 3),), ([1],), (5,), ([1, 2], 3), (4, 5, 6), ((1, 2), None)],
    ids=str,
)
def test_pack_and_unpack_match_keras(args):
    packed = utils.pack_x_y_sample_weight(*args)
    assert packed == keras.utils.pack_x_y_sample_weight(*args)
    assert utils.unpack_x_y_sample_weight(packed) == keras.utils.unpack_x_y_sample_weight(packed)


def test_unpack_rejects_long_tuples():
    with pytest.raises(ValueError, match=r"\(x, y, sample_weight\)`, found: \(1, 2, 3, 4\)"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_config_behaves_like_keras():
    ours, theirs = utils.Config(a=1), keras.utils.Config(a=1)
    for config in (ours, theirs):
        config.b = 2
        config["c"] = 3
        assert (config.a, config["b"], config.c, len(config)) == (1, 2, 3, 3)
        config.freeze()
        with pytest.raises(ValueError, match="frozen"):
            config.d = 4
    assert ours.to_json() == theirs.to_json()
    with pytest.raises(AttributeError, match="Unknown attribute: 'zzz'"):
        _ = ours.zzz


def test_get_source_inputs_walks_back_to_the_inputs():
    a, b = lamina.Input((3,)), lamina.Input((3,))
    merged = lamina.layers.Add()([lamina.layers.Dense(3)(a), b])
    out = lamina.layers.Dense(1)(merged)
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert utils.get_source_inputs(a) == [a]
    eager = torch.ones(2)
    assert utils.get_source_inputs(eager) is eager  # not in a graph: unchanged, as in Keras


def test_reexports_are_the_existing_functions():
    assert utils.pad_sequences is lamina.preprocessing.sequence.pad_sequences
    assert utils.Sequence is utils.PyDataset
    np.testing.assert_array_equal(
        utils.pad_sequences([[1, 2], [3]], maxlen=3),
        keras.utils.pad_sequences([[1, 2], [3]], maxlen=3),
    )


def test_top_level_classes_are_the_base_classes():
    assert isinstance(lamina.layers.Dense(2), lamina.Layer)
    assert isinstance(lamina.losses.MeanSquaredError(), lamina.Loss)
    assert isinstance(lamina.optimizers.Adam(), lamina.Optimizer)
    assert lamina.version() == lamina.__version__


def test_device_scope_places_new_tensors_and_restores():
    before = lamina.backend.default_device()
    with lamina.device("cpu"):
        assert lamina.backend.default_device() == torch.device("cpu")
        assert torch.empty(2).device.type == "cpu"
        assert lamina.random.normal((2,), seed=1).device.type == "cpu"
    assert lamina.backend.default_device() == before
    with pytest.raises(ValueError, match="received 'tpu:0'"), lamina.device("tpu:0"):
        pass
