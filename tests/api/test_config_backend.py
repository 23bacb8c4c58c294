"""lamina.config and the dtype helpers of lamina.backend, against keras.config / keras.backend."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import lamina
from lamina import backend, config
from tests.parity.reference import keras

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "bfloat16", "float16", "float32"]
DTYPES += ["float64"]


@pytest.fixture
def restore_settings():
    yield
    config.set_floatx("float32")
    config.set_epsilon(1e-7)
    config.set_image_data_format("channels_last")
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)
    config.enable_interactive_logging()
    config.enable_traceback_filtering()
    config._settings["unsafe_deserialization"] = False
    config._settings["flash_attention"] = None
    torch.backends.cuda.enable_flash_sdp(True)


def test_defaults_match_keras():
    for name in [
        "backend",
        "floatx",
        "epsilon",
        "image_data_format",
        "max_epochs",
        "max_steps_per_epoch",
        "is_flash_attention_enabled",
        "is_interactive_logging_enabled",
        "is_traceback_filtering_enabled",
    ]:
        assert getattr(config, name)() == getattr(keras.config, name)(), name


def test_setters_change_what_layers_and_backend_see(restore_settings):
    config.set_floatx("float64")
    assert backend.floatx() == "float64"
    assert lamina.layers.Dense(2)(torch.ones(1, 3, dtype=torch.float64)).dtype == torch.float64
    assert lamina.Input((3,)).dtype == "float64"  # Keras's Input(dtype=None) is floatx too
    config.set_epsilon(1e-4)
    assert backend.epsilon() == 1e-4
    config.set_image_data_format("channels_first")
    assert backend.standardize_data_format(None) == "channels_first"


def test_setters_reject_bad_values_like_keras(restore_settings):
    with pytest.raises(ValueError, match=r"Unknown `floatx` value: int32. Expected one of"):
        config.set_floatx("int32")
    with pytest.raises(ValueError, match="Unknown `floatx` value"):
        keras.config.set_floatx("int32")
    with pytest.raises(ValueError, match="must be one of .* Received: data_format=x"):
        config.set_image_data_format("x")
    with pytest.raises(ValueError, match="positive int or None; received 0"):
        config.set_max_epochs(0)
    with pytest.raises(ValueError, match="PyTorch only; received set_backend\\('jax'\\)"):
        config.set_backend("jax")
    config.set_backend("torch")


def test_switches_store_their_state(restore_settings):
    config.disable_interactive_logging()
    assert not config.is_interactive_logging_enabled()
    assert not lamina.utils.is_interactive_logging_enabled()
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    assert (config.max_epochs(), config.max_steps_per_epoch()) == (2, 3)
    config.enable_unsafe_deserialization()
    assert config.is_unsafe_deserialization_enabled()


def test_flash_attention_switches_drive_torch_sdpa(restore_settings):
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    assert not torch.backends.cuda.flash_sdp_enabled()
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is None  # Keras's "where it can"
    assert torch.backends.cuda.flash_sdp_enabled()


@pytest.mark.parametrize(
    "dtype",
    [None, np.float32, np.dtype("int8"), torch.float16, torch.bool, "int", int, float, bool]
    + ["uint32", "complex64", "float64"],
    ids=str,
)
def test_standardize_dtype_matches_keras(dtype):
    assert backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)


def test_standardize_dtype_rejects_unknown_names():
    with pytest.raises(ValueError, match="Invalid dtype: foo"):
        backend.standardize_dtype("foo")


def test_result_type_matches_keras_on_every_pair():
    for a, b in itertools.combinations_with_replacement(DTYPES, 2):
        assert backend.result_type(a, b) == keras.backend.result_type(a, b), (a, b)
    weak_cases = [(), ("int32",), (int, "float16"), (float, "int8"), (float,), (int,)]
    weak_cases += [(int, "int8"), (bool, "uint8"), (int, "bool"), (float, "bfloat16")]
    for case in weak_cases:
        assert backend.result_type(*case) == keras.backend.result_type(*case), case


def test_dtype_predicates_and_uids_match_keras():
    for dtype in DTYPES:
        assert backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
        assert backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)
    assert [backend.get_uid("block"), backend.get_uid("block"), backend.get_uid("x")] == [1, 2, 1]
    backend.clear_session()
    assert backend.get_uid("block") == 1


def test_is_keras_tensor():
    assert backend.is_keras_tensor(lamina.Input((3,)))
    assert not backend.is_keras_tensor(torch.ones(3))
