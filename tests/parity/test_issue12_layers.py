"""The layers added for issue 12 against Keras 3, beyond the shared catalogue's parity test:
config keys, return_state and masks of ConvLSTM, Keras-written configs loading into lamina."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import layers
from tests import cases
from tests.parity.reference import assert_layer_matches_keras, keras

NEW_CASES = [
    c for c in cases.ADAPTIVE_POOLING + cases.CORE_EXTRA + cases.CONV_LSTM + cases.AUDIO if c.parity
]
# Keras's config keys lamina does not carry: quantization and export details of Keras itself.
_KERAS_ONLY_KEYS = {"quantization_config", "gptq_unpacked_column_size", "build_config"}


@pytest.mark.parity
@pytest.mark.parametrize("case", NEW_CASES, ids=cases.case_id)
def test_config_has_keras_keys_and_loads_a_keras_config(case):
    reference = getattr(keras.layers, case.layer)(**case.config)
    ours = getattr(layers, case.layer)(**case.config)
    x = torch.zeros(case.input_shape)
    reference(x)
    ours(x)
    keras_config = reference.get_config()
    missing = set(keras_config) - set(ours.get_config()) - _KERAS_ONLY_KEYS
    assert not missing, f"lamina's config lacks {sorted(missing)}"
    # Keras's own config (with its serialized initializers) builds the same layer in lamina.
    keras_config = {k: v for k, v in keras_config.items() if k not in _KERAS_ONLY_KEYS}
    keras_config.pop("dtype", None)
    clone = type(ours).from_config(keras_config)
    clone(x)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in reference.get_weights()]


@pytest.mark.parity
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_lstm_return_state_matches_keras(data_format):
    config = {
        "filters": 3,
        "kernel_size": 3,
        "padding": "same",
        "return_state": True,
        "return_sequences": True,
        "data_format": data_format,
    }
    shape = (2, 3, 5, 4, 2) if data_format == "channels_last" else (2, 3, 2, 5, 4)
    assert_layer_matches_keras("ConvLSTM2D", config, shape)


@pytest.mark.parity
def test_conv_lstm_mask_matches_keras():
    mask = torch.tensor([[True, True, False, True], [True, False, False, False]])
    assert_layer_matches_keras(
        "ConvLSTM1D",
        {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True},
        (2, 4, 6, 3),
        call_kwargs={"mask": mask},
    )


@pytest.mark.parity
def test_conv_lstm_initial_state_matches_keras():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 2)).astype("float32")
    h, c = (rng.standard_normal((2, 6, 4)).astype("float32") for _ in range(2))
    config = {"filters": 4, "kernel_size": 3, "padding": "same"}
    reference, ours = keras.layers.ConvLSTM1D(**config), layers.ConvLSTM1D(**config)
    want = reference(torch.tensor(x), initial_state=[torch.tensor(h), torch.tensor(c)])
    ours(torch.tensor(x))
    ours.set_weights(reference.get_weights())
    got = ours(torch.tensor(x), initial_state=[torch.tensor(h), torch.tensor(c)])
    torch.testing.assert_close(got, want.detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parity
@pytest.mark.parametrize(
    "config",
    [
        {"frame_length": 320, "frame_step": 80, "fft_length": 512},
        {"mode": "stft", "frame_length": 200, "window": "hamming", "scaling": "spectrum"},
    ],
    ids=["log-hann-density", "stft-hamming-spectrum"],
)
def test_a_fresh_stft_spectrogram_equals_keras_without_copying_weights(config):
    # The DFT kernels are weights: a fresh layer's must be Keras's own, float32 rounding of the
    # long frame's angles included, or the spectrograms differ (by ~2e-3 in log mode).
    x = np.random.default_rng(0).standard_normal((1, 1200, 1)).astype("float32")
    reference, ours = keras.layers.STFTSpectrogram(**config), layers.STFTSpectrogram(**config)
    want = reference(torch.tensor(x)).detach()
    got = ours(torch.tensor(x)).detach()
    for a, b in zip(ours.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # 320-term sums taken in another order: float32 noise of ~1e-5 on log values near 2
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("layer_name", "config"),
    [
        (
            "MelSpectrogram",
            {"fft_length": 256, "sequence_stride": 256, "sequence_length": 512},
        ),
        ("STFTSpectrogram", {"window": "unknowable"}),
    ],
    ids=["mel-window-longer-than-fft", "stft-unknown-window"],
)
def test_spectrogram_configs_keras_refuses_are_refused_at_construction(layer_name, config):
    """lamina built them and failed at the first call (torch's RuntimeError, SciPy's error)."""
    for module in (keras.layers, layers):
        with pytest.raises(ValueError):
            getattr(module, layer_name)(**config)
