"""A saved state matched to the same model built under other auto-generated layer names."""

import io

import pytest
import torch

import lamina
from lamina import layers
from lamina.engine import state_keys


def _model():
    return lamina.Sequential(
        [lamina.Input((4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)]
    )


def test_keys_pair_by_position_only_when_just_layer_names_differ():
    saved = ["s.dense.kernel", "s.dense.bias", "s.dense_1.kernel"]
    renamed = ["s.dense_4.kernel", "s.dense_4.bias", "s.dense_5.kernel"]
    assert state_keys.by_structure(saved, renamed) == dict(zip(renamed, saved, strict=True))
    assert state_keys.by_structure(saved, saved) == {key: key for key in saved}
    swapped = ["s.dense_4.bias", "s.dense_4.kernel", "s.dense_5.kernel"]
    assert state_keys.by_structure(saved, swapped) is None  # another layout: no guessing
    assert state_keys.by_structure(saved, renamed[:2]) is None
    assert state_keys.by_structure(saved, ["s.block.dense.kernel", *renamed[1:]]) is None


def test_torch_state_dict_loads_into_the_model_rebuilt_under_new_names():
    # torch.save(model.state_dict()) then the notebook cell that builds the model runs again.
    original = _model()
    buffer = io.BytesIO()
    torch.save(original.state_dict(), buffer)
    buffer.seek(0)
    rebuilt = _model()
    assert rebuilt.layers[0].name != original.layers[0].name
    rebuilt.load_state_dict(torch.load(buffer))
    x = torch.randn(5, 4)
    torch.testing.assert_close(rebuilt(x), original(x))
    other = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])
    with pytest.raises(RuntimeError, match="Missing key"):  # another model: torch's error
        other.load_state_dict(original.state_dict())
