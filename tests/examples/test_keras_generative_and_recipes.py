"""Gaps found by porting keras.io's generative, audio and recipe programs to lamina.

Each test is a small reproduction of our own of what a ported program met, checked against what
Keras gives for the same code (tests/parity/reference.py).
"""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.engine import shape_inference
from tests.parity import reference

# A stride longer than the two shape probes' gap maps both probe sizes to one frame, so an
# unknown length came out as a fixed 1 (the 2-D model of keras.io's audio/stft.py).
LONG_STRIDE_CASES = {
    "stft_same_expand_dims": lambda layers: layers.STFTSpectrogram(
        frame_length=480, frame_step=240, padding="same", expand_dims=True
    ),
    "stft_valid": lambda layers: layers.STFTSpectrogram(frame_length=200, frame_step=200),
    "max_pooling_same": lambda layers: layers.MaxPooling1D(200, padding="same"),
    "conv1d_strided": lambda layers: layers.Conv1D(2, 3, strides=300, padding="same"),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(LONG_STRIDE_CASES))
def test_long_stride_keeps_an_unknown_length_unknown(case):
    def build(layers, keras):
        inputs = keras.Input((None, 1))
        return keras.Model(inputs, LONG_STRIDE_CASES[case](layers)(inputs))

    feed = np.random.default_rng(0).standard_normal((2, 1200, 1)).astype("float32")
    expected = reference.keras_functional_facts(build, feed)["output_shape"]
    model = build(layers, lamina)
    assert model.output_shape == expected
    assert model.output_shape[1] is None
    # The model still runs on lengths the probes never saw, and gives their frame counts.
    for length in (1200, 2400):
        assert model.predict(feed[:, :length], verbose=0).shape[0] == 2


def test_a_fixed_size_one_stays_fixed_beside_an_unknown_length():
    inputs = lamina.Input((None, 5))
    pooled = layers.GlobalAveragePooling1D(keepdims=True)(inputs)
    squeezed = layers.Conv1D(1, 1)(inputs)
    assert tuple(pooled.shape) == (None, 1, 5)
    assert tuple(squeezed.shape) == (None, None, 1)


def test_a_size_one_from_a_known_axis_costs_no_extra_probe(monkeypatch):
    probes = []
    run_probe = shape_inference._run_probe

    def counted(layer, args, kwargs, probe, device):
        probes.append(probe)
        return run_probe(layer, args, kwargs, probe, device)

    monkeypatch.setattr(shape_inference, "_run_probe", counted)
    output = layers.Dense(1)(lamina.Input((None, 8)))  # the 1 comes from units, not a stride
    assert tuple(output.shape) == (None, None, 1)
    assert len(probes) == 2
